// Package shareddata locates the project's real history (ERCOT prices,
// Bitcoin economics) in ../shared/data beside the repository, for tests and
// benchmarks that use it in place. A test asking for a file that is not
// there is skipped with a message saying what was missing; nothing from the
// data is ever copied into the repository. The package reads no data itself.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the path of rel (e.g. "ercot/rtm_spp_hubs_2021.csv.gz")
// under ../shared/data next to the module root found above the working
// directory, or skips tb when the root or the file cannot be found.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skipf("real data %s: no go.mod above %s, so ../shared/data cannot be located; skipping", rel, dir)
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("real data %s absent (%v); skipping (see ../shared/data/README.md)", path, err)
	}
	return path
}
