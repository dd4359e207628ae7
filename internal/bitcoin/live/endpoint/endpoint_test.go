package endpoint

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for raw, want := range map[string]string{
		"https://mempool.space": "", "http://127.0.0.1:8332": "", "ftp://x": "want http", "https://": "no host", "://": "url",
	} {
		_, err := Check(raw)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Check(%q) = %v, want %q", raw, err, want)
		}
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet([]byte("<html>\n\tbad\x00gateway</html>")); got != `"<html>  bad gateway</html>"` {
		t.Errorf("snippet %s", got)
	}
	if got := Snippet([]byte(strings.Repeat("a", 200))); !strings.HasSuffix(got, `..."`) || len(got) != 125 {
		t.Errorf("long snippet %s (%d)", got, len(got))
	}
}
