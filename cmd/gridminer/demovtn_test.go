package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gridminer/gridminer/internal/demand/openadr3"
)

// TestDemoVTNEventCurtailsAndReports drives the demo end to end through
// OpenADR 3: business logic posts an IMPORT_CAPACITY_LIMIT event asking
// for USAGE and BASELINE reports to the demo's VTN; the site's VEN gets
// it, the site plans under the cap and its draw falls below it, and the
// VEN's report comes back to the VTN with the baseline above the usage.
func TestDemoVTNEventCurtailsAndReports(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu                      sync.Mutex
		base, secret, statusURL string
		client                  *openadr3.Client
		eventID                 string
		capped, report          bool
		reports                 []openadr3.Report
		failure                 string
		lines                   int
	)
	const capKW = 15.0
	fail := func(s string) { failure = s; cancel() }
	w := &lineWatcher{}
	w.fn = func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if m := regexp.MustCompile(`status (http://\S+)`).FindStringSubmatch(line); m != nil {
			statusURL = m[1]
		}
		if m := regexp.MustCompile(`^OpenADR 3 VTN (\S+) `).FindStringSubmatch(line); m != nil {
			base = m[1]
		}
		if m := regexp.MustCompile(`--client-id bl --client-secret ([0-9a-f]+) \\$`).FindStringSubmatch(line); m != nil && client == nil {
			secret = m[1]
			c, err := openadr3.NewClient(openadr3.ClientConfig{BaseURL: base, Version: openadr3.V310, ClientID: "bl", ClientSecret: secret})
			if err != nil {
				fail(err.Error())
				return
			}
			client = c
		}
		if !intervalLine.MatchString(line) || client == nil {
			return
		}
		lines++
		switch {
		case eventID == "" && lines >= 2:
			// Two intervals at full draw give the baseline; then the event.
			progs, err := client.Programs(ctx, openadr3.Query{})
			if err != nil || len(progs) != 1 {
				fail("programs: " + strings.TrimSpace(err.Error()))
				return
			}
			ev, err := client.CreateEvent(ctx, openadr3.Event{ProgramID: progs[0].ID, EventName: "test cap",
				PayloadDescriptors: []openadr3.PayloadDescriptor{{ObjectType: openadr3.EventPayloadDescriptor, PayloadType: openadr3.PayloadImportCapacityLimit, Units: "KW"}},
				IntervalPeriod:     &openadr3.IntervalPeriod{Start: openadr3.Now, Duration: "PT30M"},
				Intervals:          []openadr3.Interval{{ID: 0, Payloads: []openadr3.ValuesMap{{Type: openadr3.PayloadImportCapacityLimit, Values: []openadr3.Value{openadr3.Num(capKW)}}}}},
				ReportDescriptors:  []openadr3.ReportDescriptor{{PayloadType: "USAGE"}, {PayloadType: "DEMAND"}, {PayloadType: "BASELINE"}},
			})
			if err != nil {
				fail("create event: " + err.Error())
				return
			}
			eventID = ev.ID
		case eventID != "":
			// The site's status shows the cap, and a later interval's
			// average draw sits under it.
			resp, err := http.Get(strings.Replace(statusURL, "/status", "/grid", 1))
			if err == nil {
				var g struct {
					Constraint struct {
						CapW *float64 `json:"cap_w"`
					} `json:"constraint"`
				}
				json.NewDecoder(resp.Body).Decode(&g)
				resp.Body.Close()
				f := strings.Fields(line)
				mw, _ := strconv.ParseFloat(f[5], 64)
				if g.Constraint.CapW != nil && *g.Constraint.CapW == capKW*1e3 && mw*1e3 <= capKW*1.05 {
					capped = true
				}
			}
			rs, err := client.Reports(ctx, openadr3.Query{})
			if err == nil && len(rs) > 0 {
				reports, report = rs, true
			}
			if capped && report {
				cancel()
			}
			if lines > 40 {
				fail("no cap or no report after 40 intervals")
			}
		}
	}
	err := run(t, ctx, w, "demo", "--miners", "20", "--speed", "1440", "--http", "127.0.0.1:0", "--vtn", "127.0.0.1:0", "--for", "5m")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if failure != "" {
		t.Fatalf("%s\n%s", failure, w.String())
	}
	if !capped || !report {
		t.Fatalf("capped %v, report %v\n%s", capped, report, w.String())
	}
	var usage, demandKW, baseline float64
	for _, r := range reports {
		if r.EventID != eventID {
			t.Errorf("report for event %q, want %q", r.EventID, eventID)
		}
		for _, res := range r.Resources {
			for _, iv := range res.Intervals {
				for _, p := range iv.Payloads {
					if len(p.Values) > 0 {
						switch p.Type {
						case "USAGE":
							usage = p.Values[0].Num
						case "DEMAND":
							demandKW = p.Values[0].Num
						case "BASELINE":
							baseline = p.Values[0].Num
						}
					}
				}
			}
		}
	}
	t.Logf("event %s: reported usage %.3f kWh, demand %.3f kW, baseline %.3f kW", eventID, usage, demandKW, baseline)
	// Half an hour at the demand (kW, the mean over the settled samples)
	// is the usage (kWh) of the part the ledger covered (at least 90%);
	// the baseline, the draw before the event, is well above the demand.
	if half := demandKW / 2; usage > half+0.01 || usage < 0.9*half || !(baseline > 2*demandKW) || demandKW <= 0 {
		t.Errorf("reported usage %v kWh, demand %v kW, baseline %v kW: want usage = demand × 0.5 h and the baseline above the curtailed demand", usage, demandKW, baseline)
	}
}
