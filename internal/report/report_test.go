package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/gridminer/gridminer/internal/backtest"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/price"
)

func loc(tb testing.TB) *time.Location {
	tb.Helper()
	return price.ERCOTLocation()
}

// checkOutputs checks the files Write returned: every chart in both
// formats, PNGs decoding at their stated size, SVGs well-formed XML with
// an <svg> root, and report.html referencing every chart.
func checkOutputs(t *testing.T, dir string, paths []string, policies int) {
	t.Helper()
	var want []string
	for _, n := range chartNames {
		want = append(want, filepath.Join(dir, "charts", n+".png"), filepath.Join(dir, "charts", n+".svg"))
	}
	want = append(want, filepath.Join(dir, "report.html"))
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	for _, n := range chartNames {
		checkPNG(t, filepath.Join(dir, "charts", n+".png"), chartWidth, chartHeight(n, policies))
		checkSVG(t, filepath.Join(dir, "charts", n+".svg"))
	}
	doc := parseHTML(t, filepath.Join(dir, "report.html"))
	imgs, links := refs(doc)
	for _, n := range chartNames {
		if !slices.Contains(imgs, "charts/"+n+".svg") {
			t.Errorf("report.html has no <img src=%q>; images: %q", "charts/"+n+".svg", imgs)
		}
		if !slices.Contains(links, "charts/"+n+".png") {
			t.Errorf("report.html has no link to %q", "charts/"+n+".png")
		}
	}
	for _, ref := range append(imgs, links...) {
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") {
			t.Errorf("report.html references %q: want only relative paths", ref)
		}
	}
}

func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	if !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("%s has no <svg", path)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: not well-formed XML: %v", path, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", path, root)
	}
}

func parseHTML(t *testing.T, path string) *html.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func refs(doc *html.Node) (imgs, links []string) {
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "img":
			imgs = append(imgs, attr(n, "src"))
		case "a":
			links = append(links, attr(n, "href"))
		case "script", "link":
			imgs = append(imgs, "forbidden element <"+n.Data+">://")
		}
	})
	return imgs, links
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

// table returns the first table of doc as rows of cell texts (th and td).
func table(doc *html.Node) [][]string {
	var rows [][]string
	done := false
	walk(doc, func(n *html.Node) {
		if done || n.Type != html.ElementNode || n.Data != "table" {
			return
		}
		done = true
		walk(n, func(tr *html.Node) {
			if tr.Type != html.ElementNode || tr.Data != "tr" {
				return
			}
			var row []string
			for c := tr.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					row = append(row, textOf(c))
				}
			}
			rows = append(rows, row)
		})
	})
	return rows
}

func rowNamed(rows [][]string, name string) []string {
	for _, r := range rows {
		if len(r) > 0 && r[0] == name {
			return r
		}
	}
	return nil
}

func TestWriteDays(t *testing.T) {
	start := localStart(2021, 2, 10)
	ps := dailyPrices(96 * 6)
	for i := 96*3 + 30; i < 96*3+60; i++ {
		ps[i] = 2000
	}
	in := Input{
		Title:   "three days",
		Results: []backtest.Result{synth(t, alwaysOn, start, ps), synth(t, cut60, start, ps), synth(t, oracleRule, start, ps)},
		Notes:   []string{"a note"},
	}
	dir := t.TempDir()
	paths, err := Write(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, dir, paths, 3)
}

func TestWriteOnePolicyNoOracle(t *testing.T) {
	in := Input{Results: []backtest.Result{synth(t, cut60, localStart(2021, 7, 1), dailyPrices(96*2))}}
	dir := t.TempDir()
	paths, err := Write(filepath.Join(dir, "new", "sub"), in)
	if err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, filepath.Join(dir, "new", "sub"), paths, 1)
	rows := table(parseHTML(t, filepath.Join(dir, "new", "sub", "report.html")))
	if r := rowNamed(rows, "net, % of oracle"); r != nil {
		t.Errorf("without an oracle the table has a %% of oracle row: %q", r)
	}
}

func TestSummaryNumbers(t *testing.T) {
	res := func(name string, net, rev ledger.Micros, mwh float64, uptime float64) backtest.Result {
		iv := energy.Interval{Start: localStart(2021, 3, 1), End: localStart(2021, 3, 1).Add(15 * time.Minute)}
		return backtest.Result{
			Policy: name,
			Rows:   []backtest.Row{{Interval: iv, Spot: 20, Mining: 1e6, Net: net}},
			Totals: backtest.Totals{Net: net, Revenue: rev, Energy: energy.Energy(mwh * 1e6), Uptime: uptime,
				BTC: 123_456_789_012, FourCPTagKW: 98765.43, FourCPCharge: 4_321_000_000, EffectivePrice: 31.456},
		}
	}
	in := Input{
		Title: "summary",
		Results: []backtest.Result{
			res("fixed", -500_000_000, 1_000_000, 10, 0.5),
			res("mpc", 1_234_560_000, 2_000_000, 1234567.89, 0.973),
			res(oracleName, 2_469_120_000, 3_000_000, 3, 1),
		},
	}
	dir := t.TempDir()
	if _, err := Write(dir, in); err != nil {
		t.Fatal(err)
	}
	rows := table(parseHTML(t, filepath.Join(dir, "report.html")))
	tests := []struct {
		row  string
		want []string
	}{
		{"per policy", []string{"per policy", "unit", "fixed", "mpc", "oracle"}},
		{"net", []string{"net", "USD", "-$500.00", "$1,234.56", "$2,469.12"}},
		{"net, % of oracle", []string{"net, % of oracle", "%", "-20.3%", "50.0%", "100.0%"}},
		{"energy drawn", []string{"energy drawn", "MWh", "10.0", "1,234,567.9", "3.0"}},
		{"BTC mined", []string{"BTC mined", "BTC", "1.2346", "1.2346", "1.2346"}},
		{"uptime", []string{"uptime", "% of fleet hash-time", "50.0%", "97.3%", "100.0%"}},
		{"4CP tag", []string{"4CP tag", "kW", "98,765.4", "98,765.4", "98,765.4"}},
		{"4CP charge", []string{"4CP charge", "USD", "$4,321.00", "$4,321.00", "$4,321.00"}},
		{"effective power price", []string{"effective power price", "USD/MWh", "$31.46", "$31.46", "$31.46"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, rowNamed(rows, tt.row)); diff != "" {
			t.Errorf("row %q (-want +got):\n%s", tt.row, diff)
		}
	}
}

func TestOracleNotPositive(t *testing.T) {
	s := summarize([]backtest.Result{
		{Policy: "mpc", Totals: backtest.Totals{Net: 5}},
		{Policy: oracleName, Totals: backtest.Totals{Net: -5}},
	})
	for _, r := range s.Rows {
		if r.Label == "net, % of oracle" {
			t.Errorf("oracle net ≤ 0 but the table has %q", r.Label)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ok := synth(t, alwaysOn, localStart(2021, 1, 1), dailyPrices(8))
	tests := []struct {
		name string
		dir  string
		in   Input
		is   error
		msg  string
	}{
		{"no results", "out", Input{}, ErrNoResults, "no backtest results"},
		{"empty rows", "out", Input{Results: []backtest.Result{ok, {Policy: "empty"}}}, ErrNoResults, `"empty" has no intervals`},
		{"no dir", "", Input{Results: []backtest.Result{ok}}, nil, "no output directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir != "" {
				dir = filepath.Join(t.TempDir(), dir)
			}
			paths, err := Write(dir, tt.in)
			if err == nil {
				t.Fatalf("Write = %v, nil; want an error", paths)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Write error %v, want one wrapping %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Write error %q, want it to say %q", err, tt.msg)
			}
			if dir != "" {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("Write failed but created %s (stat: %v)", dir, err)
				}
			}
		})
	}
}

func TestHTMLEscapes(t *testing.T) {
	evil := `<script>alert("x")</script>`
	r := synth(t, loadRule{name: "<b>pol</b>", mw: alwaysOn.mw}, localStart(2021, 1, 1), dailyPrices(96))
	in := Input{Title: evil, Results: []backtest.Result{r}, Notes: []string{"note " + evil}, BreakevenNote: evil, Breakeven: 40}
	dir := t.TempDir()
	if _, err := Write(dir, in); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>pol"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("report.html contains %q unescaped", bad)
		}
	}
	doc := parseHTML(t, filepath.Join(dir, "report.html"))
	var title string
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "h1" {
			title = textOf(n)
		}
	})
	if title != evil {
		t.Errorf("h1 = %q, want the title shown as text %q", title, evil)
	}
}

func TestLargestEvent(t *testing.T) {
	l := loc(t)
	start := localStart(2021, 6, 1)
	ps := dailyPrices(96 * 10)
	// Day 6 (June 7, local): a long scarcity event of moderate height.
	for i := 96*6 + 56; i < 96*6+76; i++ {
		ps[i] = 800
	}
	// Day 2: a single higher interval, less excess in total.
	ps[96*2+40] = 3000
	rows := synth(t, alwaysOn, start, ps).Rows
	ev := largestEvent(rows, 50, l)
	if got, want := ev.Day, time.Date(2021, 6, 7, 0, 0, 0, 0, l); !got.Equal(want) {
		t.Errorf("event day %s, want %s", got, want)
	}
	if want := 20 * (800 - 50) * 0.25; ev.Excess != want {
		t.Errorf("excess %v, want %v", ev.Excess, want)
	}
	if ev.Peak != 800 {
		t.Errorf("peak %v, want 800", ev.Peak)
	}
	if got, want := ev.From, time.Date(2021, 6, 5, 0, 0, 0, 0, l); !got.Equal(want) {
		t.Errorf("window from %s, want %s", got, want)
	}
	if got, want := ev.To, time.Date(2021, 6, 10, 0, 0, 0, 0, l); !got.Equal(want) {
		t.Errorf("window to %s, want %s", got, want)
	}

	// Nothing above the reference: the day of the highest price, and the
	// window clipped to the data.
	flat := make([]float64, 96*3)
	for i := range flat {
		flat[i] = 10
	}
	flat[96*0+5] = 40
	ev = largestEvent(synth(t, alwaysOn, start, flat).Rows, 50, l)
	if got, want := ev.Day, time.Date(2021, 6, 1, 0, 0, 0, 0, l); !got.Equal(want) || ev.Excess != 0 || ev.Peak != 40 {
		t.Errorf("flat: event %+v, want day %s, excess 0, peak 40", ev, want)
	}
	if !ev.From.Equal(start) || !ev.To.Equal(start.Add(3*24*time.Hour)) {
		t.Errorf("flat: window [%s, %s), want the data's [%s, %s)", ev.From, ev.To, start, start.Add(72*time.Hour))
	}

	// No breakeven: the reference is the median price.
	ev = largestEvent(rows, 0, l)
	if want := medianPrice(rows); ev.Ref != want || ev.Ref <= 0 {
		t.Errorf("reference %v, want the median %v", ev.Ref, want)
	}
}

func TestEnvelopeKeepsExtremes(t *testing.T) {
	n := 35040
	xs := make([]float64, n)
	ys := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i) * 900
		ys[i] = 30
	}
	ys[12345] = 9000 // one-interval spike
	ys[23456] = -250 // one-interval dip
	lo, hi := xs[0], xs[n-1]+900
	bs := envelope(xs, ys, lo, hi, buckets)
	if len(bs) != buckets {
		t.Fatalf("%d buckets, want %d", len(bs), buckets)
	}
	var maxB, minB bucket
	for _, b := range bs {
		if b.Max > maxB.Max {
			maxB = b
		}
		if b.Min < minB.Min {
			minB = b
		}
	}
	if maxB.Max != 9000 || !(maxB.X0 <= xs[12345] && xs[12345] < maxB.X1) {
		t.Errorf("spike: max bucket %+v, want max 9000 covering x=%v", maxB, xs[12345])
	}
	if minB.Min != -250 || !(minB.X0 <= xs[23456] && xs[23456] < minB.X1) {
		t.Errorf("dip: min bucket %+v, want min -250 covering x=%v", minB, xs[23456])
	}
	total := 0
	for _, b := range bs {
		total += b.N
		if b.Min > b.Mean || b.Mean > b.Max {
			t.Errorf("bucket %+v: mean outside [min, max]", b)
		}
	}
	if total != n {
		t.Errorf("buckets hold %d points, want %d", total, n)
	}

	rx, ry := m4(xs, ys, buckets)
	if len(rx) > 4*buckets {
		t.Errorf("m4 kept %d points, want at most %d", len(rx), 4*buckets)
	}
	if !slices.Contains(ry, 9000) || !slices.Contains(ry, -250) {
		t.Errorf("m4 dropped the spike or the dip")
	}
	if !slices.IsSorted(rx) {
		t.Errorf("m4 points out of order")
	}
	if rx[0] != xs[0] || rx[len(rx)-1] != xs[n-1] {
		t.Errorf("m4 lost the ends: [%v, %v], want [%v, %v]", rx[0], rx[len(rx)-1], xs[0], xs[n-1])
	}
	if sx, _ := m4(xs[:100], ys[:100], buckets); len(sx) != 100 {
		t.Errorf("m4 of a short series kept %d of 100 points", len(sx))
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{thousands(1234567.891, 1), "1,234,567.9"},
		{thousands(-1234, 0), "-1,234"},
		{thousands(-0.004, 2), "0.00"},
		{thousands(999, 0), "999"},
		{dollars(-56.4), "-$56"},
		{shortInUnit(1.5e6, 1e6, 1), "$1.5M"},
		{shortInUnit(-2e5, 1e3, 0), "-$200k"},
		{param(2.5), "2.5"},
		{param(10000), "10,000"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSymlog(t *testing.T) {
	s := symlog{c: symlogC}
	prev := math.Inf(-1)
	for _, x := range []float64{-250, -10, -1, 0, 1, 10, 25, 100, 9300} {
		y := s.f(x)
		if y <= prev {
			t.Errorf("f(%v) = %v, not above %v", x, y, prev)
		}
		prev = y
		if back := s.inv(y); math.Abs(back-x) > 1e-9*math.Max(1, math.Abs(x)) {
			t.Errorf("inv(f(%v)) = %v", x, back)
		}
	}
	lo, hi := s.axisRange(-250, 9300)
	if lo >= s.f(-250) || hi <= s.f(9300) {
		t.Errorf("axisRange(-250, 9300) = [%v, %v], want it to contain [%v, %v]", lo, hi, s.f(-250), s.f(9300))
	}
	labels := func(heightPx float64) []string {
		var ls []string
		for _, tk := range (&symTicks{s: s, heightPx: heightPx}).Ticks(lo, hi) {
			if !tk.IsMinor() {
				ls = append(ls, tk.Label)
			}
		}
		return ls
	}
	// Tall: 1 and 3 times powers of ten.
	if diff := cmp.Diff([]string{"-300", "-100", "-30", "-10", "0", "10", "30", "100", "300", "1,000", "3,000", "10,000"}, labels(400)); diff != "" {
		t.Errorf("tall axis labels (-want +got):\n%s", diff)
	}
	// Short: labels thin out to keep their distance.
	short := labels(90)
	if len(short) >= 10 || !slices.Contains(short, "0") || !slices.Contains(short, "1,000") {
		t.Errorf("short axis labels %q: want fewer, keeping 0 and 1,000", short)
	}
	ticks := (&symTicks{s: s, heightPx: 90}).Ticks(lo, hi)
	for i := 1; i < len(ticks); i++ {
		if ticks[i].Value <= ticks[i-1].Value {
			t.Errorf("ticks out of order at %d: %v", i, ticks)
		}
	}
	var prevY float64
	first := true
	for _, tk := range ticks {
		if tk.IsMinor() {
			continue
		}
		if !first && (tk.Value-prevY)*90/(hi-lo) < minGap {
			t.Errorf("labels %v px apart, want at least %d", (tk.Value-prevY)*90/(hi-lo), minGap)
		}
		prevY, first = tk.Value, false
	}
}

func TestNiceTicks(t *testing.T) {
	var labels []string
	for _, tk := range dollarTicks().Ticks(-95e6, 32e6) {
		if !tk.IsMinor() {
			labels = append(labels, tk.Label)
		}
	}
	want := []string{"-$75M", "-$50M", "-$25M", "$0", "$25M"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("dollar ticks (-want +got):\n%s", diff)
	}
}

func TestTimeTicks(t *testing.T) {
	l := loc(t)
	year := timeTicks{loc: l}.Ticks(unix(localStart(2021, 1, 1)), unix(localStart(2022, 1, 1)))
	var labels []string
	for _, tk := range year {
		labels = append(labels, tk.Label)
		if tm := time.Unix(int64(tk.Value), 0).In(l); tm.Day() != 1 || tm.Hour() != 0 {
			t.Errorf("year tick at %s, want local midnight on the 1st", tm)
		}
	}
	want := []string{"Jan 2021", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan 2022"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("year labels (-want +got):\n%s", diff)
	}
	week := timeTicks{loc: l}.Ticks(unix(localStart(2021, 2, 13)), unix(localStart(2021, 2, 18)))
	labels = nil
	for _, tk := range week {
		if !tk.IsMinor() {
			labels = append(labels, tk.Label)
		}
	}
	want = []string{"Sat Feb 13", "Sun Feb 14", "Mon Feb 15", "Tue Feb 16", "Wed Feb 17", "Thu Feb 18"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("week labels (-want +got):\n%s", diff)
	}
}

func TestMonthlyLocal(t *testing.T) {
	// An interval at 23:45 local on Jan 31 is 05:45 UTC on Feb 1: it
	// belongs to January.
	iv := energy.Interval{Start: localStart(2021, 2, 1).Add(-15 * time.Minute)}
	iv.End = iv.Start.Add(15 * time.Minute)
	iv2 := energy.Interval{Start: localStart(2021, 2, 1), End: localStart(2021, 2, 1).Add(15 * time.Minute)}
	res := []backtest.Result{{Policy: "p", Rows: []backtest.Row{{Interval: iv, Net: 1_000_000}, {Interval: iv2, Net: 2_000_000}}}}
	d := &data{loc: loc(t)}
	months, vals := d.monthly(res)
	if len(months) != 2 || months[0].Month() != time.January || months[1].Month() != time.February {
		t.Fatalf("months %v, want January and February", months)
	}
	if diff := cmp.Diff([][]float64{{1, 2}}, vals); diff != "" {
		t.Errorf("monthly nets (-want +got):\n%s", diff)
	}
}

func TestWriteSweep(t *testing.T) {
	in := SweepInput{
		Title:    "block sweep <script>",
		Param:    "fixed block MW",
		Values:   []float64{0, 25, 50, 75, 100},
		Policies: []string{"fixed", "mpc", oracleName},
		Net: [][]float64{
			{100, 200, 300, 250, -50},
			{150, 180, 320, 400, 10},
			{500, 600, 700, 800, 900},
		},
	}
	dir := t.TempDir()
	paths, err := WriteSweep(dir, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "charts", "sweep.png"), filepath.Join(dir, "charts", "sweep.svg"), filepath.Join(dir, "sweep.html")}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	checkPNG(t, want[0], chartWidth, 500)
	checkSVG(t, want[1])
	doc := parseHTML(t, want[2])
	imgs, links := refs(doc)
	if !slices.Contains(imgs, "charts/sweep.svg") || !slices.Contains(links, "charts/sweep.png") {
		t.Errorf("sweep.html images %q links %q, want charts/sweep.svg and a link to charts/sweep.png", imgs, links)
	}
	rows := table(doc)
	wantRows := [][]string{
		{"fixed block MW", "fixed", "mpc", "oracle"},
		{"0", "$100", "$150", "$500"},
		{"25", "$200", "$180", "$600"},
		{"50", "$300", "$320", "$700"},
		{"75", "$250", "$400", "$800"},
		{"100", "-$50", "$10", "$900"},
	}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("sweep table (-want +got):\n%s", diff)
	}
	// The best non-oracle policy is marked in each row.
	var best []string
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "td" && strings.Contains(attr(n, "class"), "best") {
			best = append(best, textOf(n))
		}
	})
	if diff := cmp.Diff([]string{"$150", "$200", "$320", "$400", "$10"}, best); diff != "" {
		t.Errorf("best cells (-want +got):\n%s", diff)
	}
	b, _ := os.ReadFile(want[2])
	if bytes.Contains(b, []byte("<script>")) {
		t.Errorf("sweep.html contains <script> unescaped")
	}
}

func TestWriteSweepErrors(t *testing.T) {
	good := SweepInput{Param: "x", Values: []float64{1, 2}, Policies: []string{"a"}, Net: [][]float64{{1, 2}}}
	tests := []struct {
		name string
		mod  func(*SweepInput)
		msg  string
	}{
		{"no values", func(s *SweepInput) { s.Values = nil }, "no parameter values"},
		{"descending", func(s *SweepInput) { s.Values = []float64{2, 1} }, "must ascend"},
		{"short row", func(s *SweepInput) { s.Net = [][]float64{{1}} }, "1 nets for 2 values"},
		{"rows", func(s *SweepInput) { s.Net = nil }, "1 policies but 0 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good
			tt.mod(&in)
			_, err := WriteSweep(t.TempDir(), in)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("WriteSweep error %v, want one saying %q", err, tt.msg)
			}
		})
	}
}

func BenchmarkWriteYear(b *testing.B) {
	in := yearInput(b)
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Write(dir, in); err != nil {
			b.Fatal(err)
		}
	}
}
