package meter_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gridminer/gridminer/internal/meter"
	"github.com/gridminer/gridminer/internal/minersim/metersim"
)

// The tests in this file check the driver and the simulator against an
// independent Modbus implementation, Debian's python3-pymodbus (3.0).
// They skip when it is missing, unless GRIDMINER_REQUIRE_PYMODBUS=1 (as in
// CI), when they fail instead.

// pythonPath is the interpreter with pymodbus: the system one, not
// whatever python3 comes first on PATH, unless GRIDMINER_PYTHON names
// another.
func pythonPath() string {
	if p := os.Getenv("GRIDMINER_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

func needPymodbus(t *testing.T) (python string) {
	t.Helper()
	python = pythonPath()
	out, err := exec.Command(python, "-c", "import pymodbus; print(pymodbus.__version__)").CombinedOutput()
	if err == nil {
		t.Logf("pymodbus %s", strings.TrimSpace(string(out)))
		return python
	}
	msg := fmt.Sprintf("pymodbus is not available to %s (apt-get install python3-pymodbus): %v: %s", python, err, bytes.TrimSpace(out))
	if os.Getenv("GRIDMINER_REQUIRE_PYMODBUS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// lockedBuffer collects a subprocess's stderr for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPymodbusServer starts testdata/pymodbus_server.py with args and
// returns its address once it prints its port. It is killed when the test
// ends (and exits by itself if the test binary dies: its stdin closes).
func startPymodbusServer(t *testing.T, python string, args ...string) string {
	t.Helper()
	cmd := exec.Command(python, append([]string{"testdata/pymodbus_server.py"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("pymodbus server did not report its port: %v\n%s", err, stderr.String())
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("pymodbus server printed %q, want a port\n%s", line, stderr.String())
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func TestDriverAgainstPymodbusServer(t *testing.T) {
	python := needPymodbus(t)
	tests := []struct {
		name    string
		args    []string
		cfg     meter.Config
		want    meter.Reading // Time ignored
		wantErr error
	}{
		{
			name: "sunspec 203 with a generation meter",
			args: []string{"--model", "203", "--w", "3250", "--w-sf", "2", "--hz", "5998", "--hz-sf", "-2", "--gen-w", "4000", "--gen-sf", "1"},
			cfg:  meter.Config{SunSpec: meter.SunSpec{GenerationMeter: 2}},
			want: meter.Reading{Import: 325_000, Frequency: 59.98, HasFrequency: true, Generation: 40_000, HasGeneration: true},
		},
		{
			name: "sunspec 203 exporting, frequency not implemented, at base 0",
			args: []string{"--base", "0", "--model", "203", "--w", "-1234", "--w-sf", "-1"},
			cfg:  meter.Config{Map: meter.MapSunSpec203},
			want: meter.Reading{Import: -123.4},
		},
		{
			name: "sunspec 213 floats",
			args: []string{"--model", "213", "--w", "1500000.5", "--hz", "60.02"},
			cfg:  meter.Config{},
			want: meter.Reading{Import: 1_500_000.5, Frequency: 60.02, HasFrequency: true},
		},
		{
			name:    "W_SF not implemented",
			args:    []string{"--model", "203", "--w", "100", "--w-sf", "-32768"},
			wantErr: meter.ErrNotImplemented,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startPymodbusServer(t, python, tt.args...)
			cfg := tt.cfg
			cfg.Address = addr
			m := newMeter(t, cfg)
			r, err := m.Read(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(r.Import), float64(tt.want.Import)) || !near(r.Frequency, tt.want.Frequency) ||
				r.HasFrequency != tt.want.HasFrequency || !near(float64(r.Generation), float64(tt.want.Generation)) ||
				r.HasGeneration != tt.want.HasGeneration {
				t.Errorf("got %+v\nwant %+v", r, tt.want)
			}
			// The relay: pymodbus keeps what the driver writes.
			ctx := context.Background()
			for _, on := range []bool{true, false, true} {
				if err := m.SetCoil(ctx, 5, on); err != nil {
					t.Fatal(err)
				}
				got, err := m.Coil(ctx, 5)
				if err != nil {
					t.Fatal(err)
				}
				if got != on {
					t.Errorf("coil 5 reads %v after writing %v", got, on)
				}
			}
		})
	}
}

// pymodbusView is what testdata/pymodbus_client.py prints.
type pymodbusView struct {
	Models []struct {
		ID   int      `json:"id"`
		Addr int      `json:"addr"`
		W    *float64 `json:"w"`
		Hz   *float64 `json:"hz"`
	} `json:"models"`
	Coil *bool `json:"coil"`
}

func TestSimulatorAgainstPymodbusClient(t *testing.T) {
	python := needPymodbus(t)
	for _, model := range []uint16{203, 213} {
		t.Run(fmt.Sprint(model), func(t *testing.T) {
			var mu sync.Mutex
			var hooked []uint16
			sim := startSim(t, metersim.Config{
				SunSpecModel:    model,
				Draw:            constant(2_000_000),
				SiteLoad:        250_000,
				GenerationPower: constant(100_000),
				OnCoil: func(addr uint16, on bool) {
					mu.Lock()
					if on {
						hooked = append(hooked, addr)
					}
					mu.Unlock()
				},
			})
			sim.SetFrequency(59.95)
			host, port, _ := strings.Cut(sim.Addr(), ":")
			cmd := exec.Command(python, "testdata/pymodbus_client.py", host, port, "--coil", "2")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("pymodbus client: %v\n%s", err, stderr.String())
			}
			var got pymodbusView
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("pymodbus client printed %q: %v", out, err)
			}
			if len(got.Models) != 2 {
				t.Fatalf("pymodbus found %d meter models, want 2 (site and generation): %s", len(got.Models), out)
			}
			for i, want := range []float64{2_150_000, 100_000} {
				m := got.Models[i]
				if m.ID != int(model) || m.W == nil || !near(*m.W, want) || m.Hz == nil || !near(*m.Hz, 59.95) {
					t.Errorf("model %d as pymodbus reads it: %s, want id %d, W %v, Hz 59.95", i+1, out, model, want)
				}
			}
			if got.Models[0].Addr != 40070 {
				t.Errorf("site meter at %d, want 40070", got.Models[0].Addr)
			}
			if got.Coil == nil || !*got.Coil || !sim.Coil(2) {
				t.Errorf("coil 2 written by pymodbus: it reads back %v, the simulator holds %v", got.Coil, sim.Coil(2))
			}
			mu.Lock()
			if len(hooked) != 1 || hooked[0] != 2 {
				t.Errorf("coil hook saw %v, want [2]", hooked)
			}
			mu.Unlock()
		})
	}
}
