package sysload

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Model estimates the probability that an hour will be its month's system
// peak (the 4CP proxy, see MonthlyPeaks) from the load known before the hour
// starts. Its exported fields are all numbers (JSON-serialisable) and are
// set by Fit; the zero Model is not valid (see Validate), and its Risk is
// always 1 (a missing model errs towards curtailing).
//
// For the hour h the model
//
//  1. projects the load of h, and of the rest of h's local day, from the
//     last known hour by adding the typical change into each local hour of
//     day (RampMW, with standard deviation RampSigmaMW; variances add up
//     hour by hour), or takes forecast values where a forecast covers
//     those hours;
//  2. takes the probability pBeat that h beats the month's running maximum
//     (and the hardest of any not-yet-known hours between the last known
//     one and h), and pDay that it beats the hardest later hour of its day
//     (hours of one day move together, so the hardest one stands for all);
//  3. takes the probability pLater that no later day of the month beats
//     max(projection, running maximum): each later day's peak is
//     log-normal around the geometric mean of the last LevelDays daily
//     peaks, moved by the month's DayTrend per day of lag and the day's
//     WeekdayOffset, with spread DaySpread (or around a forecast's peak for
//     that day, with spread ForecastSpread). Days are correlated (an AR(1)
//     with coefficient DayCorrelation), so the log of the product over the
//     days is scaled by (1-DayCorrelation)/(1+DayCorrelation), the share of
//     independent days;
//  4. calibrates the sum x = ln pBeat + ln pDay + scaled ln pLater (each
//     term floored at -50) with a logistic fit on the training hours:
//     risk = 1/(1+exp(-(Intercept + Slope·x))).
//
// Local hours, days and months are America/Chicago. The model reads hourly
// load: finer points are averaged into clock hours, and points longer than
// an hour or straddling a clock hour are ignored. It knows nothing of
// weather, holidays or outages beyond what the load and a forecast show.
type Model struct {
	// Months are the local calendar months the model was fitted on.
	Months []time.Month `json:"months"`
	// LevelDays is how many local days before the current one set the
	// daily-peak level.
	LevelDays int `json:"level_days"`
	// RampMW[h] is the mean change in MW from the hour before to the hour
	// starting at local hour-of-day h; RampSigmaMW[h] its standard deviation.
	RampMW      [24]float64 `json:"ramp_mw"`
	RampSigmaMW [24]float64 `json:"ramp_sigma_mw"`
	// DayTrend[m-1] is the mean change per day of the log daily peak in
	// month m, relative to the trailing level (0 for months not fitted).
	DayTrend [12]float64 `json:"day_trend"`
	// WeekdayOffset[d] is the mean log offset of weekday d's (Sunday = 0)
	// daily peak.
	WeekdayOffset [7]float64 `json:"weekday_offset"`
	// DaySpread is the standard deviation of a day's log peak around its
	// expected value, and DayCorrelation the day-to-day correlation of those
	// deviations.
	DaySpread      float64 `json:"day_spread"`
	DayCorrelation float64 `json:"day_correlation"`
	// ForecastSpread is the assumed standard deviation of the log error of a
	// forecast day's peak. It is not fitted (there is no forecast history);
	// Fit sets DefaultForecastSpread.
	ForecastSpread float64 `json:"forecast_spread"`
	// Intercept and Slope calibrate the combined log probability x.
	Intercept float64 `json:"intercept"`
	Slope     float64 `json:"slope"`
	// FlagThreshold is the risk at or above which Fit recommends curtailing:
	// the lowest risk any training peak had (Model.Threshold), lowered by
	// FlagMarginNats of x, i.e. logit(FlagThreshold) = logit(lowest) −
	// Slope·FlagMarginNats.
	FlagThreshold float64 `json:"flag_threshold"`
}

// HourRisk is the risk of one clock hour, with the load the hour turned out
// to have.
type HourRisk struct {
	Hour time.Time // UTC start of the hour; the hour is [Hour, Hour+1h)
	MW   float64   // actual load of the hour (known only afterwards; not used for Risk)
	Risk float64
}

// Tuning constants. LevelDays and the margin were chosen by
// cross-validation between 2020 and 2021 (fit on one summer, score the
// other), without looking at 2022: a 10- to 21-day level did better than
// shorter ones, and a margin of 3 was the smallest that caught every peak of
// the held-out summer in both directions.
const (
	// DefaultLevelDays is the trailing window of daily peaks Fit uses.
	DefaultLevelDays = 14
	// DefaultForecastSpread is the log error assumed of a forecast day's
	// peak (ERCOT's day-ahead load forecast is typically within 2–4 %).
	DefaultForecastSpread = 0.03
	// FlagMarginNats is how far below the least peak-like training peak
	// (in the log probability x) FlagThreshold sits: a factor e³ ≈ 20, room
	// for peaks that look less like peaks than any seen in training.
	FlagMarginNats = 3.0
	// fcDayHours is how many hours of a later day a forecast must cover for
	// its peak to stand in for the day's.
	fcDayHours = 20
	// staleAfter is how old the last known load may be before Risk, lacking
	// a forecast for the hour, gives up and returns 1.
	staleAfter = 24 * time.Hour
	// logFloor bounds each log probability, so one extreme factor cannot
	// dominate the calibration.
	logFloor = -50
)

// hourLoad is the average load of one clock hour.
type hourLoad struct {
	start time.Time // UTC, on the hour
	mw    float64
}

// toHourly averages s into clock hours (UTC hours are local hours too:
// America/Chicago's offsets are whole hours). Points longer than an hour or
// crossing a clock hour are skipped; non-finite or non-positive loads too.
func toHourly(s Series) []hourLoad {
	out := make([]hourLoad, 0, len(s))
	var cur time.Time
	var sum, secs float64
	flush := func() {
		if secs > 0 {
			out = append(out, hourLoad{cur, sum / secs})
		}
		sum, secs = 0, 0
	}
	for _, p := range s {
		h := p.Interval.Start.UTC().Truncate(time.Hour)
		d := p.Interval.Duration()
		if d <= 0 || p.Interval.End.After(h.Add(time.Hour)) || !finite(p.MW) || p.MW <= 0 {
			continue
		}
		if !h.Equal(cur) {
			flush()
			cur = h
		}
		sum += p.MW * d.Seconds()
		secs += d.Seconds()
	}
	flush()
	return out
}

// logNormCDF is the logarithm of the standard normal distribution
// function, using its asymptotic expansion far in the lower tail.
func logNormCDF(z float64) float64 {
	if z > -30 {
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	}
	return -z*z/2 - math.Log(-z) - 0.5*math.Log(2*math.Pi)
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// ErrBadModel reports a model whose parameters cannot be used.
var ErrBadModel = errors.New("unusable load model")

// Validate checks that m's parameters can be used: every number finite,
// spreads and ramp deviations positive, LevelDays at least 1, DayCorrelation
// in [0, 1), Slope positive. A model decoded from JSON should be validated;
// Risk treats an invalid model as knowing nothing and returns 1.
func (m Model) Validate() error {
	bad := func(what string, v any) error { return fmt.Errorf("%w: %s %v", ErrBadModel, what, v) }
	if m.LevelDays < 1 || m.LevelDays > 366 {
		return bad("level_days", m.LevelDays)
	}
	if !(m.DaySpread > 0) || !finite(m.DaySpread) {
		return bad("day_spread", m.DaySpread)
	}
	if !(m.ForecastSpread > 0) || !finite(m.ForecastSpread) {
		return bad("forecast_spread", m.ForecastSpread)
	}
	if !(m.DayCorrelation >= 0 && m.DayCorrelation < 1) {
		return bad("day_correlation", m.DayCorrelation)
	}
	if !finite(m.Intercept) {
		return bad("intercept", m.Intercept)
	}
	if !(m.Slope > 0) || !finite(m.Slope) {
		return bad("slope", m.Slope)
	}
	if !(m.FlagThreshold >= 0 && m.FlagThreshold <= 1) {
		return bad("flag_threshold", m.FlagThreshold)
	}
	for h := range 24 {
		if !finite(m.RampMW[h]) {
			return bad(fmt.Sprintf("ramp_mw[%d]", h), m.RampMW[h])
		}
		if s := m.RampSigmaMW[h]; !(s > 0) || !finite(s) {
			return bad(fmt.Sprintf("ramp_sigma_mw[%d]", h), s)
		}
	}
	for i, v := range m.DayTrend {
		if !finite(v) {
			return bad(fmt.Sprintf("day_trend[%d]", i), v)
		}
	}
	for i, v := range m.WeekdayOffset {
		if !finite(v) {
			return bad(fmt.Sprintf("weekday_offset[%d]", i), v)
		}
	}
	for _, mo := range m.Months {
		if mo < time.January || mo > time.December {
			return bad("month", int(mo))
		}
	}
	return nil
}

// Risk returns the estimated probability (0 to 1) that the hour starting at
// hour (truncated to the hour) is its local month's system peak.
//
// It uses only the points of actual that end at or before hour (the load
// known by then) and, for hour itself and any later hours, the points of
// forecast (nil for none; forecast points for hours already known are
// ignored, and a later day counts as forecast when at least 20 of its hours
// are). Both series must be valid (see Series.Validate). actual should reach back LevelDays days before hour's local day
// plus the month to date; with no daily peaks in that window the model
// cannot discount later days and errs towards risk. When the last known
// load ended more than a day before hour and no forecast covers hour, or
// the model is invalid (see Validate), Risk returns 1: an unknown hour is
// treated as a likely peak.
func (m Model) Risk(actual, forecast Series, hour time.Time) float64 {
	hour = hour.UTC().Truncate(time.Hour)
	n := sort.Search(len(actual), func(i int) bool { return actual[i].Interval.End.After(hour) })
	var fc []hourLoad
	if len(forecast) > 0 {
		fc = toHourly(forecast)
	}
	return m.risk(toHourly(actual[:n]), fc, hour)
}

// Risks returns the risk of every clock hour of actual that falls in one of
// months (local time; empty means all), each computed as Risk would from the
// points of actual before it and no forecast. The result is in time order.
func (m Model) Risks(actual Series, months []time.Month) []HourRisk {
	want := newMonthSet(months)
	hourly := toHourly(actual)
	var out []HourRisk
	for i, h := range hourly {
		if !want[monthOf(h.start).month] {
			continue
		}
		out = append(out, HourRisk{Hour: h.start, MW: h.mw, Risk: m.risk(hourly[:i], nil, h.start)})
	}
	return out
}

// risk is Risk on hourly loads: hist known, fc forecast.
func (m Model) risk(hist, fc []hourLoad, h time.Time) float64 {
	if m.Validate() != nil {
		return 1
	}
	f, ok := m.factors(hist, fc, h)
	if !ok {
		return 1
	}
	return sigmoid(m.Intercept + m.Slope*m.combine(f))
}

// fcAt returns the forecast load of the hour starting at t.
func fcAt(fc []hourLoad, t time.Time) (float64, bool) {
	i := sort.Search(len(fc), func(i int) bool { return !fc[i].start.Before(t) })
	if i < len(fc) && fc[i].start.Equal(t) {
		return fc[i].mw, true
	}
	return 0, false
}

// combine adds the three log probabilities, counting later days as
// (1-ρ)/(1+ρ) independent days each (ρ = DayCorrelation), as for an AR(1)
// sequence.
func (m Model) combine(f [3]float64) float64 {
	return f[0] + f[1] + f[2]*(1-m.DayCorrelation)/(1+m.DayCorrelation)
}

// factors returns the log probabilities that h beats the month so far, the
// rest of its day, and every later day of the month, each floored at
// logFloor; ok is false when nothing recent enough is known to project h.
func (m Model) factors(hist, fc []hourLoad, h time.Time) (f [3]float64, ok bool) {
	local := h.In(market)
	y, mo, d := local.Date()
	monthStart := time.Date(y, mo, 1, 0, 0, 0, 0, market).UTC()
	monthEnd := time.Date(y, mo+1, 1, 0, 0, 0, 0, market).UTC()
	dayEnd := time.Date(y, mo, d+1, 0, 0, 0, 0, market).UTC()

	// The projected path from the anchor (the last known hour, or h itself
	// when that is stale but forecast) to the end of h's local day.
	type step struct {
		t    time.Time
		mw   float64
		vari float64 // variance of mw as known now
		cum  float64 // ramp variance summed along the path, for step variances
	}
	path := make([]step, 0, 48)
	start := h
	var prev step
	anchored := false
	if n := len(hist); n > 0 && !hist[n-1].start.Add(time.Hour).Add(staleAfter).Before(h) {
		prev = step{t: hist[n-1].start, mw: hist[n-1].mw}
		start, anchored = prev.t.Add(time.Hour), true
	}
	for t := start; t.Before(dayEnd); t = t.Add(time.Hour) {
		hod := t.In(market).Hour()
		v := m.RampSigmaMW[hod] * m.RampSigmaMW[hod]
		s := step{t: t, cum: prev.cum + v}
		if mw, ok := fcAt(fc, t); ok {
			s.mw, s.vari = mw, v
		} else if anchored {
			s.mw, s.vari = prev.mw+m.RampMW[hod], prev.vari+v
		} else {
			return f, false
		}
		path = append(path, s)
		prev, anchored = s, true
	}
	i := slices.IndexFunc(path, func(s step) bool { return s.t.Equal(h) })
	if i < 0 {
		return f, false
	}
	x := path[i]

	// Beat the month so far: known hours, then projected ones before h.
	runMax := math.Inf(-1)
	for k := len(hist) - 1; k >= 0 && !hist[k].start.Before(monthStart); k-- {
		runMax = max(runMax, hist[k].mw)
	}
	var beat, day, later float64
	if !math.IsInf(runMax, -1) {
		beat += logNormCDF((x.mw - runMax) / math.Sqrt(x.vari))
	}
	// The hours of one day move together (a hot afternoon is hot
	// throughout), so the chance of beating several of them is taken as
	// that of beating the hardest one.
	between := 0.0
	for _, s := range path[:i] {
		if !s.t.Before(monthStart) {
			between = min(between, logNormCDF((x.mw-s.mw)/math.Sqrt(x.cum-s.cum)))
		}
	}
	beat += between
	// Beat the rest of the day.
	for _, s := range path[i+1:] {
		day = min(day, logNormCDF((x.mw-s.mw)/math.Sqrt(s.cum-x.cum)))
	}
	// Beat every later day of the month.
	level, haveLevel := m.level(hist, y, mo, d)
	logX := math.Log(max(x.mw, runMax))
	for j := 1; ; j++ {
		date := time.Date(y, mo, d+j, 0, 0, 0, 0, market)
		if !date.UTC().Before(monthEnd) {
			break
		}
		if peak, ok := fcDayPeak(fc, date); ok {
			later += logNormCDF((logX - math.Log(peak)) / m.ForecastSpread)
			continue
		}
		if !haveLevel {
			continue // no history: later days are not discounted
		}
		mu := level + m.DayTrend[mo-1]*(float64(j)+float64(m.LevelDays+1)/2) + m.WeekdayOffset[date.Weekday()]
		later += logNormCDF((logX - mu) / m.DaySpread)
	}
	return [3]float64{max(beat, logFloor), max(day, logFloor), max(later, logFloor)}, true
}

// level returns the mean log daily peak of the LevelDays local days before
// (y, mo, d), from the days that have data.
func (m Model) level(hist []hourLoad, y int, mo time.Month, d int) (float64, bool) {
	from := time.Date(y, mo, d-m.LevelDays, 0, 0, 0, 0, market).UTC()
	to := time.Date(y, mo, d, 0, 0, 0, 0, market).UTC()
	k := sort.Search(len(hist), func(i int) bool { return !hist[i].start.Before(from) })
	var sum float64
	days := 0
	for k < len(hist) && hist[k].start.Before(to) {
		ly, lm, ld := hist[k].start.In(market).Date()
		end := time.Date(ly, lm, ld+1, 0, 0, 0, 0, market).UTC()
		peak := 0.0
		for ; k < len(hist) && hist[k].start.Before(end); k++ {
			peak = max(peak, hist[k].mw)
		}
		sum += math.Log(peak)
		days++
	}
	if days == 0 {
		return 0, false
	}
	return sum / float64(days), true
}

// fcDayPeak returns the highest forecast hour of the local day starting at
// day, when the forecast covers at least fcDayHours hours of it (a day
// forecast only in part says little about its peak).
func fcDayPeak(fc []hourLoad, day time.Time) (float64, bool) {
	from := day.UTC()
	to := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, market).UTC()
	k := sort.Search(len(fc), func(i int) bool { return !fc[i].start.Before(from) })
	peak, n := 0.0, 0
	for ; k < len(fc) && fc[k].start.Before(to); k++ {
		peak, n = max(peak, fc[k].mw), n+1
	}
	return peak, n >= fcDayHours
}
