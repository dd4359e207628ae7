// Package server is a Stratum V1 server for downstream miners: it accepts
// TCP connections, gives each a unique extranonce1, answers mining.subscribe,
// mining.authorize and mining.configure (BIP 310 version rolling under the
// BIP 320 mask), sends every job from a JobSource as mining.notify, and
// validates each mining.submit: job lookup (unknown or superseded by a clean
// job: error 21), header rebuild and SHA-256d, share target (error 23),
// duplicates per job (error 22). A share that also meets the job's network
// target is handed to a callback as a block candidate. Every miner's shares
// are counted with internal/shares (by worker name and connection).
//
// The share path takes no server-wide lock: the job table is an immutable
// snapshot behind an atomic pointer and duplicate sets are sharded per job.
//
// It does not build jobs or submit blocks (Solo adapts internal/stratum/solo
// for that), does not vary the share difficulty per miner (the difficulty is
// fixed), and does not speak to an upstream pool.
package server
