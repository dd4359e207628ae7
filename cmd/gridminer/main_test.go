package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// run executes the CLI in-process with args and returns its output.
func run(t *testing.T, ctx context.Context, out io.Writer, args ...string) error {
	t.Helper()
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(out)
	return root.ExecuteContext(ctx)
}

// lineWatcher is an io.Writer that calls fn with each complete line.
type lineWatcher struct {
	mu  sync.Mutex
	buf bytes.Buffer
	all strings.Builder
	fn  func(line string)
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.fn(strings.TrimRight(line, "\n"))
	}
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

var intervalLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T +-?\d+\.\d\d +\d+\.\d\d +\d+\.\d{3} +\d+ +\d+ +\d+ +\d+ +\d+\.\d{6} +-?\$[\d,]+\.\d\d +-?\$[\d,]+\.\d\d +-?\$[\d,]+\.\d\d`)

func TestDemoPrintsIntervalsServesStatusAndStopsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		statusURL string
		lines     []string
		gotStatus = make(chan map[string]any, 1)
	)
	w := &lineWatcher{}
	w.fn = func(line string) {
		if m := regexp.MustCompile(`status (http://\S+)`).FindStringSubmatch(line); m != nil {
			statusURL = m[1]
		}
		if !intervalLine.MatchString(line) {
			return
		}
		lines = append(lines, line)
		if len(lines) == 3 {
			// Read the status endpoint while the demo runs, then stop it.
			resp, err := http.Get(statusURL)
			if err == nil {
				var body map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				gotStatus <- body
			}
			close(gotStatus)
			cancel()
		}
	}
	db := filepath.Join(t.TempDir(), "demo.db")
	err := run(t, ctx, w, "demo", "--miners", "30", "--speed", "3600", "--http", "127.0.0.1:0", "--db", db, "--on-stop", "sleep")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, w)
	}
	out := w.String()
	if len(lines) < 3 {
		t.Fatalf("demo printed %d interval lines, want 3:\n%s", len(lines), out)
	}
	if !strings.Contains(out, "interval end") || !strings.Contains(out, "price/MWh") {
		t.Errorf("no header line:\n%s", out)
	}
	if !regexp.MustCompile(`stopped at .*machines left sleep; \d+ intervals settled`).MatchString(out) {
		t.Errorf("no clean stop line:\n%s", out)
	}
	body, ok := <-gotStatus
	if !ok {
		t.Fatalf("status endpoint %q not read", statusURL)
	}
	for _, k := range []string{"time", "price_usd_per_mwh", "site_power_w", "hashrate_ths", "miners", "ledger"} {
		if _, ok := body[k]; !ok {
			t.Errorf("status has no %q: %v", k, body)
		}
	}
	if m, _ := body["miners"].(map[string]any); m["total"] != float64(30) {
		t.Errorf("status miners = %v, want total 30", body["miners"])
	}
	if fi, err := os.Stat(db); err != nil || fi.Size() == 0 {
		t.Errorf("--db %s not kept: %v", db, err)
	}
}

func TestCheckConfig(t *testing.T) {
	var out bytes.Buffer
	if err := run(t, context.Background(), &out, "check-config", "../../examples/site.yaml"); err != nil {
		t.Fatalf("examples/site.yaml: %v", err)
	}
	if !strings.Contains(out.String(), "ok (300 miners") {
		t.Errorf("output %q", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("site:\n  name: x\nminers:\n  - driver: luxos\n    addr: nowhere\n"), 0o600)
	err := run(t, context.Background(), io.Discard, "check-config", bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5: miners[0].addr") {
		t.Errorf("bad config error = %v, want one naming bad.yaml:5", err)
	}
}

func TestSimAndMinerCommands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	w := &lineWatcher{fn: func(line string) {
		if strings.HasPrefix(line, "ready ") {
			ready <- line
		}
	}}
	done := make(chan error, 1)
	go func() { done <- run(t, ctx, w, "sim", "--miners", "3", "--port", "0") }()
	var first string
	select {
	case line := <-ready:
		first = regexp.MustCompile(`first=(\S+)`).FindStringSubmatch(line)[1]
	case err := <-done:
		t.Fatalf("sim exited: %v", err)
	}

	var out bytes.Buffer
	if err := run(t, ctx, &out, "miner", "status", first, "--json"); err != nil {
		t.Fatal(err)
	}
	var st struct {
		State string  `json:"state"`
		Power float64 `json:"power_w"`
		Model string  `json:"model"`
		Steps []any   `json:"power_steps"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out.String())
	}
	if st.State != "mining" || st.Power <= 0 || st.Model == "" || len(st.Steps) == 0 {
		t.Errorf("status = %+v", st)
	}
	out.Reset()
	if err := run(t, ctx, &out, "miner", "sleep", first); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`sleep accepted; now (ramping_down|sleeping)`).MatchString(out.String()) {
		t.Errorf("sleep output %q", out.String())
	}
	out.Reset()
	if err := run(t, ctx, &out, "miner", "wake", first); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`run accepted; now (waking|mining)`).MatchString(out.String()) {
		t.Errorf("wake output %q", out.String())
	}
	if err := run(t, ctx, io.Discard, "miner", "power", first, "--watts", "5"); err == nil || !strings.Contains(err.Error(), "below the lowest profile") {
		t.Errorf("5 W target: err = %v, want below the lowest profile", err)
	}
	if err := run(t, ctx, io.Discard, "miner", "status", "127.0.0.1:1"); err == nil {
		t.Error("status of a closed port succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sim: %v", err)
	}
}

func TestHelpForEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"demo", "--help"}, {"run", "--help"}, {"check-config", "--help"}, {"sim", "--help"}, {"miner", "status", "--help"}, {"bench", "fleet", "--help"}} {
		var out bytes.Buffer
		if err := run(t, context.Background(), &out, args...); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%v: no usage in %q", args, out.String())
		}
	}
}

func TestScanFindsTheSimulatedFleet(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	w := &lineWatcher{fn: func(line string) {
		if strings.HasPrefix(line, "ready ") {
			ready <- line
		}
	}}
	firmwares := []string{"luxos", "antminer", "whatsminer", "braiins", "avalon"}
	done := make(chan error, 1)
	go func() {
		done <- run(t, ctx, w, "sim", "--miners", "12", "--port", "0", "--firmware", strings.Join(firmwares, ","))
	}()
	var line string
	select {
	case line = <-ready:
	case err := <-done:
		t.Fatalf("sim exited: %v", err)
	}
	field := func(k string) string {
		m := regexp.MustCompile(`\b` + k + `=(\d+)`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("no %s on the ready line %q", k, line)
		}
		return m[1]
	}
	var out bytes.Buffer
	cfgOut := filepath.Join(t.TempDir(), "miners.yaml")
	if err := run(t, ctx, &out, "scan", "127.1.0.0/28", "--rpc-port", field("port"), "--web-port", field("antminer-web"),
		"--grpc-port", field("braiins-grpc"), "--json", "--config-out", cfgOut); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Host, Driver, Model, State, Error string
		Hashrate                          float64 `json:"hashrate_ths"`
	}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("scan JSON: %v\n%s", err, out.String())
	}
	if len(rows) != 12 {
		t.Fatalf("found %d miners in 127.1.0.0/28, want the 12 simulated", len(rows))
	}
	for i, r := range rows {
		// The simulator gives miner i (127.1.0.i+1) firmware i mod 5.
		if want := firmwares[i%len(firmwares)]; r.Driver != want {
			t.Errorf("%s identified as %q, want %q", r.Host, r.Driver, want)
		}
		if r.Model == "" || r.State != "mining" || r.Hashrate <= 0 || r.Error != "" {
			t.Errorf("row %+v", r)
		}
	}
	b, err := os.ReadFile(cfgOut)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "driver: "); got != 12 {
		t.Errorf("--config-out has %d miners, want 12:\n%s", got, b)
	}
	// The block is a valid site file that reaches every miner.
	site := filepath.Join(t.TempDir(), "site.yaml")
	os.WriteFile(site, append(b, []byte("http:\n  listen: \"off\"\n")...), 0o600)
	out.Reset()
	if err := run(t, ctx, &out, "check-config", site); err != nil || !strings.Contains(out.String(), "ok (12 miners") {
		t.Errorf("check-config of the scanned block: %v %s", err, out.String())
	}
	cancel()
	<-done
}

// TestDemoUnderFrequencyTrip runs the demo with a frequency dip played by
// its simulated meter: the software relay trips (every machine asleep,
// acknowledged) and resets when frequency has recovered.
func TestDemoUnderFrequencyTrip(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var trip, reset string
	w := &lineWatcher{}
	w.fn = func(line string) {
		switch {
		case strings.Contains(line, "UNDER-FREQUENCY TRIP"):
			trip = line
		case strings.Contains(line, "trip reset") && trip != "":
			reset = line
			cancel()
		}
	}
	err := run(t, ctx, w, "demo", "--miners", "20", "--speed", "1440", "--http", "off", "--frequency-dip", "01:00", "--for", "5m")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`01:00 CDT UNDER-FREQUENCY TRIP at 59\.60 Hz: 20 machines \(.+\) asleep in [\d.]+ ms, 0 failed`).MatchString(trip) {
		t.Errorf("trip line %q\n%s", trip, w.String())
	}
	if !strings.Contains(reset, "60.00 Hz, 20 machines back to the plan") {
		t.Errorf("reset line %q", reset)
	}
}
