package openadr3

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/store"
)

// CollVENEvents is the store collection of the VEN's event lifecycles;
// documents are keyed "<source>/<event id>".
const CollVENEvents = "openadr3.ven.events"

// cancelledRetention is how long an open-ended cancelled event stays in
// the set (marked Cancelled) after it was withdrawn.
const cancelledRetention = time.Hour

// Lifecycle is what the VEN knows and did about one OpenADR event. It is
// persisted on every change.
type Lifecycle struct {
	Source    string        `json:"source"`
	EventID   string        `json:"eventID"`
	ProgramID string        `json:"programID"`
	Program   string        `json:"program"`
	Name      string        `json:"name,omitempty"`
	Status    demand.Status `json:"status"`
	// Start and End are when the event's first interval starts and its
	// last ends (End zero: never, or unknown while Start is zero too).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`

	ReceivedAt  time.Time `json:"receivedAt"`
	ScheduledAt time.Time `json:"scheduledAt,omitzero"`
	ActiveAt    time.Time `json:"activeAt,omitzero"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
	CancelledAt time.Time `json:"cancelledAt,omitzero"`
	// Modified is the event's modificationDateTime when last received;
	// NowAnchor is when the VEN first saw that version, the instant a
	// "0001-01-01" (now) start stands for.
	Modified  DateTime  `json:"modified,omitempty"`
	NowAnchor time.Time `json:"nowAnchor"`

	Event              Event               `json:"event"`
	ProgramDescriptors []PayloadDescriptor `json:"programDescriptors,omitempty"`
	// Demand is the event as demand events, as last mapped.
	Demand []demand.Event `json:"demand"`
	// ReportsSent lists the report windows already posted; ReportsDone is
	// set once a completed event has no report left to send.
	ReportsSent []string `json:"reportsSent,omitempty"`
	ReportsDone bool     `json:"reportsDone,omitempty"`
	// Problems are the payloads that could not be mapped, and why.
	Problems []string `json:"problems,omitempty"`
}

func (l *Lifecycle) terminal() bool {
	return l.Status == demand.Completed || l.Status == demand.Cancelled
}

// Lifecycles returns the lifecycles of source's events kept in st (all
// sources when source is ""), oldest first.
func Lifecycles(ctx context.Context, st store.Store, source string) ([]Lifecycle, error) {
	objs, err := st.Objects(ctx, CollVENEvents)
	if err != nil {
		return nil, fmt.Errorf("openadr3 lifecycles: %w", err)
	}
	var out []Lifecycle
	for _, o := range objs {
		var l Lifecycle
		if err := json.Unmarshal(o.Body, &l); err != nil {
			return nil, fmt.Errorf("openadr3 lifecycle %s: %w", o.ID, err)
		}
		if source == "" || l.Source == source {
			out = append(out, l)
		}
	}
	return out, nil
}

// venState is the VEN's working state; only Run's goroutine touches it.
type venState struct {
	source  string
	venName string
	horizon time.Duration
	log     *slog.Logger

	records  map[string]*Lifecycle
	saved    map[string][]byte // what the store holds, to write only changes
	programs map[string]Program
	lastSent []demand.Event
	sentOnce bool
}

func (st *venState) key(id string) string { return st.source + "/" + id }

// load reads the lifecycles of the VEN's source from the store.
func (st *venState) load(ctx context.Context, s store.Store) error {
	ls, err := Lifecycles(ctx, s, st.source)
	if err != nil {
		return err
	}
	for i := range ls {
		l := ls[i]
		b, _ := json.Marshal(l)
		st.records[l.EventID] = &l
		st.saved[l.EventID] = b
	}
	return nil
}

// persist writes the records that changed since last written; a failure
// is logged and retried on the next call.
func (st *venState) persist(ctx context.Context, s store.Store, now time.Time) {
	for id, l := range st.records {
		b, err := json.Marshal(l)
		if err != nil {
			st.log.Error("openadr3 ven: encode lifecycle", "event", id, "err", err)
			continue
		}
		if bytes.Equal(b, st.saved[id]) {
			continue
		}
		if err := s.PutObject(ctx, CollVENEvents, st.key(id), b, now); err != nil {
			st.log.Error("openadr3 ven: store lifecycle", "event", id, "err", err)
			continue
		}
		st.saved[id] = b
	}
}

// jitter draws a reproducible randomizeStart offset in [-max, max] from
// the VEN's name, the interval and the event version, so every poll of
// one version agrees.
func (st *venState) jitter(modified DateTime) func(string, time.Duration) time.Duration {
	return func(key string, max time.Duration) time.Duration {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s\x00%s", st.venName, key, modified)
		frac := float64(h.Sum64()%1_000_001) / 1_000_000 // [0, 1]
		return time.Duration((2*frac - 1) * float64(max))
	}
}

// remap resolves and maps l's event at now.
func (st *venState) remap(l *Lifecycle, now time.Time) (Resolved, []demand.Event, []string) {
	res, err := Resolve(l.Event, Timing{Now: l.NowAnchor, Jitter: st.jitter(l.Modified), From: now.Add(-st.horizon), To: now.Add(st.horizon)})
	if err != nil {
		return Resolved{}, nil, []string{err.Error()}
	}
	var prog *Program
	if l.ProgramDescriptors != nil || l.Program != "" {
		prog = &Program{ProgramName: l.Program, PayloadDescriptors: l.ProgramDescriptors}
	}
	evs, errs := MapEvent(st.source, l.Event, prog, res.Spans)
	var problems []string
	for _, e := range errs {
		problems = append(problems, e.Error())
	}
	return res, evs, problems
}

// apply takes in an event as the VTN has it now.
func (st *venState) apply(ev Event, prog *Program, now time.Time) {
	l := st.records[ev.ID]
	newVersion := true
	if l == nil {
		l = &Lifecycle{Source: st.source, EventID: ev.ID, Status: demand.Received, ReceivedAt: now, NowAnchor: now}
		st.records[ev.ID] = l
		st.log.Info("openadr3 ven: event received", "event", ev.ID, "name", ev.EventName, "program", ev.ProgramID)
	} else {
		newVersion = !sameVersion(l, ev)
		if newVersion {
			l.NowAnchor = now
			st.log.Info("openadr3 ven: event updated", "event", ev.ID)
		}
	}
	wasEnd, wasLive := l.End, l.Status == demand.Scheduled || l.Status == demand.Active
	l.Event, l.Modified, l.ProgramID, l.Name, l.Program = ev, ev.ModificationDateTime, ev.ProgramID, ev.EventName, ev.ProgramID
	if prog != nil {
		l.Program, l.ProgramDescriptors = prog.ProgramName, prog.PayloadDescriptors
	}
	if !newVersion && l.terminal() {
		return
	}
	prevDemand := l.Demand
	res, evs, problems := st.remap(l, now)
	l.Start, l.End, l.Demand, l.Problems = res.Start, res.End, evs, problems
	if !newVersion {
		st.advance(l, now)
		return
	}
	ended := len(res.Spans) > 0 && !res.End.IsZero() && !res.End.After(now)
	if wasLive && ended && (wasEnd.IsZero() || wasEnd.After(now)) {
		// Updated so that it has ended: withdrawn (User Guide 7.9).
		l.Demand = prevDemand
		st.cancel(l, now, "updated to end")
		return
	}
	if l.terminal() {
		// A later version brings it back.
		l.Status, l.CompletedAt, l.CancelledAt = demand.Received, time.Time{}, time.Time{}
	}
	st.advance(l, now)
}

// sameVersion reports whether ev is the version l holds: the same
// modificationDateTime or, from a VTN that sets none, the same content.
func sameVersion(l *Lifecycle, ev Event) bool {
	if ev.ModificationDateTime != "" || l.Modified != "" {
		return l.Modified == ev.ModificationDateTime
	}
	a, _ := json.Marshal(l.Event)
	b, _ := json.Marshal(ev)
	return bytes.Equal(a, b)
}

// remove handles an event gone from the VTN (deleted or no longer for
// this VEN): cancelled unless it had ended.
func (st *venState) remove(id string, now time.Time) {
	l := st.records[id]
	if l == nil || l.terminal() {
		return
	}
	st.advance(l, now)
	if l.terminal() {
		return
	}
	st.cancel(l, now, "withdrawn by the VTN")
}

func (st *venState) cancel(l *Lifecycle, now time.Time, why string) {
	l.Status, l.CancelledAt = demand.Cancelled, now
	for i := range l.Demand {
		l.Demand[i].Cancelled = true
	}
	st.log.Info("openadr3 ven: event cancelled", "event", l.EventID, "why", why)
}

// advance moves l along received → scheduled → active → completed.
func (st *venState) advance(l *Lifecycle, now time.Time) {
	if l.terminal() || l.Start.IsZero() {
		return
	}
	prev := l.Status
	switch {
	case now.Before(l.Start):
		l.Status = demand.Scheduled
		if l.ScheduledAt.IsZero() {
			l.ScheduledAt = now
		}
	case l.End.IsZero() || now.Before(l.End):
		l.Status = demand.Active
		if l.ActiveAt.IsZero() {
			l.ActiveAt = now
		}
	default:
		l.Status, l.CompletedAt = demand.Completed, now
	}
	if l.Status != prev {
		st.log.Info("openadr3 ven: event "+string(l.Status), "event", l.EventID)
	}
}

// refresh re-maps the live events (looping ones gain repetitions as time
// passes) and moves their lifecycles on.
func (st *venState) refresh(now time.Time) {
	for _, l := range st.records {
		if l.terminal() {
			continue
		}
		if l.Event.ID != "" && l.Event.Duration != "" {
			res, evs, problems := st.remap(l, now)
			l.Start, l.End, l.Demand, l.Problems = res.Start, res.End, evs, problems
		}
		st.advance(l, now)
	}
}

// current is the set to send: the demand events of live events that have
// not ended, and of cancelled ones (marked so) until they would have ended.
func (st *venState) current(now time.Time) []demand.Event {
	out := []demand.Event{}
	for _, l := range st.records {
		if l.Status == demand.Completed {
			continue
		}
		for _, e := range l.Demand {
			switch {
			case l.Status == demand.Cancelled && e.End.IsZero():
				if now.Sub(l.CancelledAt) < cancelledRetention {
					out = append(out, e)
				}
			case e.End.IsZero() || e.End.After(now):
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(a, b demand.Event) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Key(), b.Key()))
	})
	return out
}

// next is the earliest instant after now at which the set or a
// lifecycle changes with time alone.
func (st *venState) next(now time.Time) (time.Time, bool) {
	var t time.Time
	consider := func(x time.Time) {
		if x.After(now) && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	for _, l := range st.records {
		if l.Status == demand.Completed {
			continue
		}
		if l.Status == demand.Cancelled {
			consider(l.CancelledAt.Add(cancelledRetention))
		} else {
			consider(l.Start)
			consider(l.End)
		}
		for _, e := range l.Demand {
			consider(e.Start)
			consider(e.End)
		}
	}
	return t, !t.IsZero()
}

// changed reports whether set differs from what was last sent.
func (st *venState) changed(set []demand.Event) bool {
	return !st.sentOnce || !slices.EqualFunc(set, st.lastSent, func(a, b demand.Event) bool {
		return a.Key() == b.Key() && a.Program == b.Program && a.Name == b.Name && a.Kind == b.Kind &&
			a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.Priority == b.Priority && a.Power == b.Power &&
			a.Level == b.Level && a.Price == b.Price && a.Cancelled == b.Cancelled
	})
}
