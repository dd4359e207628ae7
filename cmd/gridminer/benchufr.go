package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/fleet"
	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
	"github.com/gridminer/gridminer/internal/site"
)

func newBenchUFRCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		n, runs, concurrency int
		timeout              time.Duration
		firmwares            []string
		jsonOut              bool
	)
	cmd := &cobra.Command{
		Use:   "ufr",
		Short: "Measure the under-frequency trip: frequency sample read to every machine's acknowledgement",
		Long: `bench ufr starts N virtual miners in a separate process (gridminer sim), runs
them all, then drops the grid frequency the site meter reports below the trip
threshold (59.7 Hz) and measures, on the wall clock, the time from the read of
the sample that trips to the acknowledgement of the sleep command by every
machine (the software relay's end-to-end latency). It repeats --runs times,
waking the fleet between runs; the first run includes each machine's session
logon, as a trip right after a controller restart would.

The frequency is read from the site meter: a simulated meter serving SunSpec
registers over Modbus TCP on loopback, read by the same driver a real site uses.`,
		Example: `  gridminer bench ufr --miners 1000
  gridminer bench ufr --miners 10000 --runs 3 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 || n > 60000 {
				return fmt.Errorf("--miners %d: want 1 to 60,000", n)
			}
			if runs <= 0 || runs > 100 {
				return fmt.Errorf("--runs %d: want 1 to 100", runs)
			}
			res, err := benchUFR(cmd.Context(), logger(), n, runs, concurrency, timeout, firmwares)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			res.print(out)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&n, "miners", 1000, "number of virtual miners")
	f.IntVar(&runs, "runs", 5, "trips to measure")
	f.IntVar(&concurrency, "concurrency", 512, "machines commanded at once")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "per-call network deadline")
	f.StringSliceVar(&firmwares, "firmware", []string{"luxos"}, "firmwares of the virtual miners, taken in turn")
	f.BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

type ufrRun struct {
	LatencyS float64 `json:"latency_seconds"`
	Machines int     `json:"machines"`
	Failed   int     `json:"failed"`
	Note     string  `json:"note,omitempty"`
}

type ufrResult struct {
	Miners      int      `json:"miners"`
	Concurrency int      `json:"concurrency"`
	Firmwares   []string `json:"firmwares"`
	Meter       string   `json:"meter"`
	Runs        []ufrRun `json:"runs"`
	MedianS     float64  `json:"median_seconds"`
	MaxS        float64  `json:"max_seconds"`
}

func (r ufrResult) print(w io.Writer) {
	fmt.Fprintf(w, "bench ufr: %d virtual miners (%s) in a separate process, concurrency %d, meter %s\n", r.Miners, strings.Join(r.Firmwares, ", "), r.Concurrency, r.Meter)
	fmt.Fprintf(w, "%-4s %12s %9s %7s  %s\n", "run", "latency ms", "machines", "failed", "note")
	for i, run := range r.Runs {
		fmt.Fprintf(w, "%-4d %12.1f %9d %7d  %s\n", i+1, run.LatencyS*1000, run.Machines, run.Failed, run.Note)
	}
	fmt.Fprintf(w, "median %.1f ms, max %.1f ms (frequency sample read to every machine's acknowledgement)\n", r.MedianS*1000, r.MaxS*1000)
}

func benchUFR(ctx context.Context, log *slog.Logger, n, runs, concurrency int, timeout time.Duration, firmwares []string) (ufrResult, error) {
	res := ufrResult{Miners: n, Concurrency: concurrency, Firmwares: firmwares}
	rig, err := startBenchRig(ctx, log, n, concurrency, timeout, firmwares, "")
	if err != nil {
		return res, err
	}
	defer rig.close()
	meter, stopMeter, desc, err := benchMeter(ctx)
	if err != nil {
		return res, err
	}
	defer stopMeter()
	res.Meter = desc
	var targets []site.TripTarget
	for i, m := range rig.ms {
		c := m.Capabilities()
		targets = append(targets, site.TripTarget{ID: rig.addrs[i], Power: c.NominalPower, Efficiency: c.NominalEfficiency()})
	}
	execCfg := fleet.ExecConfig{Concurrency: concurrency, Timeout: timeout, Retries: -1}
	wakeAll := func() (failed int) {
		cmds := make([]fleet.Command, n)
		for i, a := range rig.addrs {
			cmds[i] = fleet.Command{ID: a, Setpoint: miner.Run(0)}
		}
		for _, o := range fleet.Execute(ctx, rig.inv, cmds, execCfg) {
			if o.Err != nil {
				failed++
			}
		}
		return failed
	}
	var lat []float64
	for run := range runs {
		if failed := wakeAll(); failed > 0 {
			return res, fmt.Errorf("run %d: %d machines failed to wake before the trip", run+1, failed)
		}
		meter.set(60)
		events := make(chan site.TripEvent, 1)
		trip, err := site.NewTrip(site.TripConfig{SampleEvery: 20 * time.Millisecond, RestoreAfter: time.Hour}, site.TripDeps{
			Clock: clock.Real{}, Fleet: rig.inv, Exec: execCfg, Sample: func(ctx context.Context) (site.MeterSample, error) { return meter.read(ctx) },
			Targets: func() []site.TripTarget { return targets },
			OnEvent: func(ev site.TripEvent) { events <- ev },
		})
		if err != nil {
			return res, err
		}
		tctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- trip.Run(tctx) }()
		meter.set(59.5)
		var ev site.TripEvent
		select {
		case ev = <-events:
		case <-ctx.Done():
			stop()
			return res, ctx.Err()
		}
		stop()
		<-done
		r := ufrRun{LatencyS: ev.Latency.Seconds(), Machines: ev.Machines, Failed: ev.Failed}
		if run == 0 {
			r.Note = "includes each machine's session logon"
		}
		res.Runs = append(res.Runs, r)
		lat = append(lat, r.LatencyS)
	}
	slices.Sort(lat)
	res.MedianS, res.MaxS = lat[len(lat)/2], lat[len(lat)-1]
	return res, nil
}

// benchFrequency is the meter the trip reads: a simulated SunSpec meter
// whose frequency the bench sets, read over Modbus TCP by the site driver.
type benchFrequency struct {
	sim  *metersim.Sim
	m    *meter.Meter
	read func(ctx context.Context) (site.MeterSample, error)
}

func (b *benchFrequency) set(hz float64) { b.sim.SetFrequency(hz) }

// benchMeter starts the simulated meter and its driver.
func benchMeter(ctx context.Context) (*benchFrequency, func(), string, error) {
	sim, err := metersim.New(metersim.Config{Map: meter.MapSunSpec, SunSpecModel: 203, Clock: clock.Real{}})
	if err != nil {
		return nil, nil, "", err
	}
	if err := sim.Listen(); err != nil {
		return nil, nil, "", err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sim.Run(sctx) }()
	m, err := meter.New(meter.Config{Address: sim.Addr(), Map: meter.MapSunSpec203})
	if err != nil {
		stop()
		<-done
		return nil, nil, "", err
	}
	b := &benchFrequency{sim: sim, m: m, read: meterReader(m)}
	cleanup := func() { m.Close(); stop(); <-done }
	return b, cleanup, "SunSpec 203 over Modbus TCP (simulated, loopback)", nil
}
