package meter

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// Map names.
const (
	// MapSunSpec finds any SunSpec AC meter model (201–204, 211–214) by
	// discovery.
	MapSunSpec = "sunspec"
	// MapGeneric reads the registers given in Config.Import, Frequency and
	// Generation.
	MapGeneric = "generic"
	// MapSunSpec201 … MapSunSpec214 pin one SunSpec model: discovery (or
	// sunspec.model_addr) must find that model.
	MapSunSpec201 = "sunspec201"
	MapSunSpec202 = "sunspec202"
	MapSunSpec203 = "sunspec203"
	MapSunSpec204 = "sunspec204"
	MapSunSpec211 = "sunspec211"
	MapSunSpec212 = "sunspec212"
	MapSunSpec213 = "sunspec213"
	MapSunSpec214 = "sunspec214"
)

// Defaults.
const (
	DefaultTimeout = 2 * time.Second
	DefaultUnitID  = 1
)

// Config describes one meter. The zero values of optional fields mean the
// documented defaults. In YAML:
//
//	address: 10.0.0.5:502
//	unit_id: 1
//	timeout: 2s
//	map: sunspec
//	sunspec:
//	  generation_meter: 2
//	invert_import: false
//	coil_unit_id: 1
type Config struct {
	// Address is the meter's (or gateway's) host:port.
	Address string `yaml:"address"`
	// UnitID is the Modbus unit identifier (default 1; 0 cannot be
	// selected, 255 addresses a TCP device directly).
	UnitID uint8 `yaml:"unit_id"`
	// Timeout bounds each Modbus round trip, dial included (default 2s).
	Timeout time.Duration `yaml:"timeout"`
	// Map is sunspec (discover, default), sunspec201…sunspec204,
	// sunspec211…sunspec214 (one model) or generic.
	Map string `yaml:"map"`
	// SunSpec tunes the SunSpec maps.
	SunSpec SunSpec `yaml:"sunspec"`
	// Import, Frequency and Generation give a quantity's register by hand.
	// With the generic map Import is required and the others optional;
	// with a SunSpec map a register given here replaces what the model
	// provides (Generation from an inverter register, say).
	Import     *Register `yaml:"import"`
	Frequency  *Register `yaml:"frequency"`
	Generation *Register `yaml:"generation"`
	// InvertImport flips the sign of the import reading, for meters that
	// report export as positive.
	InvertImport bool `yaml:"invert_import"`
	// CoilUnitID is the unit answering SetCoil and Coil (default UnitID),
	// for a relay module behind the same gateway.
	CoilUnitID uint8 `yaml:"coil_unit_id"`
}

// SunSpec tunes the SunSpec maps.
type SunSpec struct {
	// Base is the address of the "SunS" marker. Unset, discovery tries
	// 40000, 0 and 50000 in turn.
	Base *uint16 `yaml:"base"`
	// ModelAddr is the address of the meter model's ID register. Set, the
	// driver skips discovery; it checks that a meter model is there (the
	// map's, when the map names one) and, on every read, that its ID has
	// not changed.
	ModelAddr *uint16 `yaml:"model_addr"`
	// ImportMeter picks the site (grid) meter among the meter models found
	// by discovery, counting from 1 (default 1).
	ImportMeter int `yaml:"import_meter"`
	// GenerationMeter picks a second meter model found by discovery that
	// measures on-site generation (its W, positive when producing); 0
	// means none.
	GenerationMeter int `yaml:"generation_meter"`
}

// Register describes where and how one quantity is stored.
//
//	register: holding      # holding (default) | input
//	address: 30012         # 0-based protocol address
//	data: int32            # int16 | uint16 | int32 | uint32 | float32
//	word_order: big        # 32-bit only: big = high word first (default) | little
//	scale: 0.1             # multiplier (default 1; negative flips the sign)
//	scale_factor: 30014    # optional int16 register (SunSpec sunssf): value × 10^sf
//	units: kW              # W (default), kW, MW for power; Hz (default), cHz, mHz for frequency
//	unit_id: 2             # optional: another unit behind the same gateway
//	not_implemented: sunspec  # sunspec (default): SunSpec sentinels mean absent | none
type Register struct {
	Kind           string  `yaml:"register"`
	Address        uint16  `yaml:"address"`
	Data           string  `yaml:"data"`
	WordOrder      string  `yaml:"word_order"`
	Scale          float64 `yaml:"scale"`
	ScaleFactor    *uint16 `yaml:"scale_factor"`
	Units          string  `yaml:"units"`
	UnitID         uint8   `yaml:"unit_id"`
	NotImplemented string  `yaml:"not_implemented"`
}

// Quantity names what a register measures.
type Quantity uint8

// The quantities a meter reads.
const (
	Import Quantity = iota
	Frequency
	Generation
)

func (q Quantity) String() string {
	switch q {
	case Import:
		return "import"
	case Frequency:
		return "frequency"
	case Generation:
		return "generation"
	}
	return "quantity(" + strconv.Itoa(int(q)) + ")"
}

// sunspecMapModel returns the model a sunspecNNN map pins (0 for sunspec,
// ok false for any other name).
func sunspecMapModel(name string) (id uint16, ok bool) {
	if name == MapSunSpec || name == "" {
		return 0, true
	}
	rest, found := strings.CutPrefix(name, "sunspec")
	if !found {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 10, 16)
	if err != nil || strconv.FormatUint(n, 10) != rest {
		return 0, false
	}
	if _, ok := meterModel(uint16(n)); !ok {
		return 0, false
	}
	return uint16(n), true
}

// Validate checks the configuration without touching the network. Its
// error names every field at fault by its YAML key.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("meter: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Address == "" {
		bad("address", "missing (want host:port)")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil {
		bad("address", "%q: want host:port", c.Address)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		bad("address", "%q: want host:port with a port in 1..65535", c.Address)
	}
	if c.Timeout < 0 {
		bad("timeout", "%v: must not be negative", c.Timeout)
	}
	_, sunspec := sunspecMapModel(c.Map)
	generic := c.Map == MapGeneric
	if !sunspec && !generic {
		bad("map", "%q: want sunspec, sunspec201…sunspec204, sunspec211…sunspec214 or generic", c.Map)
	}
	if generic {
		if c.Import == nil {
			bad("import", "missing: the generic map needs the import register")
		}
		if c.SunSpec != (SunSpec{}) {
			bad("sunspec", "only for the sunspec maps")
		}
	}
	if sunspec {
		s := c.SunSpec
		if s.ImportMeter < 0 {
			bad("sunspec.import_meter", "%d: want 1 or more", s.ImportMeter)
		}
		if s.GenerationMeter < 0 {
			bad("sunspec.generation_meter", "%d: want 0 (none) or more", s.GenerationMeter)
		}
		if s.GenerationMeter > 0 && s.GenerationMeter == max(s.ImportMeter, 1) {
			bad("sunspec.generation_meter", "%d: the same meter as sunspec.import_meter", s.GenerationMeter)
		}
		if s.ModelAddr != nil {
			if s.Base != nil {
				bad("sunspec.model_addr", "give either sunspec.base (discovery) or sunspec.model_addr, not both")
			}
			if s.GenerationMeter > 0 || s.ImportMeter > 1 {
				bad("sunspec.model_addr", "skips discovery, so sunspec.import_meter and sunspec.generation_meter cannot pick meters")
			}
			if *s.ModelAddr > math.MaxUint16-2-105 {
				bad("sunspec.model_addr", "%d: the model would run past register 65535", *s.ModelAddr)
			}
		}
	}
	for _, r := range []struct {
		q   Quantity
		reg *Register
	}{{Import, c.Import}, {Frequency, c.Frequency}, {Generation, c.Generation}} {
		if r.reg != nil {
			errs = append(errs, r.reg.validate(r.q.String(), r.q)...)
		}
	}
	return errors.Join(errs...)
}

func (r *Register) validate(field string, q Quantity) []error {
	var errs []error
	bad := func(sub, format string, args ...any) {
		errs = append(errs, fmt.Errorf("meter: %s.%s: %s", field, sub, fmt.Sprintf(format, args...)))
	}
	if _, err := parseKind(r.Kind); err != nil {
		bad("register", "%v", err)
	}
	dt, err := parseDataType(r.Data)
	if err != nil {
		bad("data", "%v", err)
	}
	if _, err := parseWordOrder(r.WordOrder); err != nil {
		bad("word_order", "%v", err)
	}
	if math.IsNaN(r.Scale) || math.IsInf(r.Scale, 0) {
		bad("scale", "%v: want a finite number", r.Scale)
	}
	if _, err := unitsMultiplier(q, r.Units); err != nil {
		bad("units", "%v", err)
	}
	if _, err := parseSentinel(r.NotImplemented); err != nil {
		bad("not_implemented", "%v", err)
	}
	if err == nil && int(r.Address)+dt.words() > 1<<16 {
		bad("address", "%d: a %s there runs past register 65535", r.Address, r.Data)
	}
	if r.ScaleFactor != nil && dt == float32Type {
		bad("scale_factor", "a float32 carries its own exponent; scale factors go with integer data")
	}
	return errs
}

func parseKind(s string) (regKind, error) {
	switch s {
	case "", "holding":
		return holding, nil
	case "input":
		return input, nil
	}
	return 0, fmt.Errorf("%q: want holding or input", s)
}

func parseWordOrder(s string) (wordOrder, error) {
	switch s {
	case "", "big":
		return highFirst, nil
	case "little":
		return lowFirst, nil
	}
	return 0, fmt.Errorf("%q: want big (high word first) or little (low word first)", s)
}

func parseSentinel(s string) (bool, error) {
	switch s {
	case "", "sunspec":
		return true, nil
	case "none":
		return false, nil
	}
	return false, fmt.Errorf("%q: want sunspec or none", s)
}

// unitsMultiplier converts a quantity's units into watts or hertz.
func unitsMultiplier(q Quantity, units string) (float64, error) {
	if q == Frequency {
		switch units {
		case "", "Hz":
			return 1, nil
		case "cHz":
			return 0.01, nil
		case "mHz":
			return 0.001, nil
		}
		return 0, fmt.Errorf("%q: want Hz, cHz or mHz", units)
	}
	switch units {
	case "", "W":
		return 1, nil
	case "kW":
		return 1e3, nil
	case "MW":
		return 1e6, nil
	}
	return 0, fmt.Errorf("%q: want W, kW or MW", units)
}
