package report

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// SweepInput is a parameter sweep: net by policy as one parameter varies.
type SweepInput struct {
	Title    string
	Param    string    // e.g. "fixed block MW"
	Values   []float64 // the parameter values, ascending
	Policies []string
	Net      [][]float64 // Net[i][j]: policy i at Values[j], USD
	Notes    []string    // extra lines shown on the page
}

const chartSweep = "sweep"

func (in SweepInput) check(dir string) error {
	switch {
	case dir == "":
		return errors.New("report: no output directory")
	case len(in.Values) == 0:
		return errors.New("report: sweep has no parameter values")
	case len(in.Policies) == 0:
		return errors.New("report: sweep has no policies")
	case len(in.Net) != len(in.Policies):
		return fmt.Errorf("report: sweep has %d policies but %d rows of net", len(in.Policies), len(in.Net))
	}
	for j, v := range in.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("report: sweep value %d is %v", j, v)
		}
		if j > 0 && v <= in.Values[j-1] {
			return fmt.Errorf("report: sweep values must ascend: %v after %v", v, in.Values[j-1])
		}
	}
	for i, row := range in.Net {
		if len(row) != len(in.Values) {
			return fmt.Errorf("report: sweep policy %q has %d nets for %d values", in.Policies[i], len(row), len(in.Values))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("report: sweep policy %q at %s = %s: net is %v", in.Policies[i], in.Param, param(in.Values[j]), v)
			}
		}
	}
	return nil
}

// WriteSweep writes dir/charts/sweep.png, dir/charts/sweep.svg and
// dir/sweep.html (the table of values and the chart), creating the
// directories as needed, and returns the paths written.
func WriteSweep(dir string, in SweepInput) ([]string, error) {
	if err := in.check(dir); err != nil {
		return nil, err
	}
	chartsDir := filepath.Join(dir, "charts")
	if err := os.MkdirAll(chartsDir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	ch := sweepChart(in)
	paths := make([]string, 2)
	var g errgroup.Group
	for i, f := range []string{"png", "svg"} {
		g.Go(func() error {
			p, err := render(chartsDir, ch, f)
			paths[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	page, err := renderSweepHTML(in, ch)
	if err != nil {
		return nil, err
	}
	html := filepath.Join(dir, "sweep.html")
	if err := os.WriteFile(html, page, 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return append(paths, html), nil
}

func sweepChart(in SweepInput) chart {
	colors := policyColors(in.Policies)
	lo, hi := 0.0, 0.0
	for _, row := range in.Net {
		for _, v := range row {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	pad := math.Max((hi-lo)*0.05, 1)
	xlo, xhi := in.Values[0], in.Values[len(in.Values)-1]
	if xlo == xhi {
		xlo, xhi = xlo-1, xhi+1
	}
	xpad := (xhi - xlo) * 0.02
	return chart{
		Name:    chartSweep,
		Alt:     "Chart of net by policy against " + in.Param,
		Caption: fmt.Sprintf("Net by policy as %s varies; each marker is one backtest.", in.Param),
		W:       chartWidth, H: 500,
		draw: func(dc draw.Canvas) {
			items := make([]legendItem, len(in.Policies))
			for i, n := range in.Policies {
				items[i] = legendItem{Label: n, Color: colors[i], Width: px(2.5)}
				if n == oracleName {
					items[i].Dash = oracleDash()
				}
			}
			dc = header(dc, titled("Net by "+in.Param, in.Title), items)
			p := newPlot()
			p.X.Min, p.X.Max = xlo-xpad, xhi+xpad
			p.X.Label.Text = in.Param
			p.X.Tick.Marker = plainTicks(8)
			if len(in.Values) <= 15 {
				ticks := make([]plot.Tick, len(in.Values))
				for i, v := range in.Values {
					ticks[i] = plot.Tick{Value: v, Label: param(v)}
				}
				p.X.Tick.Marker = plot.ConstantTicks(ticks)
			}
			p.Y.Min, p.Y.Max = lo-pad, hi+pad
			p.Y.Tick.Marker = dollarTicks()
			p.Y.Label.Text = "net, USD"
			p.Add(gridFor(p, p.X.Tick.Marker), hline{y: 0, style: draw.LineStyle{Color: priceInk, Width: px(1)}})
			for i := range in.Policies {
				ls := draw.LineStyle{Color: colors[i], Width: px(2)}
				if in.Policies[i] == oracleName {
					ls.Dashes = oracleDash()
				}
				p.Add(linePlot{xs: in.Values, ys: in.Net[i], style: ls},
					markers{xs: in.Values, ys: in.Net[i], color: colors[i], r: px(3.5)})
			}
			stack(dc, []*plot.Plot{p}, []float64{1}, 0)
		},
	}
}

// markers draws a filled circle at each point.
type markers struct {
	xs, ys []float64
	color  color.Color
	r      vg.Length
}

func (m markers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.GlyphStyle{Color: m.color, Radius: m.r, Shape: draw.CircleGlyph{}}
	for i, x := range m.xs {
		c.DrawGlyph(sty, vg.Point{X: trX(x), Y: trY(m.ys[i])})
	}
}

type sweepRow struct {
	Value string
	Cells []cell
}

type sweepPage struct {
	Title, Param string
	Notes        []string
	Policies     []string
	Rows         []sweepRow
	Figure       figure
}

var sweepTmpl = template.Must(template.New("sweep").Parse(pageTop + `<h2>Net by {{.Param}}</h2>
<table class="summary">
<thead><tr><th scope="col">{{.Param}}</th>{{range .Policies}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}
<tr><th scope="row">{{.Value}}</th>{{range .Cells}}<td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>{{end}}
</tbody>
</table>
<p class="fine">Net in USD. Shaded: the best policy at each value (the oracle excluded).</p>
{{with .Figure}}<figure id="{{.Name}}">
<a href="charts/{{.Name}}.png"><img src="charts/{{.Name}}.svg" width="{{.W}}" height="{{.H}}" alt="{{.Alt}}"></a>
<figcaption>{{.Caption}} <a href="charts/{{.Name}}.png">PNG</a> · <a href="charts/{{.Name}}.svg">SVG</a></figcaption>
</figure>{{end}}
</body>
</html>
`))

func renderSweepHTML(in SweepInput, ch chart) ([]byte, error) {
	p := sweepPage{Title: in.Title, Param: in.Param, Notes: in.Notes, Policies: in.Policies,
		Figure: figure{Name: ch.Name, Alt: ch.Alt, Caption: ch.Caption, W: ch.W, H: ch.H}}
	if p.Title == "" {
		p.Title = "gridminer backtest sweep"
	}
	for j, v := range in.Values {
		r := sweepRow{Value: param(v)}
		best := -1
		for i := range in.Policies {
			net := in.Net[i][j]
			c := cell{Text: dollars(net)}
			if net < 0 {
				c.Class = "neg"
			}
			r.Cells = append(r.Cells, c)
			if in.Policies[i] != oracleName && len(in.Policies) > 1 && (best < 0 || net > in.Net[best][j]) {
				best = i
			}
		}
		if best >= 0 {
			r.Cells[best].Class = strings.TrimSpace(r.Cells[best].Class + " best")
		}
		p.Rows = append(p.Rows, r)
	}
	var b bytes.Buffer
	if err := sweepTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("report: render sweep html: %w", err)
	}
	return b.Bytes(), nil
}
