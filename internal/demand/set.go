package demand

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// Set runs sources and keeps the union of their current event sets: the
// events the site must honour. It is safe for concurrent use.
type Set struct {
	sources []Source
	log     *slog.Logger

	mu       sync.Mutex
	bySource [][]Event
	changed  chan struct{}
}

// NewSet returns a Set of sources (logger may be nil).
func NewSet(log *slog.Logger, sources ...Source) *Set {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Set{sources: sources, log: log, bySource: make([][]Event, len(sources)), changed: make(chan struct{}, 1)}
}

// Run runs every source until ctx ends. A source that fails is logged and
// its last events stay in force (a withdrawn signal must be withdrawn by
// its source, never by a failure); Run returns nil when ctx ends.
func (s *Set) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i, src := range s.sources {
		ch := make(chan []Event)
		wg.Go(func() {
			for {
				select {
				case evs := <-ch:
					s.put(i, evs)
				case <-ctx.Done():
					return
				}
			}
		})
		wg.Go(func() {
			if err := src.Run(ctx, ch); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
				s.log.Error("demand source stopped; its last events stay in force", "source", i, "err", err)
			}
		})
	}
	wg.Wait()
	return nil
}

// put replaces source i's events, dropping invalid ones (logged), and
// signals a change when the union differs.
func (s *Set) put(i int, evs []Event) {
	ok := make([]Event, 0, len(evs))
	for _, e := range evs {
		if err := e.Validate(); err != nil {
			s.log.Error("demand event rejected", "err", err)
			continue
		}
		ok = append(ok, e)
	}
	s.mu.Lock()
	same := slices.EqualFunc(s.bySource[i], ok, func(a, b Event) bool { return a == b })
	s.bySource[i] = ok
	s.mu.Unlock()
	if !same {
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// Events returns the union of the sources' current events, ordered by
// start then key.
func (s *Set) Events() []Event {
	s.mu.Lock()
	var out []Event
	for _, evs := range s.bySource {
		out = append(out, evs...)
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Key(), b.Key())
	})
	return out
}

// Changed receives (once per burst of changes) when the union changes.
func (s *Set) Changed() <-chan struct{} { return s.changed }

// Static is a Source with a fixed set of events (tests, files).
type Static []Event

// Run sends the events once and waits for ctx to end.
func (st Static) Run(ctx context.Context, out chan<- []Event) error {
	select {
	case out <- []Event(st):
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}
