package optimize

import (
	"math"
	"math/rand/v2"
	"testing"
)

// genSpec describes a family of random problems at realistic scales:
// 15-minute intervals, power prices around $20–$200/MWh with rare spikes
// to $5,000, classes of 1–20 MW at 17–35 J/TH, a hashprice around
// $0.045 per TH/s per day (breakevens of about $50–$120/MWh).
type genSpec struct {
	T         int
	Classes   int
	MaxLevels int  // running levels per class, 1..MaxLevels
	MaxCommit int  // MinRun and MinSleep drawn from 0..MaxCommit
	Levels    int  // if > 0, exactly this many running levels per class
	Commit    int  // if > 0, MinRun = MinSleep = Commit
	ClassRamp bool // most classes get a ramp limit
	Value     bool // some classes earn an extra Value (AI compute)
	// Coupling.
	Cap      bool // a soft site cap (Max) with a stiff over penalty
	Floor    bool // soft floors (Min) in some blocks with an under penalty
	Segments int  // cost segments per interval: 1 (linear), 2 or 3 (convex)
	SiteRamp bool
}

const (
	intervalHours = 0.25
	perMWh        = intervalHours / 1e6 // $/W per interval for $1/MWh
)

// genPrices is a day-shaped random walk in $/MWh with rare spikes.
func genPrices(r *rand.Rand, T int) []float64 {
	out := make([]float64, T)
	level := 40 + 60*r.Float64()
	for t := range out {
		level += 4 * r.NormFloat64()
		level = min(max(level, 20), 160)
		day := 25 * math.Sin(2*math.Pi*float64(t%96)/96-math.Pi/2)
		v := level + day + 8*r.NormFloat64()
		if r.Float64() < 0.01 {
			v = 500 + 4500*r.Float64()
		}
		out[t] = math.Round(min(max(v, -20), 5000)*100) / 100
	}
	return out
}

func genProblem(seed uint64, g genSpec) *Problem {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	T := g.T
	p := &Problem{T: T, HashValue: make([]float64, T), Cost: make([][]Segment, T)}
	price := genPrices(r, T)
	hashprice := 0.04 + 0.01*r.Float64()
	for t := range T {
		p.HashValue[t] = hashprice * (1 + 0.05*math.Sin(float64(t)/500)) / 96
	}
	for c := range g.Classes {
		top := math.Round((1+19*r.Float64())*1e3) * 1e3 // W, whole kW
		jth := 17 + 18*r.Float64()
		n := 1 + r.IntN(max(g.MaxLevels, 1))
		if g.Levels > 0 {
			n = g.Levels
		}
		cl := Class{ID: "c" + string(rune('a'+c)), Sleep: math.Round(top * 0.004)}
		prev := cl.Sleep
		for i := range n {
			frac := 0.5 + 0.5*float64(i+1)/float64(n)
			w := max(math.Round(top*frac/1e3)*1e3, prev+1e3)
			e := jth * (0.85 + 0.15*frac)
			l := Level{Name: "l" + string(rune('1'+i)), Power: w, Hash: w / e}
			cl.Levels = append(cl.Levels, l)
			prev = w
		}
		if g.Value && r.Float64() < 0.4 {
			ai := 30 + 50*r.Float64() // $/MWh of compute value
			for i := range cl.Levels {
				cl.Levels[i].Value = cl.Levels[i].Power * ai * perMWh
			}
		}
		if g.MaxCommit > 0 {
			cl.MinRun, cl.MinSleep = r.IntN(g.MaxCommit+1), r.IntN(g.MaxCommit+1)
		}
		if g.Commit > 0 {
			cl.MinRun, cl.MinSleep = g.Commit, g.Commit
		}
		if g.ClassRamp && r.Float64() < 0.7 {
			// Enough to step between sleep and the lowest level, so the
			// class can always stop (through its lower levels).
			low := cl.Levels[0].Power - cl.Sleep
			cl.Ramp = low + r.Float64()*(prev-cl.Sleep-low) + 0.37
		}
		cl.Init = State{Level: r.IntN(n + 1), Age: 1 + r.IntN(max(cl.MinRun, cl.MinSleep, 1)+1)}
		p.Classes = append(p.Classes, cl)
	}
	maxD := p.maxDraw()
	segs := max(g.Segments, 1)
	w1 := (0.4 + 0.3*r.Float64()) * maxD
	w2 := (0.1 + 0.2*r.Float64()) * maxD
	add2, add3 := 20+40*r.Float64(), 100+200*r.Float64()
	for t := range T {
		switch segs {
		case 1:
			p.Cost[t] = []Segment{{Width: math.Inf(1), Cost: price[t] * perMWh}}
		case 2:
			p.Cost[t] = []Segment{{Width: w1, Cost: price[t] * perMWh}, {Width: math.Inf(1), Cost: (price[t] + add2) * perMWh}}
		default:
			p.Cost[t] = []Segment{{Width: w1, Cost: price[t] * perMWh}, {Width: w2, Cost: (price[t] + add2) * perMWh},
				{Width: math.Inf(1), Cost: (price[t] + add3) * perMWh}}
		}
	}
	if g.Cap {
		p.Max = make([]float64, T)
		p.OverPenalty = 2000 * perMWh
		capFrac := 0.45 + 0.35*r.Float64()
		for t := range T {
			p.Max[t] = capFrac * maxD
			if t/96%3 == 2 { // some days have no cap
				p.Max[t] = math.Inf(1)
			}
		}
	}
	if g.Floor {
		p.Min = make([]float64, T)
		p.UnderPenalty = (40 + 60*r.Float64()) * perMWh
		floor := (0.2 + 0.3*r.Float64()) * maxD
		for t := range T {
			if (t/8)%3 == 1 { // two-hour blocks
				p.Min[t] = floor
			}
		}
	}
	if g.SiteRamp {
		p.SiteRamp = (0.15+0.35*r.Float64())*maxD + 0.123
	}
	return p
}

// bruteForce enumerates every schedule of a tiny problem and returns the
// best objective and one schedule reaching it.
func bruteForce(t testing.TB, p *Problem) (float64, [][]int) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatalf("brute force: %v", err)
	}
	C, T := len(p.Classes), p.T
	count := 1.0
	for _, c := range p.Classes {
		count *= math.Pow(float64(len(c.Levels)+1), float64(T))
	}
	if count > 3e5 {
		t.Fatalf("brute force: %.0f schedules is too many", count)
	}
	levels := make([][]int, C)
	for c := range levels {
		levels[c] = make([]int, T)
	}
	best, bestLevels := math.Inf(-1), [][]int(nil)
	for {
		if v, err := evaluate(p, func(c, t int) int { return levels[c][t] }); err == nil && v > best {
			best = v
			bestLevels = make([][]int, C)
			for c := range levels {
				bestLevels[c] = append([]int(nil), levels[c]...)
			}
		}
		i := 0 // odometer over (class, interval)
		for ; i < C*T; i++ {
			c, tt := i/T, i%T
			if levels[c][tt]++; levels[c][tt] <= len(p.Classes[c].Levels) {
				break
			}
			levels[c][tt] = 0
		}
		if i == C*T {
			break
		}
	}
	if bestLevels == nil {
		t.Fatal("brute force: no feasible schedule (stay must be feasible)")
	}
	return best, bestLevels
}

// near reports |a − b| ≤ tol·max(1, |b|).
func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }
