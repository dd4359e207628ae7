package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/dispatch/optimize"
	"github.com/gridminer/gridminer/internal/price/synthetic"
)

// oracleBench is one solve measured by bench oracle.
type oracleBench struct {
	Name      string  `json:"name"`
	Intervals int     `json:"intervals"`
	Classes   int     `json:"classes"`
	Method    string  `json:"method"`
	WallS     float64 `json:"wall_seconds"`
	Objective float64 `json:"objective_usd"`
	Bound     float64 `json:"bound_usd"`
	Gap       float64 `json:"gap"`
}

func newBenchOracleCmd() *cobra.Command {
	var (
		days, classes, minRun int
		glpkDays              int
		glpkLimit             time.Duration
		jsonOut               bool
		seed                  int64
	)
	cmd := &cobra.Command{
		Use:   "oracle",
		Short: "Time the optimiser behind the planner and oracle on a year of 15-minute intervals",
		Long: `bench oracle builds the scheduling model the oracle solves for a year of
15-minute intervals of the embedded synthetic ERCOT-West-like prices, with
--classes machine classes (1 to 20 MW, 17 to 35 J/TH, two partial power
levels each, per-class min run and sleep of --min-run intervals and a
per-class ramp), and times:

  separable   the classes alone: one exact dynamic programme per class
  coupled     the same plus a site import cap and a site ramp limit, which
              couple the classes: Lagrangian relaxation with a proven bound
              (the gap is reported)

With --glpk-days N (and glpsol on PATH) it also writes an N-day instance of
the coupled model as CPLEX LP and times GLPK's glpsol on it, for comparison
(bounded by --glpk-limit).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var res []oracleBench
			for _, coupled := range []bool{false, true} {
				p, err := benchProblem(days*96, classes, minRun, coupled, seed)
				if err != nil {
					return err
				}
				start := time.Now()
				sol, err := optimize.Solve(p, optimize.Options{})
				if err != nil {
					return err
				}
				name := "separable"
				if coupled {
					name = "coupled"
				}
				res = append(res, oracleBench{Name: name, Intervals: p.T, Classes: len(p.Classes), Method: sol.Method,
					WallS: time.Since(start).Seconds(), Objective: sol.Objective, Bound: sol.Bound, Gap: sol.Gap()})
			}
			if glpkDays > 0 {
				b, err := benchGLPK(cmd.Context(), glpkDays, classes, minRun, seed, glpkLimit)
				if err != nil {
					return err
				}
				res = append(res, b)
			}
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			writeOracleBench(out, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&days, "days", 365, "days of 15-minute intervals")
	f.IntVar(&classes, "classes", 10, "machine classes")
	f.IntVar(&minRun, "min-run", 4, "per-class minimum run and sleep, intervals")
	f.IntVar(&glpkDays, "glpk-days", 0, "also time glpsol on an instance of this many days (0: skip)")
	f.DurationVar(&glpkLimit, "glpk-limit", 15*time.Minute, "time limit for glpsol")
	f.Int64Var(&seed, "seed", 1, "seed of the synthetic prices")
	f.BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func writeOracleBench(w io.Writer, res []oracleBench) {
	for _, r := range res {
		fmt.Fprintf(w, "%-10s %6d intervals %3d classes  %-11s %8.3f s  objective $%.0f  bound $%.0f  gap %.4f%%\n",
			r.Name, r.Intervals, r.Classes, r.Method, r.WallS, r.Objective, r.Bound, r.Gap*100)
	}
}

// benchProblem builds T intervals from 2022-01-01 of synthetic prices and
// n classes; coupled adds a site cap at 70% of the fleet and a site ramp.
func benchProblem(T, n, minRun int, coupled bool, seed int64) (*optimize.Problem, error) {
	gen, err := synthetic.New(synthetic.DefaultParams(), seed)
	if err != nil {
		return nil, err
	}
	const hours = 0.25
	start := time.Date(2022, 1, 1, 6, 0, 0, 0, time.UTC)
	p := &optimize.Problem{T: T, HashValue: make([]float64, T), Cost: make([][]optimize.Segment, T)}
	hp := bitcoin.DemoEconomics().Hashprice()
	var fleetW float64
	for c := range n {
		mw := 1 + float64((c*7)%20)   // 1..20 MW
		jth := 17 + float64((c*5)%19) // 17..35 J/TH
		w := mw * 1e6
		th := w / jth
		cl := optimize.Class{ID: fmt.Sprintf("c%d", c), Sleep: w * 0.005, MinRun: minRun, MinSleep: minRun, Ramp: w * 0.6,
			Init:   optimize.State{Level: 0, Age: minRun},
			Levels: []optimize.Level{{Name: "low", Power: 0.6 * w, Hash: 0.66 * th}, {Name: "eco", Power: 0.8 * w, Hash: 0.85 * th}, {Name: "nominal", Power: w, Hash: th}}}
		p.Classes = append(p.Classes, cl)
		fleetW += w
	}
	for t := range T {
		price := float64(gen.PriceAt(start.Add(time.Duration(t) * 15 * time.Minute)))
		p.HashValue[t] = float64(hp) * hours / 24
		p.Cost[t] = []optimize.Segment{{Width: math.Inf(1), Cost: price * hours / 1e6}}
	}
	if coupled {
		p.Max = make([]float64, T)
		for t := range p.Max {
			p.Max[t] = 0.7 * fleetW
		}
		p.OverPenalty = 1e3
		p.SiteRamp = 0.25 * fleetW
	}
	return p, nil
}

var glpkObjective = regexp.MustCompile(`Objective:\s+\S+\s*=\s*(-?[0-9.eE+-]+)`)

func benchGLPK(ctx context.Context, days, classes, minRun int, seed int64, limit time.Duration) (oracleBench, error) {
	bin, err := exec.LookPath("glpsol")
	if err != nil {
		return oracleBench{}, fmt.Errorf("--glpk-days: glpsol not found (Debian: apt-get install glpk-utils): %w", err)
	}
	p, err := benchProblem(days*96, classes, minRun, true, seed)
	if err != nil {
		return oracleBench{}, err
	}
	dir, err := os.MkdirTemp("", "gridminer-glpk-")
	if err != nil {
		return oracleBench{}, err
	}
	defer os.RemoveAll(dir)
	lp, sol := filepath.Join(dir, "model.lp"), filepath.Join(dir, "model.sol")
	f, err := os.Create(lp)
	if err != nil {
		return oracleBench{}, err
	}
	if err := optimize.WriteLP(f, p); err != nil {
		f.Close()
		return oracleBench{}, err
	}
	if err := f.Close(); err != nil {
		return oracleBench{}, err
	}
	start := time.Now()
	outb, err := exec.CommandContext(ctx, bin, "--lp", lp, "--tmlim", strconv.Itoa(int(limit.Seconds())), "-o", sol).CombinedOutput()
	wall := time.Since(start).Seconds()
	if err != nil {
		return oracleBench{}, fmt.Errorf("glpsol: %w: %s", err, outb)
	}
	b := oracleBench{Name: "glpsol", Intervals: p.T, Classes: len(p.Classes), Method: "glpk-milp", WallS: wall}
	if rep, err := os.ReadFile(sol); err == nil {
		if m := glpkObjective.FindSubmatch(rep); m != nil {
			b.Objective, _ = strconv.ParseFloat(string(m[1]), 64)
		}
	}
	return b, nil
}
