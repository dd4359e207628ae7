package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// maxResponseBytes bounds one JSON-RPC response body. A mainnet block
// template carries every transaction's raw hex (up to 4 MB of block, so
// about 8 MB of hex plus the JSON around it); 64 MiB leaves ample room and
// still stops a runaway peer.
const maxResponseBytes = 64 << 20

// ErrUnauthorized is wrapped by calls the node refused with HTTP 401 or 403:
// wrong user/password, or a cookie file from an earlier run of the node.
var ErrUnauthorized = errors.New("node refused the credentials")

// ErrBadResponse is wrapped by errors about a response that is not the
// JSON-RPC reply asked for (not JSON, wrong id, missing or malformed result).
var ErrBadResponse = errors.New("bad json-rpc response")

// RPCError is an error the node returned in a JSON-RPC reply's error
// member. Bitcoin Core and btcd share the codes (-32601 method not found,
// -10 initial download, -9 not connected, ...).
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// CodeMethodNotFound is the JSON-RPC code for an unknown method (btcd has
// no getblockstats, for instance).
const CodeMethodNotFound = -32601

// request is a JSON-RPC 1.0 request as Bitcoin Core and btcd take it: btcd
// answers nothing without "jsonrpc":"1.0", and both take positional
// parameters only.
type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

// response is a JSON-RPC 1.0 reply. Bitcoin Core sends both result and
// error (one null); it answers an error with HTTP 500 (404 for an unknown
// method) and the same JSON body, btcd with HTTP 200.
type response struct {
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
	ID     *uint64         `json:"id"`
}

// Call sends one JSON-RPC request with positional params and decodes the
// reply's result into result (which may be nil to discard it). The call is
// bounded by the client's timeout as well as ctx. A JSON-RPC error comes
// back as a *RPCError (use errors.As).
func (c *Client) Call(ctx context.Context, method string, params []any, result any) error {
	if err := c.call(ctx, method, params, result); err != nil {
		return fmt.Errorf("node %s: %s: %w", c.name, method, err)
	}
	return nil
}

func (c *Client) call(ctx context.Context, method string, params []any, result any) error {
	if params == nil {
		params = []any{}
	}
	id := c.nextID.Add(1)
	body, err := json.Marshal(request{JSONRPC: "1.0", ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	auth, err := c.authorization()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if len(raw) > maxResponseBytes {
		return fmt.Errorf("response larger than %d bytes: %w", maxResponseBytes, ErrBadResponse)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("http %d: %w", resp.StatusCode, ErrUnauthorized)
	}
	res, err := decodeResponse(raw, id)
	if err != nil {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("http %d: %w", resp.StatusCode, err)
		}
		return err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(res, result); err != nil {
		return fmt.Errorf("decode result: %w: %w", ErrBadResponse, err)
	}
	return nil
}

// decodeResponse parses a JSON-RPC reply body to request id and returns its
// result: a *RPCError when the reply carries an error, an error wrapping
// ErrBadResponse when the body is not such a reply or its result is null.
func decodeResponse(raw []byte, id uint64) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("empty body: %w", ErrBadResponse)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if r.ID == nil || *r.ID != id {
		return nil, fmt.Errorf("reply id %s, want %d: %w", idString(r.ID), id, ErrBadResponse)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	if len(r.Result) == 0 || string(r.Result) == "null" {
		return nil, fmt.Errorf("null result: %w", ErrBadResponse)
	}
	return r.Result, nil
}

func idString(id *uint64) string {
	if id == nil {
		return "null"
	}
	return fmt.Sprint(*id)
}

// authorization returns the Authorization header value: basic auth from
// the configured user and password, or from the cookie file (re-read on
// every call, so a node restarted with a new cookie is followed), or ""
// when neither is configured.
func (c *Client) authorization() (string, error) {
	user, pass := c.user, c.pass
	if c.cookieFile != "" {
		b, err := os.ReadFile(c.cookieFile)
		if err != nil {
			return "", fmt.Errorf("read cookie file: %w", err)
		}
		u, p, ok := parseCookie(b)
		if !ok {
			return "", fmt.Errorf("cookie file %s: want user:password on its first line", c.cookieFile)
		}
		user, pass = u, p
	}
	if user == "" && pass == "" {
		return "", nil
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), nil
}

// parseCookie reads Bitcoin Core's .cookie file: one line "__cookie__:<hex>".
func parseCookie(b []byte) (user, pass string, ok bool) {
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimRight(line, "\r")
	user, pass, ok = strings.Cut(line, ":")
	return user, pass, ok && user != "" && pass != ""
}
