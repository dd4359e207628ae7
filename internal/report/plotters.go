package report

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The plotters below draw straight onto the data canvas with the plot's
// transforms; axis ranges are always set explicitly by the caller.

// bandPlot draws downsampled buckets: the min–max envelope filled, each
// bucket spanning its full width (so a one-bucket spike is a visible
// column), and the bucket means as a line.
type bandPlot struct {
	bs   []bucket
	fill color.Color
	mean draw.LineStyle // zero Width: no mean line
}

func (b bandPlot) Plot(c draw.Canvas, p *plot.Plot) {
	if len(b.bs) == 0 {
		return
	}
	trX, trY := p.Transforms(&c)
	poly := make([]vg.Point, 0, 4*len(b.bs))
	for _, k := range b.bs {
		poly = append(poly, vg.Point{X: trX(k.X0), Y: trY(k.Max)}, vg.Point{X: trX(k.X1), Y: trY(k.Max)})
	}
	for i := len(b.bs) - 1; i >= 0; i-- {
		k := b.bs[i]
		poly = append(poly, vg.Point{X: trX(k.X1), Y: trY(k.Min)}, vg.Point{X: trX(k.X0), Y: trY(k.Min)})
	}
	// A bucket whose min equals its max would be a zero-height sliver:
	// the mean line (or an outline) gives it its pixel.
	c.FillPolygon(b.fill, poly)
	if b.mean.Width > 0 {
		line := make([]vg.Point, len(b.bs))
		for i, k := range b.bs {
			line[i] = vg.Point{X: trX((k.X0 + k.X1) / 2), Y: trY(k.Mean)}
		}
		c.StrokeLines(b.mean, line)
	} else {
		edge := draw.LineStyle{Color: b.fill, Width: px(1)}
		c.StrokeLines(edge, poly[:2*len(b.bs)], poly[2*len(b.bs):])
	}
}

// linePlot draws a polyline, or steps when step is set: each value holds
// from its x to the next (and the last to end).
type linePlot struct {
	xs, ys []float64
	style  draw.LineStyle
	step   bool
	end    float64 // step only: where the last value ends
}

func (l linePlot) Plot(c draw.Canvas, p *plot.Plot) {
	if len(l.xs) == 0 {
		return
	}
	trX, trY := p.Transforms(&c)
	n := len(l.xs)
	if l.step {
		n *= 2
	}
	pts := make([]vg.Point, 0, n)
	for i, x := range l.xs {
		y := trY(l.ys[i])
		pts = append(pts, vg.Point{X: trX(x), Y: y})
		if l.step {
			next := l.end
			if i+1 < len(l.xs) {
				next = l.xs[i+1]
			}
			pts = append(pts, vg.Point{X: trX(next), Y: y})
		}
	}
	c.StrokeLines(l.style, pts)
}

// gridPlot draws light reference lines at the given x and y values.
type gridPlot struct {
	xs, ys []float64
	style  draw.LineStyle
}

func (g gridPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, x := range g.xs {
		if v := trX(x); c.ContainsX(v) {
			c.StrokeLine2(g.style, v, c.Min.Y, v, c.Max.Y)
		}
	}
	for _, y := range g.ys {
		if v := trY(y); c.ContainsY(v) {
			c.StrokeLine2(g.style, c.Min.X, v, c.Max.X, v)
		}
	}
}

// hline draws a horizontal line at y with an optional label above its
// right end.
type hline struct {
	y     float64
	style draw.LineStyle
	label string
	text  text.Style
}

func (h hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(h.y)
	if !c.ContainsY(y) {
		return
	}
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
	if h.label != "" {
		ts := h.text
		ts.XAlign, ts.YAlign = draw.XRight, draw.YBottom
		at := vg.Point{X: c.Max.X - px(6), Y: y + px(4)}
		// A white backing keeps the label readable over the data.
		r := vg.Rectangle{
			Min: vg.Point{X: at.X - ts.Width(h.label) - px(3), Y: at.Y - px(2)},
			Max: vg.Point{X: at.X + px(3), Y: at.Y + ts.Height(h.label) + px(1)},
		}
		c.SetColor(color.NRGBA{0xFF, 0xFF, 0xFF, 0xE0})
		c.Fill(r.Path())
		c.FillText(ts, at, h.label)
	}
}

// vspan shades the x range [x0, x1) across the data area.
type vspan struct {
	x0, x1 float64
	fill   color.Color
}

func (s vspan) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	a, b := max(trX(s.x0), c.Min.X), min(trX(s.x1), c.Max.X)
	if b <= a {
		return
	}
	r := vg.Rectangle{Min: vg.Point{X: a, Y: c.Min.Y}, Max: vg.Point{X: b, Y: c.Max.Y}}
	c.SetColor(s.fill)
	c.Fill(r.Path())
}

// barsPlot draws grouped bars: groups at x = 0, 1, …, one bar per series
// in each, side by side, from zero to the value.
type barsPlot struct {
	values [][]float64 // values[series][group]
	colors []color.RGBA
	width  float64 // of a whole group, in x units
}

func (b barsPlot) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := float64(len(b.values))
	bw := b.width / n
	for s, vs := range b.values {
		for g, v := range vs {
			x0 := float64(g) - b.width/2 + float64(s)*bw
			r := vg.Rectangle{Min: vg.Point{X: trX(x0), Y: trY(min(0, v))}, Max: vg.Point{X: trX(x0 + bw), Y: trY(max(0, v))}}
			// Keep a hairline for tiny values, and a white gap between bars.
			r.Max.X -= px(1)
			if r.Max.Y-r.Min.Y < px(1) {
				r.Max.Y = r.Min.Y + px(1)
			}
			c.SetColor(b.colors[s])
			c.Fill(r.Path())
		}
	}
}
