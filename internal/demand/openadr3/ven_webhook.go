package openadr3

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// notice is a notification handed from the webhook to Run.
type notice struct {
	op    Operation
	event *Event // nil: not an event (poll instead)
}

// webhook is the VEN's callback endpoint.
type webhook struct {
	ln        net.Listener
	srv       *http.Server
	callback  string
	token     string // the bearer token the VTN must present
	cert, key string
	log       *slog.Logger
	// unsupported is set when the VTN has no subscriptions endpoint.
	unsupported bool
}

// listen opens the webhook's listener; notifications go to notes.
func (v *VEN) listen(notes chan<- notice) (*webhook, error) {
	wc := v.cfg.Webhook
	ln, err := net.Listen("tcp", wc.Listen)
	if err != nil {
		return nil, fmt.Errorf("openadr3 ven %s: webhook: %w", v.cfg.VENName, err)
	}
	cb := wc.CallbackURL
	if cb == "" {
		scheme := "http"
		if wc.CertFile != "" {
			scheme = "https"
		}
		cb = scheme + "://" + ln.Addr().String() + "/openadr3/notify"
	}
	u, err := url.Parse(cb)
	if err != nil || u.Host == "" {
		ln.Close()
		return nil, fmt.Errorf("openadr3 ven %s: webhook callback url %q: want an absolute URL", v.cfg.VENName, cb)
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	h := &webhook{ln: ln, callback: cb, token: hex.EncodeToString(b[:]), cert: wc.CertFile, key: wc.KeyFile, log: v.log}
	path := u.Path
	if path == "" {
		path = "/"
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, h.handler(v.cfg.Version, notes))
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	return h, nil
}

// serve serves until stop is closed.
func (h *webhook) serve(stop <-chan struct{}) {
	errc := make(chan error, 1)
	go func() {
		if h.cert != "" {
			errc <- h.srv.ServeTLS(h.ln, h.cert, h.key)
		} else {
			errc <- h.srv.Serve(h.ln)
		}
	}()
	select {
	case <-stop:
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("openadr3 ven: webhook stopped", "err", err)
		}
		<-stop
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	<-errc
}

// handler answers the VTN's echo challenge (GET ?echo=) and takes in
// notifications (POST), which must carry the subscription's bearer token.
func (h *webhook) handler(v Version, notes chan<- notice) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			echo := r.URL.Query().Get("echo")
			if echo == "" {
				http.Error(w, "no echo parameter", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(echo))
		case http.MethodPost:
			auth := r.Header.Get("Authorization")
			tok, ok := strings.CutPrefix(auth, "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(h.token)) != 1 {
				writeProblem(w, h.log, http.StatusForbidden, "Forbidden", "wrong bearer token")
				return
			}
			var n Notification
			if err := decodeBody(w, r, &n); err != nil {
				writeProblem(w, h.log, http.StatusBadRequest, "Bad Request", err.Error())
				return
			}
			no, err := parseNotice(n)
			if err != nil {
				writeProblem(w, h.log, http.StatusBadRequest, "Bad Request", err.Error())
				return
			}
			select {
			case notes <- no:
			default:
				// Run is busy: a poll will catch up.
				select {
				case notes <- notice{op: no.op}:
				default:
				}
			}
			w.WriteHeader(http.StatusOK)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	}
}

// parseNotice reads a notification.
func parseNotice(n Notification) (notice, error) {
	op, err := ParseNotificationOperation(n.Operation)
	if err != nil {
		return notice{}, err
	}
	if n.ObjectType != ObjectEvent {
		return notice{op: op}, nil
	}
	var ev Event
	if err := json.Unmarshal(n.Object, &ev); err != nil {
		return notice{}, fmt.Errorf("notification object: %w", err)
	}
	if err := checkObjectID(ev.ID); err != nil {
		return notice{}, fmt.Errorf("notification object: %w", err)
	}
	return notice{op: op, event: &ev}, nil
}

// subscribe makes sure the VTN will call the webhook on changes to events
// and programs: one subscription in 3.1.0, one per program in 3.0.1 (where
// a subscription names its program). A subscription of the VEN's with the
// callback URL but an old token (from an earlier run) is updated.
func (v *VEN) subscribe(ctx context.Context, h *webhook, programs map[string]Program) error {
	subs, err := v.client.Subscriptions(ctx, Query{ClientName: v.cfg.VENName})
	if err != nil {
		return err
	}
	want := []string{""}
	if v.cfg.Version == V301 {
		want = want[:0]
		for id := range programs {
			want = append(want, id)
		}
		slices.Sort(want)
	}
	op := ObjectOperation{
		Objects:     []ObjectType{ObjectEvent, ObjectProgram},
		Operations:  []Operation{OpCreate, OpUpdate, OpDelete},
		CallbackURL: h.callback, BearerToken: h.token,
	}
	for _, prog := range want {
		i := slices.IndexFunc(subs, func(s Subscription) bool {
			return s.ClientName == v.cfg.VENName && s.ProgramID == prog &&
				slices.ContainsFunc(s.ObjectOperations, func(o ObjectOperation) bool { return o.CallbackURL == h.callback })
		})
		body := Subscription{ClientName: v.cfg.VENName, ProgramID: prog, ObjectOperations: []ObjectOperation{op}}
		switch {
		case i < 0:
			s, err := v.client.CreateSubscription(ctx, body)
			if err != nil {
				return err
			}
			v.log.Info("openadr3 ven: subscribed", "subscription", s.ID, "program", prog, "callback", h.callback)
		case !slices.ContainsFunc(subs[i].ObjectOperations, func(o ObjectOperation) bool { return o.BearerToken == h.token }):
			if _, err := v.client.UpdateSubscription(ctx, subs[i].ID, body); err != nil {
				return err
			}
			v.log.Info("openadr3 ven: subscription renewed", "subscription", subs[i].ID, "program", prog)
		}
	}
	return nil
}
