// Package endpoint holds what the live Bitcoin input clients (node,
// mempoolapi, pricefeed) share about the HTTP endpoints they talk to:
// checking a configured URL and quoting the start of an error body in a
// message. It does no I/O.
package endpoint

import (
	"fmt"
	"net/url"
	"strings"
)

// Check parses raw and requires an http or https URL with a host.
func Check(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("url %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("url %q: want http:// or https://", raw)
	case u.Host == "":
		return nil, fmt.Errorf("url %q: no host", raw)
	}
	return u, nil
}

// Snippet returns the start of an error body, printable and quoted, for
// messages.
func Snippet(b []byte) string {
	const n = 120
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, string(b[:min(len(b), n)]))
	if len(b) > n {
		s += "..."
	}
	return fmt.Sprintf("%q", strings.TrimSpace(s))
}
