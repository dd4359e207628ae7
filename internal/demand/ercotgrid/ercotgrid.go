// Package ercotgrid turns ERCOT's published grid conditions into demand
// events: a demand.Source that polls the public, unauthenticated dashboard
// document daily-prc.json (DefaultURL) for the current condition (normal,
// weather watch, conservation appeal, Energy Emergency Alert levels 1–3)
// and the Physical Responsive Capability (PRC, MW), and maps them to
// events by configuration.
//
// The document's current_condition carries title, state, condition_note,
// eea_level (0–3), energy_level_value, prc_value ("9,876", MW) and
// datetime (unix seconds); an emergency is read from eea_level, other
// conditions from the state and title texts (see Parse). No separate
// public EEA notice document was found among ERCOT's dashboard feeds;
// daily-prc.json is the one that carries the emergency level.
//
// # Events
//
// Config.Conditions maps a condition to an Action (by default EEA1, EEA2
// and EEA3 to SIMPLE levels 1, 2 and 3, which demand.Tiers turns into
// caps; Cap actions cap the site's import directly), and Config.PRC adds
// events while PRC is below a threshold. An event starts when its trigger
// is first seen (the injected clock's time of that poll) and is open-ended
// while in force; when a fresh reading no longer shows it, its End is set
// to that poll's time. A change of condition (EEA1 to EEA2) ends one event
// and starts another. Ended events stay in the set for Config.Keep so
// consumers see them end, then drop out. Run sends the whole set after the
// first good reading and on every change.
//
// # Stale data
//
// The safe choice is taken: a failed poll (network error, HTTP error,
// malformed document) changes nothing, so an emergency stays in force
// until a fresh reading clears it; it is never ended for lack of data.
// After Config.StaleAfter failed polls in a row (and every StaleAfter
// more) the source logs an error saying the conditions are stale, and
// Status reports the failures. A reading stamped earlier than the last one
// accepted (a stale cache) is ignored. A reading whose condition cannot be
// classified is logged and maps to Config.Conditions[Unknown] (by default,
// no event).
//
// The package does not read system frequency (measure it on site) or
// ERCOT's notices to market participants.
package ercotgrid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

// DefaultURL is ERCOT's grid conditions dashboard document.
const DefaultURL = "https://www.ercot.com/api/1/services/read/dashboards/daily-prc.json"

// SourceName is the Source of the events this package makes.
const SourceName = "ercot-grid"

// Program is the Program of the events this package makes.
const Program = "ercot-grid-conditions"

// Defaults of Config's zero fields.
const (
	DefaultInterval   = time.Minute
	DefaultTimeout    = 20 * time.Second
	DefaultStaleAfter = 5
	DefaultKeep       = 24 * time.Hour
	maxBody           = 16 << 20
)

// Action is what a trigger asks of the site: a SIMPLE Level (demand.Level)
// or an import Cap (demand.Cap) at Power. The zero Action asks nothing.
type Action struct {
	Kind     demand.Kind
	Level    int
	Power    energy.Power
	Priority int
}

func (a Action) none() bool { return a.Kind == "" }

func (a Action) check() error {
	switch a.Kind {
	case "":
		return nil
	case demand.Level:
		if a.Level < 0 || a.Level > 3 {
			return fmt.Errorf("level %d: want 0 to 3", a.Level)
		}
	case demand.Cap:
		if _, err := energy.NewPower("cap", float64(a.Power)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("kind %q: want level or cap", a.Kind)
	}
	return nil
}

// PRCRule raises Action while PRC is below Below, and clears it once PRC
// is at or above Clear (zero: Below), so that a PRC hovering at the
// threshold does not start and end events on every poll.
type PRCRule struct {
	Below  energy.Power
	Clear  energy.Power
	Action Action
}

// Config configures the source.
type Config struct {
	// URL is the document polled ("": DefaultURL).
	URL string
	// Interval is the time between polls on the injected clock
	// (0: DefaultInterval).
	Interval time.Duration
	// Timeout bounds each request, on wall time (0: DefaultTimeout).
	Timeout time.Duration
	// StaleAfter is the failed polls in a row before the conditions are
	// reported stale (0: DefaultStaleAfter).
	StaleAfter int
	// Conditions maps conditions to actions (nil: DefaultConditions).
	Conditions map[Condition]Action
	// PRC adds events while PRC is low.
	PRC []PRCRule
	// Keep is how long an ended event stays in the set (0: DefaultKeep).
	Keep time.Duration
}

// DefaultConditions maps EEA1, EEA2 and EEA3 to SIMPLE levels 1, 2 and 3.
func DefaultConditions() map[Condition]Action {
	return map[Condition]Action{
		EEA1: {Kind: demand.Level, Level: 1},
		EEA2: {Kind: demand.Level, Level: 2},
		EEA3: {Kind: demand.Level, Level: 3},
	}
}

// Deps are the source's collaborators; zero values get defaults.
type Deps struct {
	HTTP   *http.Client // nil: a client with the default transport
	Clock  clock.Clock  // polls and event times (nil: the wall clock)
	Logger *slog.Logger // nil: discarded
}

// Status is what the source knows of the conditions.
type Status struct {
	// Last is the last reading accepted, at LastOK (clock time); zero
	// before any.
	Last   Reading
	LastOK time.Time
	// Failures counts failed polls since the last good one; Stale is
	// whether it reached StaleAfter; Err is the last failure.
	Failures int
	Stale    bool
	Err      error
}

// Source is the grid conditions demand.Source. Run it once.
type Source struct {
	cfg  Config
	http *http.Client
	clk  clock.Clock
	log  *slog.Logger

	mu      sync.Mutex
	status  Status
	active  map[string]demand.Event // in force, by trigger
	ended   []demand.Event          // ended, kept for Keep
	unknown string                  // last unclassified state logged
}

// New checks cfg and returns the source. It does no I/O.
func New(cfg Config, deps Deps) (*Source, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("ercot grid: url %q: want an http(s) URL", cfg.URL)
	}
	if cfg.Interval < 0 || cfg.Timeout < 0 || cfg.StaleAfter < 0 || cfg.Keep < 0 {
		return nil, errors.New("ercot grid: negative interval, timeout, stale-after or keep")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.Keep == 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Conditions == nil {
		cfg.Conditions = DefaultConditions()
	}
	for c, a := range cfg.Conditions {
		if _, err := ParseCondition(string(c)); err != nil {
			return nil, fmt.Errorf("ercot grid: %w", err)
		}
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("ercot grid: condition %s: %w", c, err)
		}
	}
	for i, r := range cfg.PRC {
		if r.Below <= 0 || (r.Clear != 0 && r.Clear < r.Below) {
			return nil, fmt.Errorf("ercot grid: prc rule %d: want a positive threshold and a clear level at or above it", i+1)
		}
		if r.Action.none() {
			return nil, fmt.Errorf("ercot grid: prc rule %d: no action", i+1)
		}
		if err := r.Action.check(); err != nil {
			return nil, fmt.Errorf("ercot grid: prc rule %d: %w", i+1, err)
		}
	}
	s := &Source{cfg: cfg, http: deps.HTTP, clk: deps.Clock, log: deps.Logger, active: map[string]demand.Event{}}
	if s.http == nil {
		s.http = &http.Client{}
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Status returns what the source knows now.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Events returns the current set: events in force and recently ended
// ones, ordered by start then id.
func (s *Source) Events() []demand.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set()
}

func (s *Source) set() []demand.Event {
	out := make([]demand.Event, 0, len(s.active)+len(s.ended))
	for _, e := range s.active {
		out = append(out, e)
	}
	out = append(out, s.ended...)
	slices.SortFunc(out, func(a, b demand.Event) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Run polls until ctx ends, sending the set after the first good reading
// and on every change. It returns nil when ctx ends.
func (s *Source) Run(ctx context.Context, out chan<- []demand.Event) error {
	sent := false
	for {
		changed, ok := s.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if changed || (ok && !sent) {
			select {
			case out <- s.Events():
				sent = true
			case <-ctx.Done():
				return nil
			}
		}
		if err := s.clk.Sleep(ctx, s.cfg.Interval); err != nil {
			return nil
		}
	}
}

// poll fetches and applies one reading. It reports whether the set changed
// and whether the reading was good.
func (s *Source) poll(ctx context.Context) (changed, ok bool) {
	r, err := s.fetch(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	changed = s.prune(now)
	if err != nil {
		if ctx.Err() != nil {
			return changed, false
		}
		s.status.Failures++
		s.status.Err = err
		if s.status.Failures%s.cfg.StaleAfter == 0 {
			s.status.Stale = true
			s.log.Error("ercot grid conditions are stale; the last events stay in force until a fresh reading",
				"failures", s.status.Failures, "last_ok", s.status.LastOK, "in_force", len(s.active), "err", err)
		} else {
			s.log.Warn("ercot grid conditions poll failed", "failures", s.status.Failures, "err", err)
		}
		return changed, false
	}
	if !r.Time.IsZero() && !s.status.Last.Time.IsZero() && r.Time.Before(s.status.Last.Time) {
		s.log.Warn("ercot grid conditions reading older than the last one; ignored", "reading", r.Time, "last", s.status.Last.Time)
		return changed, false
	}
	if s.status.Stale {
		s.log.Info("ercot grid conditions fresh again", "after_failures", s.status.Failures)
	}
	s.status = Status{Last: r, LastOK: now}
	if r.Condition == Unknown && r.State != s.unknown {
		s.unknown = r.State
		s.log.Warn("ercot grid condition not recognised", "state", r.State, "title", r.Title, "eea_level", r.EEALevel)
	}
	if s.apply(r, now) {
		changed = true
	}
	return changed, true
}

// trigger is one reason for an event in force.
type trigger struct {
	key    string
	name   string
	action Action
}

// triggers lists what reading r asks for, given what is in force (for the
// PRC rules' hysteresis).
func (s *Source) triggers(r Reading) []trigger {
	var out []trigger
	if a := s.cfg.Conditions[r.Condition]; !a.none() {
		name := "ERCOT " + strings.ToUpper(string(r.Condition))
		if r.Title != "" {
			name += ": " + r.Title
		}
		out = append(out, trigger{key: "condition-" + string(r.Condition), name: name, action: a})
	}
	if r.HasPRC {
		for _, rule := range s.cfg.PRC {
			key := fmt.Sprintf("prc-below-%.0fmw", rule.Below.MW())
			clear := rule.Clear
			if clear == 0 {
				clear = rule.Below
			}
			_, inForce := s.active[key]
			if r.PRC < rule.Below || (inForce && r.PRC < clear) {
				out = append(out, trigger{key: key, name: fmt.Sprintf("ERCOT PRC %.0f MW below %.0f MW", r.PRC.MW(), rule.Below.MW()), action: rule.Action})
			}
		}
	}
	return out
}

// apply starts the events of new triggers and ends those of cleared ones.
func (s *Source) apply(r Reading, now time.Time) bool {
	changed := false
	want := map[string]bool{}
	for _, t := range s.triggers(r) {
		want[t.key] = true
		if _, ok := s.active[t.key]; ok {
			continue
		}
		e := demand.Event{
			Source: SourceName, ID: t.key + "-" + now.UTC().Format("20060102T150405Z"), Program: Program, Name: t.name,
			Kind: t.action.Kind, Start: now, Priority: t.action.Priority, Power: t.action.Power, Level: t.action.Level,
		}
		if err := e.Validate(); err != nil {
			s.log.Error("ercot grid event invalid; not raised", "err", err)
			continue
		}
		s.active[t.key] = e
		s.log.Warn("ercot grid event started", "event", e.Key(), "name", e.Name, "prc_mw", r.PRC.MW())
		changed = true
	}
	for key, e := range s.active {
		if want[key] {
			continue
		}
		e.End = now
		if !e.End.After(e.Start) {
			e.End = e.Start.Add(time.Nanosecond)
		}
		delete(s.active, key)
		s.ended = append(s.ended, e)
		s.log.Info("ercot grid event ended", "event", e.Key(), "condition", r.Condition, "prc_mw", r.PRC.MW())
		changed = true
	}
	return changed
}

// prune drops ended events older than Keep.
func (s *Source) prune(now time.Time) bool {
	n := len(s.ended)
	s.ended = slices.DeleteFunc(s.ended, func(e demand.Event) bool { return !now.Before(e.End.Add(s.cfg.Keep)) })
	return len(s.ended) != n
}

// fetch GETs and parses the document, with its own deadline.
func (s *Source) fetch(ctx context.Context) (Reading, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return Reading{}, fmt.Errorf("ercot grid: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gridminer (+https://github.com/gridminer/gridminer)")
	resp, err := s.http.Do(req)
	if err != nil {
		return Reading{}, fmt.Errorf("ercot grid: GET %s: %w", s.cfg.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Reading{}, fmt.Errorf("ercot grid: GET %s: read: %w", s.cfg.URL, err)
	}
	if len(body) > maxBody {
		return Reading{}, fmt.Errorf("ercot grid: GET %s: body larger than %d bytes", s.cfg.URL, maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Reading{}, fmt.Errorf("ercot grid: GET %s: HTTP %s", s.cfg.URL, resp.Status)
	}
	r, err := Parse(body)
	if err != nil {
		return Reading{}, fmt.Errorf("ercot grid: GET %s: %w", s.cfg.URL, err)
	}
	return r, nil
}

var _ demand.Source = (*Source)(nil)
