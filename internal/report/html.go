package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/ledger"
)

// cell is one table cell: its text and CSS class ("neg", "best" or "").
type cell struct {
	Text  string
	Class string
}

// tableRow is one metric across the policies.
type tableRow struct {
	Label, Unit string
	Cells       []cell
	Strong      bool
}

// summary is the per-policy table: policies are columns, metrics rows.
type summary struct {
	Policies []string
	Rows     []tableRow
	Notes    []string // solver details and the like, under the table
}

// money formats micro-dollars as dollars and cents with separators.
func money(m ledger.Micros) cell {
	c := cell{Text: m.String()}
	if m < 0 {
		c.Class = "neg"
	}
	return c
}

// summarize builds the summary table of results.
func summarize(results []backtest.Result) summary {
	s := summary{}
	for _, r := range results {
		s.Policies = append(s.Policies, r.Policy)
	}
	row := func(label, unit string, f func(t backtest.Totals) cell) tableRow {
		tr := tableRow{Label: label, Unit: unit}
		for _, r := range results {
			tr.Cells = append(tr.Cells, f(r.Totals))
		}
		return tr
	}
	any := func(f func(t backtest.Totals) ledger.Micros) bool {
		for _, r := range results {
			if f(r.Totals) != 0 {
				return true
			}
		}
		return false
	}
	add := func(tr tableRow) { s.Rows = append(s.Rows, tr) }
	add(row("energy drawn", "MWh", func(t backtest.Totals) cell { return cell{Text: thousands(t.Energy.MWh(), 1)} }))
	add(row("BTC mined", "BTC", func(t backtest.Totals) cell { return cell{Text: thousands(t.BTC.BTC(), 4)} }))
	add(row("mining revenue", "USD", func(t backtest.Totals) cell { return money(t.Revenue) }))
	if any(func(t backtest.Totals) ledger.Micros { return t.AIValue }) {
		add(row("AI value", "USD", func(t backtest.Totals) cell { return money(t.AIValue) }))
	}
	add(row("power cost", "USD", func(t backtest.Totals) cell { return money(t.PowerCost) }))
	add(row("resale credit", "USD", func(t backtest.Totals) cell { return money(t.Resale) }))
	if any(func(t backtest.Totals) ledger.Micros { return t.Export }) {
		add(row("export credit", "USD", func(t backtest.Totals) cell { return money(t.Export) }))
	}
	add(row("DR/AS credits", "USD", func(t backtest.Totals) cell { return money(t.DRCredit) }))
	add(row("penalties", "USD", func(t backtest.Totals) cell { return money(t.Penalty) }))
	add(row("4CP tag", "kW", func(t backtest.Totals) cell { return cell{Text: thousands(t.FourCPTagKW, 1)} }))
	add(row("4CP charge", "USD", func(t backtest.Totals) cell { return money(t.FourCPCharge) }))
	if any(func(t backtest.Totals) ledger.Micros { return t.DemandCharge }) {
		add(row("demand charge", "USD", func(t backtest.Totals) cell { return money(t.DemandCharge) }))
	}
	add(row("uptime", "% of fleet hash-time", func(t backtest.Totals) cell { return cell{Text: thousands(t.Uptime*100, 1) + "%"} }))
	add(row("effective power price", "USD/MWh", func(t backtest.Totals) cell {
		return cell{Text: "$" + thousands(float64(t.EffectivePrice), 2)}
	}))
	net := row("net", "USD", func(t backtest.Totals) cell { return money(t.Net) })
	net.Strong = true
	best := -1
	for i, r := range results {
		if r.Policy == oracleName || len(results) < 2 {
			continue
		}
		if best < 0 || r.Totals.Net > results[best].Totals.Net {
			best = i
		}
	}
	if best >= 0 {
		net.Cells[best].Class = strings.TrimSpace(net.Cells[best].Class + " best")
	}
	add(net)
	if on, ok := oracleNet(results); ok {
		add(row("net, % of oracle", "%", func(t backtest.Totals) cell {
			c := cell{Text: thousands(t.Net.USD()/on*100, 1) + "%"}
			if t.Net < 0 {
				c.Class = "neg"
			}
			return c
		}))
	}
	for _, r := range results {
		if r.Method == "" {
			continue
		}
		// The bound is in the optimiser's model terms (without the costs no
		// schedule can change), so it is given as the gap, not in dollars.
		n := fmt.Sprintf("%s: solved by %s, relative optimality gap %s%% (its proven bound: no schedule of this model earns more than that share above it)",
			r.Policy, r.Method, thousands(r.Gap*100, 3))
		s.Notes = append(s.Notes, n)
	}
	return s
}

// figure is a chart as the page shows it.
type figure struct {
	Name, Alt, Caption, Note string
	W, H                     int
}

type page struct {
	Title     string
	Notes     []string
	Summary   summary
	Figures   []figure
	HasOracle bool
}

// pageTop opens every page: head, title and notes.
const pageTop = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>` + css + `</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Notes}}<ul class="notes">{{range .}}
<li>{{.}}</li>{{end}}
</ul>{{end}}
`

var reportTmpl = template.Must(template.New("report").Parse(pageTop + `<h2>Summary</h2>
<table class="summary">
<thead><tr><th scope="col">per policy</th><th scope="col">unit</th>{{range .Summary.Policies}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Summary.Rows}}
<tr{{if .Strong}} class="strong"{{end}}><th scope="row">{{.Label}}</th><td class="unit">{{.Unit}}</td>{{range .Cells}}<td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>{{end}}
</tbody>
</table>
{{with .Summary.Notes}}<ul class="fine">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="fine">Net = mining revenue + AI value − power cost + resale and export credits + DR/AS credits − penalties − 4CP charge − demand charges. Effective power price = (power cost − resale and export credits − DR/AS credits + penalties + 4CP and demand charges) ÷ energy drawn.{{if .HasOracle}} The oracle sees the whole period ahead: it is an upper bound, not a policy.{{end}}</p>
<h2>Charts</h2>
{{range .Figures}}<figure id="{{.Name}}">
<a href="charts/{{.Name}}.png"><img src="charts/{{.Name}}.svg" width="{{.W}}" height="{{.H}}" alt="{{.Alt}}"></a>
<figcaption>{{.Caption}}{{with .Note}}<br><span class="note">{{.}}</span>{{end}} <a href="charts/{{.Name}}.png">PNG</a> · <a href="charts/{{.Name}}.svg">SVG</a></figcaption>
</figure>
{{end}}</body>
</html>
`))

const css = `
body{font-family:"Liberation Sans",Arial,Helvetica,sans-serif;margin:2rem auto;max-width:1240px;padding:0 1rem;color:#1a1a1a;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
ul.notes{color:#333;padding-left:1.2rem}.fine{font-size:.85rem;color:#555}
table.summary{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.92rem}
table.summary th,table.summary td{padding:.3rem .7rem;border-bottom:1px solid #e4e4e4}
table.summary td{text-align:right;white-space:nowrap}table.summary th[scope=row]{text-align:left;font-weight:normal}
table.summary thead th{text-align:right;border-bottom:2px solid #999}table.summary thead th:first-child{text-align:left}
td.unit{color:#777;text-align:left!important;font-size:.85rem}
tr.strong th,tr.strong td{font-weight:bold}td.neg{color:#b2182b}td.best{background:#e8f1f8}
figure{margin:1.5rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9rem;color:#333;margin-top:.3rem}.note{color:#555}
`

// renderHTML renders the report page for charts.
func renderHTML(in Input, charts []chart) ([]byte, error) {
	p := page{Title: in.Title, Notes: in.Notes, Summary: summarize(in.Results)}
	if p.Title == "" {
		p.Title = "gridminer backtest"
	}
	for _, r := range in.Results {
		if r.Policy == oracleName {
			p.HasOracle = true
		}
	}
	for _, c := range charts {
		p.Figures = append(p.Figures, figure{Name: c.Name, Alt: c.Alt, Caption: c.Caption, Note: c.Note, W: c.W, H: c.H})
	}
	var b bytes.Buffer
	if err := reportTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("report: render html: %w", err)
	}
	return b.Bytes(), nil
}
