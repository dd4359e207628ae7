package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/datafetch"
)

// newDataCmd is "gridminer data": getting the history plan and backtest read.
func newDataCmd() *cobra.Command {
	data := &cobra.Command{
		Use:   "data",
		Short: "Get history for backtests",
		Long: `data gets public history for backtests: ERCOT's yearly report of real-time
hub and load-zone prices, as ERCOT publishes it, and the daily Bitcoin
economics file that plan and backtest read with --btc.`,
		Args: cobra.NoArgs,
	}
	fetch := &cobra.Command{
		Use:   "fetch",
		Short: "Download public history into files",
		Long: `fetch downloads public history over the internet and writes it, atomically
(a temporary file renamed into place once checked), in the layout gridminer
reads. Progress lines go to stderr; the summary of what was saved to stdout.`,
		Args: cobra.NoArgs,
	}
	fetch.AddCommand(newFetchERCOTRTMCmd(), newFetchBTCCmd())
	data.AddCommand(fetch)
	return data
}

func newFetchERCOTRTMCmd() *cobra.Command {
	var (
		year    int
		out     string
		baseURL string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ercot-rtm --year YEAR [--out FILE]",
		Short: "Download ERCOT's Historical RTM Load Zone and Hub Prices report for a year",
		Long: `ercot-rtm downloads ERCOT's public "Historical RTM Load Zone and Hub Prices"
report (NP6-785-ER, MIS report type 13061) for one year: the zip ERCOT
publishes, holding one xlsx workbook with a sheet per month and the columns
Delivery Date, Delivery Hour, Delivery Interval, Repeated Hour Flag,
Settlement Point Name, Settlement Point Type, Settlement Point Price
(15-minute real-time prices of every hub and load zone).

The document is found in ERCOT's MIS document list
(<base-url>/misapp/servlets/IceDocListJsonWS?reportTypeId=13061): the one whose
name ends with the year, the latest published if there are several (the
current year's report is republished as it grows). It is downloaded from
<base-url>/misdownload/servlets/mirDownload?doclookupId=<DocID> and kept
only if it is a zip holding an .xlsx workbook (ERCOT answers some failures
with an HTML page).`,
		Example: `  gridminer data fetch ercot-rtm --year 2021
  gridminer data fetch ercot-rtm --year 2022 --out data/ercot/rtm_2022.zip`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if year == 0 {
				return fmt.Errorf("missing --year")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := datafetch.FetchERCOTRTM(ctx, datafetch.ERCOTRTMOptions{
				Net: fetchNet(cmd), Year: year, Out: out, BaseURL: baseURL,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved %s: %d bytes, ERCOT %s (doc %s, published %s), workbook %s\n",
				res.Path, res.Bytes, res.Doc.FriendlyName, res.Doc.DocID, publishDate(res.Doc.PublishDate), res.Workbook)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&year, "year", 0, "calendar year of the report (ERCOT publishes 2011 on)")
	f.StringVar(&out, "out", "", "file to write (default ./ercot_rtm_YEAR.zip)")
	f.StringVar(&baseURL, "base-url", datafetch.DefaultERCOTBaseURL, "ERCOT site (MIS document list and downloads)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "deadline for the whole download")
	return cmd
}

func newFetchBTCCmd() *cobra.Command {
	var (
		from, to     string
		out          string
		cmURL, mpURL string
		timeout      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "btc --from YYYY-MM-DD --to YYYY-MM-DD [--out FILE]",
		Short: "Build the daily Bitcoin economics file (btc_daily.csv) the backtester reads",
		Long: `btc writes one row per UTC day from --from to --to, inclusive:

  date,height_start,block_count,price_usd,fees_btc,difficulty

date is the UTC day; height_start the height of the first block mined that
day and block_count the blocks mined that day; price_usd the BTC price and
fees_btc the total transaction fees that day; difficulty the network
difficulty in force at 00:00 UTC.

Price, block count and fees come from the Coin Metrics community API v4
(asset-metrics PriceUSD, BlkCnt, FeeTotNtv at frequency 1d; no key needed,
non-commercial licence). From mempool.space come the difficulty adjustments
(/api/v1/mining/difficulty-adjustments) and the anchor: the block at or before
the last second before --from (/api/v1/mining/blocks/timestamp/<unix>), whose
height plus one starts the first day; each later day adds the block counts.
The derived heights are checked against every difficulty adjustment in the
span and against the block at the end of --to; if they disagree nothing is
written. HTTP 429 answers are retried, waiting as the server asks.

--to must be a day that has ended: Coin Metrics publishes a day after it.`,
		Example: `  gridminer data fetch btc --from 2021-01-01 --to 2022-12-31
  gridminer data fetch btc --from 2024-01-01 --to 2024-06-30 --out data/btc_2024h1.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return fmt.Errorf("missing --from or --to (YYYY-MM-DD, UTC days, inclusive)")
			}
			first, err := time.Parse(time.DateOnly, from)
			if err != nil {
				return fmt.Errorf("--from %q: want YYYY-MM-DD", from)
			}
			last, err := time.Parse(time.DateOnly, to)
			if err != nil {
				return fmt.Errorf("--to %q: want YYYY-MM-DD", to)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := datafetch.FetchBTCDaily(ctx, datafetch.BTCDailyOptions{
				Net: fetchNet(cmd), From: first, To: last, Out: out, CoinMetricsURL: cmURL, MempoolURL: mpURL,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved %s: %d days %s to %s, heights %d to %d, checked against %d difficulty adjustment(s)\n",
				res.Path, res.Days, res.From.Format(time.DateOnly), res.To.Format(time.DateOnly), res.HeightStart, res.HeightEnd-1, res.Adjustments)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "first UTC day, YYYY-MM-DD")
	f.StringVar(&to, "to", "", "last UTC day, YYYY-MM-DD, inclusive (a day that has ended)")
	f.StringVar(&out, "out", "", "file to write (default ./btc_daily.csv)")
	f.StringVar(&cmURL, "coinmetrics-url", datafetch.DefaultCoinMetricsURL, "Coin Metrics API v4 root")
	f.StringVar(&mpURL, "mempool-url", datafetch.DefaultMempoolURL, "mempool.space (or another mempool instance) site root")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "deadline for all requests, waits included")
	return cmd
}

// fetchNet is how the data commands reach the network: the wall clock for
// waits, progress lines on stderr.
func fetchNet(cmd *cobra.Command) datafetch.Net {
	return datafetch.Net{Progress: cmd.ErrOrStderr(), Clock: clock.Real{}}
}

func publishDate(t time.Time) string {
	if t.IsZero() {
		return "date unknown"
	}
	return t.Format(time.DateOnly)
}
