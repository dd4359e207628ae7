// Package solo is the node side of solo mining: it fetches block templates
// from a full node (Bitcoin Core or btcd, getblocktemplate per BIP 22/23
// with the segwit rule), builds the coinbase transaction that pays a
// configured address (BIP 34 height, room for a Stratum extranonce, a
// BIP 141 witness commitment when needed), turns a template into a Job
// holding everything a Stratum mining.notify needs (coinb1, coinb2, the
// coinbase's merkle branch, version, nbits, ntime), assembles the full
// block from a miner's solution (BIP 144 serialization when the block has
// witness data), checks the header against the network target and submits
// it with submitblock.
//
// It does not speak Stratum (internal/stratum has the codec and the server),
// manage difficulty or shares, or hash fast: its SHA-256d is crypto/sha256,
// enough for checks and for tests on regtest.
package solo
