// Package manual is a demand.Source of curtailment calls an operator enters
// by hand: through gridminer's HTTP API (which calls Add and Cancel) or by
// editing a calls file before start. It is for requests that reach the site
// outside any protocol: a phone call, text or email.
//
// The use case it was made for is ERCOT's voluntary curtailment of large
// flexible loads (LFL). ERCOT notifies participating loads by phone, text
// and email when Physical Responsive Capability is low or falling (after
// Non-Spin is deployed and before ERS), asking them to reduce; participants
// are not market participants and no protocol message carries the request.
// The operator enters it as an event, typically a Cap at the MW the site
// may still draw (0 to curtail fully) over the requested hours, with the
// reason ("ERCOT LFL voluntary curtailment, call at 14:32 CT"), and
// dispatch honours it like any other demand event. The same holds for a
// utility's or a QSE's curtailment call made by phone, or a 4CP hour the
// operator chooses to avoid.
//
// Events are validated when added (demand.Event.Validate, plus: no
// already-ended call, no duplicate id, no foreign Source); Source is always
// "manual" and an empty id gets a random one. Cancel withdraws a call
// (Cancelled is set; it stays in the set so consumers see the withdrawal).
// Run sends the full set at start and after every change.
//
// With Config.Path set, calls are loaded at New and saved after every
// change, atomically (a temporary file in the same directory, synced and
// renamed over the old one), so calls survive restarts; an Add or Cancel
// whose save fails is undone and returns the error. The file is JSON
// (.json) or YAML (.yaml, .yml), read strictly (unknown keys are errors):
//
//	events:
//	  - id: lfl-2024-08-20
//	    kind: cap            # cap | target | level | price
//	    start: 2024-08-20T16:00:00-05:00
//	    end: 2024-08-20T20:00:00-05:00   # optional: open-ended without
//	    mw: 0                # cap and target
//	    # level: 2           # level (SIMPLE 0-3)
//	    # price: 1500        # price ($/MWh)
//	    reason: ERCOT LFL voluntary curtailment, call at 14:32 CT
//	    program: ercot-lfl-voluntary   # optional
//	    priority: 0          # optional
//	    cancelled: false     # optional
//
// Calls that ended (or were cancelled) more than Config.Retention ago are
// dropped when the set next changes. The package keeps no history beyond
// that; the ledger records what the site did.
package manual

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

// SourceName is the Source of every manual event.
const SourceName = "manual"

// DefaultRetention is how long ended calls are kept by default.
const DefaultRetention = 7 * 24 * time.Hour

// Errors callers branch on.
var (
	ErrNotFound = errors.New("no such manual call")
	ErrExists   = errors.New("a manual call with this id exists")
)

// Config configures the source.
type Config struct {
	// Path is the calls file ("": calls live in memory only). Its
	// directory must exist; the file is created on the first change.
	Path string
	// Retention is how long an ended or cancelled call stays in the set
	// (0: DefaultRetention).
	Retention time.Duration
}

// Deps are the source's collaborators; zero values get defaults.
type Deps struct {
	Clock  clock.Clock  // validation and retention (nil: the wall clock)
	Logger *slog.Logger // nil: discarded
}

// Source holds the operator's calls. It is safe for concurrent use.
type Source struct {
	cfg  Config
	yaml bool
	clk  clock.Clock
	log  *slog.Logger

	mu      sync.Mutex
	events  []demand.Event
	changed chan struct{} // closed and replaced on every change
}

// New returns the source, loading Config.Path when the file exists.
func New(cfg Config, deps Deps) (*Source, error) {
	if cfg.Retention < 0 {
		return nil, errors.New("manual calls: negative retention")
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	s := &Source{cfg: cfg, clk: deps.Clock, log: deps.Logger, changed: make(chan struct{})}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Path == "" {
		return s, nil
	}
	switch strings.ToLower(filepath.Ext(cfg.Path)) {
	case ".json":
	case ".yaml", ".yml":
		s.yaml = true
	default:
		return nil, fmt.Errorf("manual calls file %s: want a .json, .yaml or .yml name", cfg.Path)
	}
	if st, err := os.Stat(filepath.Dir(cfg.Path)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("manual calls file %s: its directory does not exist", cfg.Path)
	}
	data, err := os.ReadFile(cfg.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("manual calls file: %w", err)
	}
	evs, err := decodeFile(data, s.yaml)
	if err != nil {
		return nil, fmt.Errorf("manual calls file %s: %w", cfg.Path, err)
	}
	s.events = evs
	s.prune(s.clk.Now())
	s.log.Info("manual calls loaded", "file", cfg.Path, "calls", len(s.events))
	return s, nil
}

// idRE is what an id may be: it appears in URLs and file names.
var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// Add validates e and adds it as a manual call: Source is set to "manual",
// an empty ID gets a random one and a zero Start means now. It returns the
// event as stored.
func (s *Source) Add(e demand.Event) (demand.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	switch e.Source {
	case "", SourceName:
		e.Source = SourceName
	default:
		return demand.Event{}, fmt.Errorf("manual call: source %q: manual calls have source %q", e.Source, SourceName)
	}
	if e.ID == "" {
		e.ID = newID()
	}
	if !idRE.MatchString(e.ID) {
		return demand.Event{}, fmt.Errorf("manual call: id %q: want letters, digits, '.', '_', ':' or '-', at most 64", e.ID)
	}
	if e.Start.IsZero() {
		e.Start = now
	}
	e.Start = e.Start.UTC()
	if !e.End.IsZero() {
		e.End = e.End.UTC()
	}
	if e.Cancelled {
		return demand.Event{}, fmt.Errorf("manual call %s: cannot add a cancelled call", e.ID)
	}
	if err := e.Validate(); err != nil {
		return demand.Event{}, fmt.Errorf("manual call: %w", err)
	}
	if !e.End.IsZero() && !e.End.After(now) {
		return demand.Event{}, fmt.Errorf("manual call %s: ends %s, which is not after now (%s)", e.ID, e.End.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if slices.ContainsFunc(s.events, func(o demand.Event) bool { return o.ID == e.ID }) {
		return demand.Event{}, fmt.Errorf("manual call %s: %w", e.ID, ErrExists)
	}
	next := append(slices.Clone(s.events), e)
	if err := s.commit(next, now); err != nil {
		return demand.Event{}, fmt.Errorf("manual call %s: %w", e.ID, err)
	}
	s.log.Info("manual call added", "event", e.Key(), "kind", e.Kind, "start", e.Start, "end", e.End, "reason", e.Name)
	return e, nil
}

// Cancel withdraws the call id and returns it. Cancelling a cancelled call
// changes nothing; a call that has ended cannot be cancelled.
func (s *Source) Cancel(id string) (demand.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	i := slices.IndexFunc(s.events, func(e demand.Event) bool { return e.ID == id })
	if i < 0 {
		return demand.Event{}, fmt.Errorf("manual call %q: %w", id, ErrNotFound)
	}
	e := s.events[i]
	if e.Cancelled {
		return e, nil
	}
	if !e.End.IsZero() && !now.Before(e.End) {
		return demand.Event{}, fmt.Errorf("manual call %s: ended at %s; nothing to cancel", id, e.End.Format(time.RFC3339))
	}
	e.Cancelled = true
	next := slices.Clone(s.events)
	next[i] = e
	if err := s.commit(next, now); err != nil {
		return demand.Event{}, fmt.Errorf("manual call %s: %w", id, err)
	}
	s.log.Info("manual call cancelled", "event", e.Key())
	return e, nil
}

// Events returns the calls, ordered by start then id.
func (s *Source) Events() []demand.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Run sends the set now and after every change, until ctx ends; it
// returns nil then.
func (s *Source) Run(ctx context.Context, out chan<- []demand.Event) error {
	for {
		s.mu.Lock()
		set, changed := slices.Clone(s.events), s.changed
		s.mu.Unlock()
		select {
		case out <- set:
		case <-ctx.Done():
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// commit prunes, saves and installs next, waking Run. On a failed save
// nothing changes.
func (s *Source) commit(next []demand.Event, now time.Time) error {
	old := s.events
	s.events = next
	s.prune(now)
	if s.cfg.Path != "" {
		if err := s.save(); err != nil {
			s.events = old
			return err
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

// prune sorts the calls and drops those over for longer than Retention.
func (s *Source) prune(now time.Time) {
	cut := now.Add(-s.cfg.Retention)
	s.events = slices.DeleteFunc(s.events, func(e demand.Event) bool {
		switch {
		case !e.End.IsZero():
			return !e.End.After(cut)
		case e.Cancelled:
			return !e.Start.After(cut)
		}
		return false
	})
	slices.SortFunc(s.events, func(a, b demand.Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func newID() string {
	b := make([]byte, 6)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return "m-" + hex.EncodeToString(b)
}

// call is one event in the file.
type call struct {
	ID        string   `json:"id" yaml:"id"`
	Kind      string   `json:"kind" yaml:"kind"`
	Start     string   `json:"start" yaml:"start"`
	End       string   `json:"end,omitempty" yaml:"end,omitempty"`
	MW        *float64 `json:"mw,omitempty" yaml:"mw,omitempty"`
	Level     *int     `json:"level,omitempty" yaml:"level,omitempty"`
	Price     *float64 `json:"price,omitempty" yaml:"price,omitempty"`
	Reason    string   `json:"reason,omitempty" yaml:"reason,omitempty"`
	Program   string   `json:"program,omitempty" yaml:"program,omitempty"`
	Priority  int      `json:"priority,omitempty" yaml:"priority,omitempty"`
	Cancelled bool     `json:"cancelled,omitempty" yaml:"cancelled,omitempty"`
}

type file struct {
	Events []call `json:"events" yaml:"events"`
}

// decodeFile reads the calls file strictly and validates every call.
func decodeFile(data []byte, isYAML bool) (evs []demand.Event, err error) {
	var f file
	if isYAML {
		defer func() {
			if r := recover(); r != nil {
				evs, err = nil, fmt.Errorf("malformed YAML (the decoder failed: %v)", r)
			}
		}()
		if err := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict()).Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return nil, errors.New(yaml.FormatError(err, false, true))
		}
	} else if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("JSON: %w", err)
		}
		if dec.More() {
			return nil, errors.New("JSON: more than one document")
		}
	}
	seen := map[string]bool{}
	for i, c := range f.Events {
		e, err := c.event()
		if err != nil {
			return nil, fmt.Errorf("event %d (id %q): %w", i+1, c.ID, err)
		}
		if seen[e.ID] {
			return nil, fmt.Errorf("event %d: id %q: %w", i+1, e.ID, ErrExists)
		}
		seen[e.ID] = true
		evs = append(evs, e)
	}
	return evs, nil
}

// event converts and validates one call of the file.
func (c call) event() (demand.Event, error) {
	if !idRE.MatchString(c.ID) {
		return demand.Event{}, fmt.Errorf("id %q: want letters, digits, '.', '_', ':' or '-', at most 64", c.ID)
	}
	e := demand.Event{Source: SourceName, ID: c.ID, Kind: demand.Kind(strings.ToLower(c.Kind)), Name: c.Reason,
		Program: c.Program, Priority: c.Priority, Cancelled: c.Cancelled}
	var err error
	if e.Start, err = time.Parse(time.RFC3339, strings.TrimSpace(c.Start)); err != nil {
		return demand.Event{}, fmt.Errorf("start %q: want RFC 3339 with a zone offset", c.Start)
	}
	e.Start = e.Start.UTC()
	if c.End != "" {
		if e.End, err = time.Parse(time.RFC3339, strings.TrimSpace(c.End)); err != nil {
			return demand.Event{}, fmt.Errorf("end %q: want RFC 3339 with a zone offset", c.End)
		}
		e.End = e.End.UTC()
	}
	power := e.Kind == demand.Cap || e.Kind == demand.Target
	switch {
	case c.MW != nil && !power:
		return demand.Event{}, fmt.Errorf("mw is for kind cap or target, not %q", c.Kind)
	case c.MW == nil && power:
		return demand.Event{}, fmt.Errorf("kind %s needs mw", e.Kind)
	case c.Level != nil && e.Kind != demand.Level:
		return demand.Event{}, fmt.Errorf("level is for kind level, not %q", c.Kind)
	case c.Level == nil && e.Kind == demand.Level:
		return demand.Event{}, errors.New("kind level needs level")
	case c.Price != nil && e.Kind != demand.Price:
		return demand.Event{}, fmt.Errorf("price is for kind price, not %q", c.Kind)
	case c.Price == nil && e.Kind == demand.Price:
		return demand.Event{}, errors.New("kind price needs price")
	}
	if c.MW != nil {
		if math.IsNaN(*c.MW) || math.IsInf(*c.MW, 0) {
			return demand.Event{}, fmt.Errorf("mw %v: %w", *c.MW, energy.ErrNotFinite)
		}
		e.Power = energy.Power(*c.MW) * energy.Megawatt
	}
	if c.Level != nil {
		e.Level = *c.Level
	}
	if c.Price != nil {
		e.Price = energy.Price(*c.Price)
	}
	if err := e.Validate(); err != nil {
		return demand.Event{}, err
	}
	return e, nil
}

// toCall is the file form of an event.
func toCall(e demand.Event) call {
	c := call{ID: e.ID, Kind: string(e.Kind), Start: e.Start.Format(time.RFC3339Nano), Reason: e.Name,
		Program: e.Program, Priority: e.Priority, Cancelled: e.Cancelled}
	if !e.End.IsZero() {
		c.End = e.End.Format(time.RFC3339Nano)
	}
	switch e.Kind {
	case demand.Cap, demand.Target:
		mw := e.Power.MW()
		c.MW = &mw
	case demand.Level:
		l := e.Level
		c.Level = &l
	case demand.Price:
		p := float64(e.Price)
		c.Price = &p
	}
	return c
}

// save writes the calls atomically: a temporary file in the same
// directory, synced, renamed over the file, and the directory synced.
func (s *Source) save() error {
	f := file{Events: make([]call, 0, len(s.events))}
	for _, e := range s.events {
		f.Events = append(f.Events, toCall(e))
	}
	var data []byte
	var err error
	if s.yaml {
		data, err = yaml.Marshal(f)
	} else {
		data, err = json.MarshalIndent(f, "", "  ")
		data = append(data, '\n')
	}
	if err != nil {
		return fmt.Errorf("encode calls: %w", err)
	}
	dir := filepath.Dir(s.cfg.Path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.cfg.Path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save calls: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save calls: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save calls: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save calls: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.cfg.Path); err != nil {
		return fmt.Errorf("save calls: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}

var _ demand.Source = (*Source)(nil)
