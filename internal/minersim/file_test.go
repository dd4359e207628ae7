package minersim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadFile(t *testing.T) {
	cfg, err := LoadFile(filepath.Join("testdata", "fleet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 4028 || cfg.WakeRamp != 8*time.Second || cfg.SleepRamp != 4*time.Second || cfg.Clock == nil {
		t.Errorf("config %+v", cfg)
	}
	var models []string
	for _, m := range cfg.Miners {
		models = append(models, m.Model)
	}
	want := []string{"S19j Pro", "S19j Pro", "S21"}
	if diff := cmp.Diff(want, models); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "port: 1\nminers:\n  - model: S21\n    count: 1\n    colour: red\n", "[5:"},
		{"unknown model", "miners:\n  - model: S9\n    count: 1\n", "S9"},
		{"zero count", "miners:\n  - model: S21\n    count: 0\n", "count 0"},
		{"no miners", "port: 1\n", "miners: empty"},
		{"bad ramp", "wake_ramp: soon\nminers:\n  - model: S21\n    count: 1\n", "wake_ramp"},
		{"bad port", "port: 70000\nminers:\n  - model: S21\n    count: 1\n", "port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseFile error %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("miners: 3\n"), 0o644)
	if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("bad file error %v should name the file", err)
	}
}

func TestDefaultMix(t *testing.T) {
	mix := DefaultMix(10)
	count := map[string]int{}
	for _, s := range mix {
		count[s.Model]++
	}
	if diff := cmp.Diff(map[string]int{"S19j Pro": 5, "S19 XP": 3, "S21": 2}, count); diff != "" {
		t.Errorf("mix (-want +got):\n%s", diff)
	}
	if len(DefaultMix(0)) != 0 || len(DefaultMix(-1)) != 0 {
		t.Error("DefaultMix of n<=0 not empty")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	clk := newFakeClock()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no clock", Config{Miners: DefaultMix(1)}},
		{"bad model", Config{Miners: []MinerSpec{{Model: "X"}}, Clock: clk}},
		{"non-loopback addr", Config{Miners: []MinerSpec{{Model: "S21", Addr: "10.0.0.1"}}, Clock: clk}},
		{"duplicate addr", Config{Miners: []MinerSpec{{Model: "S21", Addr: "127.1.0.1"}, {Model: "S21", Addr: "127.1.0.1"}}, Clock: clk}},
		{"per-port bad addr", Config{Miners: []MinerSpec{{Model: "S21", Addr: "127.1.0.1"}}, PerPort: true, Clock: clk}},
		{"negative ramp", Config{Miners: DefaultMix(1), WakeRamp: -1, Clock: clk}},
		{"port", Config{Miners: DefaultMix(1), Port: 65536, Clock: clk}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: New accepted %+v", tt.name, tt.cfg)
		}
	}
}
