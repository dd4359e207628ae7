package ercotapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// bearer returns the current token, fetching a new one when there is none
// or it is about to expire.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	now := c.clk.Now()
	if c.token != "" && now.Before(c.tokenRenew) {
		return c.token, nil
	}
	if c.token != "" {
		c.log.Info("ercot api token about to expire; renewing it", "renew_at", c.tokenRenew)
	}
	tok, life, err := c.fetchToken(ctx)
	if err != nil {
		c.token = ""
		return "", err
	}
	// Renew tokenMargin before expiry, or half way for short-lived tokens.
	c.token, c.tokenRenew = tok, c.clk.Now().Add(life-min(tokenMargin, life/2))
	return tok, nil
}

// dropToken forgets tok (refused by the API) unless another request has
// replaced it already.
func (c *Client) dropToken(tok string) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// tokenResponse is what the B2C token endpoint answers. Lifetimes arrive as
// numbers or as strings of digits.
type tokenResponse struct {
	IDToken          string     `json:"id_token"`
	AccessToken      string     `json:"access_token"`
	TokenType        string     `json:"token_type"`
	ExpiresIn        flexNumber `json:"expires_in"`
	IDTokenExpiresIn flexNumber `json:"id_token_expires_in"`
}

// flexNumber decodes 3600 or "3600"; empty means absent.
type flexNumber string

func (f *flexNumber) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "null" {
		s = ""
	}
	*f = flexNumber(s)
	return nil
}

func (f flexNumber) seconds() (time.Duration, bool) {
	n, err := strconv.ParseInt(string(f), 10, 64)
	if err != nil || n <= 0 || n > 7*24*3600 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// fetchToken runs the ROPC flow: a form POST of the account's username and
// password with the public client id, asking for an id_token.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	const op = "ercot api token"
	form := url.Values{
		"grant_type":    {"password"},
		"username":      {c.cfg.Username},
		"password":      {c.cfg.Password},
		"scope":         {"openid " + c.cfg.ClientID + " offline_access"},
		"client_id":     {c.cfg.ClientID},
		"response_type": {"id_token"},
	}
	if err := c.pace.wait(ctx, c.clk); err != nil {
		return "", 0, err
	}
	status, _, body, err := c.do(ctx, http.MethodPost, c.cfg.TokenURL, []byte(form.Encode()), func(h http.Header) {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("Accept", "application/json")
	})
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", op, err)
	}
	if status < 200 || status > 299 {
		herr := httpError(op, status, body)
		if status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden {
			return "", 0, fmt.Errorf("%w: %w", ErrAuth, herr)
		}
		return "", 0, herr
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", 0, fmt.Errorf("%s: %w: %v", op, ErrBadPayload, err)
	}
	tok, life := tr.IDToken, tr.IDTokenExpiresIn
	if tok == "" {
		tok, life = tr.AccessToken, tr.ExpiresIn
	}
	if tok == "" {
		return "", 0, fmt.Errorf("%s: %w: the response has neither id_token nor access_token", op, ErrAuth)
	}
	d, ok := life.seconds()
	if !ok {
		if d, ok = tr.ExpiresIn.seconds(); !ok {
			d = defaultTokenLife
		}
	}
	c.log.Info("ercot api token obtained", "valid_for", d)
	return tok, d, nil
}
