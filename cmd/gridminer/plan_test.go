package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/bitcoin"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/shareddata"
)

func TestPlanOnRealHistory(t *testing.T) {
	prices := shareddata.Path(t, "ercot/rtm_spp_hubs_2021.csv.gz")
	btc := shareddata.Path(t, "btc/btc_daily.csv")
	var out bytes.Buffer
	err := run(t, context.Background(), &out, "plan", "--policy", "always-on,breakeven,oracle", "--prices", prices, "--point", "HB_WEST",
		"--btc", btc, "--site", "../../examples/site-100mw.yaml", "--from", "2021-02-15", "--to", "2021-02-16", "--json")
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out.String())
	}
	var got []struct {
		Policy string `json:"policy"`
		Totals struct {
			Net       int64   `json:"Net"`
			Resale    int64   `json:"Resale"`
			Intervals int     `json:"Intervals"`
			Uptime    float64 `json:"Uptime"`
		} `json:"totals"`
		Gap float64 `json:"gap"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out.String())
	}
	if len(got) != 3 {
		t.Fatalf("%d results, want 3", len(got))
	}
	always, be, oracle := got[0].Totals, got[1].Totals, got[2].Totals
	// Two days of Winter Storm Uri, $9,000/MWh: running is ruinous, and
	// curtailing resells the fixed-price block at spot.
	if always.Intervals != 192 || always.Uptime < 0.99 || always.Net >= 0 {
		t.Errorf("always-on over Uri: %+v, want 192 intervals, full uptime and a loss", always)
	}
	if be.Resale <= 0 || be.Net <= always.Net || be.Uptime > 0.5 {
		t.Errorf("breakeven over Uri: %+v, want resale credits, mostly curtailed and better than always-on", be)
	}
	if oracle.Net < be.Net {
		t.Errorf("oracle net %d below breakeven's %d", oracle.Net, be.Net)
	}

	out.Reset()
	err = run(t, context.Background(), &out, "plan", "--policy", "breakeven", "--prices", prices, "--point", "HB_WEST",
		"--btc", btc, "--site", "../../examples/site-100mw.yaml", "--from", "2021-02-15", "--to", "2021-02-15")
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"2021-02-15 00:00", "2021-02-15 23:45", "% of oracle", "> fleet breakeven"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text)
		}
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	prices := shareddata.Path(t, "ercot/rtm_spp_hubs_2021.csv.gz")
	btc := shareddata.Path(t, "btc/btc_daily.csv")
	base := []string{"plan", "--prices", prices, "--btc", btc, "--site", "../../examples/site-100mw.yaml"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"plan"}, "missing --btc, --site, --prices, --policy"},
		{append(base, "--policy", "cheapest", "--from", "2021-02-15", "--to", "2021-02-15"), `unknown policy "cheapest"`},
		{append(base, "--policy", "breakeven", "--from", "2021-02-15", "--to", "2021-02-15", "--point", "HB_NOWHERE"), "HB_NOWHERE"},
		{append(base, "--policy", "breakeven", "--from", "2021-15-01", "--to", "2021-02-15"), "--from"},
		{append(base, "--policy", "breakeven", "--from", "2021-03-01", "--to", "2021-02-15"), "is empty"},
		{append(base, "--policy", "breakeven", "--from", "2021-12-30", "--to", "2022-01-02"), "gaps"},
	} {
		var out bytes.Buffer
		err := run(t, context.Background(), &out, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want it to contain %q", tt.args[min(len(tt.args), len(base)):], err, tt.want)
		}
	}
}

// TestDemoRunsEveryLivePolicy runs the demo with each per-interval policy
// long enough for a plan, and reads the plan back from the status API.
func TestDemoRunsEveryLivePolicy(t *testing.T) {
	for _, policy := range []string{"always-on", "partial-power+fourcp", "planner"} {
		ctx, cancel := context.WithCancel(context.Background())
		var statusURL string
		plan := make(chan map[string]any, 1)
		w := &lineWatcher{}
		w.fn = func(line string) {
			if m := regexp.MustCompile(`status (http://\S+)`).FindStringSubmatch(line); m != nil {
				statusURL = m[1]
			}
			if !intervalLine.MatchString(line) {
				return
			}
			defer cancel()
			resp, err := http.Get(statusURL)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var body struct {
				Plan map[string]any `json:"plan"`
			}
			if json.NewDecoder(resp.Body).Decode(&body) == nil {
				select {
				case plan <- body.Plan:
				default:
				}
			}
		}
		err := run(t, ctx, w, "demo", "--miners", "10", "--speed", "3600", "--http", "127.0.0.1:0", "--policy", policy)
		cancel()
		if err != nil {
			t.Fatalf("demo --policy %s: %v\n%s", policy, err, w)
		}
		select {
		case p := <-plan:
			if p["policy"] != policy {
				t.Errorf("demo --policy %s: status plan %v", policy, p)
			}
			if r, _ := p["reason"].(string); policy == "planner" && !strings.HasPrefix(r, "planner over") {
				t.Errorf("planner reason %q, want it to plan over the synthetic forecast", r)
			}
		default:
			t.Errorf("demo --policy %s: no plan read from the status API\n%s", policy, w)
		}
	}
	var out bytes.Buffer
	if err := run(t, context.Background(), &out, "demo", "--policy", "oracle"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("demo --policy oracle: err = %v, want a refusal (the oracle runs offline only)", err)
	}
}

func TestDailyEconomicsUsesThePreviousDay(t *testing.T) {
	path := shareddata.Path(t, "btc/btc_daily.csv")
	cfg := &config.File{Bitcoin: config.Bitcoin{Type: "daily", Path: path}}
	src, err := offlineEconomics(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	days, err := bitcoin.ReadDaily(f, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 2, 15, 12, 0, 0, 0, time.UTC)
	got, err := src.Economics(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		if d.Date.Equal(time.Date(2021, 2, 14, 0, 0, 0, 0, time.UTC)) && got != d.Economics() {
			t.Errorf("economics at %s = %+v, want 2021-02-14's %+v", at, got, d.Economics())
		}
	}
	if _, err := src.Economics(context.Background(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil || !strings.Contains(err.Error(), "has no 2029-12-31") {
		t.Errorf("beyond the history: err = %v", err)
	}
}
