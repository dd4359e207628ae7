// Package report turns backtest results into charts and a self-contained
// HTML page: what `gridminer backtest` writes next to its summary.
//
// Write draws five charts, each as PNG (for viewing and sharing) and SVG
// (for the page), into dir/charts/, and writes dir/report.html with the
// summary table per policy and the charts:
//
//   - price-load: the real-time price (top panel) and, in one panel per
//     policy below it, the site load (mining + AI, MW) over the period.
//   - cumulative-net: the cumulative interval net, USD, per policy.
//   - price-duration: the prices sorted from highest to lowest against the
//     share of time, with the fleet's breakeven price marked.
//   - monthly-net: the interval net per calendar month (local time), as
//     grouped bars per policy.
//   - price-event: the largest price event at full 15-minute resolution,
//     two local days either side. The largest event is the local day with
//     the most price above the breakeven (or, without one, above the
//     period's median price), summed over its intervals and weighted by
//     their length: Σ max(0, price − reference) × hours, the dollars one
//     megawatt running through the day paid above the reference. It favours
//     a long scarcity event over a single blip of the same height; when no
//     interval is above the reference, the day of the highest price is
//     shown.
//
// WriteSweep draws a parameter sweep (net per policy as one parameter
// varies) and writes dir/sweep.html.
//
// # Scales and time
//
// Prices are drawn on a symmetric log scale, sign(p)·log10(1 + |p|/10):
// near-linear within ±$10/MWh (so negative prices stay visible and ordered),
// logarithmic beyond, so a $25 body and a $9,000 scarcity spike are both
// readable in one panel; the axis label says so, and its labels are thinned
// to the panel's height. Money and load axes are linear. Time axes are labelled in
// the market's local time (America/Chicago for ERCOT, Input.Location to
// change it): months for a year, days for a week. Months for the monthly
// chart are local calendar months.
//
// # Downsampling
//
// A year of 15-minute intervals is 35,040 points per series, far more than
// a chart has pixel columns. Long series are reduced per pixel column, never
// by skipping points: the time range is cut into one bucket per column and
//
//   - price and load panels draw each bucket's minimum-to-maximum range as a
//     shaded envelope and its mean as a line, so a single-interval spike
//     still reaches its full height;
//   - lines (cumulative net, the duration curve) keep, per bucket, its first,
//     last, minimum and maximum points in time order (the M4 reduction), which
//     rasterises the same as the full series.
//
// The event zoom is drawn at full resolution as steps (a price or a load
// holds over its whole interval).
//
// Policies keep one colour in every chart, from the Okabe–Ito palette
// (distinguishable with common colour-vision deficiencies); the oracle is
// black, dashed where lines can overlap. Legends sit above the plots, never
// over the data. SVGs name Liberation Sans (Arial's metrics) with fallbacks
// and do not embed fonts.
//
// The package only reads the results it is given; it runs no backtest and
// reads no market data. Charts (each as PNG and SVG) are rendered
// concurrently; Write does no other I/O than creating dir, dir/charts and
// the files it returns.
package report
