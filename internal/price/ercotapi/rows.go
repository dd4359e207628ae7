package ercotapi

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Interval lengths of the reports.
const (
	sppStep = 15 * time.Minute
	lmpStep = 5 * time.Minute
	rtdStep = 5 * time.Minute
)

// ewSuffix names the energy-weighted variant of a load zone price, as in
// package price/ercot: rows of type LZEW or LZ_DCEW published under name N
// are the point N_EW.
const ewSuffix = "_EW"

// queryPoint is the settlementPoint filter for a point: the published name,
// without the _EW suffix of an energy-weighted load zone.
func queryPoint(point string) string {
	if base, ok := strings.CutSuffix(point, ewSuffix); ok && base != "" {
		return base
	}
	return point
}

// energyWeighted reports whether a Settlement Point Type names an
// energy-weighted load zone price (LZEW, LZ_DCEW).
func energyWeighted(typ string) bool {
	typ = strings.TrimSpace(typ)
	return len(typ) >= 2 && strings.EqualFold(typ[len(typ)-2:], "EW")
}

// wantedSPP reports whether a row published as name with type typ belongs
// to point.
func wantedSPP(point, name, typ string) bool {
	if energyWeighted(typ) {
		return name+ewSuffix == point
	}
	return name == point
}

// columns finds required and optional columns, naming the missing ones.
type columns struct {
	rep     *Report
	missing []string
}

func (c *columns) need(names ...string) int {
	i := c.rep.Column(names...)
	if i < 0 {
		c.missing = append(c.missing, names[0])
	}
	return i
}

func (c *columns) err(report string) error {
	if len(c.missing) == 0 {
		return nil
	}
	have := make([]string, len(c.rep.Fields))
	for i, f := range c.rep.Fields {
		have[i] = f.Name
	}
	return fmt.Errorf("%w: %s lacks field %s (it has %s)", ErrBadPayload, report, strings.Join(c.missing, ", "), strings.Join(have, ", "))
}

// rowError names the row and field of a bad value.
func rowError(row int, field string, err error) error {
	return fmt.Errorf("%w: row %d: %s %v", ErrBadPayload, row, field, err)
}

// sppRow is one NP6-905-CD price of the point asked for.
type sppRow struct {
	day   civilDay
	start time.Time
	price energy.Price
}

// decodeSPP reads the rows of point from an NP6-905-CD report, converting
// (delivery date, hour-ending, interval, DST flag) to the UTC start of the
// interval: (H, I) covers local [H-1:(I-1)×15, H-1:I×15), and DSTFlag true
// marks the repeated hour of the fall-back day.
func decodeSPP(rep *Report, point string, loc *time.Location) ([]sppRow, error) {
	c := columns{rep: rep}
	cDate := c.need("deliveryDate")
	cHour := c.need("deliveryHour")
	cIv := c.need("deliveryInterval")
	cName := c.need("settlementPoint", "settlementPointName")
	cPrice := c.need("settlementPointPrice")
	if err := c.err("NP6-905-CD"); err != nil {
		return nil, err
	}
	cType := rep.Column("settlementPointType")
	cDST := rep.Column("DSTFlag")
	var out []sppRow
	for i, r := range rep.Rows {
		n := i + 1
		name, err := valueString(r[cName])
		if err != nil {
			return nil, rowError(n, "settlementPoint", err)
		}
		typ := ""
		if cType >= 0 && r[cType] != nil {
			if typ, err = valueString(r[cType]); err != nil {
				return nil, rowError(n, "settlementPointType", err)
			}
		}
		if !wantedSPP(point, name, typ) {
			continue
		}
		day, err := valueDate(r[cDate])
		if err != nil {
			return nil, rowError(n, "deliveryDate", err)
		}
		hour, err := valueInt(r[cHour], 1, 24)
		if err != nil {
			return nil, rowError(n, "deliveryHour", err)
		}
		iv, err := valueInt(r[cIv], 1, 4)
		if err != nil {
			return nil, rowError(n, "deliveryInterval", err)
		}
		repeated := false
		if cDST >= 0 {
			if repeated, err = valueFlag(r[cDST]); err != nil {
				return nil, rowError(n, "DSTFlag", err)
			}
		}
		wall := time.Date(day.y, day.m, day.d, hour-1, (iv-1)*15, 0, 0, time.UTC)
		start, err := wallToUTC(loc, wall, repeated)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %s hour-ending %d interval %d: %v", ErrBadPayload, n, day, hour, iv, err)
		}
		p, err := valuePrice(r[cPrice], "settlementPointPrice")
		if err != nil {
			return nil, rowError(n, "settlementPointPrice", err)
		}
		out = append(out, sppRow{day: day, start: start, price: p})
	}
	return out, nil
}

// lmpRow is one NP6-788-CD LMP of the point asked for, at its SCED run.
type lmpRow struct {
	day   civilDay // local day of the run
	at    time.Time
	price energy.Price
}

// decodeLMP reads the rows of point from an NP6-788-CD report. SCED
// timestamps are America/Chicago wall time; the repeated-hour flag picks
// the second pass of the fall-back hour.
func decodeLMP(rep *Report, point string, loc *time.Location) ([]lmpRow, error) {
	c := columns{rep: rep}
	cAt := c.need("SCEDTimestamp")
	cName := c.need("settlementPoint", "settlementPointName")
	cLMP := c.need("LMP")
	if err := c.err("NP6-788-CD"); err != nil {
		return nil, err
	}
	cRep := rep.Column("repeatHourFlag", "repeatedHourFlag")
	var out []lmpRow
	for i, r := range rep.Rows {
		n := i + 1
		name, err := valueString(r[cName])
		if err != nil {
			return nil, rowError(n, "settlementPoint", err)
		}
		if name != point {
			continue
		}
		repeated := false
		if cRep >= 0 {
			if repeated, err = valueFlag(r[cRep]); err != nil {
				return nil, rowError(n, "repeatHourFlag", err)
			}
		}
		at, day, err := instant(r[cAt], repeated, loc)
		if err != nil {
			return nil, rowError(n, "SCEDTimestamp", err)
		}
		p, err := valuePrice(r[cLMP], "LMP")
		if err != nil {
			return nil, rowError(n, "LMP", err)
		}
		out = append(out, lmpRow{day: day, at: at, price: p})
	}
	return out, nil
}

// instant converts a timestamp value (wall time in loc with its repeated
// flag, or a timestamp with an offset) to an instant and its local day.
func instant(v any, repeated bool, loc *time.Location) (time.Time, civilDay, error) {
	w, offset, err := valueWall(v)
	if err != nil {
		return time.Time{}, civilDay{}, err
	}
	if offset {
		return w.UTC(), dayOf(w, loc), nil
	}
	at, err := wallToUTC(loc, w, repeated)
	if err != nil {
		return time.Time{}, civilDay{}, err
	}
	return at, civilDay{w.Year(), w.Month(), w.Day()}, nil
}

// rtdRow is one NP6-970-CD indicative LMP of the point asked for.
type rtdRow struct {
	run   time.Time // the RTD run's timestamp
	start time.Time // the interval's start
	price energy.Price
}

// decodeRTD reads the rows of point from an NP6-970-CD report. An interval
// ending at E covers [E-5m, E): its start is the wall reading E-5m, read
// with intervalRepeatHourFlag, so the interval ending 02:00 of the repeated
// hour (flag true) starts at 01:55 standard time.
func decodeRTD(rep *Report, point string, loc *time.Location) ([]rtdRow, error) {
	c := columns{rep: rep}
	cRun := c.need("RTDTimestamp")
	cEnd := c.need("intervalEnding")
	cName := c.need("settlementPoint", "settlementPointName")
	cLMP := c.need("LMP")
	if err := c.err("NP6-970-CD"); err != nil {
		return nil, err
	}
	cRunRep := rep.Column("repeatHourFlag", "repeatedHourFlag")
	cEndRep := rep.Column("intervalRepeatHourFlag")
	var out []rtdRow
	for i, r := range rep.Rows {
		n := i + 1
		name, err := valueString(r[cName])
		if err != nil {
			return nil, rowError(n, "settlementPoint", err)
		}
		if name != point {
			continue
		}
		runRep, endRep := false, false
		if cRunRep >= 0 {
			if runRep, err = valueFlag(r[cRunRep]); err != nil {
				return nil, rowError(n, "repeatHourFlag", err)
			}
		}
		if cEndRep >= 0 {
			if endRep, err = valueFlag(r[cEndRep]); err != nil {
				return nil, rowError(n, "intervalRepeatHourFlag", err)
			}
		}
		run, _, err := instant(r[cRun], runRep, loc)
		if err != nil {
			return nil, rowError(n, "RTDTimestamp", err)
		}
		end, offset, err := valueWall(r[cEnd])
		if err != nil {
			return nil, rowError(n, "intervalEnding", err)
		}
		var start time.Time
		if offset {
			start = end.Add(-rtdStep).UTC()
		} else if start, err = wallToUTC(loc, end.Add(-rtdStep), endRep); err != nil {
			return nil, rowError(n, "intervalEnding", err)
		}
		p, err := valuePrice(r[cLMP], "LMP")
		if err != nil {
			return nil, rowError(n, "LMP", err)
		}
		out = append(out, rtdRow{run: run, start: start, price: p})
	}
	return out, nil
}
