package meter

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// point is one quantity resolved to its register.
type point struct {
	q        Quantity
	unit     uint8
	kind     regKind
	addr     uint16
	dt       dataType
	wo       wordOrder
	sentinel bool    // SunSpec sentinels mean absent
	mult     float64 // scale × units (× -1 when inverted)
	hasSF    bool
	sfAddr   uint16 // the int16 scale-factor register, same unit and table
}

func (p point) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s register %d (%s", p.kind, p.addr, p.dt)
	if p.hasSF {
		fmt.Fprintf(&b, ", scale factor %d", p.sfAddr)
	}
	fmt.Fprintf(&b, ", unit %d)", p.unit)
	return b.String()
}

// guard is a register that must hold want on every read: a SunSpec model
// ID, so that a device whose map moved is noticed instead of misread.
type guard struct {
	unit uint8
	addr uint16
	want uint16
}

// block is a run of registers read in one request.
type block struct {
	unit  uint8
	kind  regKind
	start uint16
	count uint16
}

func (b block) String() string {
	return fmt.Sprintf("%s registers %d..%d (unit %d)", b.kind, b.start, int(b.start)+int(b.count)-1, b.unit)
}

// layout is a meter's resolved register map and the reads it takes.
type layout struct {
	points []point
	guards []guard
	blocks []block
	desc   string
}

// maxGap is the most unused registers a read may span to join two runs:
// reading a few extra registers is cheaper than another round trip.
const maxGap = 16

// span is a run of registers something needs.
type span struct {
	unit       uint8
	kind       regKind
	start, end uint32 // end exclusive
}

// planBlocks merges the runs into as few reads as the gap and the
// 125-register limit allow.
func planBlocks(spans []span) []block {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.unit, b.unit), cmp.Compare(a.kind, b.kind), cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end))
	})
	var out []block
	var cur span
	have := false
	flush := func() {
		if have {
			out = append(out, block{unit: cur.unit, kind: cur.kind, start: uint16(cur.start), count: uint16(cur.end - cur.start)})
		}
	}
	for _, s := range spans {
		if have && s.unit == cur.unit && s.kind == cur.kind && s.start <= cur.end+maxGap && max(cur.end, s.end)-cur.start <= maxReadRegisters {
			cur.end = max(cur.end, s.end)
			continue
		}
		flush()
		cur, have = s, true
	}
	flush()
	return out
}

// newLayout plans the reads for points and guards.
func newLayout(desc string, points []point, guards []guard) *layout {
	var spans []span
	for _, p := range points {
		spans = append(spans, span{p.unit, p.kind, uint32(p.addr), uint32(p.addr) + uint32(p.dt.words())})
		if p.hasSF {
			spans = append(spans, span{p.unit, p.kind, uint32(p.sfAddr), uint32(p.sfAddr) + 1})
		}
	}
	for _, g := range guards {
		spans = append(spans, span{g.unit, holding, uint32(g.addr), uint32(g.addr) + 1})
	}
	return &layout{points: points, guards: guards, blocks: planBlocks(spans), desc: desc}
}

// blockData is a block and the registers read from it.
type blockData struct {
	block
	words []uint16
}

// lookup returns the n registers at addr from whichever block holds them.
func lookup(data []blockData, unit uint8, kind regKind, addr uint16, n int) ([]uint16, bool) {
	for _, d := range data {
		if d.unit != unit || d.kind != kind || addr < d.start {
			continue
		}
		off := int(addr - d.start)
		if off+n <= len(d.words) {
			return d.words[off : off+n], true
		}
	}
	return nil, false
}

// registerPoint resolves a hand-written register for quantity q.
func registerPoint(q Quantity, r *Register, unit uint8, invert bool) point {
	kind, _ := parseKind(r.Kind)
	dt, _ := parseDataType(r.Data)
	wo, _ := parseWordOrder(r.WordOrder)
	sentinel, _ := parseSentinel(r.NotImplemented)
	units, _ := unitsMultiplier(q, r.Units)
	scale := r.Scale
	if scale == 0 {
		scale = 1
	}
	mult := scale * units
	if invert {
		mult = -mult
	}
	if r.UnitID != 0 {
		unit = r.UnitID
	}
	p := point{q: q, unit: unit, kind: kind, addr: r.Address, dt: dt, wo: wo, sentinel: sentinel, mult: mult}
	if r.ScaleFactor != nil {
		p.hasSF, p.sfAddr = true, *r.ScaleFactor
	}
	return p
}

// sunspecPoints resolves a SunSpec meter model's W (as quantity w) and,
// when withHz, its Hz.
func sunspecPoints(m sunspecModel, unit uint8, w Quantity, invert, withHz bool) []point {
	lay, _ := meterModel(m.ID)
	mult := 1.0
	if invert {
		mult = -1
	}
	at := func(off uint16) uint16 { return m.Addr + off }
	var pts []point
	if lay.float {
		pts = append(pts, point{q: w, unit: unit, kind: holding, addr: at(lay.w), dt: float32Type, sentinel: true, mult: mult})
		if withHz {
			pts = append(pts, point{q: Frequency, unit: unit, kind: holding, addr: at(lay.hz), dt: float32Type, sentinel: true, mult: 1})
		}
		return pts
	}
	pts = append(pts, point{q: w, unit: unit, kind: holding, addr: at(lay.w), dt: int16Type, sentinel: true, mult: mult, hasSF: true, sfAddr: at(lay.wSF)})
	if withHz {
		pts = append(pts, point{q: Frequency, unit: unit, kind: holding, addr: at(lay.hz), dt: int16Type, sentinel: true, mult: 1, hasSF: true, sfAddr: at(lay.hzSF)})
	}
	return pts
}
