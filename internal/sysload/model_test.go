package sysload

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
)

// synthLoad is a deterministic ERCOT-like hourly load over [from, to): a
// daily shape peaking in the late afternoon (local), a seasonal swell
// peaking in early August, weaker weekends, day levels following an AR(1)
// (heat waves) and hourly noise.
func synthLoad(seed uint64, from, to time.Time) Series {
	r := rand.New(rand.NewPCG(seed, 2021))
	var s Series
	level, day := 0.0, -1
	for t := from.UTC(); t.Before(to); t = t.Add(time.Hour) {
		l := t.In(market)
		if l.YearDay() != day {
			day = l.YearDay()
			level = 0.7*level + 0.035*r.NormFloat64()
		}
		season := 0.12 * math.Cos(float64(l.YearDay()-215)/365*2*math.Pi)
		week := 0.0
		if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
			week = -0.03
		}
		h := float64(l.Hour()) + float64(l.Minute())/60
		shape := 0.5 + 0.5*math.Cos((h-16.3)*2*math.Pi/24)
		mw := 42000*math.Exp(level+season+week)*(1+0.65*shape*shape) + 250*r.NormFloat64()
		s = append(s, hr(t, mw))
	}
	return s
}

var (
	synthFrom = time.Date(2021, 5, 1, 0, 0, 0, 0, market)
	synthTo   = time.Date(2021, 10, 1, 0, 0, 0, 0, market)
)

func fitSynth(t testing.TB) (Model, Series) {
	t.Helper()
	s := synthLoad(1, synthFrom, synthTo)
	m, err := Fit(s, FourCPMonths())
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func TestFitSynthetic(t *testing.T) {
	m, s := fitSynth(t)
	if err := m.Validate(); err != nil {
		t.Fatalf("fitted model invalid: %v", err)
	}
	if diff := cmp.Diff(FourCPMonths(), m.Months); diff != "" {
		t.Errorf("Months mismatch (-want +got):\n%s", diff)
	}
	if m.LevelDays != DefaultLevelDays || m.ForecastSpread != DefaultForecastSpread {
		t.Errorf("LevelDays, ForecastSpread = %d, %v; want %d, %v", m.LevelDays, m.ForecastSpread, DefaultLevelDays, DefaultForecastSpread)
	}
	// The daily shape rises through the morning and falls in the evening.
	if m.RampMW[10] <= 0 || m.RampMW[20] >= 0 {
		t.Errorf("ramps at 10:00 and 20:00 = %v, %v; want rising then falling", m.RampMW[10], m.RampMW[20])
	}
	if m.DayCorrelation < 0.3 || m.DayCorrelation > 0.95 {
		t.Errorf("DayCorrelation = %v, want the AR(1) persistence to show (0.3 to 0.95)", m.DayCorrelation)
	}
	if m.WeekdayOffset[time.Sunday] >= m.WeekdayOffset[time.Wednesday] {
		t.Errorf("Sunday offset %v not below Wednesday %v", m.WeekdayOffset[time.Sunday], m.WeekdayOffset[time.Wednesday])
	}
	lowest := m.Threshold(s, m.Months)
	if !(m.FlagThreshold > 0 && m.FlagThreshold < lowest) {
		t.Errorf("FlagThreshold %v, want in (0, %v)", m.FlagThreshold, lowest)
	}
	if sc := m.Score(s, m.Months, lowest); sc.PeaksCaught != 4 || sc.Peaks != 4 {
		t.Errorf("at Threshold(train) caught %d of %d peaks, want 4 of 4", sc.PeaksCaught, sc.Peaks)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeModel(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("JSON round trip mismatch (-fitted +decoded):\n%s", diff)
	}
}

// prefix returns the points of s that end at or before t.
func prefix(s Series, t time.Time) Series {
	n := 0
	for n < len(s) && !s[n].Interval.End.After(t) {
		n++
	}
	return s[:n]
}

func TestRisksMatchRiskOnPrefix(t *testing.T) {
	m, _ := fitSynth(t)
	s := synthLoad(7, synthFrom, synthTo) // not the training draw
	risks := m.Risks(s, FourCPMonths())
	if got, want := len(risks), 30*24+31*24+31*24+30*24; got != want {
		t.Fatalf("Risks returned %d hours, want %d (every hour of June–September)", got, want)
	}
	for i, r := range risks {
		if i > 0 && !r.Hour.Equal(risks[i-1].Hour.Add(time.Hour)) {
			t.Fatalf("risk %d at %v does not follow %v", i, r.Hour, risks[i-1].Hour)
		}
		if !(r.Risk >= 0 && r.Risk <= 1) || r.Hour.Location() != time.UTC {
			t.Fatalf("risk %d at %v = %v, want within [0, 1] and a UTC hour", i, r.Hour, r.Risk)
		}
		h := r.Hour
		if got := m.Risk(prefix(s, h), nil, h); got != r.Risk {
			t.Fatalf("Risk(prefix, %v) = %v, Risks gave %v", h, got, r.Risk)
		}
		if i%97 == 0 { // Risk ignores what is not known yet: the whole series gives the same
			if got := m.Risk(s, nil, h); got != r.Risk {
				t.Fatalf("Risk(whole series, %v) = %v, Risks gave %v", h, got, r.Risk)
			}
			if got := m.Risk(s, Series{}, h.Add(59*time.Minute)); got != r.Risk {
				t.Fatalf("Risk(%v, mid-hour) = %v, want the hour's %v", h.Add(59*time.Minute), got, r.Risk)
			}
		}
	}
	// The same load as 15-minute points gives the same risks.
	var quarters Series
	for _, p := range s {
		for q := range 4 {
			start := p.Interval.Start.Add(time.Duration(q) * 15 * time.Minute)
			quarters = append(quarters, Point{span(start, 15*time.Minute), p.MW})
		}
	}
	qr := m.Risks(quarters, FourCPMonths())
	if len(qr) != len(risks) {
		t.Fatalf("15-minute Risks returned %d hours, want %d", len(qr), len(risks))
	}
	for i := range qr {
		if !qr[i].Hour.Equal(risks[i].Hour) || math.Abs(qr[i].Risk-risks[i].Risk) > 1e-9 {
			t.Fatalf("15-minute risk %d = %+v, hourly %+v", i, qr[i], risks[i])
		}
	}
}

func TestPastRisksIgnoreFuture(t *testing.T) {
	m, _ := fitSynth(t)
	s := synthLoad(11, synthFrom, synthTo)
	base := m.Risks(s, FourCPMonths())
	perturb := []struct {
		name string
		f    func(i int, p Point) (Point, bool) // false drops the point
	}{
		{"scaled up 30 %", func(_ int, p Point) (Point, bool) { p.MW *= 1.3; return p, true }},
		{"scaled down 30 %", func(_ int, p Point) (Point, bool) { p.MW *= 0.7; return p, true }},
		{"every third hour dropped", func(i int, p Point) (Point, bool) { return p, i%3 != 0 }},
		{"all dropped", func(int, Point) (Point, bool) { return Point{}, false }},
		{"a record spike", func(i int, p Point) (Point, bool) { p.MW *= 1 + float64(i%50)/100; return p, true }},
	}
	for _, cut := range []time.Time{
		time.Date(2021, 6, 1, 0, 0, 0, 0, market),
		time.Date(2021, 7, 14, 15, 0, 0, 0, market),
		time.Date(2021, 9, 30, 16, 0, 0, 0, market),
	} {
		for _, pt := range perturb {
			t.Run(cut.Format("Jan02T15")+"/"+pt.name, func(t *testing.T) {
				var changed Series
				for i, p := range s {
					if p.Interval.Start.Before(cut) {
						changed = append(changed, p)
					} else if q, keep := pt.f(i, p); keep {
						changed = append(changed, q)
					}
				}
				got := m.Risks(changed, FourCPMonths())
				n := 0
				for _, r := range base {
					if r.Hour.After(cut) {
						break
					}
					j, ok := slices.BinarySearchFunc(got, r.Hour, func(h HourRisk, t time.Time) int { return h.Hour.Compare(t) })
					if !ok {
						if r.Hour.Before(cut) {
							t.Fatalf("hour %v lost", r.Hour)
						}
						continue // the cut hour itself was dropped
					}
					if got[j].Risk != r.Risk {
						t.Fatalf("risk of %v changed from %v to %v when load after %v changed", r.Hour, r.Risk, got[j].Risk, cut)
					}
					n++
				}
				if n == 0 && cut.After(synthFrom.AddDate(0, 1, 0)) {
					t.Fatal("no past hours compared")
				}
			})
		}
	}
}

func TestRiskEdges(t *testing.T) {
	m, s := fitSynth(t)
	h := time.Date(2021, 7, 14, 16, 0, 0, 0, market).UTC()
	known := prefix(s, h)
	stale := prefix(s, h.Add(-25*time.Hour))
	fcHour := Series{hr(h, 60000)}
	tests := []struct {
		name     string
		m        Model
		actual   Series
		forecast Series
		want     func(float64) bool
		wantDesc string
	}{
		{"zero model", Model{}, known, nil, func(r float64) bool { return r == 1 }, "1"},
		{"nothing known", m, nil, nil, func(r float64) bool { return r == 1 }, "1"},
		{"stale, no forecast", m, stale, nil, func(r float64) bool { return r == 1 }, "1"},
		{"a day old is not stale", m, prefix(s, h.Add(-23*time.Hour)), nil, func(r float64) bool { return r < 1 }, "below 1"},
		{"stale but forecast", m, stale, fcHour, func(r float64) bool { return r >= 0 && r < 1 }, "in [0, 1)"},
		{"forecast only", m, nil, fcHour, func(r float64) bool { return r >= 0 && r < 1 }, "in [0, 1)"},
		{"known", m, known, nil, func(r float64) bool { return r >= 0 && r < 1 }, "in [0, 1)"},
	}
	for _, tt := range tests {
		if got := tt.m.Risk(tt.actual, tt.forecast, h); !tt.want(got) {
			t.Errorf("%s: Risk = %v, want %s", tt.name, got, tt.wantDesc)
		}
	}
	bad := m
	bad.Slope = math.NaN()
	if got := bad.Risk(known, nil, h); got != 1 {
		t.Errorf("Risk with an invalid model = %v, want 1", got)
	}
}

func TestRiskForecast(t *testing.T) {
	m, s := fitSynth(t)
	peaks := MonthlyPeaks(s, []time.Month{time.July})
	if len(peaks) != 1 {
		t.Fatalf("July peaks: %v", peaks)
	}
	peak := peaks[0]
	monthMax := peak.MW
	// An ordinary afternoon early in the month and the peak hour itself.
	ordinary := time.Date(2021, 7, 6, 16, 0, 0, 0, market).UTC()
	if ordinary.Equal(peak.Interval.Start) {
		t.Fatal("pick another ordinary hour")
	}
	for _, h := range []time.Time{ordinary, peak.Interval.Start} {
		known := prefix(s, h)
		base := m.Risk(known, nil, h)
		local := h.In(market)
		nextDay := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, market).UTC()
		tests := []struct {
			name     string
			forecast Series
			cmp      func(got, base float64) bool
			want     string
		}{
			{"the hour forecast far above the month so far", Series{hr(h, monthMax*1.15)}, func(g, b float64) bool { return g > b }, "above"},
			{"the hour forecast far below the last known hour", Series{hr(h, known[len(known)-1].MW*0.8)}, func(g, b float64) bool { return g < b }, "below"},
			{"a later day forecast far higher", dayAt(nextDay, monthMax*1.3), func(g, b float64) bool { return g < b }, "below"},
			{"a later day forecast far lower", dayAt(nextDay, monthMax*0.5), func(g, b float64) bool { return g > b }, "above"},
			{"a later day forecast in part is ignored", dayAt(nextDay, monthMax*1.3)[:19], func(g, b float64) bool { return g == b }, "equal to"},
			{"forecasts of known hours are ignored", Series{hr(h.Add(-2*time.Hour), monthMax*2), hr(h.Add(-time.Hour), monthMax*2)}, func(g, b float64) bool { return g == b }, "equal to"},
			{"forecasts in another month are ignored", Series{hr(time.Date(2021, 8, 3, 16, 0, 0, 0, market).UTC(), monthMax*2)}, func(g, b float64) bool { return g == b }, "equal to"},
		}
		for _, tt := range tests {
			if got := m.Risk(known, tt.forecast, h); !tt.cmp(got, base) {
				t.Errorf("%v, %s: Risk = %v, want %s %v without a forecast", h, tt.name, got, tt.want, base)
			}
		}
	}
}

// dayAt is a forecast of every hour of the local day starting at day, all
// at mw.
func dayAt(day time.Time, mw float64) Series {
	var s Series
	for t := day.UTC(); t.Before(day.In(market).AddDate(0, 0, 1)); t = t.Add(time.Hour) {
		s = append(s, hr(t, mw))
	}
	return s
}

func TestScore(t *testing.T) {
	m, _ := fitSynth(t)
	s := synthLoad(5, synthFrom, synthTo)
	hours := (30 + 31 + 31 + 30) * 24
	tests := []struct {
		threshold         float64
		wantFlagged       int // -1: between
		wantCaught        int
		wantPeaks, wantHr int
	}{
		{0, hours, 4, 4, hours},
		{1.01, 0, 0, 4, hours},
		{m.Threshold(s, FourCPMonths()), -1, 4, 4, hours},
	}
	for _, tt := range tests {
		sc := m.Score(s, FourCPMonths(), tt.threshold)
		if sc.Threshold != tt.threshold || sc.Hours != tt.wantHr || sc.Peaks != tt.wantPeaks || sc.PeaksCaught != tt.wantCaught {
			t.Errorf("Score(%v) = threshold %v, %d hours, %d peaks, %d caught; want %d hours, %d peaks, %d caught",
				tt.threshold, sc.Threshold, sc.Hours, sc.Peaks, sc.PeaksCaught, tt.wantHr, tt.wantPeaks, tt.wantCaught)
		}
		if tt.wantFlagged >= 0 && sc.HoursFlagged != tt.wantFlagged {
			t.Errorf("Score(%v) flagged %d hours, want %d", tt.threshold, sc.HoursFlagged, tt.wantFlagged)
		}
		if tt.wantFlagged < 0 && (sc.HoursFlagged < 4 || sc.HoursFlagged >= hours) {
			t.Errorf("Score(%v) flagged %d hours, want between 4 and %d", tt.threshold, sc.HoursFlagged, hours)
		}
		var flagged, n, caught int
		for i, ms := range sc.PerMonth {
			if want := FourCPMonths()[i]; ms.Year != 2021 || ms.Month != want {
				t.Errorf("PerMonth[%d] is %d-%v, want 2021-%v", i, ms.Year, ms.Month, want)
			}
			if ms.Caught != (ms.PeakRisk >= tt.threshold) {
				t.Errorf("PerMonth[%d]: caught %v with peak risk %v at threshold %v", i, ms.Caught, ms.PeakRisk, tt.threshold)
			}
			flagged += ms.HoursFlagged
			n += ms.Hours
			if ms.Caught {
				caught++
			}
		}
		if flagged != sc.HoursFlagged || n != sc.Hours || caught != sc.PeaksCaught {
			t.Errorf("PerMonth sums %d flagged, %d hours, %d caught; totals %d, %d, %d", flagged, n, caught, sc.HoursFlagged, sc.Hours, sc.PeaksCaught)
		}
		if str := sc.String(); strings.Count(str, "\n") != 5 || !strings.Contains(str, "2021-07  peak") {
			t.Errorf("Score.String() =\n%s\nwant a summary and four month lines", str)
		}
	}
}

func TestFitErrors(t *testing.T) {
	s := synthLoad(1, synthFrom, synthTo)
	tests := []struct {
		name    string
		train   Series
		months  []time.Month
		wantErr string
		is      error
	}{
		{"empty", nil, FourCPMonths(), "fit load model: local hour 00:00", ErrTooLittleData},
		{"invalid", Series{hr(utc(2021, 7, 1, 0), math.NaN())}, FourCPMonths(), "fit load model: load point 0", energy.ErrNotFinite},
		{"months without data", s, []time.Month{time.January}, "fit load model: local hour", ErrTooLittleData},
		{"a week", s[:7*24], []time.Month{time.May}, "local hour 00:00 has 6 consecutive-hour changes in the months, want at least 10", ErrTooLittleData},
		{"three weeks", s[:21*24], []time.Month{time.May}, "20 days with a trailing level in the months, want at least 28", ErrTooLittleData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fit(tt.train, tt.months)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Fit = %v, want error containing %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestLogistic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const a, b = -2.0, 1.5
	var xs [][]float64
	var ys []float64
	for i := range 20000 {
		x := float64(i%400)/50 - 4
		y := 0.0
		if r.Float64() < sigmoid(a+b*x) {
			y = 1
		}
		xs = append(xs, []float64{1, x})
		ys = append(ys, y)
	}
	w, err := logistic(xs, ys)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(w[0]-a) > 0.15 || math.Abs(w[1]-b) > 0.1 {
		t.Errorf("logistic fit = %v, want about [%v %v]", w, a, b)
	}
	// Separable data still converges to finite weights.
	w, err = logistic([][]float64{{1, -1}, {1, 1}}, []float64{0, 1})
	if err != nil || !finite(w[0]) || !finite(w[1]) || w[1] <= 0 {
		t.Errorf("separable fit = %v, %v; want finite weights, positive slope", w, err)
	}
	if _, err := logistic(nil, nil); err == nil {
		t.Error("logistic(no data) succeeded")
	}
}

func TestModelValidate(t *testing.T) {
	good := Default()
	if err := good.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	tests := []struct {
		name   string
		break_ func(*Model)
		want   string
	}{
		{"level days", func(m *Model) { m.LevelDays = 0 }, "level_days 0"},
		{"day spread", func(m *Model) { m.DaySpread = 0 }, "day_spread 0"},
		{"forecast spread", func(m *Model) { m.ForecastSpread = math.Inf(1) }, "forecast_spread +Inf"},
		{"correlation", func(m *Model) { m.DayCorrelation = 1 }, "day_correlation 1"},
		{"intercept", func(m *Model) { m.Intercept = math.NaN() }, "intercept NaN"},
		{"slope", func(m *Model) { m.Slope = -1 }, "slope -1"},
		{"flag threshold", func(m *Model) { m.FlagThreshold = 2 }, "flag_threshold 2"},
		{"ramp", func(m *Model) { m.RampMW[5] = math.NaN() }, "ramp_mw[5] NaN"},
		{"ramp sigma", func(m *Model) { m.RampSigmaMW[23] = 0 }, "ramp_sigma_mw[23] 0"},
		{"trend", func(m *Model) { m.DayTrend[6] = math.Inf(-1) }, "day_trend[6] -Inf"},
		{"weekday", func(m *Model) { m.WeekdayOffset[0] = math.NaN() }, "weekday_offset[0] NaN"},
		{"month", func(m *Model) { m.Months = []time.Month{13} }, "month 13"},
	}
	for _, tt := range tests {
		m := Default()
		tt.break_(&m)
		err := m.Validate()
		if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want ErrBadModel naming %q", tt.name, err, tt.want)
		}
	}
}

func TestDecodeModel(t *testing.T) {
	b, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"unknown field", strings.Replace(string(b), `"slope"`, `"slop"`, 1), `unknown field "slop"`},
		{"invalid", strings.Replace(string(b), `"level_days":14`, `"level_days":0`, 1), "unusable load model: level_days 0"},
		{"trailing data", string(b) + "{}", "data after the model"},
		{"not JSON", "slope: 1", "decode load model"},
	}
	for _, tt := range tests {
		if _, err := DecodeModel(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: DecodeModel = %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestDefault(t *testing.T) {
	m := Default()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(FourCPMonths(), m.Months); diff != "" {
		t.Errorf("Default().Months mismatch (-want +got):\n%s", diff)
	}
	m.Months[0] = time.January
	if Default().Months[0] != time.June {
		t.Error("Default() shares state between calls")
	}
	// Runs on synthetic load without any data files.
	s := synthLoad(2, synthFrom, synthTo)
	if sc := Default().Score(s, FourCPMonths(), Default().FlagThreshold); sc.Hours == 0 || sc.Peaks != 4 {
		t.Errorf("Default on synthetic load: %+v", sc)
	}
}
