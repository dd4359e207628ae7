package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/demand/openadr3"
)

// startVTN runs "gridminer vtn args..." until the test ends and returns
// its output watcher and the base URL of each version.
func startVTN(t *testing.T, args ...string) (*lineWatcher, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bases := map[string]string{}
	ready := make(chan struct{})
	w := &lineWatcher{}
	// Both tests start a VTN with two clients; it is ready once it has
	// printed both base URLs and both clients.
	clients := 0
	w.fn = func(line string) {
		if m := regexp.MustCompile(`OpenADR (3\.\d\.\d)  (http://\S+)`).FindStringSubmatch(line); m != nil {
			bases[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "  client ") {
			clients++
		}
		if len(bases) == 2 && clients == 2 {
			close(ready)
			clients++ // close once
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- run(t, ctx, w, append([]string{"vtn", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "vtn.db")}, args...)...)
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("vtn exited: %v\n%s", err, w)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("vtn did not print its URLs:\n%s", w)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vtn: %v", err)
		}
		if !strings.Contains(w.String(), "gridminer vtn: stopped") {
			t.Errorf("no stop line:\n%s", w)
		}
	})
	return w, bases
}

func TestVTNDevAndBusinessCommands(t *testing.T) {
	w, bases := startVTN(t, "--dev")
	secrets := map[string]string{}
	for _, m := range regexp.MustCompile(`client (\S+): role \w+(?:, ven_name \S+)?, secret ([0-9a-f]{32})`).FindAllStringSubmatch(w.String(), -1) {
		secrets[m[1]] = m[2]
	}
	if secrets["bl"] == "" || secrets["site-1"] == "" {
		t.Fatalf("dev secrets not printed:\n%s", w)
	}
	t.Setenv("OPENADR3_CLIENT_SECRET", secrets["bl"])
	ctx := context.Background()
	for _, v := range openadr3.Versions {
		t.Run(string(v), func(t *testing.T) {
			base := bases[string(v)]
			prog := "curtailment-" + string(v) // the versions share one store
			var out bytes.Buffer
			if err := run(t, ctx, &out, "vtn", "program", "--url", base, "--name", prog, "--long-name", "Curtailment calls"); err != nil {
				t.Fatalf("program: %v\n%s", err, &out)
			}
			if !regexp.MustCompile(`^program curtailment-3\.\d\.\d: id [0-9a-f]+\n$`).MatchString(out.String()) {
				t.Errorf("program output %q", &out)
			}
			out.Reset()
			err := run(t, ctx, &out, "vtn", "event", "--url", base, "--client-secret", secrets["bl"], "--program", prog,
				"--type", "IMPORT_CAPACITY_LIMIT", "--value", "400", "--start", "now", "--duration", "PT1H", "--priority", "1", "--target", "site-1")
			if err != nil {
				t.Fatalf("event: %v\n%s", err, &out)
			}
			m := regexp.MustCompile(`^event import_capacity_limit 400: id ([0-9a-f]+), program curtailment-3\.\d\.\d, IMPORT_CAPACITY_LIMIT 400 KW from 0001-01-01T00:00:00Z for PT1H\n$`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("event output %q", &out)
			}
			id := m[1]

			// The dev VEN client reads it, targeted to it.
			ven, err := openadr3.NewClient(openadr3.ClientConfig{BaseURL: base, Version: v, ClientID: "site-1", ClientSecret: secrets["site-1"]})
			if err != nil {
				t.Fatal(err)
			}
			evs, err := ven.Events(ctx, openadr3.Query{})
			if err != nil || len(evs) != 1 || evs[0].ID != id {
				t.Fatalf("the VEN reads %+v (%v)", evs, err)
			}
			ev := evs[0]
			if ev.Priority == nil || *ev.Priority != 1 || ev.Targets.Len() != 1 || ev.Targets.Pairs()[0].Value != "site-1" ||
				ev.Intervals[0].Payloads[0].Values[0].Num != 400 || ev.PayloadDescriptors[0].Units != "KW" {
				t.Errorf("event as the VEN reads it: %+v", ev)
			}

			out.Reset()
			if err := run(t, ctx, &out, "vtn", "events", "--url", base); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "0:IMPORT_CAPACITY_LIMIT=400") {
				t.Errorf("events output:\n%s", &out)
			}
			out.Reset()
			if err := run(t, ctx, &out, "vtn", "reports", "--url", base); err != nil || !strings.HasPrefix(out.String(), "ID ") {
				t.Errorf("reports: %v\n%s", err, &out)
			}
			out.Reset()
			if err := run(t, ctx, &out, "vtn", "cancel", "--url", base, id); err != nil || !strings.Contains(out.String(), id+" (import_capacity_limit 400) deleted") {
				t.Errorf("cancel: %v\n%s", err, &out)
			}
			if evs, err := ven.Events(ctx, openadr3.Query{}); err != nil || len(evs) != 0 {
				t.Errorf("after cancel the VEN reads %+v (%v)", evs, err)
			}
		})
	}
	// A wrong secret is refused.
	err := run(t, ctx, &bytes.Buffer{}, "vtn", "events", "--url", bases["3.1.0"], "--client-secret", "wrong")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: %v, want a 401", err)
	}
	if err := run(t, ctx, &bytes.Buffer{}, "vtn", "event", "--url", bases["3.1.0"], "--program", "nope", "--value", "1"); err == nil || !strings.Contains(err.Error(), `no program "nope"`) {
		t.Errorf("unknown program: %v", err)
	}
}

func TestVTNClientsFile(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "site.secret")
	if err := os.WriteFile(secretFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_VTN_BL_SECRET", "env-secret")
	good := filepath.Join(dir, "clients.yaml")
	if err := os.WriteFile(good, []byte(`clients:
  - client_id: utility
    secret_env: TEST_VTN_BL_SECRET
    role: bl
  - client_id: site-7
    secret_file: `+secretFile+`
    role: ven
    ven_name: site-7
    targets: [west]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadVTNClients(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []openadr3.VTNClient{
		{ID: "utility", Secret: "env-secret", Role: openadr3.RoleBL},
		{ID: "site-7", Secret: "file-secret", Role: openadr3.RoleVEN, VENName: "site-7", Targets: []string{"west"}},
	}
	if len(got) != 2 || got[0].ID != want[0].ID || got[0].Secret != want[0].Secret || got[1].Secret != want[1].Secret || got[1].Targets[0] != "west" {
		t.Errorf("clients %+v, want %+v", got, want)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "clients:\n  - client_id: a\n    secret_env: TEST_VTN_BL_SECRET\n    role: bl\n    colour: red\n", "[5:5]"},
		{"no secret", "clients:\n  - client_id: a\n    role: bl\n", "no secret_env or secret_file"},
		{"unset env", "clients:\n  - client_id: a\n    secret_env: TEST_VTN_UNSET\n    role: bl\n", "TEST_VTN_UNSET is empty or unset"},
		{"bad role", "clients:\n  - client_id: a\n    secret_env: TEST_VTN_BL_SECRET\n    role: admin\n", `role "admin"`},
		{"bl with a ven name", "clients:\n  - client_id: a\n    secret_env: TEST_VTN_BL_SECRET\n    role: bl\n    ven_name: x\n", "for ven clients"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := loadVTNClients(p); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// The VTN serves with the file and prints no secrets.
	w, _ := startVTN(t, "--clients", good)
	if strings.Contains(w.String(), "env-secret") || strings.Contains(w.String(), "file-secret") || !strings.Contains(w.String(), "client site-7: role ven, ven_name site-7") {
		t.Errorf("output:\n%s", w)
	}
}

func TestVTNNeedsClients(t *testing.T) {
	err := run(t, context.Background(), &bytes.Buffer{}, "vtn", "--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "v.db"))
	if err == nil || !strings.Contains(err.Error(), "--clients FILE or --dev") {
		t.Errorf("err = %v", err)
	}
}
