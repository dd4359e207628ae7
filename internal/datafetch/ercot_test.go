package datafetch

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/gridminer/gridminer/internal/datafetch/datafetchtest"
)

const rtm2021Member = "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.xlsx"

// misFixture serves the hand-written document list (testdata/ercot/doclist.json:
// 2019, 2020, 2021 twice, 2024 and the in-progress 2026) with bodies for
// the 2021 documents: the newer publish is the real-shaped zip, the older
// one junk that must never be chosen.
func misFixture(t *testing.T, newer2021 datafetchtest.ERCOTDoc) (*datafetchtest.ERCOT, []byte) {
	zip2021 := datafetchtest.RTMZip(t, 2021)
	if newer2021.Body == nil {
		newer2021.Body = zip2021
	}
	newer2021.DocID = "823517760"
	newer2021.ConstructedName = "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip"
	return &datafetchtest.ERCOT{
		ReportTypeID: ERCOTRTMReportTypeID,
		DocList:      readTestdata(t, "ercot/doclist.json"),
		Docs: []datafetchtest.ERCOTDoc{
			{DocID: "812001544", ConstructedName: "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip", Body: []byte("the superseded publish")},
			newer2021,
			{DocID: "1276781176", ConstructedName: "rpt.00013061.0000000000000000.20260920.080732945.RTMLZHBSPP_2026.zip", Body: datafetchtest.RTMZip(t, 2026)},
		},
	}, zip2021
}

func TestFetchERCOTRTMSavesTheNewestPublishOfTheYear(t *testing.T) {
	mis, want := misFixture(t, datafetchtest.ERCOTDoc{})
	rec := &recorder{h: mis}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	net, _, progress := testNet(t)
	dir := filepath.Join(t.TempDir(), "data", "ercot") // created on the way
	out := filepath.Join(dir, "ercot_rtm_2021.zip")

	res, err := FetchERCOTRTM(context.Background(), ERCOTRTMOptions{Net: net, Year: 2021, Out: out, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	wantDoc := ERCOTDocument{
		DocID: "823517760", FriendlyName: "RTMLZHBSPP_2021",
		ConstructedName: "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip",
		PublishDate:     time.Date(2022, 2, 14, 9, 3, 58, 0, time.FixedZone("", -6*3600)),
		ContentSize:     15629101, Year: 2021,
	}
	if diff := cmp.Diff(wantDoc, res.Doc, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
	if res.Path != out || res.Bytes != int64(len(want)) || res.Workbook != rtm2021Member || res.WorkbookBytes == 0 {
		t.Errorf("result = %+v, want path %s, %d bytes, workbook %s", res, out, len(want), rtm2021Member)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("saved %d bytes, not the %d served", len(got), len(want))
	}
	// The saved archive is the report's shape: its workbook opens and has
	// the report's columns.
	header := workbookHeader(t, out, rtm2021Member, "Jan")
	if wantHeader := []string{"Delivery Date", "Delivery Hour", "Delivery Interval", "Repeated Hour Flag",
		"Settlement Point Name", "Settlement Point Type", "Settlement Point Price"}; !cmp.Equal(header, wantHeader) {
		t.Errorf("workbook header = %q, want %q", header, wantHeader)
	}
	if names := dirEntries(t, dir); !cmp.Equal(names, []string{"ercot_rtm_2021.zip"}) {
		t.Errorf("directory holds %q, want only the zip (no temporary file left)", names)
	}

	reqs := rec.requests()
	wantReqs := []request{
		{path: "/misapp/servlets/IceDocListJsonWS", query: "reportTypeId=13061"},
		{path: "/misdownload/servlets/mirDownload", query: "doclookupId=823517760"},
	}
	if diff := cmp.Diff(wantReqs, reqs, cmp.Comparer(func(a, b request) bool { return a.path == b.path && a.query == b.query })); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range reqs {
		if !strings.Contains(r.userAgent, "gridminer") {
			t.Errorf("request %s sent User-Agent %q, want one naming gridminer", r.path, r.userAgent)
		}
	}
	if !strings.Contains(progress.String(), "RTMLZHBSPP_2021 is doc 823517760") {
		t.Errorf("progress does not name the document chosen:\n%s", progress)
	}
}

func TestFetchERCOTRTMInProgressYear(t *testing.T) {
	mis, _ := misFixture(t, datafetchtest.ERCOTDoc{})
	srv := httptest.NewServer(mis)
	defer srv.Close()
	net, _, _ := testNet(t)
	out := filepath.Join(t.TempDir(), "ercot_rtm_2026.zip")
	res, err := FetchERCOTRTM(context.Background(), ERCOTRTMOptions{Net: net, Year: 2026, Out: out, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Doc.DocID != "1276781176" || res.Workbook != "rpt.00013061.0000000000000000.RTMLZHBSPP_2026.xlsx" {
		t.Errorf("2026: doc %s workbook %s, want doc 1276781176 (its name carries a publish stamp before the year)", res.Doc.DocID, res.Workbook)
	}
}

func workbookHeader(t *testing.T, zipPath, member, sheet string) []string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != member {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		book, err := excelize.OpenReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		defer book.Close()
		rows, err := book.GetRows(sheet)
		if err != nil || len(rows) == 0 {
			t.Fatalf("sheet %s: %v", sheet, err)
		}
		return rows[0]
	}
	t.Fatalf("%s has no member %s", zipPath, member)
	return nil
}

func TestFetchERCOTRTMErrors(t *testing.T) {
	html := []byte(`<!DOCTYPE html><html><head><title>ERCOT - Scheduled Maintenance</title></head><body>The MIS is unavailable.</body></html>`)
	for _, tt := range []struct {
		name    string
		year    int
		newer   datafetchtest.ERCOTDoc
		docList []byte // replaces the fixture's list
		wantIs  error
		wantMsg string
		status  int // an *HTTPError with this status
	}{
		{name: "HTML page instead of the zip", year: 2021, newer: datafetchtest.ERCOTDoc{Body: html, ContentType: "text/html; charset=UTF-8"},
			wantIs: ErrNotZip, wantMsg: `an HTML page titled "ERCOT - Scheduled Maintenance"`},
		{name: "error text with status 200", year: 2021, newer: datafetchtest.ERCOTDoc{Body: []byte("<root>Error Downloading Content - NO DOCUMENT FOUND</root>"), ContentType: "text/xml"},
			wantIs: ErrNotZip, wantMsg: "Error Downloading Content"},
		{name: "zip without a workbook", year: 2021, newer: datafetchtest.ERCOTDoc{Body: datafetchtest.ZipOf(t, map[string][]byte{"RTMLZHBSPP_2021.csv": []byte("a,b\n")})},
			wantIs: ErrNotZip, wantMsg: "no .xlsx workbook (members: RTMLZHBSPP_2021.csv)"},
		{name: "truncated zip", year: 2021, newer: datafetchtest.ERCOTDoc{Body: datafetchtest.RTMZip(t, 2021)[:200]},
			wantIs: ErrNotZip},
		{name: "year not listed", year: 2015, wantIs: ErrYearNotListed, wantMsg: "2015: years available: 2019-2021, 2024, 2026"},
		{name: "download fails", year: 2021, newer: datafetchtest.ERCOTDoc{Status: http.StatusInternalServerError, Body: html, ContentType: "text/html"},
			status: http.StatusInternalServerError, wantMsg: "HTTP 500"},
		{name: "document list is an HTML page", year: 2021, docList: html, wantIs: ErrBadDocList, wantMsg: "Scheduled Maintenance"},
		{name: "empty document list", year: 2021, docList: []byte(`{"ListDocsByRptTypeRes":{"DocumentList":[]}}`), wantIs: ErrYearNotListed, wantMsg: "no yearly documents"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mis, _ := misFixture(t, tt.newer)
			if tt.docList != nil {
				mis.DocList = tt.docList
			}
			srv := httptest.NewServer(mis)
			defer srv.Close()
			net, _, _ := testNet(t)
			dir := t.TempDir()
			out := filepath.Join(dir, "prices.zip")
			if err := os.WriteFile(out, []byte("the file from last time"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := FetchERCOTRTM(context.Background(), ERCOTRTMOptions{Net: net, Year: tt.year, Out: out, BaseURL: srv.URL})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want %v", err, tt.wantIs)
			}
			var herr *HTTPError
			if tt.status != 0 && (!errors.As(err, &herr) || herr.StatusCode != tt.status) {
				t.Errorf("error %v, want an HTTP %d error", err, tt.status)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if got, _ := os.ReadFile(out); string(got) != "the file from last time" {
				t.Errorf("the existing %s was changed to %q", out, got)
			}
			if names := dirEntries(t, dir); !cmp.Equal(names, []string{"prices.zip"}) {
				t.Errorf("directory holds %q, want the old file only", names)
			}
		})
	}
}

func TestFetchERCOTRTMRejectsABadYearWithoutRequests(t *testing.T) {
	rec := &recorder{h: http.NotFoundHandler()}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	net, _, _ := testNet(t)
	if _, err := FetchERCOTRTM(context.Background(), ERCOTRTMOptions{Net: net, Year: 21, BaseURL: srv.URL}); err == nil || !strings.Contains(err.Error(), "four-digit year") {
		t.Errorf("year 21: error %v, want a four-digit year", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestFetchERCOTRTMStopsWhenCanceled(t *testing.T) {
	mis, _ := misFixture(t, datafetchtest.ERCOTDoc{})
	srv := httptest.NewServer(mis)
	defer srv.Close()
	net, _, _ := testNet(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "x.zip")
	_, err := FetchERCOTRTM(ctx, ERCOTRTMOptions{Net: net, Year: 2021, Out: out, BaseURL: srv.URL})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s written after cancellation", out)
	}
}

func TestParseDocList(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want []ERCOTDocument
	}{
		{
			name: "single document as an object, numeric ids",
			body: `{"ListDocsByRptTypeRes":{"DocumentList":{"Document":{"DocID":812001544,"FriendlyName":"RTMLZHBSPP_2021",
				"ConstructedName":"rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip","PublishDate":"2022-01-05T10:44:21-06:00","ContentSize":15627330}}}}`,
			want: []ERCOTDocument{{DocID: "812001544", FriendlyName: "RTMLZHBSPP_2021", ConstructedName: "rpt.00013061.0000000000000000.RTMLZHBSPP_2021.zip",
				PublishDate: time.Date(2022, 1, 5, 16, 44, 21, 0, time.UTC), ContentSize: 15627330, Year: 2021}},
		},
		{
			name: "year from the constructed name; unreadable date; entry without id skipped",
			body: `{"ListDocsByRptTypeRes":{"DocumentList":[{"Document":{"DocID":"7","FriendlyName":"Historical RTM","ConstructedName":"RTMLZHBSPP_2013.ZIP","PublishDate":"soon"}},
				{"Document":{"FriendlyName":"RTMLZHBSPP_2014"}}]}}`,
			want: []ERCOTDocument{{DocID: "7", FriendlyName: "Historical RTM", ConstructedName: "RTMLZHBSPP_2013.ZIP", Year: 2013}},
		},
		{name: "no documents", body: `{"ListDocsByRptTypeRes":{"DocumentList":null}}`, want: []ERCOTDocument{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDocList(strings.NewReader(tt.body), "application/json")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"ListDocsByRptTypeRes":{"DocumentList":"x"}}`, `<html></html>`} {
		if _, err := parseDocList(strings.NewReader(bad), ""); !errors.Is(err, ErrBadDocList) {
			t.Errorf("parseDocList(%s) = %v, want ErrBadDocList", bad, err)
		}
	}
}

func TestDocYear(t *testing.T) {
	for name, want := range map[string]int{
		"RTMLZHBSPP_2021": 2021,
		"rpt.00013061.0000000000000000.RTMLZHBSPP_2011.zip":                    2011,
		"rpt.00013061.0000000000000000.20260920.080732945.RTMLZHBSPP_2026.zip": 2026,
		"RTMLZHBSPP_2021_retry":         0,
		"rpt.00013061.20260920.zip":     0,
		"RTMLZHBSPP":                    0,
		"something_1850":                0,
		"Historical RTM Prices 2019":    2019,
		"rpt.00013061.RTMLZHBSPP_22021": 0,
	} {
		if got := docYear(name); got != want {
			t.Errorf("docYear(%q) = %d, want %d", name, got, want)
		}
	}
}
