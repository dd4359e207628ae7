package ercotapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// Options tune a source's cache; zero fields get defaults.
type Options struct {
	// Refresh is the least time between two asks for the same unfinished
	// day (or, for RTDIndicative, for the latest run) (0: one minute).
	Refresh time.Duration
	// FinalAfter is how long after a local day ends it is taken as final
	// even with intervals missing, and never asked for again: a missing
	// interval then stays a gap (0: 24 h for SPPs, 2 h for LMPs).
	FinalAfter time.Duration
	// MaxDays bounds the days kept in the cache (0: 400).
	MaxDays int
	// Lookback is how far back RTDIndicative looks for the latest run
	// (0: 15 minutes).
	Lookback time.Duration
}

func (o Options) withDefaults(finalAfter time.Duration) (Options, error) {
	if o.Refresh < 0 || o.FinalAfter < 0 || o.MaxDays < 0 || o.Lookback < 0 {
		return o, errors.New("negative refresh, final-after, max days or lookback")
	}
	if o.Refresh == 0 {
		o.Refresh = time.Minute
	}
	if o.FinalAfter == 0 {
		o.FinalAfter = finalAfter
	}
	if o.MaxDays == 0 {
		o.MaxDays = 400
	}
	if o.Lookback == 0 {
		o.Lookback = 15 * time.Minute
	}
	return o, nil
}

func checkPoint(point string) error {
	if point == "" || strings.TrimSpace(point) != point || strings.ContainsAny(point, ",&?= \t") {
		return fmt.Errorf("settlement point %q: want a name such as HB_NORTH or LZ_WEST", point)
	}
	return nil
}

func spanError(name string, from, to time.Time, err error) error {
	return fmt.Errorf("%s: span [%s, %s): %w", name, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
}

// slot is one cached price: the interval starting at start, and the SCED
// run that set it (LMPs; zero for SPPs), so that a later run wins.
type slot struct {
	start time.Time
	at    time.Time
	price energy.Price
}

// dayEntry is what the cache holds of one local day.
type dayEntry struct {
	slots   map[time.Time]slot
	fetched time.Time // clock time of the last ask
	final   bool      // never ask again
	used    uint64    // for eviction
}

// latest returns the slot with the latest start (ok false when empty).
func (e *dayEntry) latest() (slot, bool) {
	var best slot
	ok := false
	for _, s := range e.slots {
		if !ok || s.start.After(best.start) {
			best, ok = s, true
		}
	}
	return best, ok
}

// daySource is the day-cached machinery shared by RealTimeSPP and LMP5.
type daySource struct {
	c     *Client
	name  string
	point string
	step  time.Duration
	opts  Options
	// fetch asks the API for the consecutive days of run, or, when partial
	// is set (run is then one day whose cache holds slots), for the rest of
	// that day; it returns the slots by local day.
	fetch func(ctx context.Context, run []civilDay, partial *dayEntry) (map[civilDay][]slot, error)
	// final reports whether a day's entry will not change any more.
	final func(d civilDay, e *dayEntry, now time.Time) bool

	loc  *time.Location
	mu   sync.Mutex
	days map[civilDay]*dayEntry
	tick uint64
}

// maxRun bounds the days of one query.
const maxRun = 31

func (s *daySource) schedule(ctx context.Context, from, to time.Time) (price.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, spanError(s.name, from, to, energy.ErrBadInterval)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.c.clk.Now()
	span := days(from, to, s.loc)
	var need []civilDay
	for _, d := range span {
		if !d.start(s.loc).Before(now) {
			continue // not begun: nothing can be published for it
		}
		if e := s.days[d]; e != nil && (e.final || now.Sub(e.fetched) < s.opts.Refresh) {
			continue
		}
		need = append(need, d)
	}
	for _, run := range consecutive(need, maxRun) {
		var partial *dayEntry
		if e := s.days[run[0]]; len(run) == 1 && e != nil && len(e.slots) > 0 {
			partial = e
		}
		got, err := s.fetch(ctx, run, partial)
		if err != nil {
			return nil, spanError(s.name, from, to, err)
		}
		for _, d := range run {
			e := s.days[d]
			if e == nil {
				e = &dayEntry{slots: map[time.Time]slot{}}
				s.days[d] = e
			}
			for _, sl := range got[d] {
				if old, ok := e.slots[sl.start]; ok && old.at.After(sl.at) {
					continue
				}
				e.slots[sl.start] = sl
			}
			e.fetched = now
			e.final = s.final(d, e, now)
		}
	}
	var out price.Schedule
	for _, d := range span {
		e := s.days[d]
		if e == nil {
			continue
		}
		s.tick++
		e.used = s.tick
		for _, sl := range e.slots {
			iv := energy.Interval{Start: sl.start, End: sl.start.Add(s.step)}
			if iv.End.After(from) && iv.Start.Before(to) {
				out = append(out, price.Point{Interval: iv, Price: sl.price})
			}
		}
	}
	s.evict()
	slices.SortFunc(out, func(a, b price.Point) int { return a.Interval.Start.Compare(b.Interval.Start) })
	if err := out.Validate(); err != nil {
		return nil, spanError(s.name, from, to, err)
	}
	if len(out) == 0 {
		return nil, spanError(s.name, from, to, price.ErrNoData)
	}
	return out, nil
}

// evict drops the least recently used days beyond MaxDays.
func (s *daySource) evict() {
	for len(s.days) > s.opts.MaxDays {
		var victim civilDay
		var oldest uint64
		first := true
		for d, e := range s.days {
			if first || e.used < oldest {
				victim, oldest, first = d, e.used, false
			}
		}
		delete(s.days, victim)
	}
}

// consecutive splits sorted days into runs of consecutive days of at most
// n days.
func consecutive(ds []civilDay, n int) [][]civilDay {
	var out [][]civilDay
	for _, d := range ds {
		if k := len(out); k > 0 {
			last := out[k-1]
			if len(last) < n && last[len(last)-1].next() == d {
				out[k-1] = append(last, d)
				continue
			}
		}
		out = append(out, []civilDay{d})
	}
	return out
}

// inRun returns the days of run as a set.
func inRun(run []civilDay) map[civilDay]bool {
	m := make(map[civilDay]bool, len(run))
	for _, d := range run {
		m[d] = true
	}
	return m
}

// RealTimeSPP is a price.Source of NP6-905-CD 15-minute real-time
// settlement point prices of one point (hub HB_*, load zone LZ_* or its
// energy-weighted LZ_*_EW, or resource node). It is safe for concurrent use.
type RealTimeSPP struct{ s daySource }

// NewRealTimeSPP returns the real-time SPP source of point.
func NewRealTimeSPP(c *Client, point string, o Options) (*RealTimeSPP, error) {
	if err := checkPoint(point); err != nil {
		return nil, fmt.Errorf("ercot api spp: %w", err)
	}
	o, err := o.withDefaults(24 * time.Hour)
	if err != nil {
		return nil, fmt.Errorf("ercot api spp %s: %w", point, err)
	}
	r := &RealTimeSPP{s: daySource{
		c: c, name: "ercot api spp " + point, point: point, step: sppStep, opts: o,
		loc: price.ERCOTLocation(), days: map[civilDay]*dayEntry{},
	}}
	r.s.fetch = r.fetch
	r.s.final = func(d civilDay, e *dayEntry, now time.Time) bool {
		end := d.end(r.s.loc)
		want := int(end.Sub(d.start(r.s.loc)) / sppStep)
		return len(e.slots) >= want || !now.Before(end.Add(o.FinalAfter))
	}
	return r, nil
}

// Schedule returns the published 15-minute prices overlapping [from, to),
// or an error wrapping price.ErrNoData when none are published.
func (r *RealTimeSPP) Schedule(ctx context.Context, from, to time.Time) (price.Schedule, error) {
	return r.s.schedule(ctx, from, to)
}

func (r *RealTimeSPP) fetch(ctx context.Context, run []civilDay, partial *dayEntry) (map[civilDay][]slot, error) {
	q := url.Values{
		"deliveryDateFrom": {run[0].String()},
		"deliveryDateTo":   {run[len(run)-1].String()},
		"settlementPoint":  {queryPoint(r.s.point)},
	}
	if partial != nil {
		// Ask again only from the hour of the latest price held: hour-ending
		// H is the hour whose local start is H-1 (in either pass of the
		// repeated hour, which shares its label).
		if last, ok := partial.latest(); ok {
			q.Set("deliveryHourFrom", strconv.Itoa(last.start.In(r.s.loc).Hour()+1))
		}
	}
	rep, err := r.s.c.Query(ctx, PathSPP, q)
	if err != nil {
		return nil, err
	}
	rows, err := decodeSPP(rep, r.s.point, r.s.loc)
	if err != nil {
		return nil, err
	}
	want := inRun(run)
	seen := map[time.Time]bool{}
	out := map[civilDay][]slot{}
	for _, row := range rows {
		if seen[row.start] {
			return nil, fmt.Errorf("%w: two prices for the interval starting %s", ErrBadPayload, row.start.Format(time.RFC3339))
		}
		seen[row.start] = true
		if !want[row.day] {
			continue
		}
		out[row.day] = append(out[row.day], slot{start: row.start, price: row.price})
	}
	return out, nil
}

// LMP5 is a price.Source of NP6-788-CD LMPs of one point by SCED run. A
// run's LMP covers the clock-aligned 5-minute interval in which the run's
// timestamp falls; when several runs fall in one interval the latest wins;
// an interval in which no run started is a gap. LMPs carry no scarcity
// adders: settlement uses RealTimeSPP. It is safe for concurrent use.
type LMP5 struct{ s daySource }

// NewLMP5 returns the 5-minute LMP source of point.
func NewLMP5(c *Client, point string, o Options) (*LMP5, error) {
	if err := checkPoint(point); err != nil {
		return nil, fmt.Errorf("ercot api lmp: %w", err)
	}
	o, err := o.withDefaults(2 * time.Hour)
	if err != nil {
		return nil, fmt.Errorf("ercot api lmp %s: %w", point, err)
	}
	l := &LMP5{s: daySource{
		c: c, name: "ercot api lmp " + point, point: point, step: lmpStep, opts: o,
		loc: price.ERCOTLocation(), days: map[civilDay]*dayEntry{},
	}}
	l.s.fetch = l.fetch
	l.s.final = func(d civilDay, _ *dayEntry, now time.Time) bool {
		return !now.Before(d.end(l.s.loc).Add(o.FinalAfter))
	}
	return l, nil
}

// Schedule returns the published 5-minute LMPs overlapping [from, to), or
// an error wrapping price.ErrNoData when none are published.
func (l *LMP5) Schedule(ctx context.Context, from, to time.Time) (price.Schedule, error) {
	return l.s.schedule(ctx, from, to)
}

func (l *LMP5) fetch(ctx context.Context, run []civilDay, partial *dayEntry) (map[civilDay][]slot, error) {
	loc := l.s.loc
	first, last := run[0], run[len(run)-1]
	q := url.Values{
		"SCEDTimestampFrom": {first.String() + "T00:00:00"},
		"SCEDTimestampTo":   {last.String() + "T23:59:59"},
		"settlementPoint":   {l.s.point},
	}
	// Ask again only from the latest run held, except on the fall-back day,
	// whose wall clock runs back an hour (the whole day is asked for).
	if s, ok := partial.latestIfAny(); ok && first.end(loc).Sub(first.start(loc)) <= 24*time.Hour {
		q.Set("SCEDTimestampFrom", wallString(s.at, loc))
	}
	rep, err := l.s.c.Query(ctx, PathLMP, q)
	if err != nil {
		return nil, err
	}
	rows, err := decodeLMP(rep, l.s.point, loc)
	if err != nil {
		return nil, err
	}
	want := inRun(run)
	best := map[time.Time]slot{}
	for _, row := range rows {
		if !want[row.day] {
			continue
		}
		start := row.at.Truncate(lmpStep)
		if old, ok := best[start]; ok && !row.at.After(old.at) {
			continue
		}
		best[start] = slot{start: start, at: row.at, price: row.price}
	}
	out := map[civilDay][]slot{}
	for _, sl := range best {
		d := dayOf(sl.at, loc)
		out[d] = append(out[d], sl)
	}
	return out, nil
}

// latestIfAny is latest on a possibly nil entry.
func (e *dayEntry) latestIfAny() (slot, bool) {
	if e == nil {
		return slot{}, false
	}
	return e.latest()
}

// RTDIndicative is a forecast price.Source: the NP6-970-CD indicative LMPs
// of one point from the latest look-ahead RTD run, 5-minute intervals
// reaching about an hour ahead. Each Schedule returns only the latest run's
// intervals (never an older run's, never extended); the run is asked for
// again at most every Options.Refresh. It is safe for concurrent use.
type RTDIndicative struct {
	c     *Client
	name  string
	point string
	opts  Options
	loc   *time.Location

	mu      sync.Mutex
	run     time.Time
	pts     price.Schedule
	fetched time.Time
	have    bool
}

// NewRTDIndicative returns the RTD indicative LMP source of point.
func NewRTDIndicative(c *Client, point string, o Options) (*RTDIndicative, error) {
	if err := checkPoint(point); err != nil {
		return nil, fmt.Errorf("ercot api rtd: %w", err)
	}
	o, err := o.withDefaults(time.Hour)
	if err != nil {
		return nil, fmt.Errorf("ercot api rtd %s: %w", point, err)
	}
	return &RTDIndicative{c: c, name: "ercot api rtd " + point, point: point, opts: o, loc: price.ERCOTLocation()}, nil
}

// Schedule returns the latest RTD run's intervals overlapping [from, to),
// or an error wrapping price.ErrNoData when the run has none there or no
// run is published within Options.Lookback.
func (r *RTDIndicative) Schedule(ctx context.Context, from, to time.Time) (price.Schedule, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, spanError(r.name, from, to, energy.ErrBadInterval)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.c.clk.Now()
	if !r.have || now.Sub(r.fetched) >= r.opts.Refresh {
		if err := r.fetch(ctx, now); err != nil {
			return nil, spanError(r.name, from, to, err)
		}
	}
	if len(r.pts) == 0 {
		return nil, spanError(r.name, from, to, fmt.Errorf("no RTD run since %s: %w", wallString(now.Add(-r.opts.Lookback), r.loc), price.ErrNoData))
	}
	got := r.pts.Between(from, to)
	if len(got) == 0 {
		return nil, spanError(r.name, from, to, fmt.Errorf("the latest RTD run (%s) has no interval there: %w", r.run.UTC().Format(time.RFC3339), price.ErrNoData))
	}
	return slices.Clone(got), nil
}

// LatestRun returns the timestamp of the run the last Schedule used, and
// false before any.
func (r *RTDIndicative) LatestRun() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run, r.have && len(r.pts) > 0
}

func (r *RTDIndicative) fetch(ctx context.Context, now time.Time) error {
	// The wall clock runs back an hour when clocks fall back: start from the
	// earlier of the two wall readings so the window is never empty.
	fromWall := now.Add(-r.opts.Lookback).In(r.loc)
	if alt := now.In(r.loc); wallBefore(alt, fromWall) {
		fromWall = time.Date(alt.Year(), alt.Month(), alt.Day(), alt.Hour(), alt.Minute(), alt.Second(), 0, time.UTC).Add(-r.opts.Lookback)
	}
	q := url.Values{
		"RTDTimestampFrom": {fromWall.Format("2006-01-02T15:04:05")},
		"settlementPoint":  {r.point},
	}
	rep, err := r.c.Query(ctx, PathRTD, q)
	if err != nil {
		return err
	}
	rows, err := decodeRTD(rep, r.point, r.loc)
	if err != nil {
		return err
	}
	// The latest run within the lookback (the wall-time filter may let
	// older runs through around the fall-back hour).
	var run time.Time
	for _, row := range rows {
		if row.run.After(run) && !row.run.Before(now.Add(-r.opts.Lookback)) {
			run = row.run
		}
	}
	var pts price.Schedule
	for _, row := range rows {
		if !run.IsZero() && row.run.Equal(run) {
			pts = append(pts, price.Point{Interval: energy.Interval{Start: row.start, End: row.start.Add(rtdStep)}, Price: row.price})
		}
	}
	slices.SortStableFunc(pts, func(a, b price.Point) int { return a.Interval.Start.Compare(b.Interval.Start) })
	pts = slices.CompactFunc(pts, func(a, b price.Point) bool {
		if a.Interval.Start.Equal(b.Interval.Start) {
			r.c.log.Warn("ercot api rtd: two prices for one interval of a run; keeping the first", "point", r.point, "start", a.Interval.Start)
			return true
		}
		return false
	})
	if err := pts.Validate(); err != nil {
		return fmt.Errorf("%w: run %s: %v", ErrBadPayload, run.Format(time.RFC3339), err)
	}
	r.pts, r.run, r.fetched, r.have = pts, run, now, true
	return nil
}

// wallBefore compares the wall readings of two times.
func wallBefore(a, b time.Time) bool {
	wa := time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), a.Second(), 0, time.UTC)
	wb := time.Date(b.Year(), b.Month(), b.Day(), b.Hour(), b.Minute(), b.Second(), 0, time.UTC)
	return wa.Before(wb)
}

// The sources are price sources.
var (
	_ price.Source = (*RealTimeSPP)(nil)
	_ price.Source = (*LMP5)(nil)
	_ price.Source = (*RTDIndicative)(nil)
)
