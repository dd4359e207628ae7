package sysload

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// ErrTooLittleData reports a training series too short to fit a model.
var ErrTooLittleData = errors.New("too little load history to fit")

// Fit fits a Model on train, an hourly load history, for the local calendar
// months in months (empty means every month; ERCOT's 4CP months are
// FourCPMonths). train should start LevelDays days before the first fitted
// month so the first days have a level; whole years are ideal.
//
// Ramps are the mean and standard deviation of the hour-over-hour change by
// local hour of day, over consecutive hours in months. For every day in
// months with at least 20 hours and a trailing level, the residual of its
// log peak against the level gives the weekday offsets (mean by weekday less
// the overall mean), the month trends (mean remaining residual divided by
// the level's lag of (LevelDays+1)/2 days), DaySpread (the standard
// deviation left) and DayCorrelation (the lag-one autocorrelation of what is
// left, over consecutive days). The calibration is a logistic regression of
// "this hour was its month's peak" on the combined log probability x over
// every hour in months; FlagThreshold sits FlagMarginNats below the lowest
// risk of a training peak (see Model.FlagThreshold). Fit is deterministic.
func Fit(train Series, months []time.Month) (Model, error) {
	return fit(train, months, DefaultLevelDays)
}

// fit is Fit with the level window as a parameter (for exploring it).
func fit(train Series, months []time.Month, levelDays int) (Model, error) {
	if err := train.Validate(); err != nil {
		return Model{}, fmt.Errorf("fit load model: %w", err)
	}
	want := newMonthSet(months)
	m := Model{LevelDays: levelDays, ForecastSpread: DefaultForecastSpread, Slope: 1}
	for mo := time.January; mo <= time.December; mo++ {
		if want[mo] {
			m.Months = append(m.Months, mo)
		}
	}
	hourly := toHourly(train)
	if err := m.fitRamps(hourly, want); err != nil {
		return Model{}, err
	}
	if err := m.fitDays(hourly, want); err != nil {
		return Model{}, err
	}
	if err := m.fitCalibration(hourly, train, want); err != nil {
		return Model{}, err
	}
	lowest := min(max(m.Threshold(train, m.Months), 1e-300), 1-1e-16)
	m.FlagThreshold = sigmoid(math.Log(lowest/(1-lowest)) - m.Slope*FlagMarginNats)
	return m, nil
}

// fitRamps sets RampMW and RampSigmaMW.
func (m *Model) fitRamps(hourly []hourLoad, want monthSet) error {
	var sum, sum2, n [24]float64
	for i := 1; i < len(hourly); i++ {
		if !hourly[i].start.Equal(hourly[i-1].start.Add(time.Hour)) {
			continue
		}
		l := hourly[i].start.In(market)
		if !want[l.Month()] {
			continue
		}
		d := hourly[i].mw - hourly[i-1].mw
		h := l.Hour()
		sum[h] += d
		sum2[h] += d * d
		n[h]++
	}
	for h := range 24 {
		if n[h] < 10 {
			return fmt.Errorf("fit load model: local hour %02d:00 has %v consecutive-hour changes in the months, want at least 10: %w", h, n[h], ErrTooLittleData)
		}
		mean := sum[h] / n[h]
		m.RampMW[h] = mean
		m.RampSigmaMW[h] = math.Sqrt(max((sum2[h]-n[h]*mean*mean)/(n[h]-1), 1))
	}
	return nil
}

// dayPeak is the highest hourly load of one local day.
type dayPeak struct {
	y     int
	mo    time.Month
	d     int
	peak  float64
	hours int
}

// dailyPeaks returns the peak of every local day in hourly, in order.
func dailyPeaks(hourly []hourLoad) []dayPeak {
	var out []dayPeak
	for _, h := range hourly {
		y, mo, d := h.start.In(market).Date()
		if n := len(out); n > 0 && out[n-1].y == y && out[n-1].mo == mo && out[n-1].d == d {
			out[n-1].peak = max(out[n-1].peak, h.mw)
			out[n-1].hours++
			continue
		}
		out = append(out, dayPeak{y, mo, d, h.mw, 1})
	}
	return out
}

// fitDays sets WeekdayOffset, DayTrend and DaySpread.
func (m *Model) fitDays(hourly []hourLoad, want monthSet) error {
	type res struct {
		day time.Time // local date, as UTC midnight
		mo  time.Month
		wd  time.Weekday
		r   float64
	}
	var rs []res
	for _, dp := range dailyPeaks(hourly) {
		if !want[dp.mo] || dp.hours < 20 {
			continue
		}
		level, ok := m.level(hourly, dp.y, dp.mo, dp.d)
		if !ok {
			continue
		}
		wd := time.Date(dp.y, dp.mo, dp.d, 12, 0, 0, 0, market).Weekday()
		rs = append(rs, res{time.Date(dp.y, dp.mo, dp.d, 0, 0, 0, 0, time.UTC), dp.mo, wd, math.Log(dp.peak) - level})
	}
	if len(rs) < 28 {
		return fmt.Errorf("fit load model: %d days with a trailing level in the months, want at least 28: %w", len(rs), ErrTooLittleData)
	}
	var all float64
	var wsum, wn [7]float64
	for _, r := range rs {
		all += r.r
		wsum[r.wd] += r.r
		wn[r.wd]++
	}
	all /= float64(len(rs))
	for wd := range 7 {
		if wn[wd] > 0 {
			m.WeekdayOffset[wd] = wsum[wd]/wn[wd] - all
		}
	}
	lag := float64(m.LevelDays+1) / 2
	var msum, mn [12]float64
	for _, r := range rs {
		msum[r.mo-1] += r.r - m.WeekdayOffset[r.wd]
		mn[r.mo-1]++
	}
	for i := range 12 {
		if mn[i] > 0 {
			m.DayTrend[i] = msum[i] / mn[i] / lag
		}
	}
	var ss, sxy, sxx float64
	prev, prevDay := 0.0, time.Time{}
	for _, r := range rs {
		e := r.r - m.WeekdayOffset[r.wd] - m.DayTrend[r.mo-1]*lag
		ss += e * e
		if r.day.Equal(prevDay.AddDate(0, 0, 1)) {
			sxy += e * prev
			sxx += prev * prev
		}
		prev, prevDay = e, r.day
	}
	m.DaySpread = math.Sqrt(ss / float64(len(rs)-1))
	if sxx > 0 {
		m.DayCorrelation = min(max(sxy/sxx, 0), 0.99)
	}
	return nil
}

// fitCalibration sets Intercept and the weights by logistic regression of
// "this hour was its month's peak" on the three log probabilities.
func (m *Model) fitCalibration(hourly []hourLoad, train Series, want monthSet) error {
	peaks := map[time.Time]bool{}
	for _, p := range MonthlyPeaks(train, m.Months) {
		peaks[p.Interval.Start.Truncate(time.Hour)] = true
	}
	if len(peaks) == 0 {
		return fmt.Errorf("fit load model: no monthly peaks in the months: %w", ErrTooLittleData)
	}
	var xs [][]float64
	var ys []float64
	for i, h := range hourly {
		if !want[monthOf(h.start).month] {
			continue
		}
		f, ok := m.factors(hourly[:i], nil, h.start)
		if !ok {
			continue
		}
		xs = append(xs, []float64{1, m.combine(f)})
		y := 0.0
		if peaks[h.start] {
			y = 1
		}
		ys = append(ys, y)
	}
	w, err := logistic(xs, ys)
	if err != nil {
		return fmt.Errorf("fit load model: calibration: %w", err)
	}
	if !(w[1] > 0) {
		return fmt.Errorf("fit load model: calibration slope %v: want a positive slope", w[1])
	}
	m.Intercept, m.Slope = w[0], w[1]
	return nil
}

// logistic fits P(y=1) = sigmoid(w·x) by Newton's method with a small ridge
// penalty on every weight but the first (the intercept), so that separable
// data still converges.
func logistic(xs [][]float64, ys []float64) ([]float64, error) {
	const ridge = 1e-3
	if len(xs) == 0 {
		return nil, fmt.Errorf("no observations")
	}
	k := len(xs[0])
	w := make([]float64, k)
	penalty := func(w []float64) float64 {
		var s float64
		for _, v := range w[1:] {
			s += v * v
		}
		return ridge * s / 2
	}
	loglik := func(w []float64) float64 {
		var l float64
		for i, x := range xs {
			z := dot(w, x)
			// log sigmoid(z) or log(1-sigmoid(z)), stably.
			if ys[i] > 0 {
				z = -z
			}
			if z > 30 {
				l -= z
			} else {
				l -= math.Log1p(math.Exp(z))
			}
		}
		return l - penalty(w)
	}
	cur := loglik(w)
	g := make([]float64, k)
	h := make([][]float64, k)
	for i := range h {
		h[i] = make([]float64, k)
	}
	for range 200 {
		clear(g)
		for i := range h {
			clear(h[i])
		}
		for i, x := range xs {
			p := sigmoid(dot(w, x))
			e, v := ys[i]-p, p*(1-p)
			for a := range k {
				g[a] += e * x[a]
				for b := range k {
					h[a][b] += v * x[a] * x[b]
				}
			}
		}
		for a := 1; a < k; a++ {
			g[a] -= ridge * w[a]
			h[a][a] += ridge
		}
		d, err := solve(h, g)
		if err != nil {
			return nil, err
		}
		stepped := false
		next := make([]float64, k)
		for t := 1.0; t > 1e-8; t /= 2 {
			for a := range k {
				next[a] = w[a] + t*d[a]
			}
			if l := loglik(next); l >= cur {
				copy(w, next)
				cur, stepped = l, true
				break
			}
		}
		var size float64
		for _, v := range d {
			size += math.Abs(v)
		}
		if !stepped || size < 1e-10 {
			break
		}
	}
	for _, v := range w {
		if !finite(v) {
			return nil, fmt.Errorf("weights %v not finite", w)
		}
	}
	return w, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// solve solves a·x = b for a small symmetric positive definite a by
// Gaussian elimination with partial pivoting (a and b are not modified).
func solve(a [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	m := make([][]float64, n)
	for i := range m {
		m[i] = append(append(make([]float64, 0, n+1), a[i]...), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		if math.Abs(m[p][c]) < 1e-300 {
			return nil, fmt.Errorf("singular information matrix")
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for j := c; j <= n; j++ {
				m[r][j] -= f * m[c][j]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for j := r + 1; j < n; j++ {
			s -= m[r][j] * x[j]
		}
		x[r] = s / m[r][r]
	}
	return x, nil
}

// Threshold returns the highest threshold that would still have flagged
// every monthly peak of train in months: the lowest risk that any of those
// peak hours had (1 when train has no peaks there). Flagging hours with risk
// at or above it curtails the fewest hours that catch every training peak;
// Fit lowers it by FlagMarginNats into FlagThreshold.
func (m Model) Threshold(train Series, months []time.Month) float64 {
	risks := m.Risks(train, months)
	lowest := 1.0
	for _, p := range MonthlyPeaks(train, months) {
		if r, ok := riskAt(risks, p.Interval.Start); ok {
			lowest = min(lowest, r)
		}
	}
	return lowest
}

// riskAt finds the risk of the clock hour containing t.
func riskAt(risks []HourRisk, t time.Time) (float64, bool) {
	h := t.UTC().Truncate(time.Hour)
	i, ok := slices.BinarySearchFunc(risks, h, func(r HourRisk, t time.Time) int { return r.Hour.Compare(t) })
	if !ok {
		return 0, false
	}
	return risks[i].Risk, true
}
