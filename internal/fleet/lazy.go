package fleet

import (
	"context"
	"sync"

	"github.com/gridminer/gridminer/internal/miner"
)

// Lazy returns a Miner for addr whose driver is created by create on first
// use, and again on later use until creation succeeds. It lets a controller
// start while some machines are unreachable: until a machine answers, its
// Capabilities are empty and Status and Apply return create's error. When
// creation succeeds at once, New-time capabilities are available at once.
func Lazy(ctx context.Context, addr string, create func(ctx context.Context) (miner.Miner, error)) (miner.Miner, error) {
	l := &lazy{addr: addr, create: create}
	_, err := l.get(ctx)
	return l, err
}

type lazy struct {
	addr   string
	create func(ctx context.Context) (miner.Miner, error)

	mu sync.Mutex
	m  miner.Miner
}

func (l *lazy) get(ctx context.Context) (miner.Miner, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m != nil {
		return l.m, nil
	}
	m, err := l.create(ctx)
	if err != nil {
		return nil, err
	}
	l.m = m
	return m, nil
}

func (l *lazy) Addr() string { return l.addr }

func (l *lazy) Capabilities() miner.Capabilities {
	l.mu.Lock()
	m := l.m
	l.mu.Unlock()
	if m == nil {
		return miner.Capabilities{}
	}
	return m.Capabilities()
}

func (l *lazy) Status(ctx context.Context) (miner.Status, error) {
	m, err := l.get(ctx)
	if err != nil {
		return miner.Status{}, err
	}
	return m.Status(ctx)
}

func (l *lazy) Apply(ctx context.Context, sp miner.Setpoint) error {
	m, err := l.get(ctx)
	if err != nil {
		return err
	}
	return m.Apply(ctx, sp)
}
