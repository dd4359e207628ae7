// Package ercotapi reads real-time ERCOT prices from ERCOT's Public API, the
// REST/JSON service at https://api.ercot.com/api/public-reports, and offers
// them as price.Source implementations:
//
//   - RealTimeSPP: NP6-905-CD, 15-minute settlement point prices
//     (/np6-905-cd/spp_node_zone_hub), the prices real-time energy settles
//     at. Delivery date, hour-ending, interval and DST flag are converted to
//     half-open UTC intervals with the same conventions as the NP6-905-CD CSV
//     reader in package price/ercot (hour-ending 1–24, interval 1–4, the
//     repeated fall-back hour flagged DSTFlag=true, energy-weighted load zone
//     rows read as NAME_EW).
//   - LMP5: NP6-788-CD, LMPs of each SCED run (/np6-788-cd/lmp_node_zone_hub).
//     A run's LMP covers the 5-minute interval (aligned to the clock) in which
//     its SCED timestamp falls; when several runs fall in one interval the
//     latest wins; an interval without a run is a gap.
//   - RTDIndicative: NP6-970-CD, the indicative LMPs of the latest
//     look-ahead RTD run (/np6-970-cd/rtd_lmp_node_zone_hub): a forecast of
//     the next hour in 5-minute intervals, each [intervalEnding-5m,
//     intervalEnding).
//
// # The API
//
// Every request carries two secrets: an Azure AD B2C token obtained with the
// resource-owner password (ROPC) flow from DefaultTokenURL with the public
// client id DefaultClientID, sent as "Authorization: Bearer", and the
// account's subscription key, sent as "Ocp-Apim-Subscription-Key". The
// Client fetches a token on first use and again shortly before it expires
// (expires_in, else one hour), and once more when the API answers 401. The
// B2C response carries an id_token and an access_token; the Client sends the
// id_token (what working third-party clients send) and falls back to the
// access_token.
//
// Responses are pages of one envelope:
//
//	{"_meta":  {"totalRecords": 3, "pageSize": 2, "totalPages": 2, "currentPage": 1},
//	 "report": {"reportEMIL": "NP6-905-CD", ...},
//	 "fields": [{"name": "deliveryDate", "label": "Delivery Date", "dataType": "DATE"}, ...],
//	 "data":   [["2024-11-03", 2, 1, "HB_NORTH", "HU", 21.5, false], ...]}
//
// data rows are arrays ordered as fields. Columns are found by field name
// (case and punctuation ignored), never by position. The Client asks for
// page 1, then every further page _meta.totalPages announces. Query
// parameters are the ones of ERCOT's OpenAPI document (ercot/api-specs
// pubapi/pubapi-apim-api.json): deliveryDateFrom/To (yyyy-MM-dd),
// deliveryHourFrom, settlementPoint, SCEDTimestampFrom/To and
// RTDTimestampFrom (yyyy-MM-ddTHH:mm:ss, America/Chicago wall time), page,
// size.
//
// ERCOT allows about 30 requests a minute per account. The Client paces its
// own requests at Config.RequestsPerMinute (a token bucket on the injected
// clock, bursting up to that many), and when the API still answers 429 (or
// 502, 503, 504) it waits as asked (Retry-After, or the "Try again in N
// seconds" of the API gateway's message), else 2 s doubling, on the injected
// clock. Every request has its own deadline (Config.RequestTimeout, on wall
// time). Errors name the operation, the HTTP status and the API's message.
//
// # Caching
//
// Real-time prices do not change once published, so the sources cache them
// by delivery day: a day that is complete (every interval of the local day,
// 92, 96 or 100 for SPPs) or long over (Options.FinalAfter) is never asked
// for again; the current day is asked for again at most every
// Options.Refresh, and then only from its last hour (SPP) or last SCED run
// (LMP) on. Days that have not begun are never asked for: there is nothing
// published for them. The cache holds at most Options.MaxDays days.
//
// # What it does not do
//
// The package only returns what ERCOT published: it never fills a missing
// interval, extends a price past its interval or resamples (callers find
// gaps with price.Schedule.Gaps). It reads only the live API, which keeps
// a limited history; years of history come from ERCOT's report files
// (package price/ercot). It does not read day-ahead prices.
package ercotapi
