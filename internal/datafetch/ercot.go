package datafetch

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ERCOT's Market Information System (MIS), as the public report pages use it.
const (
	// DefaultERCOTBaseURL is where ERCOT's MIS document list and downloads live.
	DefaultERCOTBaseURL = "https://www.ercot.com"
	// ERCOTRTMReportTypeID is the MIS report type of "Historical RTM Load
	// Zone and Hub Prices" (data product NP6-785-ER): one zip per year.
	ERCOTRTMReportTypeID = 13061

	ercotDocListPath  = "/misapp/servlets/IceDocListJsonWS"
	ercotDownloadPath = "/misdownload/servlets/mirDownload"
	maxDocListBytes   = 32 << 20
)

var (
	// ErrYearNotListed is wrapped when the document list has no document for
	// the year asked; the error names the years it has.
	ErrYearNotListed = errors.New("year not listed")
	// ErrNotZip is wrapped when a download is not the zip archive expected
	// (ERCOT answers some failures with an HTML or XML page and status 200),
	// or the zip does not hold the expected workbook.
	ErrNotZip = errors.New("not the expected zip")
	// ErrBadDocList is wrapped when the document list cannot be read.
	ErrBadDocList = errors.New("bad ERCOT document list")
)

// ERCOTDocument is one entry of an MIS document list.
type ERCOTDocument struct {
	DocID           string
	FriendlyName    string    // e.g. RTMLZHBSPP_2021
	ConstructedName string    // e.g. rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip
	PublishDate     time.Time // zero when absent or unreadable
	ContentSize     int64     // as listed; 0 when absent
	Year            int       // the year the names end with; 0 if none
}

// ERCOTRTMOptions configures FetchERCOTRTM.
type ERCOTRTMOptions struct {
	Net
	// Year is the calendar year of the report (ERCOT publishes 2011 on).
	Year int
	// Out is the file to write; "" is ercot_rtm_<Year>.zip in the working
	// directory.
	Out string
	// BaseURL replaces DefaultERCOTBaseURL (a mirror, a test server).
	BaseURL string
}

// ERCOTRTMResult says what FetchERCOTRTM saved.
type ERCOTRTMResult struct {
	Path          string
	Bytes         int64
	Doc           ERCOTDocument
	Workbook      string // the .xlsx member of the zip
	WorkbookBytes uint64 // its uncompressed size
}

// FetchERCOTRTM downloads the Historical RTM Load Zone and Hub Prices report
// for opts.Year to opts.Out: it reads the MIS document list of report type
// 13061, picks the document whose name ends with the year (the most recently
// published if several), downloads it, checks that it is a zip holding an
// .xlsx workbook, and renames it into place. Nothing is written on error.
func FetchERCOTRTM(ctx context.Context, opts ERCOTRTMOptions) (ERCOTRTMResult, error) {
	const what = "ercot-rtm"
	var res ERCOTRTMResult
	if opts.Year < 1990 || opts.Year > 9999 {
		return res, fmt.Errorf("%s: year %d: want a four-digit year", what, opts.Year)
	}
	base := strings.TrimRight(cmp.Or(opts.BaseURL, DefaultERCOTBaseURL), "/")
	out := cmp.Or(opts.Out, fmt.Sprintf("ercot_rtm_%d.zip", opts.Year))
	ctx, cancel := withDeadline(ctx)
	defer cancel()

	listURL := fmt.Sprintf("%s%s?reportTypeId=%d", base, ercotDocListPath, ERCOTRTMReportTypeID)
	opts.progressf("%s: listing documents of report type %d: %s", what, ERCOTRTMReportTypeID, listURL)
	resp, err := opts.get(ctx, what+": document list", listURL, "application/json")
	if err != nil {
		return res, err
	}
	docs, err := parseDocList(io.LimitReader(resp.Body, maxDocListBytes), resp.Header.Get("Content-Type"))
	resp.Body.Close()
	if err != nil {
		return res, fmt.Errorf("%s: document list %s: %w", what, listURL, err)
	}
	doc, err := pickYear(docs, opts.Year)
	if err != nil {
		return res, fmt.Errorf("%s: report type %d: %w", what, ERCOTRTMReportTypeID, err)
	}
	res.Doc = doc
	opts.progressf("%s: %d documents listed; %s is doc %s (%s), published %s", what, len(docs), doc.FriendlyName, doc.DocID,
		doc.ConstructedName, formatPublish(doc.PublishDate))

	dlURL := base + ercotDownloadPath + "?doclookupId=" + url.QueryEscape(doc.DocID)
	opts.progressf("%s: downloading %s", what, dlURL)
	resp, err = opts.get(ctx, what+": download", dlURL, "application/zip, application/octet-stream")
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	total := resp.ContentLength
	if total <= 0 {
		total = doc.ContentSize
	}
	n, err := writeAtomic(out, func(w io.Writer) error {
		return copyZip(w, resp.Body, resp.Header.Get("Content-Type"), func(got int64) {
			if total > 0 {
				opts.progressf("%s: %s of %s received", what, mib(got), mib(total))
			} else {
				opts.progressf("%s: %s received", what, mib(got))
			}
		})
	}, func(tmp string) error {
		name, size, err := checkRTMZip(tmp)
		res.Workbook, res.WorkbookBytes = name, size
		return err
	})
	if err != nil {
		return res, fmt.Errorf("%s: %s (doc %s) from %s: %w", what, doc.FriendlyName, doc.DocID, dlURL, err)
	}
	res.Path, res.Bytes = out, n
	opts.progressf("%s: %s checked: a zip holding %s", what, mib(n), res.Workbook)
	return res, nil
}

// misDocList is the wire shape of IceDocListJsonWS:
//
//	{"ListDocsByRptTypeRes":{"DocumentList":[{"Document":{"DocID":"…","FriendlyName":"…",
//	  "ConstructedName":"…","PublishDate":"2022-01-05T10:44:21-06:00","ContentSize":"…",…}},…]}}
//
// DocumentList is read as an array or, as some JSON renderings of a
// one-element list give it, a single object.
type misDocList struct {
	Res *struct {
		DocumentList json.RawMessage `json:"DocumentList"`
	} `json:"ListDocsByRptTypeRes"`
}

type misDocEntry struct {
	Document misDocument `json:"Document"`
}

type misDocument struct {
	DocID           flexString `json:"DocID"`
	FriendlyName    string     `json:"FriendlyName"`
	ConstructedName string     `json:"ConstructedName"`
	PublishDate     string     `json:"PublishDate"`
	ContentSize     flexString `json:"ContentSize"`
}

// flexString reads a JSON string or number as its text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// parseDocList reads an MIS document list. Entries without a DocID are
// skipped; a body that is not the list (an HTML error page) is an error
// saying what it was.
func parseDocList(r io.Reader, contentType string) ([]ERCOTDocument, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var list misDocList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("%w: not JSON (%s): %v", ErrBadDocList, describeBody(contentType, body[:min(len(body), 4096)]), err)
	}
	if list.Res == nil {
		return nil, fmt.Errorf("%w: no ListDocsByRptTypeRes in %s", ErrBadDocList, describeBody(contentType, body[:min(len(body), 200)]))
	}
	raw := bytes.TrimSpace(list.Res.DocumentList)
	var entries []misDocEntry
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
	case raw[0] == '[':
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, fmt.Errorf("%w: DocumentList: %v", ErrBadDocList, err)
		}
	case raw[0] == '{':
		var one misDocEntry
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("%w: DocumentList: %v", ErrBadDocList, err)
		}
		entries = []misDocEntry{one}
	default:
		return nil, fmt.Errorf("%w: DocumentList is neither a list nor an object", ErrBadDocList)
	}
	docs := make([]ERCOTDocument, 0, len(entries))
	for _, e := range entries {
		d := e.Document
		if d.DocID == "" {
			continue
		}
		doc := ERCOTDocument{
			DocID:           string(d.DocID),
			FriendlyName:    strings.TrimSpace(d.FriendlyName),
			ConstructedName: strings.TrimSpace(d.ConstructedName),
			PublishDate:     parsePublishDate(d.PublishDate),
		}
		doc.ContentSize, _ = strconv.ParseInt(string(d.ContentSize), 10, 64)
		doc.Year = docYear(doc.FriendlyName)
		if doc.Year == 0 {
			doc.Year = docYear(doc.ConstructedName)
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// parsePublishDate reads MIS publish times ("2022-01-05T10:44:21-06:00"); an
// unreadable one gives the zero time.
func parsePublishDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

func formatPublish(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.Format(time.RFC3339)
}

// yearAtEnd matches the year a yearly report's names end with:
// RTMLZHBSPP_2021, rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip, and
// the in-progress year's …20260920.080732945.RTMLZHBSPP_2026.zip.
var yearAtEnd = regexp.MustCompile(`(?i)(?:^|[^0-9])((?:19|20)[0-9]{2})(?:\.zip)?$`)

func docYear(name string) int {
	m := yearAtEnd.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	y, _ := strconv.Atoi(m[1])
	return y
}

// pickYear returns the document for year: the most recently published of
// those whose names end with it (ties broken by the larger DocID).
func pickYear(docs []ERCOTDocument, year int) (ERCOTDocument, error) {
	var best *ERCOTDocument
	for i := range docs {
		d := &docs[i]
		if d.Year != year {
			continue
		}
		if best == nil || d.PublishDate.After(best.PublishDate) ||
			(d.PublishDate.Equal(best.PublishDate) && compareDocID(d.DocID, best.DocID) > 0) {
			best = d
		}
	}
	if best != nil {
		return *best, nil
	}
	var years []int
	for _, d := range docs {
		if d.Year != 0 && !slices.Contains(years, d.Year) {
			years = append(years, d.Year)
		}
	}
	if len(years) == 0 {
		return ERCOTDocument{}, fmt.Errorf("%w: %d: the document list has no yearly documents (%d entries)", ErrYearNotListed, year, len(docs))
	}
	slices.Sort(years)
	return ERCOTDocument{}, fmt.Errorf("%w: %d: years available: %s", ErrYearNotListed, year, yearRanges(years))
}

func compareDocID(a, b string) int {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	if aerr == nil && berr == nil {
		return cmp.Compare(ai, bi)
	}
	return strings.Compare(a, b)
}

// yearRanges writes sorted distinct years compactly: "2011-2019, 2021".
func yearRanges(years []int) string {
	var parts []string
	for i := 0; i < len(years); {
		j := i
		for j+1 < len(years) && years[j+1] == years[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(years[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", years[i], years[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// copyZip copies a download to w after checking that it starts like a zip
// archive; otherwise it says what the body is. progress is called every
// 16 MiB.
func copyZip(w io.Writer, r io.Reader, contentType string, progress func(int64)) error {
	head := make([]byte, 4096)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	head = head[:n]
	if n == 0 {
		return fmt.Errorf("%w: the response body is empty", ErrNotZip)
	}
	if !bytes.HasPrefix(head, []byte("PK")) {
		return fmt.Errorf("%w: got %s (Content-Type %q) instead of a zip archive", ErrNotZip, describeBody(contentType, head), contentType)
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	const step = 16 << 20
	total, next := int64(n), int64(step)
	buf := make([]byte, 256<<10)
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return err
			}
			total += int64(m)
			if total >= next {
				progress(total)
				next += step
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// checkRTMZip opens the downloaded archive and returns its .xlsx member,
// which must itself be a zip (an Office Open XML workbook).
func checkRTMZip(path string) (string, uint64, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrNotZip, err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !strings.HasSuffix(strings.ToLower(f.Name), ".xlsx") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return f.Name, 0, fmt.Errorf("%w: member %s: %v", ErrNotZip, f.Name, err)
		}
		magic := make([]byte, 4)
		_, err = io.ReadFull(rc, magic)
		rc.Close()
		if err != nil || !bytes.Equal(magic, []byte("PK\x03\x04")) {
			return f.Name, 0, fmt.Errorf("%w: member %s is not an xlsx workbook", ErrNotZip, f.Name)
		}
		return f.Name, f.UncompressedSize64, nil
	}
	if len(names) == 0 {
		return "", 0, fmt.Errorf("%w: the zip is empty", ErrNotZip)
	}
	return "", 0, fmt.Errorf("%w: the zip holds no .xlsx workbook (members: %s)", ErrNotZip, clip(strings.Join(names, ", "), 200))
}
