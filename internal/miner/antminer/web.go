package antminer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
)

// Web CGI paths of the stock firmware.
const (
	pathGetConf    = "/cgi-bin/get_miner_conf.cgi"
	pathSetConf    = "/cgi-bin/set_miner_conf.cgi"
	pathSystemInfo = "/cgi-bin/get_system_info.cgi"
)

// maxBody bounds a CGI reply.
const maxBody = 1 << 20

// webClient calls the miner's web CGI with HTTP Digest auth.
type webClient struct {
	base    string // "http://host:port"
	http    *http.Client
	timeout time.Duration
	auth    digestAuth
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{KeepAlive: -1}).DialContext,
			MaxIdleConnsPerHost:   1,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: time.Minute, // the context deadline is the real bound
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches path and returns the body of a 2xx answer.
func (w *webClient) get(ctx context.Context, path string) ([]byte, error) {
	return w.do(ctx, http.MethodGet, path, nil)
}

// post sends body as JSON to path.
func (w *webClient) post(ctx context.Context, path string, body []byte) ([]byte, error) {
	return w.do(ctx, http.MethodPost, path, body)
}

// do sends one request, answering digest challenges: a 401 to a request
// sent without credentials, or with a nonce from an earlier exchange, is
// retried once under the new challenge; a 401 to credentials computed
// from a fresh challenge (and not marked stale) is ErrDenied.
func (w *webClient) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	fresh := false // the cached challenge came from this call
	for attempt := 0; attempt < 3; attempt++ {
		auth, err := w.auth.authorization(method, path)
		if err != nil {
			return nil, err
		}
		resp, err := w.send(ctx, method, path, body, auth)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return w.read(ctx, resp)
		}
		drain(resp)
		ch, err := parseChallenge(resp.Header.Values("WWW-Authenticate"))
		if errors.Is(err, errNoDigest) {
			return nil, fmt.Errorf("401 without a digest challenge: %w", miner.ErrDenied)
		}
		if err != nil {
			return nil, fmt.Errorf("401: %w", err)
		}
		if auth != "" && fresh && !ch.stale {
			return nil, fmt.Errorf("credentials refused (401): %w", miner.ErrDenied)
		}
		w.auth.setChallenge(ch)
		fresh = true
	}
	return nil, fmt.Errorf("credentials refused (401 after retries): %w", miner.ErrDenied)
}

func (w *webClient) send(ctx context.Context, method, path string, body []byte, auth string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %w", method, path, unwrapURL(ctx, err), miner.ErrUnreachable)
	}
	return resp, nil
}

func (w *webClient) read(ctx context.Context, resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read body: %w: %w", resp.Request.URL.Path, unwrapURL(ctx, err), miner.ErrUnreachable)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%s: body over %d bytes: %w", resp.Request.URL.Path, maxBody, miner.ErrProtocol)
	}
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%s: %s: %w", resp.Request.URL.Path, resp.Status, miner.ErrDenied)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fmt.Errorf("%s: %s: %w", resp.Request.URL.Path, resp.Status, miner.ErrRejected)
	}
	return b, nil
}

// drain discards a small rest of a body so the connection can be reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// unwrapURL drops net/http's *url.Error wrapper (it repeats method and
// URL) and names a context deadline as such.
func unwrapURL(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
