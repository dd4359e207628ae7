package shareddata

import (
	"os"
	"testing"
)

func TestPathFindsOrSkips(t *testing.T) {
	p := Path(t, "btc/btc_daily.csv") // skips when the data is absent
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		t.Errorf("Path returned %s: %v", p, err)
	}
}

func TestPathSkipsMissingFile(t *testing.T) {
	skipped := false
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Path(t, "no/such/file.csv")
		t.Error("Path returned for a missing file")
	})
	if !skipped {
		t.Error("a missing file did not skip the test")
	}
}
