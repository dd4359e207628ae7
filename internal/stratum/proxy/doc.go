// Package proxy is a Stratum V1 aggregating proxy: miners connect to it
// downstream, and it keeps one upstream session to a pool (the first
// reachable of a priority list), splitting the pool's extranonce2 space
// among miners. A miner gets extranonce1' = E1 || prefix (a per-connection
// prefix of Config.PrefixSize bytes) and extranonce2_size' = N − PrefixSize;
// its share with extranonce2' goes upstream with extranonce2 = prefix ||
// extranonce2'. Every share is validated (header rebuilt, hashed, checked
// against the pool's difficulty) before it is forwarded; invalid ones are
// answered locally and never reach the pool.
//
// It does not do vardiff of its own, does not follow a pool's
// mining.set_extranonce (it reconnects instead), and does not mine solo.
package proxy
