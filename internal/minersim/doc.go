// Package minersim hosts virtual ASIC miners that speak the LuxOS miner API
// (a dialect of the CGMiner RPC) over real TCP on loopback, backed by a
// simple physical model: per-unit manufacturing variation, frequency
// profiles with a convex J/TH curve, sleep and wake ramps, temperatures,
// fans, hashboards and share counters, all driven by an injected clock.
//
// It is built to serve thousands of miners from one process: one listener
// per port serves every 127.x.y.z address (miners are told apart by the
// local address the client dialled), replies are written by an append-based
// encoder, and each miner's state is derived lazily from (last command,
// clock.Now()) on each request instead of by a goroutine per miner.
//
// Faults (no answer, slow answer, refused connection, garbage, truncated
// reply, a dead hashboard) can be injected per miner for tests.
//
// It does not simulate other firmware dialects (stock Antminer, Whatsminer,
// Braiins, Avalon), pool connections, Stratum, the LuxOS web UI, reboots or
// persistence across process restarts; it does not mine.
package minersim
