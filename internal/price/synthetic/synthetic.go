// Package synthetic is gridminer's embedded default price model: a seeded,
// deterministic generator of ERCOT-like real-time 15-minute prices (shaped
// after the West hub, HB_WEST) for the demo and for tests, needing no data
// files.
//
// The price of an interval is a pure function of (Params, seed, interval
// start): it never depends on the span a caller asks for, so the demo, tests
// and restarts agree. It is built, in ERCOT local time (America/Chicago),
// from
//
//   - a seasonal level (cheap winter and spring, expensive late summer);
//   - a daily shape (overnight lows, a solar midday dip, a winter morning
//     bump, an evening peak and hot summer afternoons) and cheaper weekends;
//   - autocorrelated log-normal noise: smooth "value noise" whose seeded
//     knots sit every day (weather) and every two hours, plus a little
//     per-interval jitter;
//   - a west-Texas wind index (smooth noise, windier at night and in spring,
//     calmer in summer) that drags prices to zero and below;
//   - rare scarcity spikes: events start at seeded intervals (more often on
//     summer afternoons and evenings), last 1 to SpikeMaxIntervals intervals,
//     and have Pareto-distributed heights up to the offer cap.
//
// Every random term is a hash of (seed, stream, index), so any interval is
// computed in O(SpikeMaxIntervals) without state.
//
// DefaultParams is calibrated against the real 2022 HB_WEST series (mean
// $57/MWh, median $42, 12 % of intervals negative, 134 intervals above
// $1,000); see the calibration test. The model is for demonstrations and
// tests, not forecasting: it knows nothing of real weather, outages or
// fuel prices, and has no Winter-Storm-Uri-like multi-day scarcity.
//
// Not every day is eventful: with the defaults about one day in six has
// both an hour above $100 and an hour below $20 (real HB_WEST days are
// often flat too). DemoSeed and DemoDay name a day that shows everything:
// negative prices overnight, an evening peak and a scarcity spike.
package synthetic

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/price"
)

// Step is the length of one generated interval.
const Step = 15 * time.Minute

// DemoSeed is the seed of the demo's default price day.
const DemoSeed int64 = 1

// DemoDay returns the start (local midnight, America/Chicago) of a good demo
// day under DefaultParams and DemoSeed: Monday 2024-06-10, which runs from
// about −$20 overnight (wind) to above $500 (a spike), with roughly eight
// hours above $100 and four below $20.
func DemoDay() time.Time {
	return time.Date(2024, 6, 10, 0, 0, 0, 0, price.ERCOTLocation())
}

// maxSpan bounds one Schedule call, so a mistaken span cannot exhaust memory.
const maxSpan = 20 * 366 * 24 * time.Hour

// Params are the knobs of the model. Prices are in $/MWh; hours are local
// (America/Chicago) clock hours; "fraction" terms multiply the seasonal level.
type Params struct {
	// BaseLevel is the seasonal level in the cheapest season ($/MWh): the
	// typical price of a mid-day hour in winter and spring. Must be > 0.
	BaseLevel float64
	// SummerLevel is added to BaseLevel at the height of summer ($/MWh, ≥ 0).
	SummerLevel float64
	// SummerPeakDay is the day of the year (1–366) when summer prices peak.
	SummerPeakDay int

	// NightDip is the fraction (0–1) by which prices fall below the level in
	// the small hours (centred on 04:00).
	NightDip float64
	// MorningPeak is the fraction (≥ 0) added around 07:30, weighted by how
	// wintry the day is (heating load).
	MorningPeak float64
	// MiddayDip is the fraction (0–1) taken off around 12:30 (solar output).
	MiddayDip float64
	// EveningPeak is the fraction (≥ 0) added around 20:00, all year (solar
	// drop-off while load is still high).
	EveningPeak float64
	// SummerAfternoon is the fraction (≥ 0) added from about 15:00 to 20:00,
	// weighted by how summery the day is (air conditioning).
	SummerAfternoon float64
	// WeekendFactor multiplies prices on Saturdays and Sundays (0–1].
	WeekendFactor float64

	// DaySigma is the standard deviation of the day-to-day log-price term
	// (weather regimes; smooth knots every 24 h). ≥ 0.
	DaySigma float64
	// HourSigma is the standard deviation of the intra-day log-price term
	// (smooth knots every 2 h). ≥ 0.
	HourSigma float64
	// IntervalSigma is the standard deviation of independent per-interval
	// log-price jitter. ≥ 0.
	IntervalSigma float64

	// WindThreshold is the wind index (a standard-normal-like quantity, see
	// the bias fields) above which prices start to fall towards
	// NegativePrice.
	WindThreshold float64
	// WindSpan is how far above WindThreshold (> 0) the wind index must go
	// for the price to reach NegativePrice entirely.
	WindSpan float64
	// NegativePrice is the lowest price under saturating wind ($/MWh, ≤ 0):
	// each such interval draws NegativePrice×U³ with U uniform on (0, 1), so
	// most are a little below zero and a few near NegativePrice (renewables
	// bid down to about minus their production tax credit).
	NegativePrice float64
	// WindNightBias is added to the wind index at night (peak 03:00): west
	// Texas wind blows hardest overnight.
	WindNightBias float64
	// WindSpringBias is added to the wind index in spring (peak early April).
	WindSpringBias float64
	// WindSummerBias is added to the wind index in summer (usually negative:
	// calm, hot summers).
	WindSummerBias float64

	// SpikesPerYear is the expected number of scarcity events per year (≥ 0).
	// They start more often on summer afternoons and evenings.
	SpikesPerYear float64
	// SpikeMinPrice is the Pareto scale of spike heights ($/MWh, > 0): the
	// smallest height of a spike.
	SpikeMinPrice float64
	// SpikeTailIndex is the Pareto tail index (> 0): smaller is heavier; the
	// share of spikes above x is (SpikeMinPrice/x)^SpikeTailIndex.
	SpikeTailIndex float64
	// SpikeMaxIntervals is the longest spike (1–8 intervals); durations are
	// uniform over 1..SpikeMaxIntervals.
	SpikeMaxIntervals int
	// Cap is the system-wide offer cap ($/MWh, > 0): spike heights never
	// exceed it. ERCOT's HCAP has been $5,000 since 2022-01-01 ($9,000 before).
	Cap float64
}

// DefaultParams returns parameters calibrated to look like ERCOT HB_WEST
// real-time prices in 2022.
func DefaultParams() Params {
	return Params{
		BaseLevel:     30,
		SummerLevel:   45,
		SummerPeakDay: 213,

		NightDip:        0.4,
		MorningPeak:     0.35,
		MiddayDip:       0.2,
		EveningPeak:     0.8,
		SummerAfternoon: 0.55,
		WeekendFactor:   0.88,

		DaySigma:      0.25,
		HourSigma:     0.2,
		IntervalSigma: 0.06,

		WindThreshold:  0.7,
		WindSpan:       0.6,
		NegativePrice:  -25,
		WindNightBias:  0.4,
		WindSpringBias: 0.5,
		WindSummerBias: -1.0,

		SpikesPerYear:     120,
		SpikeMinPrice:     180,
		SpikeTailIndex:    0.85,
		SpikeMaxIntervals: 8,
		Cap:               5000,
	}
}

// Validate checks that every parameter is finite and within its range.
func (p Params) Validate() error {
	fs := []struct {
		name     string
		v        float64
		min, max float64
		openMin  bool // v must be > min rather than ≥ min
	}{
		{"BaseLevel", p.BaseLevel, 0, 1e5, true},
		{"SummerLevel", p.SummerLevel, 0, 1e5, false},
		{"NightDip", p.NightDip, 0, 1, false},
		{"MorningPeak", p.MorningPeak, 0, 100, false},
		{"MiddayDip", p.MiddayDip, 0, 1, false},
		{"EveningPeak", p.EveningPeak, 0, 100, false},
		{"SummerAfternoon", p.SummerAfternoon, 0, 100, false},
		{"WeekendFactor", p.WeekendFactor, 0, 1, true},
		{"DaySigma", p.DaySigma, 0, 3, false},
		{"HourSigma", p.HourSigma, 0, 3, false},
		{"IntervalSigma", p.IntervalSigma, 0, 3, false},
		{"WindThreshold", p.WindThreshold, -100, 100, false},
		{"WindSpan", p.WindSpan, 0, 100, true},
		{"NegativePrice", p.NegativePrice, -1e4, 0, false},
		{"WindNightBias", p.WindNightBias, -100, 100, false},
		{"WindSpringBias", p.WindSpringBias, -100, 100, false},
		{"WindSummerBias", p.WindSummerBias, -100, 100, false},
		{"SpikesPerYear", p.SpikesPerYear, 0, 35040, false},
		{"SpikeMinPrice", p.SpikeMinPrice, 0, 1e5, true},
		{"SpikeTailIndex", p.SpikeTailIndex, 0, 100, true},
		{"Cap", p.Cap, 0, 1e6, true},
	}
	for _, f := range fs {
		if err := energy.Check("synthetic price params: "+f.name, f.v); err != nil {
			return err
		}
		if f.v < f.min || f.v > f.max || (f.openMin && f.v == f.min) {
			lo := "["
			if f.openMin {
				lo = "("
			}
			return fmt.Errorf("synthetic price params: %s = %v: want a value in %s%v, %v]", f.name, f.v, lo, f.min, f.max)
		}
	}
	if p.SummerPeakDay < 1 || p.SummerPeakDay > 366 {
		return fmt.Errorf("synthetic price params: SummerPeakDay = %d: want 1 to 366", p.SummerPeakDay)
	}
	if p.SpikeMaxIntervals < 1 || p.SpikeMaxIntervals > 8 {
		return fmt.Errorf("synthetic price params: SpikeMaxIntervals = %d: want 1 to 8", p.SpikeMaxIntervals)
	}
	return nil
}

// Generator produces synthetic prices. It is immutable and safe for
// concurrent use. It implements price.Source.
type Generator struct {
	p    Params
	seed uint64
	loc  *time.Location
	// spikeNorm turns the spike-start shape into a per-interval
	// probability whose yearly sum is SpikesPerYear.
	spikeNorm float64
}

var _ price.Source = (*Generator)(nil)

// New returns a generator for the parameters and seed, after validating the
// parameters.
func New(p Params, seed int64) (*Generator, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{p: p, seed: uint64(seed), loc: price.ERCOTLocation()}
	// Average the spike shape over a year of quarter hours.
	var sum float64
	n := 0
	for doy := 1; doy <= 365; doy++ {
		for q := 0; q < 96; q++ {
			sum += g.spikeShape(float64(q)/4+0.125, doy)
			n++
		}
	}
	if mean := sum / float64(n); mean > 0 {
		g.spikeNorm = p.SpikesPerYear / float64(n) / mean
	}
	return g, nil
}

// Params returns the generator's parameters.
func (g *Generator) Params() Params { return g.p }

// Schedule returns 15-minute points, aligned to quarter hours, covering
// every interval that overlaps [from, to).
func (g *Generator) Schedule(ctx context.Context, from, to time.Time) (price.Schedule, error) {
	span := fmt.Sprintf("[%s, %s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	if !to.After(from) {
		return nil, fmt.Errorf("synthetic prices %s: %w", span, energy.ErrBadInterval)
	}
	if to.Sub(from) > maxSpan {
		return nil, fmt.Errorf("synthetic prices %s: span longer than %v", span, maxSpan)
	}
	start := from.UTC().Truncate(Step)
	out := make(price.Schedule, 0, int(to.Sub(start)/Step)+1)
	for t := start; t.Before(to); t = t.Add(Step) {
		if len(out)%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out = append(out, price.Point{Interval: energy.Interval{Start: t, End: t.Add(Step)}, Price: g.PriceAt(t)})
	}
	return out, nil
}

// PriceAt returns the price of the 15-minute interval containing start.
func (g *Generator) PriceAt(start time.Time) energy.Price {
	t := start.UTC().Truncate(Step)
	idx := t.Unix() / int64(Step/time.Second)
	local := t.Add(Step / 2).In(g.loc) // the interval's midpoint, local
	hour := float64(local.Hour()) + float64(local.Minute())/60 + float64(local.Second())/3600
	doy := local.YearDay()
	p := &g.p

	summer := seasonal(doy, p.SummerPeakDay)
	winter := seasonal(doy, 15)
	spring := seasonal(doy, 95)

	level := p.BaseLevel + p.SummerLevel*summer
	shape := 1 -
		p.NightDip*bump(hour, 4, 2.5) +
		p.MorningPeak*winter*bump(hour, 7.5, 1.3) -
		p.MiddayDip*bump(hour, 12.5, 2.5) +
		p.EveningPeak*bump(hour, 20, 2) +
		p.SummerAfternoon*summer*bump(hour, 17.5, 2.2)
	if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
		shape *= p.WeekendFactor
	}
	sec := t.Unix()
	logNoise := p.DaySigma*g.smooth(streamDay, sec, 86400) +
		p.HourSigma*g.smooth(streamHour, sec, 7200) +
		p.IntervalSigma*g.normal(streamJitter, idx)
	v := level * shape * math.Exp(logNoise)

	wind := g.smooth(streamWind, sec, 8*3600) +
		p.WindNightBias*bump(hour, 3, 4) +
		p.WindSpringBias*spring +
		p.WindSummerBias*summer
	if f := (wind - p.WindThreshold) / p.WindSpan; f > 0 {
		f = smoothstep(math.Min(f, 1))
		u := g.uniform(streamNeg, idx)
		neg := p.NegativePrice * u * u * u
		v = v*(1-f) + neg*f
	}

	if s := g.spike(idx, hour, doy); s > 0 && s > v {
		v = s
	}
	return energy.Price(math.Round(v*100) / 100)
}

// spike returns the height of a spike covering interval idx, or 0.
func (g *Generator) spike(idx int64, hour float64, doy int) float64 {
	if g.spikeNorm == 0 {
		return 0
	}
	p := &g.p
	var best float64
	for back := int64(0); back < int64(p.SpikeMaxIntervals); back++ {
		j := idx - back
		// The start probability uses interval j's hour; the hour of j is
		// hour minus the offset (close enough across midnight and DST).
		h := math.Mod(hour-float64(back)/4+24, 24)
		prob := g.spikeNorm * g.spikeShape(h, doy)
		if g.uniform(streamSpikeStart, j) >= prob {
			continue
		}
		dur := 1 + int64(g.uniform(streamSpikeLen, j)*float64(p.SpikeMaxIntervals))
		if back >= dur {
			continue
		}
		height := p.SpikeMinPrice * math.Pow(g.uniform(streamSpikeHeight, j), -1/p.SpikeTailIndex)
		height *= 0.7 + 0.3*g.uniform(streamSpikeShape, idx)
		best = math.Max(best, math.Min(height, p.Cap))
	}
	return best
}

// spikeShape is the relative likelihood of a spike starting at a local hour
// on a day of the year: afternoons and evenings, summer above all.
func (g *Generator) spikeShape(hour float64, doy int) float64 {
	return (0.25 + 2*bump(hour, 18, 3) + 0.5*bump(hour, 7.5, 1.5)) *
		(0.5 + 1.5*seasonal(doy, g.p.SummerPeakDay))
}

// Random streams: each term draws from its own.
const (
	streamDay uint64 = iota + 1
	streamHour
	streamJitter
	streamWind
	streamNeg
	streamSpikeStart
	streamSpikeLen
	streamSpikeHeight
	streamSpikeShape
	streamNormal2 = 1 << 32 // offset of the second uniform of a normal draw
)

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uniform returns a number in (0, 1) determined by seed, stream and index.
func (g *Generator) uniform(stream uint64, idx int64) float64 {
	h := mix(g.seed ^ mix(stream^mix(uint64(idx))))
	return (float64(h>>11) + 0.5) / (1 << 53)
}

// normal returns a standard normal number determined by seed, stream and
// index (Box–Muller).
func (g *Generator) normal(stream uint64, idx int64) float64 {
	u1 := g.uniform(stream, idx)
	u2 := g.uniform(stream+streamNormal2, idx)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// smooth is value noise: standard normal knots every period seconds,
// joined by smoothstep interpolation, evaluated at Unix second sec.
func (g *Generator) smooth(stream uint64, sec, period int64) float64 {
	k := floorDiv(sec, period)
	f := float64(sec-k*period) / float64(period)
	a, b := g.normal(stream, k), g.normal(stream, k+1)
	return a + (b-a)*smoothstep(f)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func smoothstep(f float64) float64 { return f * f * (3 - 2*f) }

// bump is a Gaussian bump of height 1 centred on hour c with width w hours,
// wrapping around midnight.
func bump(hour, c, w float64) float64 {
	d := math.Abs(hour - c)
	if d > 12 {
		d = 24 - d
	}
	return math.Exp(-0.5 * (d / w) * (d / w))
}

// seasonal is 1 on day peak and falls smoothly to 0 half a year away.
func seasonal(doy, peak int) float64 {
	c := 0.5 + 0.5*math.Cos(2*math.Pi*float64(doy-peak)/365.25)
	return c * c
}
