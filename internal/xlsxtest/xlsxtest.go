// Package xlsxtest builds small Excel workbooks in memory for the tests of
// the packages that read ERCOT's xlsx reports (internal/price/ercot,
// internal/sysload). It is test support only: nothing in the controller
// imports it, and it reads no workbook.
package xlsxtest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/xuri/excelize/v2"
)

// Sheet is one sheet of a generated workbook. Rows[i] is sheet row i+1; a
// nil row is left blank. Cells keep their Go type: strings become text
// cells, ints and floats numeric cells (as Excel stores dates, loads and
// prices).
type Sheet struct {
	Name string
	Rows [][]any
}

// Bytes builds a workbook with sheets, in order, and returns its bytes.
func Bytes(tb testing.TB, sheets ...Sheet) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, sh := range sheets {
		if i == 0 {
			if err := f.SetSheetName(f.GetSheetName(0), sh.Name); err != nil {
				tb.Fatal(err)
			}
		} else if _, err := f.NewSheet(sh.Name); err != nil {
			tb.Fatal(err)
		}
		for r, row := range sh.Rows {
			if row == nil {
				continue
			}
			if err := f.SetSheetRow(sh.Name, fmt.Sprintf("A%d", r+1), &row); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
