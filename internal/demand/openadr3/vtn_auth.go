package openadr3

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scopes of the oAuth2ClientCredentials security scheme.
const (
	scopeReadAll            = "read_all"
	scopeReadTargets        = "read_targets"     // 3.1.0
	scopeReadVenObjects     = "read_ven_objects" // 3.1.0
	scopeWritePrograms      = "write_programs"
	scopeWriteEvents        = "write_events"
	scopeWriteReports       = "write_reports"
	scopeWriteSubscriptions = "write_subscriptions"
	scopeWriteVens          = "write_vens"
)

// Scopes returns the scopes a role is granted in version v, following
// the descriptions of the security scheme: business logic reads all and
// writes programs, events, subscriptions and vens; VENs write reports,
// subscriptions and vens, and read all (3.0.1) or targeted and own
// objects (3.1.0).
func Scopes(role Role, v Version) []string {
	if role == RoleBL {
		return []string{scopeReadAll, scopeWritePrograms, scopeWriteEvents, scopeWriteSubscriptions, scopeWriteVens}
	}
	if v == V301 {
		return []string{scopeReadAll, scopeWriteReports, scopeWriteSubscriptions, scopeWriteVens}
	}
	return []string{scopeReadTargets, scopeReadVenObjects, scopeWriteReports, scopeWriteSubscriptions, scopeWriteVens}
}

// request is an authenticated request.
type request struct {
	v       Version
	client  *VTNClient
	q       url.Values
	targets []Target // the target filter of the query (nil: none)
	now     time.Time

	granted    []Target // VEN clients: targets granted (lazily)
	hasGranted bool
	venIDs     map[string]bool // VEN clients: ids of their ven objects
}

func (r *request) bl() bool { return r.client.Role == RoleBL }

// authed wraps h with bearer token authentication and a scope check. An
// absent, unknown or expired token is answered 401 in 3.1.0 (which defines
// it) and 403 in 3.0.1 (whose only authorization answer is 403); a token
// without the scope is answered 403.
func (vt *VTN) authed(v Version, scope string, h func(http.ResponseWriter, *http.Request, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := vt.client(r)
		if !ok {
			status := http.StatusForbidden
			if v == V310 {
				status = http.StatusUnauthorized
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			writeProblem(w, vt.log, status, http.StatusText(status), "missing, unknown or expired bearer token")
			return
		}
		if !hasScope(Scopes(c.Role, v), scope) {
			writeProblem(w, vt.log, http.StatusForbidden, "Forbidden", "client "+c.ID+" lacks scope "+scope)
			return
		}
		req := &request{v: v, client: c, q: r.URL.Query(), now: vt.clk.Now()}
		req.targets = queryTargets(v, req.q)
		h(w, r, req)
	}
}

// hasScope: read_all also grants the narrower read scopes of 3.1.0.
func hasScope(have []string, want string) bool {
	if slices.Contains(have, want) {
		return true
	}
	return (want == scopeReadTargets || want == scopeReadVenObjects) && slices.Contains(have, scopeReadAll)
}

// queryTargets reads the target filter: 3.1.0 targets=, 3.0.1
// targetType= and targetValues=.
func queryTargets(v Version, q url.Values) []Target {
	var out []Target
	if v == V310 {
		for _, s := range q["targets"] {
			out = append(out, Target{Value: s})
		}
		return out
	}
	typ := q.Get("targetType")
	if typ == untypedTarget {
		typ = ""
	}
	for _, s := range q["targetValues"] {
		out = append(out, Target{Type: typ, Value: s})
	}
	return out
}

// client returns the client the request's bearer token was issued to.
func (vt *VTN) client(r *http.Request) (*VTNClient, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || tok == "" {
		return nil, false
	}
	vt.tokMu.Lock()
	defer vt.tokMu.Unlock()
	is, ok := vt.tokens[tok]
	if !ok {
		return nil, false
	}
	if !vt.clk.Now().Before(is.expires) {
		delete(vt.tokens, tok)
		return nil, false
	}
	return is.client, true
}

// tokenEndpoint is POST /auth/token: the OAuth 2 client credentials grant
// (RFC 6749 §4.4), credentials in the form body (as the specification's
// clientCredentialRequest has them) or HTTP Basic.
func (vt *VTN) tokenEndpoint(v Version) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		if err := r.ParseForm(); err != nil {
			vt.tokenError(w, v, http.StatusBadRequest, "invalid_request", "unreadable form body")
			return
		}
		id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		if bid, bsecret, ok := r.BasicAuth(); ok && id == "" {
			id, secret = bid, bsecret
		}
		switch gt := r.PostForm.Get("grant_type"); {
		case gt == "":
			vt.tokenError(w, v, http.StatusBadRequest, "invalid_request", "no grant_type")
			return
		case gt != "client_credentials":
			vt.tokenError(w, v, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
			return
		case id == "" || secret == "":
			vt.tokenError(w, v, http.StatusBadRequest, "invalid_request", "no client_id or client_secret")
			return
		}
		c, ok := vt.clients[id]
		if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
			status := http.StatusForbidden // 3.0.1 defines no 401 here
			if v == V310 {
				status = http.StatusUnauthorized
			}
			vt.tokenError(w, v, status, "invalid_client", "unknown client or wrong secret")
			return
		}
		var b [24]byte
		_, _ = rand.Read(b[:])
		tok := base64.RawURLEncoding.EncodeToString(b[:])
		now := vt.clk.Now()
		vt.tokMu.Lock()
		for t, is := range vt.tokens { // forget expired tokens
			if !now.Before(is.expires) {
				delete(vt.tokens, t)
			}
		}
		vt.tokens[tok] = issued{client: c, expires: now.Add(vt.cfg.TokenTTL)}
		vt.tokMu.Unlock()
		vt.log.Info("openadr3 vtn: token issued", "client", c.ID, "role", c.Role, "version", v)
		writeJSON(w, vt.log, http.StatusOK, TokenResponse{
			AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(vt.cfg.TokenTTL / time.Second),
			Scope: strings.Join(Scopes(c.Role, v), " "),
		})
	}
}

// tokenError answers a failed token request: 3.0.1's 400 is an authError,
// every other answer a problem carrying the RFC 6749 error code.
func (vt *VTN) tokenError(w http.ResponseWriter, v Version, status int, code, detail string) {
	if v == V301 && status == http.StatusBadRequest {
		writeJSON(w, vt.log, status, AuthError{Error: code, ErrorDescription: detail})
		return
	}
	writeJSON(w, vt.log, status, Problem{Title: http.StatusText(status), Status: status, Detail: detail, Error: code})
}

// grantedTargets returns the targets granted to a VEN client: its
// configured venName (type VEN_NAME) and targets, and the targets business
// logic wrote to its ven objects and their resources.
func (vt *VTN) grantedTargets(ctx context.Context, req *request) ([]Target, error) {
	if req.hasGranted {
		return req.granted, nil
	}
	c := req.client
	var out []Target
	if c.VENName != "" {
		out = append(out, Target{Type: VENName, Value: c.VENName})
	}
	for _, t := range c.Targets {
		out = append(out, Target{Value: t})
	}
	ids, err := vt.venIDsOf(ctx, req)
	if err != nil {
		return nil, err
	}
	vens, err := loadAll[Ven](ctx, vt.st, CollVens)
	if err != nil {
		return nil, err
	}
	for _, rec := range vens {
		if ids[rec.Object.ID] {
			out = append(out, rec.Object.Targets.Pairs()...)
		}
	}
	res, err := loadAll[Resource](ctx, vt.st, CollResources)
	if err != nil {
		return nil, err
	}
	for _, rec := range res {
		if ids[rec.Object.VenID] || rec.Object.ClientID == c.ID {
			out = append(out, rec.Object.Targets.Pairs()...)
		}
	}
	req.granted, req.hasGranted = out, true
	return out, nil
}

// venIDsOf returns the ids of the ven objects that are the client's: those
// with its clientID, or (written without one) its venName.
func (vt *VTN) venIDsOf(ctx context.Context, req *request) (map[string]bool, error) {
	if req.venIDs != nil {
		return req.venIDs, nil
	}
	vens, err := loadAll[Ven](ctx, vt.st, CollVens)
	if err != nil {
		return nil, err
	}
	req.venIDs = map[string]bool{}
	for _, rec := range vens {
		if ownsVen(req.client, rec.Object) {
			req.venIDs[rec.Object.ID] = true
		}
	}
	return req.venIDs, nil
}

func ownsVen(c *VTNClient, v Ven) bool {
	return v.ClientID == c.ID || (v.ClientID == "" && c.VENName != "" && v.VenName == c.VENName)
}

// targetedView decides whether the request may see an object with targets
// have (programs, events) and which of them it is shown. Objects without
// targets are for everyone. A target filter keeps objects that have none or
// match it. A VEN sees a targeted object only if it matches the targets
// granted to it (narrowed by its filter, if any), and in 3.1.0 is shown only
// the matching targets (target hiding).
func (vt *VTN) targetedView(ctx context.Context, req *request, have []Target, filter []Target) (visible bool, shown []Target, err error) {
	if len(have) == 0 {
		return true, have, nil
	}
	if req.bl() {
		if filter != nil && !match(have, filter) {
			return false, nil, nil
		}
		return true, have, nil
	}
	granted, err := vt.grantedTargets(ctx, req)
	if err != nil {
		return false, nil, err
	}
	eff := granted
	if filter != nil {
		eff = keep(filter, granted)
	}
	if !match(have, eff) {
		return false, nil, nil
	}
	if req.v == V310 {
		return true, keep(have, eff), nil
	}
	return true, have, nil
}
