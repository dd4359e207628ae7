package sysload

import (
	"fmt"
	"strings"
	"time"
)

// Score is how a model and a threshold would have done over a load history:
// the hours they would have curtailed and the monthly peaks those hours
// caught.
type Score struct {
	Threshold    float64
	Hours        int // hours scored (clock hours of the history in the months)
	HoursFlagged int // hours with risk >= Threshold
	Peaks        int // monthly peaks in the history
	PeaksCaught  int // peaks whose hour was flagged
	PerMonth     []MonthScore
}

// MonthScore is one month of a Score.
type MonthScore struct {
	Year         int
	Month        time.Month
	Peak         Peak
	PeakRisk     float64 // risk of the peak's clock hour
	Caught       bool
	Hours        int
	HoursFlagged int
}

// Score evaluates m on test for the local months in months (empty means
// every month): each clock hour's risk is computed as Risks does (from
// actual load before it, no forecast), hours with risk >= threshold count
// as flagged, and a month's peak is caught when its clock hour is flagged.
func (m Model) Score(test Series, months []time.Month, threshold float64) Score {
	risks := m.Risks(test, months)
	sc := Score{Threshold: threshold}
	idx := map[monthKey]int{}
	for _, p := range MonthlyPeaks(test, months) {
		y, mo := p.Month()
		ms := MonthScore{Year: y, Month: mo, Peak: p}
		if r, ok := riskAt(risks, p.Interval.Start); ok {
			ms.PeakRisk = r
			ms.Caught = r >= threshold
		}
		idx[monthKey{y, mo}] = len(sc.PerMonth)
		sc.PerMonth = append(sc.PerMonth, ms)
		sc.Peaks++
		if ms.Caught {
			sc.PeaksCaught++
		}
	}
	for _, r := range risks {
		flagged := r.Risk >= threshold
		sc.Hours++
		if flagged {
			sc.HoursFlagged++
		}
		if i, ok := idx[monthOf(r.Hour)]; ok {
			sc.PerMonth[i].Hours++
			if flagged {
				sc.PerMonth[i].HoursFlagged++
			}
		}
	}
	return sc
}

// String renders the score as a small table, one line per month.
func (s Score) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "threshold %.4g: %d of %d hours flagged, %d of %d peaks caught\n", s.Threshold, s.HoursFlagged, s.Hours, s.PeaksCaught, s.Peaks)
	for _, ms := range s.PerMonth {
		peak := ms.Peak.Interval.Start.In(market)
		caught := "missed"
		if ms.Caught {
			caught = "caught"
		}
		fmt.Fprintf(&b, "  %04d-%02d  peak %s HE%02d %6.0f MW  risk %.4f %s  flagged %3d of %3d h\n",
			ms.Year, ms.Month, peak.Format("Mon 02"), peak.Hour()+1, ms.Peak.MW, ms.PeakRisk, caught, ms.HoursFlagged, ms.Hours)
	}
	return b.String()
}
