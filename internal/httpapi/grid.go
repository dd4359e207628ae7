package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gridminer/gridminer/internal/demand"
	"github.com/gridminer/gridminer/internal/demand/manual"
	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/site"
	"github.com/gridminer/gridminer/internal/store"
)

// Grid is what the grid endpoints read and control.
type Grid struct {
	// Events returns every demand event the site knows (nil: none).
	Events func() []demand.Event
	// Calls holds operator-entered curtailment calls (nil: none accepted).
	Calls *manual.Source
	// Objects reads stored collections (event credits, trips).
	Objects func(ctx context.Context, collection string) ([]store.Object, error)
	// Clock reads the site's time (event status).
	Now func() time.Time
}

// GridStatus is the body of GET /api/v1/grid.
type GridStatus struct {
	Time       time.Time         `json:"time"`
	Constraint GridConstraint    `json:"constraint"`
	Events     []GridEvent       `json:"events"`
	Meter      *site.MeterState  `json:"meter,omitempty"`
	Trip       *site.TripEvent   `json:"last_trip,omitempty"`
	Credits    []json.RawMessage `json:"credits,omitempty"`
}

// GridConstraint is what the events in force ask of the site.
type GridConstraint struct {
	CapW   *float64 `json:"cap_w"`
	FloorW float64  `json:"floor_w"`
	Price  *float64 `json:"price_usd_per_mwh"`
	Events []string `json:"events"`
	Reason string   `json:"reason"`
}

// GridEvent is one demand event and its status now.
type GridEvent struct {
	Key      string     `json:"key"`
	Source   string     `json:"source"`
	ID       string     `json:"id"`
	Program  string     `json:"program,omitempty"`
	Name     string     `json:"name,omitempty"`
	Kind     string     `json:"kind"`
	Status   string     `json:"status"`
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end"`
	Priority int        `json:"priority"`
	PowerW   float64    `json:"power_w,omitempty"`
	Level    int        `json:"level,omitempty"`
	Price    float64    `json:"price_usd_per_mwh,omitempty"`
}

func eventOf(e demand.Event, now time.Time) GridEvent {
	g := GridEvent{Key: e.Key(), Source: e.Source, ID: e.ID, Program: e.Program, Name: e.Name, Kind: string(e.Kind),
		Status: string(e.StatusAt(now)), Start: e.Start.UTC(), Priority: e.Priority, PowerW: e.Power.Watts(), Level: e.Level, Price: float64(e.Price)}
	if !e.End.IsZero() {
		end := e.End.UTC()
		g.End = &end
	}
	return g
}

// CallRequest is the body of POST /api/v1/grid/calls: an operator's
// curtailment call (ERCOT's voluntary large-flexible-load calls, say).
type CallRequest struct {
	ID     string     `json:"id"`
	Kind   string     `json:"kind"`  // cap (default), target or level
	Start  *time.Time `json:"start"` // default now
	End    *time.Time `json:"end"`   // default open-ended
	MW     *float64   `json:"mw"`
	Level  *int       `json:"level"`
	Reason string     `json:"reason"`
}

func (g *Grid) routes(mux *http.ServeMux, src StatusSource, log *slog.Logger) {
	mux.HandleFunc("GET /api/v1/grid", func(w http.ResponseWriter, r *http.Request) {
		snap := src.Snapshot()
		now := g.Now()
		st := GridStatus{Time: now.UTC(), Events: []GridEvent{}}
		c := snap.Grid
		st.Constraint = GridConstraint{FloorW: c.Floor.Watts(), Events: c.Events, Reason: c.Reason}
		if st.Constraint.Events == nil {
			st.Constraint.Events = []string{}
		}
		if c.HasCap {
			v := c.Cap.Watts()
			st.Constraint.CapW = &v
		}
		if c.HasPrice {
			v := float64(c.Price)
			st.Constraint.Price = &v
		}
		if g.Events != nil {
			for _, e := range g.Events() {
				st.Events = append(st.Events, eventOf(e, now))
			}
		}
		if !snap.Meter.Sample.Time.IsZero() || snap.Meter.Err != "" {
			m := snap.Meter
			st.Meter = &m
		}
		if !snap.Trip.At.IsZero() {
			tr := snap.Trip
			st.Trip = &tr
		}
		if g.Objects != nil {
			objs, err := g.Objects(r.Context(), site.EventCreditsCollection)
			if err != nil {
				writeJSON(w, log, http.StatusInternalServerError, errorBody{Error: "read event credits: " + err.Error()})
				return
			}
			for _, o := range objs {
				st.Credits = append(st.Credits, json.RawMessage(o.Body))
			}
		}
		writeJSON(w, log, http.StatusOK, st)
	})
	mux.HandleFunc("POST /api/v1/grid/calls", func(w http.ResponseWriter, r *http.Request) {
		if g.Calls == nil {
			writeJSON(w, log, http.StatusNotFound, errorBody{Error: "this site takes no operator calls"})
			return
		}
		var req CallRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, log, http.StatusBadRequest, errorBody{Error: "call: " + err.Error()})
			return
		}
		e, err := req.event(g.Now())
		if err != nil {
			writeJSON(w, log, http.StatusBadRequest, errorBody{Error: "call: " + err.Error()})
			return
		}
		added, err := g.Calls.Add(e)
		switch {
		case errors.Is(err, manual.ErrExists):
			writeJSON(w, log, http.StatusConflict, errorBody{Error: err.Error()})
			return
		case err != nil:
			writeJSON(w, log, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		log.Warn("operator curtailment call added", "call", added.Key(), "kind", added.Kind, "from", r.RemoteAddr)
		writeJSON(w, log, http.StatusCreated, eventOf(added, g.Now()))
	})
	mux.HandleFunc("DELETE /api/v1/grid/calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		if g.Calls == nil {
			writeJSON(w, log, http.StatusNotFound, errorBody{Error: "this site takes no operator calls"})
			return
		}
		e, err := g.Calls.Cancel(r.PathValue("id"))
		if errors.Is(err, manual.ErrNotFound) {
			writeJSON(w, log, http.StatusNotFound, errorBody{Error: err.Error()})
			return
		}
		if err != nil {
			writeJSON(w, log, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		log.Warn("operator curtailment call cancelled", "call", e.Key(), "from", r.RemoteAddr)
		writeJSON(w, log, http.StatusOK, eventOf(e, g.Now()))
	})
}

// event turns a call request into a demand event, checking its fields.
func (c CallRequest) event(now time.Time) (demand.Event, error) {
	e := demand.Event{Source: "manual", ID: c.ID, Kind: demand.Kind(c.Kind), Name: c.Reason, Start: now}
	if e.Kind == "" {
		e.Kind = demand.Cap
	}
	if c.Start != nil {
		e.Start = *c.Start
	}
	if c.End != nil {
		e.End = *c.End
	}
	switch e.Kind {
	case demand.Cap, demand.Target:
		if c.MW == nil {
			return e, fmt.Errorf("a %s call needs mw", e.Kind)
		}
		p, err := energy.NewPower("mw", *c.MW*1e6)
		if err != nil {
			return e, err
		}
		e.Power = p
	case demand.Level:
		if c.Level == nil {
			return e, errors.New("a level call needs level (0-3)")
		}
		e.Level = *c.Level
	default:
		return e, fmt.Errorf("kind %q: want cap, target or level", c.Kind)
	}
	return e, nil
}
