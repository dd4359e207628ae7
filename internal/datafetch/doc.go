// Package datafetch downloads the public history the backtester reads and
// writes it, atomically, in the layouts the rest of gridminer expects:
//
//   - FetchERCOTRTM saves ERCOT's "Historical RTM Load Zone and Hub Prices"
//     report (NP6-785-ER, report type 13061) for one year: the zip ERCOT
//     publishes, holding one xlsx workbook with a sheet per month. The
//     document is found through ERCOT's MIS document list
//     (/misapp/servlets/IceDocListJsonWS) and downloaded from
//     /misdownload/servlets/mirDownload.
//   - FetchBTCDaily builds btc_daily.csv (the layout bitcoin.ReadDaily reads)
//     from the Coin Metrics community API v4 (PriceUSD, BlkCnt, FeeTotNtv per
//     UTC day) and mempool.space (the difficulty adjustments, and the block
//     at a time, which anchors the heights). Derived heights are cross-checked
//     against every difficulty adjustment in the span and against a second
//     anchor at its end; a disagreement is an error, never a file.
//
// Every base URL and the http.Client are injectable, so tests run against
// local servers (see datafetchtest) and users can point at mirrors. Requests
// carry a User-Agent naming gridminer; HTTP 429 (and 502/503/504) are retried
// a bounded number of times, honouring Retry-After, with the waits taken on an
// injected clock.Clock. Progress goes to an optional writer, one line per step.
//
// The package does not parse the ERCOT workbook (internal/price/ercot reads
// prices) and keeps no cache: each call downloads afresh. It never writes a
// partial or unverified file: output goes to a temporary file next to the
// destination and is renamed into place only once checked.
package datafetch
