package report

import (
	"bufio"
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// dpi is the PNG resolution: chart sizes are given in pixels at 96 dpi.
const dpi = 96

// chartWidth is the width of every chart, pixels.
const chartWidth = 1200

// px converts pixels at dpi to vg lengths (points).
func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// chart is one figure: its file name (without extension), caption, size
// and a function drawing it onto a canvas. draw builds its plots afresh
// on each call, so the PNG and SVG renderings can run concurrently; it
// only reads the data it closes over.
type chart struct {
	Name    string
	Alt     string // a short description, for the page's alt text
	Caption string
	Note    string // an extra line under the caption (may be empty)
	W, H    int    // pixels
	draw    func(dc draw.Canvas)
}

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: stdfont.WeightBold}
)

// style returns a text style in the sans font.
func style(size vg.Length, bold bool) text.Style {
	f := sans
	if bold {
		f = sansBold
	}
	return text.Style{Color: color.Black, Font: font.From(f, size), Handler: plot.DefaultTextHandler}
}

// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
// Yellow is left out (it vanishes on white); black is the oracle's.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
}

var (
	black     = color.RGBA{0, 0, 0, 0xFF}
	priceInk  = color.RGBA{0x33, 0x33, 0x33, 0xFF}
	gridInk   = color.RGBA{0xD8, 0xD8, 0xD8, 0xFF}
	shadeInk  = color.RGBA{0xF0, 0xE6, 0xC8, 0xFF}
	oracleInk = black
)

// policyColors gives each policy its colour: the oracle black, the others
// the palette in order (cycling past six).
func policyColors(names []string) []color.RGBA {
	cs := make([]color.RGBA, len(names))
	k := 0
	for i, n := range names {
		if n == oracleName {
			cs[i] = oracleInk
			continue
		}
		cs[i] = palette[k%len(palette)]
		k++
	}
	return cs
}

// tint mixes c with white: a = 0 is white, 1 is c.
func tint(c color.RGBA, a float64) color.RGBA {
	m := func(v uint8) uint8 { return uint8(255 - a*(255-float64(v)) + 0.5) }
	return color.RGBA{m(c.R), m(c.G), m(c.B), 0xFF}
}

// newPlot returns a plot with the report's fonts and no legend.
func newPlot() *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil
	p.Title.TextStyle = style(10, true)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	p.Title.Padding = px(4)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle = style(10, false)
		a.Label.TextStyle.XAlign = draw.XCenter
		a.Label.TextStyle.YAlign = draw.YBottom
		a.Tick.Label = style(9, false)
		a.Tick.Length = px(5)
		a.Padding = px(3)
		a.Label.Padding = px(2)
	}
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XCenter, draw.YTop
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	return p
}

// legendItem is one entry of a figure's legend.
type legendItem struct {
	Label string
	Color color.Color
	Width vg.Length // line width; 0: a filled swatch
	Dash  []vg.Length
}

// header draws the title and, on the line below it, the legend entries
// side by side, above the plots (so the legend never covers data). It
// returns the canvas left below the header.
func header(dc draw.Canvas, title string, items []legendItem) draw.Canvas {
	margin := px(12)
	ts := style(11, true)
	ts.YAlign = draw.YTop
	y := dc.Max.Y - px(8)
	dc.FillText(ts, vg.Point{X: dc.Min.X + margin, Y: y}, title)
	y -= ts.Height(title) + px(6)
	if len(items) > 0 {
		ls := style(10, false)
		ls.YAlign = draw.YCenter
		h := ls.Height("Mg")
		x := dc.Min.X + margin
		cy := y - h/2
		for _, it := range items {
			sw := px(22)
			w := sw + px(5) + ls.Width(it.Label) + px(18)
			if x+w > dc.Max.X-margin && x > dc.Min.X+margin {
				x = dc.Min.X + margin
				cy -= h + px(4)
			}
			if it.Width > 0 {
				dc.StrokeLine2(draw.LineStyle{Color: it.Color, Width: it.Width, Dashes: it.Dash}, x, cy, x+sw, cy)
			} else {
				r := vg.Rectangle{Min: vg.Point{X: x, Y: cy - h/3}, Max: vg.Point{X: x + sw, Y: cy + h/3}}
				dc.SetColor(it.Color)
				dc.Fill(r.Path())
			}
			dc.FillText(ls, vg.Point{X: x + sw + px(5), Y: cy}, it.Label)
			x += w
		}
		y = cy - h/2 - px(4)
	}
	dc.Max.Y = y
	return draw.Crop(dc, margin/2, -margin, px(4), 0)
}

// stack draws plots one above the other sharing the x axis: their data
// areas get heights in proportion to weights and their left and right
// edges aligned. Only the bottom plot should label its x axis.
func stack(dc draw.Canvas, plots []*plot.Plot, weights []float64, gap vg.Length) {
	n := len(plots)
	// Overheads (axes, titles) measured on a trial canvas of full size.
	over := make([]vg.Length, n)
	var sumOver, sumW vg.Length
	for i, p := range plots {
		d := p.DataCanvas(dc)
		over[i] = (dc.Max.Y - dc.Min.Y) - (d.Max.Y - d.Min.Y)
		sumOver += over[i]
		sumW += vg.Length(weights[i])
	}
	avail := (dc.Max.Y - dc.Min.Y) - sumOver - gap*vg.Length(n-1)
	cs := make([]draw.Canvas, n)
	top := dc.Max.Y
	for i := range plots {
		h := over[i] + avail*vg.Length(weights[i])/sumW
		c := dc
		c.Max.Y = top
		c.Min.Y = top - h
		cs[i] = c
		top -= h + gap
	}
	// Tell height-aware tickers how tall their axes are.
	for i, p := range plots {
		if t, ok := p.Y.Tick.Marker.(heightAware); ok {
			d := p.DataCanvas(cs[i])
			t.setHeight(float64((d.Max.Y - d.Min.Y) / vg.Inch * dpi))
		}
	}
	// Align the data areas' left and right edges: move every one in to
	// the innermost (padding depends a little on width: twice settles it).
	for range 2 {
		left, right := vg.Length(math.Inf(-1)), vg.Length(math.Inf(1))
		ds := make([]draw.Canvas, n)
		for i, p := range plots {
			ds[i] = p.DataCanvas(cs[i])
			left = max(left, ds[i].Min.X)
			right = min(right, ds[i].Max.X)
		}
		for i := range cs {
			cs[i].Min.X += left - ds[i].Min.X
			cs[i].Max.X -= ds[i].Max.X - right
		}
	}
	for i, p := range plots {
		p.Draw(cs[i])
	}
}

// render draws ch as dir/name.png and dir/name.svg.
func render(dir string, ch chart, format string) (string, error) {
	w, h := px(float64(ch.W)), px(float64(ch.H))
	path := filepath.Join(dir, ch.Name+"."+format)
	var buf bytes.Buffer
	switch format {
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
		ch.draw(draw.New(c))
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, c.Image()); err != nil {
			return "", fmt.Errorf("report: encode %s: %w", path, err)
		}
	case "svg":
		c := vgsvg.New(w, h)
		dc := draw.New(c)
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		ch.draw(dc)
		bw := bufio.NewWriter(&buf)
		if _, err := c.WriteTo(bw); err != nil {
			return "", fmt.Errorf("report: render %s: %w", path, err)
		}
		if err := bw.Flush(); err != nil {
			return "", fmt.Errorf("report: render %s: %w", path, err)
		}
		// Liberation Sans has Arial's metrics: where it is not installed,
		// the browser falls back to a font that fits the same boxes.
		b := bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"), []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
		buf = *bytes.NewBuffer(b)
	default:
		return "", fmt.Errorf("report: unknown image format %q", format)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return path, nil
}
