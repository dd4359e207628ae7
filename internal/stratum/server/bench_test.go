package server

import (
	"context"
	"testing"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
)

// BenchmarkValidateShare measures one share through the share path: job
// lookup, header rebuild (coinbase, merkle branch), SHA-256d, target and
// duplicate checks. Each share is distinct so every one is accepted.
func BenchmarkValidateShare(b *testing.B) {
	s, err := New(Config{ShareDifficulty: 1e-12}, Deps{Jobs: jobsFunc(nil)})
	if err != nil {
		b.Fatal(err)
	}
	branch := make([][32]byte, 12) // a block of a few thousand transactions
	s.setJob(Job{Notify: stratum.Notify{JobID: "a", Coinb1: make([]byte, 60), Coinb2: make([]byte, 120),
		MerkleBranch: branch, Version: 0x20000000, NBits: 0x1702f128, NTime: 1000, CleanJobs: true}})
	c := &connShare{en1: [4]byte{0, 0, 0, 1}}
	sub := stratum.Submit{Worker: "w", JobID: "a", Extranonce2: make([]byte, 8), NTime: 1000}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sub.Nonce = uint32(i)
		if r := s.validate(c, sub); r.err != nil {
			b.Fatal(r.err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
	_ = pow.HeaderSize
}

// jobsFunc adapts a function to JobSource.
type jobsFunc func(out chan<- Job)

func (f jobsFunc) Run(ctx context.Context, out chan<- Job) error {
	if f != nil {
		f(out)
	}
	<-ctx.Done()
	return nil
}
