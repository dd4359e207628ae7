package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/pow"
	"github.com/gridminer/gridminer/internal/stratum/solo"
)

// SubmitTimeout bounds one submitblock round trip of Solo.
const SubmitTimeout = 30 * time.Second

// Found is the outcome of one block candidate sent to the node.
type Found struct {
	Height int64
	Hash   string // display order
	Worker string
	Err    error // nil: on the node's best chain
}

// Solo mines solo: it is the server's JobSource (a job on every template
// update, clean when the previous block changed) and, through OnBlock, the
// sink that assembles block candidates and submits them to the node.
type Solo struct {
	src     *solo.Source
	b       *solo.Builder
	node    solo.Caller
	log     *slog.Logger
	blocks  chan Block
	onFound func(Found)
	seq     uint64
}

// SoloDeps are Solo's dependencies.
type SoloDeps struct {
	Source  *solo.Source
	Builder *solo.Builder // Extranonce1Size must be server.Extranonce1Size
	Node    solo.Caller
	// OnFound, if set, is called from Run with every submitted block.
	OnFound func(Found)
	Log     *slog.Logger
}

// NewSolo checks deps.
func NewSolo(deps SoloDeps) (*Solo, error) {
	if deps.Source == nil || deps.Builder == nil || deps.Node == nil {
		return nil, fmt.Errorf("%w: solo needs a source, a builder and a node", ErrBadConfig)
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Solo{src: deps.Source, b: deps.Builder, node: deps.Node, log: deps.Log, blocks: make(chan Block, 16), onFound: deps.OnFound}, nil
}

// OnBlock queues a candidate for Run to submit; it never blocks (a full
// queue drops the candidate with an error log).
func (s *Solo) OnBlock(b Block) {
	select {
	case s.blocks <- b:
	default:
		s.log.Error("solo: block queue full, candidate dropped", "hash", b.Hash.String())
	}
}

// Run polls the node for templates, sends a job for each, and submits block
// candidates, until ctx ends.
func (s *Solo) Run(ctx context.Context, out chan<- Job) error {
	g, ctx := errgroup.WithContext(ctx)
	updates := make(chan solo.Update)
	g.Go(func() error { return s.src.Run(ctx, updates) })
	g.Go(func() error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case u := <-updates:
				j, err := s.job(u)
				if err != nil {
					s.log.Error("solo: build job", "height", u.Work.Height, "err", err)
					continue
				}
				select {
				case out <- j:
				case <-ctx.Done():
					return nil
				}
			}
		}
	})
	g.Go(func() error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case b := <-s.blocks:
				f := s.submit(ctx, b)
				s.src.Poke()
				if s.onFound != nil {
					s.onFound(f)
				}
			}
		}
	})
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (s *Solo) job(u solo.Update) (Job, error) {
	s.seq++
	sj, err := s.b.Job(strconv.FormatUint(s.seq, 16), u.Work, u.NewBlock)
	if err != nil {
		return Job{}, err
	}
	return JobFromSolo(sj)
}

// JobFromSolo turns a solo job into a server job carrying it as Data.
func JobFromSolo(sj *solo.Job) (Job, error) {
	t, err := pow.TargetFromBig(sj.Target)
	if err != nil {
		return Job{}, fmt.Errorf("solo job %s: target: %w", sj.ID, err)
	}
	n := stratum.Notify{
		JobID: sj.ID, PrevHash: stratum.PrevHashStratum(sj.PrevHash),
		Coinb1: sj.Coinb1, Coinb2: sj.Coinb2,
		Version: sj.Version, NBits: sj.Bits, NTime: sj.Time, CleanJobs: sj.Clean,
	}
	for _, h := range sj.MerkleBranch {
		n.MerkleBranch = append(n.MerkleBranch, h)
	}
	return Job{Notify: n, Target: t, Data: sj}, nil
}

func (s *Solo) submit(ctx context.Context, b Block) Found {
	sj, ok := b.Job.Data.(*solo.Job)
	if !ok {
		return Found{Worker: b.Worker, Hash: b.Hash.String(), Err: errors.New("solo: candidate without a solo job")}
	}
	f := Found{Height: sj.Height, Worker: b.Worker, Hash: b.Hash.String()}
	blk, err := sj.Assemble(solo.Solution{Extranonce1: b.Extranonce1, Extranonce2: b.Extranonce2, Time: b.NTime, Nonce: b.Nonce, Version: b.Version})
	if err != nil {
		f.Err = fmt.Errorf("solo: assemble block %d: %w", sj.Height, err)
		return f
	}
	f.Hash = blk.Hash.String()
	ctx, cancel := context.WithTimeout(ctx, SubmitTimeout)
	defer cancel()
	if err := solo.Submit(ctx, s.node, blk); err != nil {
		f.Err = fmt.Errorf("solo: submit block %d %s: %w", sj.Height, f.Hash, err)
		s.log.Warn("solo: block not accepted", "height", sj.Height, "hash", f.Hash, "worker", b.Worker, "err", err)
		return f
	}
	s.log.Info("solo: block accepted", "height", sj.Height, "hash", f.Hash, "worker", b.Worker)
	return f
}
