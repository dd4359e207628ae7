package openadr3

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/energy"
)

// NoPriority is the demand priority of an event that has none: below
// every event that has one (OpenADR: 0 is the highest priority).
const NoPriority = math.MaxInt32

// ErrUnmapped is wrapped by the errors MapEvent reports for payloads it
// could not map.
var ErrUnmapped = errors.New("payload not mapped")

// MapEvent turns the resolved spans of ev into demand events, one per
// span, payload type and value: IMPORT_CAPACITY_LIMIT → Cap, DISPATCH_SETPOINT
// → Target, SIMPLE → Level, PRICE → Price. A payload with several values
// splits its span into as many equal sub-intervals (User Guide 7.3).
// Zero-length spans map to nothing. Units come from the event's payload
// descriptors, else the program's (program may be nil). Payload types it
// does not know are ignored silently; payloads it knows but cannot map are
// skipped and reported in errs.
//
// IDs are "<event id>/<interval index>/<payload type>", with "@<rep>" after
// the index for repetitions of a looping event and "/<n>" for sub-intervals.
func MapEvent(source string, ev Event, program *Program, spans []Span) (out []demand.Event, errs []error) {
	prio := NoPriority
	if ev.Priority != nil {
		prio = *ev.Priority
	}
	progName := ev.ProgramID
	var progDesc []PayloadDescriptor
	if program != nil {
		progName, progDesc = program.ProgramName, program.PayloadDescriptors
	}
	for _, s := range spans {
		if !s.Open() && !s.End.After(s.Start) {
			continue
		}
		base := fmt.Sprintf("%s/%d", ev.ID, s.Index)
		if s.Rep > 0 {
			base += fmt.Sprintf("@%d", s.Rep)
		}
		for _, p := range s.Payloads {
			kind, ok := payloadKinds[p.Type]
			if !ok {
				continue
			}
			fail := func(format string, a ...any) {
				errs = append(errs, fmt.Errorf("event %s interval %d %s: %s: %w", ev.ID, s.IntervalID, p.Type, fmt.Sprintf(format, a...), ErrUnmapped))
			}
			desc := descriptorFor(p.Type, ev.PayloadDescriptors, progDesc)
			n := len(p.Values)
			switch {
			case n == 0:
				fail("no values")
				continue
			case n > 1 && s.Open():
				fail("%d values over an open-ended interval", n)
				continue
			}
			for k, v := range p.Values {
				de := demand.Event{
					Source: source, ID: base + "/" + p.Type, Program: progName, Name: ev.EventName,
					Kind: kind, Start: s.Start, End: s.End, Priority: prio,
				}
				if n > 1 {
					step := s.End.Sub(s.Start) / time.Duration(n)
					de.ID += fmt.Sprintf("/%d", k)
					de.Start = s.Start.Add(time.Duration(k) * step)
					if k < n-1 {
						de.End = s.Start.Add(time.Duration(k+1) * step)
					}
				}
				if v.Kind != KindNumber {
					fail("value %q is not a number", v.String())
					continue
				}
				switch kind {
				case demand.Cap, demand.Target:
					f, err := powerFactor(desc.Units)
					if err != nil {
						fail("%v", err)
						continue
					}
					de.Power = energy.Power(v.Num * f)
				case demand.Level:
					if v.Num != math.Trunc(v.Num) || v.Num < 0 || v.Num > 3 {
						fail("level %v: want 0, 1, 2 or 3", v.Num)
						continue
					}
					de.Level = int(v.Num)
				case demand.Price:
					f, err := priceFactor(desc.Units, desc.Currency)
					if err != nil {
						fail("%v", err)
						continue
					}
					de.Price = energy.Price(v.Num * f)
				}
				if err := de.Validate(); err != nil {
					fail("%v", err)
					continue
				}
				out = append(out, de)
			}
		}
	}
	return out, errs
}

var payloadKinds = map[string]demand.Kind{
	PayloadImportCapacityLimit: demand.Cap,
	PayloadDispatchSetpoint:    demand.Target,
	PayloadSimple:              demand.Level,
	PayloadPrice:               demand.Price,
}

// descriptorFor finds the descriptor of payloadType among the event's
// descriptors, then the program's.
func descriptorFor(payloadType string, lists ...[]PayloadDescriptor) PayloadDescriptor {
	for _, l := range lists {
		for _, d := range l {
			if d.PayloadType == payloadType && d.ObjectType != ReportPayloadDescriptor {
				return d
			}
		}
	}
	return PayloadDescriptor{PayloadType: payloadType}
}

// powerFactor is watts per unit of a power payload; KW when unstated (the
// unit the Definition uses for power attributes).
func powerFactor(units string) (float64, error) {
	switch strings.ToUpper(units) {
	case "", "KW":
		return 1e3, nil
	case "W":
		return 1, nil
	case "MW":
		return 1e6, nil
	}
	return 0, fmt.Errorf("units %q: want KW, W or MW", units)
}

// priceFactor is $/MWh per unit of a price payload; units name the energy
// the price is per (KWH when unstated, as in the Definition's examples).
func priceFactor(units, currency string) (float64, error) {
	if c := strings.ToUpper(currency); c != "" && c != "USD" {
		return 0, fmt.Errorf("currency %q: only USD prices are understood", currency)
	}
	switch strings.ToUpper(units) {
	case "", "KWH":
		return 1e3, nil
	case "MWH":
		return 1, nil
	case "WH":
		return 1e6, nil
	}
	return 0, fmt.Errorf("price units %q: want KWH, MWH or WH", units)
}
