package openadr3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// delivery is one notification to post.
type delivery struct {
	subID, url, bearer string
	body               []byte
	attempt            int
	due                time.Time
}

// maxQueue bounds the notifications waiting; the oldest go first.
const maxQueue = 10000

func (vt *VTN) enqueue(d delivery) {
	vt.qmu.Lock()
	if len(vt.queue) >= maxQueue {
		vt.log.Warn("openadr3 vtn: notification queue full, dropping the oldest", "subscription", vt.queue[0].subID)
		vt.queue = vt.queue[1:]
	}
	vt.queue = append(vt.queue, d)
	vt.qmu.Unlock()
	select {
	case vt.wake <- struct{}{}:
	default:
	}
}

// deliverDue posts the notifications that are due, requeues failures with
// a doubling backoff, and returns when the next one is due.
func (vt *VTN) deliverDue(ctx context.Context) (next time.Time, ok bool) {
	now := vt.clk.Now()
	vt.qmu.Lock()
	var due, later []delivery
	for _, d := range vt.queue {
		if !d.due.After(now) {
			due = append(due, d)
		} else {
			later = append(later, d)
		}
	}
	vt.queue = later
	vt.qmu.Unlock()
	for _, d := range due {
		if ctx.Err() != nil {
			vt.requeue(d)
			continue
		}
		err := vt.post(ctx, d)
		if err == nil {
			continue
		}
		d.attempt++
		if d.attempt >= vt.cfg.NotifyAttempts {
			vt.log.Error("openadr3 vtn: notification given up", "subscription", d.subID, "url", d.url, "attempts", d.attempt, "err", err)
			continue
		}
		vt.log.Warn("openadr3 vtn: notification failed, will retry", "subscription", d.subID, "url", d.url, "attempt", d.attempt, "err", err)
		d.due = vt.clk.Now().Add(vt.cfg.RetryBackoff << (d.attempt - 1))
		vt.requeue(d)
	}
	vt.qmu.Lock()
	defer vt.qmu.Unlock()
	for _, d := range vt.queue {
		if !ok || d.due.Before(next) {
			next, ok = d.due, true
		}
	}
	return next, ok
}

func (vt *VTN) requeue(d delivery) {
	vt.qmu.Lock()
	vt.queue = append(vt.queue, d)
	vt.qmu.Unlock()
}

// post sends one notification; any 2xx answer is success.
func (vt *VTN) post(ctx context.Context, d delivery) error {
	ctx, cancel := context.WithTimeout(ctx, vt.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if d.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+d.bearer)
	}
	resp, err := vt.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// checkObjectOperation checks one callback of a subscription: known
// objects and operations, an absolute https (or, if allowed, http) URL.
func (vt *VTN) checkObjectOperation(oo ObjectOperation) error {
	if len(oo.Objects) == 0 || len(oo.Operations) == 0 {
		return errors.New("objects and operations: required")
	}
	for _, o := range oo.Objects {
		if !slices.Contains([]ObjectType{ObjectProgram, ObjectEvent, ObjectReport, ObjectSubscription, ObjectVEN, ObjectResource}, o) {
			return fmt.Errorf("object %q: unknown", o)
		}
	}
	for _, op := range oo.Operations {
		if !slices.Contains([]Operation{OpRead, OpCreate, OpUpdate, OpDelete}, op) {
			return fmt.Errorf("operation %q: unknown", op)
		}
	}
	u, err := url.Parse(oo.CallbackURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("callbackUrl %q: want an absolute https URL", oo.CallbackURL)
	}
	if u.Scheme == "http" && !vt.cfg.AllowHTTPCallbacks {
		return fmt.Errorf("callbackUrl %q: must use https", oo.CallbackURL)
	}
	return nil
}

// checkCallback verifies a new callback URL with the Definition's echo
// challenge, unless configured off or the URL is unchanged from old.
func (vt *VTN) checkCallback(ctx context.Context, oo ObjectOperation, old *Subscription) error {
	if vt.cfg.SkipCallbackCheck {
		return nil
	}
	u, err := url.Parse(oo.CallbackURL)
	if err != nil {
		return fmt.Errorf("callbackUrl %q: %w", oo.CallbackURL, err)
	}
	if old != nil && slices.ContainsFunc(old.ObjectOperations, func(o ObjectOperation) bool { return o.CallbackURL == oo.CallbackURL }) {
		return nil
	}
	return vt.echo(ctx, u)
}

// echo verifies a callback URL: GET it with ?echo=<random>; it must answer
// 200 with that value as its body.
func (vt *VTN) echo(ctx context.Context, u *url.URL) error {
	var b [12]byte
	_, _ = rand.Read(b[:])
	challenge := hex.EncodeToString(b[:])
	cu := *u
	q := cu.Query()
	q.Set("echo", challenge)
	cu.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, vt.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cu.String(), nil)
	if err != nil {
		return fmt.Errorf("callbackUrl check: %w", err)
	}
	resp, err := vt.hc.Do(req)
	if err != nil {
		return fmt.Errorf("callbackUrl check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || strings.Trim(strings.TrimSpace(string(body)), `"`) != challenge {
		return fmt.Errorf("callbackUrl check: %s did not echo the challenge (answered %s)", u.Redacted(), resp.Status)
	}
	return nil
}
