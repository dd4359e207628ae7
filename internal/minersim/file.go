package minersim

import (
	"fmt"
	"os"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
)

// FileSpec is the YAML form of a simulated fleet, for `gridminer sim`:
//
//	port: 4028
//	per_port: false
//	wake_ramp: 10s
//	sleep_ramp: 5s
//	start_asleep: false
//	seed: 1
//	miners:
//	  - model: S19j Pro
//	    count: 100
type FileSpec struct {
	Port        int          `yaml:"port"`
	PerPort     bool         `yaml:"per_port"`
	WakeRamp    string       `yaml:"wake_ramp"`
	SleepRamp   string       `yaml:"sleep_ramp"`
	StartAsleep bool         `yaml:"start_asleep"`
	Seed        int64        `yaml:"seed"`
	Models      []ModelCount `yaml:"miners"`
}

// ModelCount is one line of a FileSpec's miners list.
type ModelCount struct {
	Model string `yaml:"model"`
	Count int    `yaml:"count"`
	// Firmware is the API these miners speak: luxos (default) or a
	// dialect the caller supplies in Config.Dialects.
	Firmware string `yaml:"firmware"`
}

// maxFileMiners bounds a fleet file so a typo cannot exhaust memory.
const maxFileMiners = 1_000_000

// LoadFile reads a FileSpec from path (strict: unknown keys are errors with
// their line) and returns the Config it describes, on the real clock; the
// caller may replace Clock and Logger.
func LoadFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("minersim: read fleet file: %w", err)
	}
	return parseFile("fleet file "+path, b)
}

// ParseFile parses the YAML of a FileSpec into a Config.
func ParseFile(b []byte) (Config, error) { return parseFile("fleet file", b) }

func parseFile(name string, b []byte) (Config, error) {
	var fs FileSpec
	// The same strict, panic-safe decoding as site files: the YAML library
	// panics on some malformed input.
	if err := config.DecodeStrict(name, b, &fs); err != nil {
		return Config{}, err
	}
	cfg, err := fs.config()
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// config checks fs and turns it into a Config on the real clock.
func (fs FileSpec) config() (Config, error) {
	cfg := Config{Port: fs.Port, PerPort: fs.PerPort, StartAsleep: fs.StartAsleep, Clock: clock.Real{}}
	if fs.Port < 0 || fs.Port > 65535 {
		return Config{}, fmt.Errorf("port %d: out of range", fs.Port)
	}
	for _, d := range []struct {
		name string
		s    string
		out  *time.Duration
	}{{"wake_ramp", fs.WakeRamp, &cfg.WakeRamp}, {"sleep_ramp", fs.SleepRamp, &cfg.SleepRamp}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v < 0 {
			return Config{}, fmt.Errorf("%s %q: want a non-negative duration like 10s", d.name, d.s)
		}
		*d.out = v
	}
	if len(fs.Models) == 0 {
		return Config{}, fmt.Errorf("miners: empty")
	}
	total := 0
	for i, mc := range fs.Models {
		if _, err := ModelByName(mc.Model); err != nil {
			return Config{}, fmt.Errorf("miners[%d]: %w", i, err)
		}
		if mc.Count <= 0 || mc.Count > maxFileMiners-total {
			return Config{}, fmt.Errorf("miners[%d] (%s): count %d: want 1..%d in all", i, mc.Model, mc.Count, maxFileMiners)
		}
		total += mc.Count
		for range mc.Count {
			cfg.Miners = append(cfg.Miners, MinerSpec{Model: mc.Model, Seed: fs.Seed + int64(len(cfg.Miners)), Dialect: mc.Firmware})
		}
	}
	return cfg, nil
}

// Mix returns DefaultMix(n) with the miners' firmwares taken in turn from
// dialects (empty: all LuxOS).
func Mix(n int, dialects []string) []MinerSpec {
	out := DefaultMix(n)
	if len(dialects) == 0 {
		return out
	}
	for i := range out {
		out[i].Dialect = dialects[i%len(dialects)]
	}
	return out
}

// DefaultMix returns n miners in a fixed mix: half S19j Pro, three in ten
// S19 XP, one in five S21, interleaved, with seeds 1..n.
func DefaultMix(n int) []MinerSpec {
	pattern := [10]string{"S19j Pro", "S19 XP", "S19j Pro", "S21", "S19j Pro", "S19 XP", "S19j Pro", "S21", "S19j Pro", "S19 XP"}
	out := make([]MinerSpec, 0, max(n, 0))
	for i := range n {
		out = append(out, MinerSpec{Model: pattern[i%len(pattern)], Seed: int64(i + 1)})
	}
	return out
}
