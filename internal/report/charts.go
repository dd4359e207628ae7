package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
)

// buckets is how many columns long series are reduced to: about the
// width of a chart's data area in pixels.
const buckets = 1080

// Chart names, in the order the report shows them.
const (
	chartPriceLoad     = "price-load"
	chartCumulativeNet = "cumulative-net"
	chartPriceDuration = "price-duration"
	chartMonthlyNet    = "monthly-net"
	chartPriceEvent    = "price-event"
)

// chartNames lists the charts Write draws.
var chartNames = []string{chartPriceLoad, chartCumulativeNet, chartPriceDuration, chartMonthlyNet, chartPriceEvent}

// chartHeight is the height in pixels of the chart name drawn for n
// policies: the price-load chart grows a panel per policy.
func chartHeight(name string, n int) int {
	switch name {
	case chartPriceLoad:
		return max(500, 340+110*n)
	case chartPriceEvent:
		return 560
	}
	return 500
}

// data is what the charts are drawn from, extracted once from the
// results. It is read-only once built.
type data struct {
	title     string
	loc       *time.Location
	breakeven energy.Price
	beNote    string
	names     []string
	colors    []color.RGBA
	lo, hi    float64 // the period, Unix seconds
	// prices (from the first result: every policy settles on the same history)
	rows  []backtest.Row
	px    []float64 // interval starts
	price []float64
	// per policy
	xs     [][]float64
	loadMW [][]float64
	cumNet [][]float64 // USD, cumulative interval net
	maxMW  float64
	minP   float64
	maxP   float64
}

func newData(in Input, loc *time.Location) *data {
	d := &data{title: in.Title, loc: loc, breakeven: in.Breakeven, beNote: in.BreakevenNote}
	for _, r := range in.Results {
		d.names = append(d.names, r.Policy)
	}
	d.colors = policyColors(d.names)
	d.lo, d.hi = math.Inf(1), math.Inf(-1)
	d.rows = in.Results[0].Rows
	d.px = make([]float64, len(d.rows))
	d.price = make([]float64, len(d.rows))
	d.minP, d.maxP = math.Inf(1), math.Inf(-1)
	for i, r := range d.rows {
		d.px[i] = unix(r.Interval.Start)
		d.price[i] = float64(r.Spot)
		d.minP = math.Min(d.minP, d.price[i])
		d.maxP = math.Max(d.maxP, d.price[i])
	}
	for _, res := range in.Results {
		xs := make([]float64, len(res.Rows))
		mw := make([]float64, len(res.Rows))
		cum := make([]float64, len(res.Rows))
		var sum ledger.Micros
		for i, r := range res.Rows {
			xs[i] = unix(r.Interval.Start)
			mw[i] = (r.Mining + r.AI).MW()
			sum += r.Net
			cum[i] = sum.USD()
			d.maxMW = math.Max(d.maxMW, mw[i])
		}
		d.lo = math.Min(d.lo, xs[0])
		d.hi = math.Max(d.hi, unix(res.Rows[len(res.Rows)-1].Interval.End))
		d.xs = append(d.xs, xs)
		d.loadMW = append(d.loadMW, mw)
		d.cumNet = append(d.cumNet, cum)
	}
	return d
}

func unix(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

// timeAxis sets p's x axis to the period with local-time ticks, labelled
// or not.
func timeAxis(p *plot.Plot, lo, hi float64, loc *time.Location, labels bool) {
	p.X.Min, p.X.Max = lo, hi
	var t plot.Ticker = timeTicks{loc: loc}
	if !labels {
		t = unlabelled{t}
		p.X.Padding = 0
	}
	p.X.Tick.Marker = t
}

// priceAxis makes p's y axis a symlog price axis for prices in [lo, hi];
// the data drawn on it must be transformed with sym.f.
func priceAxis(p *plot.Plot, lo, hi float64) {
	p.Y.Min, p.Y.Max = sym.axisRange(lo, hi)
	p.Y.Tick.Marker = &symTicks{s: sym}
	p.Y.Label.Text = "$/MWh (symmetric log)"
}

// sym is the price scale.
var sym = symlog{c: symlogC}

// symBuckets transforms buckets of prices to the symlog scale.
func symBuckets(bs []bucket) []bucket {
	out := make([]bucket, len(bs))
	for i, b := range bs {
		b.Min, b.Max, b.Mean = sym.f(b.Min), sym.f(b.Max), sym.f(b.Mean)
		out[i] = b
	}
	return out
}

// mwAxis makes p's y axis a load axis from 0 to top MW.
func mwAxis(p *plot.Plot, top float64, label string) {
	p.Y.Min, p.Y.Max = 0, math.Max(top*1.08, 1)
	p.Y.Tick.Marker = plainTicks(3)
	p.Y.Label.Text = label
}

// oracleDash is the dash pattern of the oracle's lines.
func oracleDash() []vg.Length { return []vg.Length{px(7), px(4)} }

// lineStyle is policy i's line: the oracle dashed (it is a bound, and
// it often lies on top of the best policy).
func (d *data) lineStyle(i int, w vg.Length) draw.LineStyle {
	ls := draw.LineStyle{Color: d.colors[i], Width: w}
	if d.names[i] == oracleName {
		ls.Dashes = oracleDash()
	}
	return ls
}

func gridFor(p *plot.Plot, xt plot.Ticker) gridPlot {
	return gridPlot{
		xs:    labelsOnly(xt, p.X.Min, p.X.Max),
		ys:    labelsOnly(p.Y.Tick.Marker, p.Y.Min, p.Y.Max),
		style: draw.LineStyle{Color: gridInk, Width: px(1)},
	}
}

func (d *data) legend(width vg.Length) []legendItem {
	items := make([]legendItem, len(d.names))
	for i, n := range d.names {
		items[i] = legendItem{Label: n, Color: d.colors[i]}
		if width > 0 {
			ls := d.lineStyle(i, width)
			items[i].Width, items[i].Dash = ls.Width, ls.Dashes
		}
	}
	return items
}

// priceLoad: price on top, a load panel per policy below, downsampled to
// envelopes.
func (d *data) priceLoad() chart {
	priceBs := symBuckets(envelope(d.px, d.price, d.lo, d.hi, buckets))
	loadBs := make([][]bucket, len(d.names))
	for i := range d.names {
		loadBs[i] = envelope(d.xs[i], d.loadMW[i], d.lo, d.hi, buckets)
	}
	per := (d.hi - d.lo) / buckets / 60
	return chart{
		Name: chartPriceLoad, Alt: "Chart of real-time price and site load by policy over the period",
		Caption: fmt.Sprintf("Real-time price (top, symmetric-log scale: linear within ±$%d/MWh, logarithmic beyond) and each policy's site load, mining + AI, in MW, in %s time. "+
			"Each pixel column covers %s: the shaded band spans the minimum to the maximum of the intervals in it (so no spike is dropped) and the line is their mean.", symlogC, d.loc, span(per)),
		W: chartWidth, H: chartHeight(chartPriceLoad, len(d.names)),
		draw: func(dc draw.Canvas) {
			items := d.legend(px(3))
			for i := range items {
				items[i].Dash = nil // the load panels draw every policy solid
			}
			dc = header(dc, titled("Real-time price and site load", d.title), items)
			xt := timeTicks{loc: d.loc}
			pp := newPlot()
			pp.Title.Text = "real-time price · band: min–max per pixel column · line: mean"
			timeAxis(pp, d.lo, d.hi, d.loc, false)
			priceAxis(pp, d.minP, d.maxP)
			pp.Add(gridFor(pp, xt), bandPlot{bs: priceBs, fill: tint(priceInk, 0.35), mean: draw.LineStyle{Color: priceInk, Width: px(1)}})
			plots, weights := []*plot.Plot{pp}, []float64{2}
			for i, name := range d.names {
				p := newPlot()
				timeAxis(p, d.lo, d.hi, d.loc, i == len(d.names)-1)
				mwAxis(p, d.maxMW, "MW")
				p.Title.Text = name + " · site load"
				p.Title.TextStyle.Color = d.colors[i]
				p.Add(gridFor(p, xt), bandPlot{bs: loadBs[i], fill: tint(d.colors[i], 0.3), mean: draw.LineStyle{Color: d.colors[i], Width: px(1.25)}})
				plots = append(plots, p)
				weights = append(weights, 1)
			}
			plots[len(plots)-1].X.Label.Text = "local time (" + d.loc.String() + ")"
			stack(dc, plots, weights, px(12))
		},
	}
}

// span describes a duration in minutes for a caption.
func span(minutes float64) string {
	switch {
	case minutes >= 120:
		return fmt.Sprintf("about %.1f hours", minutes/60)
	case minutes >= 1:
		return fmt.Sprintf("about %.0f minutes", minutes)
	}
	return "less than a minute"
}

// cumulativeNet: one line per policy, M4-reduced.
func (d *data) cumulativeNet() chart {
	xs := make([][]float64, len(d.names))
	ys := make([][]float64, len(d.names))
	lo, hi := 0.0, 0.0
	for i := range d.names {
		xs[i], ys[i] = m4(d.xs[i], d.cumNet[i], buckets)
		for _, v := range ys[i] {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	pad := math.Max((hi-lo)*0.05, 1)
	return chart{
		Name: chartCumulativeNet, Alt: "Chart of cumulative net by policy over the period",
		Caption: "Cumulative net by policy: mining revenue and AI value minus power cost net of resale, DR/AS credits and penalties, summed interval by interval. " +
			"Charges billed over the whole period (4CP transmission, demand charges) are not in these lines; the table's net includes them.",
		W: chartWidth, H: chartHeight(chartCumulativeNet, len(d.names)),
		draw: func(dc draw.Canvas) {
			items := d.legend(px(3))
			for i := range items {
				if n := len(d.cumNet[i]); n > 0 {
					items[i].Label += "  " + dollars(d.cumNet[i][n-1])
				}
			}
			dc = header(dc, titled("Cumulative net (interval nets)", d.title), items)
			p := newPlot()
			timeAxis(p, d.lo, d.hi, d.loc, true)
			p.X.Label.Text = "local time (" + d.loc.String() + ")"
			p.Y.Min, p.Y.Max = lo-pad, hi+pad
			p.Y.Tick.Marker = dollarTicks()
			p.Y.Label.Text = "cumulative net, USD"
			p.Add(gridFor(p, timeTicks{loc: d.loc}), hline{y: 0, style: draw.LineStyle{Color: priceInk, Width: px(1)}})
			for _, i := range d.drawOrder() {
				p.Add(linePlot{xs: xs[i], ys: ys[i], style: d.lineStyle(i, px(2))})
			}
			stack(dc, []*plot.Plot{p}, []float64{1}, 0)
		},
	}
}

// priceDuration: the prices sorted descending against the share of time.
func (d *data) priceDuration() chart {
	sorted := slices.Clone(d.price)
	slices.SortFunc(sorted, func(a, b float64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	n := float64(len(sorted))
	xs := make([]float64, len(sorted))
	above := 0
	for i, v := range sorted {
		xs[i] = (float64(i) + 0.5) / n * 100
		if d.breakeven > 0 && v > float64(d.breakeven) {
			above++
		}
	}
	rx, ry := m4(xs, sorted, buckets)
	ry = sym.fs(ry)
	label := ""
	if d.breakeven > 0 {
		label = fmt.Sprintf("breakeven $%s/MWh · prices above it %s%% of the time", thousands(float64(d.breakeven), 2), thousands(float64(above)/n*100, 1))
	}
	caption := "Price duration curve: every interval's real-time price, sorted from highest to lowest, against the share of the period (symmetric-log price scale)."
	if d.breakeven > 0 {
		caption += " The dashed line is the fleet's breakeven power price: to the left of where the curve crosses it, mining lost money at spot."
	}
	return chart{
		Name: chartPriceDuration, Alt: "Price duration curve with the breakeven price", Caption: caption, Note: d.beNote,
		W: chartWidth, H: chartHeight(chartPriceDuration, len(d.names)),
		draw: func(dc draw.Canvas) {
			items := []legendItem{{Label: "real-time price", Color: palette[0], Width: px(2)}}
			if d.breakeven > 0 {
				items = append(items, legendItem{Label: "breakeven", Color: palette[1], Width: px(2), Dash: []vg.Length{px(6), px(4)}})
			}
			dc = header(dc, titled("Price duration curve", d.title), items)
			p := newPlot()
			p.X.Min, p.X.Max = 0, 100
			p.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
				var ts []plot.Tick
				for v := 0; v <= 100; v += 5 {
					t := plot.Tick{Value: float64(v)}
					if v%10 == 0 {
						t.Label = fmt.Sprintf("%d%%", v)
					}
					ts = append(ts, t)
				}
				return ts
			})
			p.X.Label.Text = "share of time at or above the price, %"
			lo, hi := d.minP, d.maxP
			if d.breakeven > 0 {
				hi = math.Max(hi, float64(d.breakeven))
			}
			priceAxis(p, lo, hi)
			p.Add(gridFor(p, p.X.Tick.Marker))
			p.Add(linePlot{xs: rx, ys: ry, style: draw.LineStyle{Color: palette[0], Width: px(2)}})
			if d.breakeven > 0 {
				p.Add(hline{y: sym.f(float64(d.breakeven)), style: draw.LineStyle{Color: palette[1], Width: px(2), Dashes: []vg.Length{px(6), px(4)}}, label: label, text: style(10, true)})
			}
			stack(dc, []*plot.Plot{p}, []float64{1}, 0)
		},
	}
}

// monthly returns the local calendar months the results cover and each
// policy's interval net in each, USD.
func (d *data) monthly(results []backtest.Result) ([]time.Time, [][]float64) {
	var months []time.Time
	index := map[time.Time]int{}
	sums := make([]map[time.Time]ledger.Micros, len(results))
	for i, res := range results {
		sums[i] = map[time.Time]ledger.Micros{}
		for _, r := range res.Rows {
			l := r.Interval.Start.In(d.loc)
			m := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, d.loc)
			if _, ok := index[m]; !ok {
				index[m] = len(months)
				months = append(months, m)
			}
			sums[i][m] += r.Net
		}
	}
	slices.SortFunc(months, func(a, b time.Time) int { return a.Compare(b) })
	vals := make([][]float64, len(results))
	for i := range results {
		vals[i] = make([]float64, len(months))
		for j, m := range months {
			vals[i][j] = sums[i][m].USD()
		}
	}
	return months, vals
}

func (d *data) monthlyNet(results []backtest.Result) chart {
	months, vals := d.monthly(results)
	lo, hi := 0.0, 0.0
	for _, vs := range vals {
		for _, v := range vs {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	pad := math.Max((hi-lo)*0.05, 1)
	labels := make([]string, len(months))
	for i, m := range months {
		labels[i] = m.Format("Jan")
		if i == 0 || m.Month() == time.January {
			labels[i] = m.Format("Jan 2006")
		}
	}
	return chart{
		Name: chartMonthlyNet, Alt: "Bar chart of net by month and policy",
		Caption: fmt.Sprintf("Net by calendar month (%s time) and policy: the interval nets summed per month; "+
			"charges billed over the whole period (4CP, demand) are not allocated to months.", d.loc),
		W: chartWidth, H: chartHeight(chartMonthlyNet, len(d.names)),
		draw: func(dc draw.Canvas) {
			dc = header(dc, titled("Monthly net (interval nets)", d.title), d.legend(0))
			p := newPlot()
			// At least six groups' room, so a short period's bars stay bars.
			extra := math.Max(0, 6-float64(len(months))) / 2
			p.X.Min, p.X.Max = -0.5-extra, float64(len(months))-0.5+extra
			ticks := make([]plot.Tick, len(months))
			for i := range months {
				ticks[i] = plot.Tick{Value: float64(i), Label: labels[i]}
			}
			p.X.Tick.Marker = plot.ConstantTicks(ticks)
			p.X.Tick.Length = 0
			p.X.Label.Text = "month (" + d.loc.String() + ")"
			p.Y.Min, p.Y.Max = lo-pad, hi+pad
			p.Y.Tick.Marker = dollarTicks()
			p.Y.Label.Text = "net, USD"
			g := gridFor(p, p.X.Tick.Marker)
			g.xs = nil
			p.Add(g, barsPlot{values: vals, colors: d.colors, width: 0.8}, hline{y: 0, style: draw.LineStyle{Color: priceInk, Width: px(1)}})
			stack(dc, []*plot.Plot{p}, []float64{1}, 0)
		},
	}
}

// priceEvent zooms on the largest price event at full resolution.
func (d *data) priceEvent(results []backtest.Result) chart {
	ev := largestEvent(d.rows, d.breakeven, d.loc)
	from, to := unix(ev.From), unix(ev.To)
	window := func(xs, ys []float64) ([]float64, []float64) {
		i, _ := slices.BinarySearch(xs, from)
		j, _ := slices.BinarySearch(xs, to)
		return xs[i:j], ys[i:j]
	}
	ex, ep := window(d.px, d.price)
	epT := sym.fs(ep)
	lx := make([][]float64, len(results))
	ly := make([][]float64, len(results))
	for i := range results {
		lx[i], ly[i] = window(d.xs[i], d.loadMW[i])
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range ep {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	refWhat := "the breakeven"
	if d.breakeven <= 0 {
		refWhat = "the period's median price"
	}
	day := ev.Day.Format("Mon Jan 2 2006")
	title := fmt.Sprintf("Largest price event: %s · peak $%s/MWh at %s", day, thousands(float64(ev.Peak), 0), ev.PeakAt.In(d.loc).Format("15:04 MST"))
	caption := fmt.Sprintf("The largest price event at full 15-minute resolution, two days either side: the local day (shaded) with the most price above %s ($%s/MWh), summed over its intervals and weighted by their length ($%s per MW of load running through it). "+
		"Top: real-time price (symmetric-log scale); bottom: each policy's site load.", refWhat, thousands(float64(ev.Ref), 2), thousands(ev.Excess, 0))
	if ev.Excess == 0 {
		caption = "No interval priced above " + refWhat + fmt.Sprintf(" ($%s/MWh); shown instead is the day of the highest single price, at full resolution, two days either side (shaded: that day). Top: price; bottom: each policy's site load.", thousands(float64(ev.Ref), 2))
	}
	n := len(results)
	return chart{
		Name: chartPriceEvent, Alt: "Chart of price and site load by policy around the largest price event", Caption: caption,
		W: chartWidth, H: chartHeight(chartPriceEvent, n),
		draw: func(dc draw.Canvas) {
			widths := make([]vg.Length, n)
			for i := range n {
				widths[i] = px(2)
				if n > 1 {
					// Wider lines underneath: overlapping loads stay visible.
					widths[i] = px(1.5 + 4*float64(n-1-i)/float64(n-1))
				}
			}
			items := d.legend(px(2))
			for i := range items {
				items[i].Width = widths[i]
			}
			dc = header(dc, title, items)
			xt := timeTicks{loc: d.loc}
			pp := newPlot()
			pp.Title.Text = "real-time price, every interval"
			timeAxis(pp, from, to, d.loc, false)
			priceAxis(pp, lo, hi)
			shade := vspan{x0: unix(ev.Day), x1: unix(ev.Day.AddDate(0, 0, 1)), fill: shadeInk}
			pp.Add(shade, gridFor(pp, xt), linePlot{xs: ex, ys: epT, step: true, end: to, style: draw.LineStyle{Color: priceInk, Width: px(1.5)}})
			if d.breakeven > 0 {
				pp.Add(hline{y: sym.f(float64(d.breakeven)), style: draw.LineStyle{Color: priceInk, Width: px(1), Dashes: []vg.Length{px(5), px(4)}}, label: "breakeven $" + thousands(float64(d.breakeven), 2) + "/MWh", text: style(9, false)})
			}
			lp := newPlot()
			lp.Title.Text = "site load by policy"
			timeAxis(lp, from, to, d.loc, true)
			lp.X.Label.Text = "local time (" + d.loc.String() + ")"
			mwAxis(lp, d.maxMW, "MW")
			lp.Add(shade, gridFor(lp, xt))
			for i := range results {
				lp.Add(linePlot{xs: lx[i], ys: ly[i], step: true, end: to, style: d.lineStyle(i, widths[i])})
			}
			stack(dc, []*plot.Plot{pp, lp}, []float64{1.2, 1}, px(12))
		},
	}
}

// drawOrder is the order to draw the policies' lines in: the oracle last,
// dashed on top, so the policy under it shows between the dashes.
func (d *data) drawOrder() []int {
	var order []int
	last := -1
	for i, n := range d.names {
		if n == oracleName {
			last = i
			continue
		}
		order = append(order, i)
	}
	if last >= 0 {
		order = append(order, last)
	}
	return order
}

// titled joins a chart's name and the report's title.
func titled(name, title string) string {
	if title == "" {
		return name
	}
	return name + " · " + title
}
