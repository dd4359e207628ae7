package openadr3

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

// Readings is where the VEN gets the numbers for its reports. internal/site
// implements it from its meter and ledger.
type Readings interface {
	// Usage returns the site's grid import over [from, to): the energy, the
	// average power, and the baseline (the average power the site would
	// have drawn without the event). It is asked only after to has passed.
	Usage(ctx context.Context, from, to time.Time) (Usage, error)
}

// Usage is the site's grid import over a span.
type Usage struct {
	Energy   energy.Energy // Wh imported
	Demand   energy.Power  // average W
	Baseline energy.Power  // average W without the event
	// OK is false when the data is missing or incomplete; the report then
	// carries the values with a DATA_QUALITY of MISSING.
	OK bool
}

// window is one report a descriptor asks for: intervals [First, Last] of
// the event, due when Last ends.
type window struct {
	Desc, First, Last int
}

func (w window) key() string { return fmt.Sprintf("%d:%d-%d", w.Desc, w.First, w.Last) }

// reportWindows returns the reports descriptor d asks for over an event of
// n intervals, following the reportDescriptor fields: startInterval is the
// interval at whose end a report is made (-1: the last), numIntervals how
// many intervals up to it it covers (-1: all), frequency how many intervals
// later the next one is made (-1: numIntervals; 0, ad hoc: treated as -1),
// repeat how many are made (-1: while intervals last). Forecast
// (historical=false) reports are not made.
func reportWindows(desc int, d ReportDescriptor, n int) []window {
	if n == 0 || !boolOr(d.Historical, true) {
		return nil
	}
	end := intOr(d.StartInterval, -1)
	if end < 0 {
		end = n - 1
	}
	width := intOr(d.NumIntervals, -1)
	if width <= 0 {
		width = end + 1
	}
	step := intOr(d.Frequency, -1)
	if step <= 0 {
		step = width
	}
	reps := intOr(d.Repeat, 1)
	var out []window
	for k := 0; (reps < 0 || k < reps) && end < n && k < n; k++ {
		out = append(out, window{Desc: desc, First: max(0, end-width+1), Last: end})
		end += step
	}
	return out
}

// reportable are the report payload types the VEN can fill in.
var reportable = []string{PayloadUsage, PayloadDemand, PayloadBaseline}

// reportSpans are the event's intervals, as reports count them: the first
// repetition, in order.
func reportSpans(res Resolved) []Span {
	var out []Span
	for _, s := range res.Spans {
		if s.Rep == 0 {
			out = append(out, s)
		}
	}
	return out
}

// dueReports returns the windows of l whose last interval has ended and
// that were not sent, and when the next one falls due.
func dueReports(l *Lifecycle, res Resolved, now time.Time) (due []window, next time.Time) {
	if res.Looping || l.Status == demand.Cancelled {
		return nil, time.Time{}
	}
	spans := reportSpans(res)
	for i, d := range l.Event.ReportDescriptors {
		if !slices.Contains(reportable, d.PayloadType) {
			continue
		}
		for _, w := range reportWindows(i, d, len(spans)) {
			last := spans[w.Last]
			if last.Open() || slices.Contains(l.ReportsSent, w.key()) {
				continue
			}
			if !last.End.After(now) {
				due = append(due, w)
			} else if next.IsZero() || last.End.Before(next) {
				next = last.End
			}
		}
	}
	return due, next
}

// errIncomplete says a report window's readings are not complete yet and
// its grace period has not run out: the report waits.
var errIncomplete = errors.New("readings not complete yet")

// buildReport fills in one report window from readings. Before the window
// is ReportGrace old, incomplete readings return errIncomplete.
func (v *VEN) buildReport(ctx context.Context, l *Lifecycle, spans []Span, w window, now time.Time) (Report, error) {
	d := l.Event.ReportDescriptors[w.Desc]
	units := strings.ToUpper(d.Units)
	desc := PayloadDescriptor{ObjectType: ReportPayloadDescriptor, PayloadType: d.PayloadType, ReadingType: d.ReadingType}
	energyUnits := false
	switch d.PayloadType {
	case PayloadUsage:
		energyUnits = true
		if desc.ReadingType == "" {
			desc.ReadingType = "DIRECT_READ"
		}
	case PayloadDemand:
		if desc.ReadingType == "" {
			desc.ReadingType = "MEAN"
		}
	case PayloadBaseline:
		energyUnits = strings.HasSuffix(units, "WH")
	}
	if units == "" {
		units = "KW"
		if energyUnits {
			units = "KWH"
		}
	}
	desc.Units = units
	scale, err := reportScale(units, energyUnits)
	if err != nil {
		return Report{}, fmt.Errorf("report %s %s: %w", l.EventID, d.PayloadType, err)
	}
	res := ReportResource{ResourceName: v.cfg.ResourceName, Intervals: []Interval{}}
	for i := w.First; i <= w.Last; i++ {
		s := spans[i]
		u, err := v.readings.Usage(ctx, s.Start, s.End)
		if err != nil {
			return Report{}, fmt.Errorf("report %s: readings %s to %s: %w", l.EventID, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), err)
		}
		var x float64
		switch d.PayloadType {
		case PayloadUsage:
			x = float64(u.Energy)
		case PayloadDemand:
			x = float64(u.Demand)
		case PayloadBaseline:
			x = float64(u.Baseline)
			if energyUnits {
				x = float64(u.Baseline.Over(s.End.Sub(s.Start)))
			}
		}
		if err := energy.Check("reading", x); err != nil {
			return Report{}, fmt.Errorf("report %s: %w", l.EventID, err)
		}
		iv := Interval{
			ID:             s.IntervalID,
			IntervalPeriod: &IntervalPeriod{Start: DateTimeOf(s.Start), Duration: DurationOf(s.End.Sub(s.Start))},
			Payloads:       []ValuesMap{{Type: d.PayloadType, Values: []Value{Num(x / scale)}}},
		}
		if !u.OK {
			if now.Before(spans[w.Last].End.Add(v.cfg.ReportGrace)) {
				return Report{}, errIncomplete
			}
			iv.Payloads = append(iv.Payloads, ValuesMap{Type: PayloadDataQuality, Values: []Value{Str("MISSING")}})
		}
		res.Intervals = append(res.Intervals, iv)
	}
	r := Report{
		EventID: l.EventID, ClientName: v.cfg.VENName,
		ReportName:         fmt.Sprintf("%s %s %s", v.cfg.VENName, d.PayloadType, w.key()),
		PayloadDescriptors: []PayloadDescriptor{desc},
		Resources:          []ReportResource{res},
	}
	if v.cfg.Version == V301 {
		r.ProgramID = l.ProgramID
	}
	return r, nil
}

// reportScale is how many base units (Wh or W) one reported unit is.
func reportScale(units string, energyUnits bool) (float64, error) {
	switch {
	case energyUnits && units == "WH", !energyUnits && units == "W":
		return 1, nil
	case energyUnits && units == "KWH", !energyUnits && units == "KW":
		return 1e3, nil
	case energyUnits && units == "MWH", !energyUnits && units == "MW":
		return 1e6, nil
	}
	return 0, fmt.Errorf("units %q: cannot report in them", units)
}

// sendReports posts the reports that are due; it returns when the next
// falls due (zero: none) and the first error (the failed ones are retried
// at the next call).
func (v *VEN) sendReports(ctx context.Context, st *venState, now time.Time) (time.Time, error) {
	if v.readings == nil {
		return time.Time{}, nil
	}
	var next time.Time
	var firstErr error
	for _, l := range st.records {
		if len(l.Event.ReportDescriptors) == 0 || l.Start.IsZero() || l.ReportsDone {
			continue
		}
		res, err := Resolve(l.Event, Timing{Now: l.NowAnchor, Jitter: st.jitter(l.Modified)})
		if err != nil {
			continue
		}
		due, n := dueReports(l, res, now)
		if len(due) == 0 && n.IsZero() && l.terminal() {
			l.ReportsDone = true
			continue
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
		spans := reportSpans(res)
		for _, w := range due {
			r, err := v.buildReport(ctx, l, spans, w, now)
			if errors.Is(err, errIncomplete) {
				// Ask again at the next poll (the loop calls at least that
				// often while a report is due).
				if retry := now.Add(v.cfg.PollEvery); next.IsZero() || retry.Before(next) {
					next = retry
				}
				continue
			}
			if err == nil {
				_, err = v.client.CreateReport(ctx, r)
			}
			if err != nil {
				firstErr = cmpOr(firstErr, fmt.Errorf("openadr3 ven %s: %w", v.cfg.VENName, err))
				continue
			}
			l.ReportsSent = append(l.ReportsSent, w.key())
			v.log.Info("openadr3 ven: report sent", "event", l.EventID, "payload", l.Event.ReportDescriptors[w.Desc].PayloadType, "window", w.key())
		}
	}
	return next, firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
