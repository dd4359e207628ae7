package openadr3

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

func readScope(targeted bool) func(Version) string {
	return func(v Version) string {
		switch {
		case v == V301:
			return scopeReadAll
		case targeted:
			return scopeReadTargets
		}
		return scopeReadVenObjects
	}
}

func blOnly(_ context.Context, req *request, _ any) (bool, error) { return req.bl(), nil }

// queryMatch reports whether a search filter param is absent or equal to s.
func queryMatch(q url.Values, key, s string) bool {
	want := q.Get(key)
	return want == "" || want == s
}

// applyTargets sets what a view shows of targets.
func applyTargets(t *Targets, v Version, shown []Target) {
	if t.IsZero() {
		return
	}
	*t = TargetsOf(v, shown)
}

func (vt *VTN) programKind() *kind[Program] {
	return &kind[Program]{
		objType: ObjectProgram, coll: CollPrograms, readScope: readScope(true), writeScope: scopeWritePrograms,
		meta: func(p *Program) *ObjectMeta { return &p.ObjectMeta },
		prepare: func(ctx context.Context, _ *http.Request, req *request, p *Program, old *Program) error {
			if err := checkName("programName", p.ProgramName); err != nil {
				return err
			}
			if err := p.Targets.Check(req.v); err != nil {
				return problemf(http.StatusBadRequest, "%v", err)
			}
			if err := checkPeriod(req.v, p.IntervalPeriod, "intervalPeriod"); err != nil {
				return err
			}
			if err := checkDuration(p.TimeZoneOffset, "timeZoneOffset"); err != nil {
				return err
			}
			if err := checkDescriptors(req.v, p.PayloadDescriptors, EventPayloadDescriptor, ReportPayloadDescriptor); err != nil {
				return err
			}
			all, err := loadAll[Program](ctx, vt.st, CollPrograms)
			if err != nil {
				return err
			}
			for _, rec := range all {
				if rec.Object.ProgramName == p.ProgramName && (old == nil || rec.Object.ID != old.ID) {
					return problemf(http.StatusConflict, "program %q exists (id %s)", p.ProgramName, rec.Object.ID)
				}
			}
			return nil
		},
		view: func(ctx context.Context, _ *http.Request, req *request, p Program, search bool) (Program, bool, error) {
			var filter []Target
			if search {
				filter = req.targets
			}
			ok, shown, err := vt.targetedView(ctx, req, p.Targets.Pairs(), filter)
			if !ok || err != nil {
				return Program{}, false, err
			}
			applyTargets(&p.Targets, req.v, shown)
			return p, true, nil
		},
		writable:  func(ctx context.Context, req *request, p Program) (bool, error) { return blOnly(ctx, req, p) },
		programOf: func(p Program) string { return p.ID },
	}
}

func (vt *VTN) eventKind() *kind[Event] {
	return &kind[Event]{
		objType: ObjectEvent, coll: CollEvents, readScope: readScope(true), writeScope: scopeWriteEvents,
		meta: func(e *Event) *ObjectMeta { return &e.ObjectMeta },
		prepare: func(ctx context.Context, _ *http.Request, req *request, e *Event, _ *Event) error {
			if _, err := vt.program(ctx, e.ProgramID); err != nil {
				return err
			}
			if req.v == V301 && e.Intervals == nil {
				return problemf(http.StatusBadRequest, "intervals: required")
			}
			if req.v == V301 && e.Duration != "" {
				return problemf(http.StatusBadRequest, "duration: not part of 3.0.1")
			}
			if e.Priority != nil && *e.Priority < 0 {
				return problemf(http.StatusBadRequest, "priority %d: must not be negative", *e.Priority)
			}
			if err := e.Targets.Check(req.v); err != nil {
				return problemf(http.StatusBadRequest, "%v", err)
			}
			if err := checkPeriod(req.v, e.IntervalPeriod, "intervalPeriod"); err != nil {
				return err
			}
			if err := checkDuration(e.Duration, "duration"); err != nil {
				return err
			}
			if err := checkDescriptors(req.v, e.PayloadDescriptors, EventPayloadDescriptor); err != nil {
				return err
			}
			for i, d := range e.ReportDescriptors {
				if err := checkName(fmt.Sprintf("reportDescriptors[%d].payloadType", i), d.PayloadType); err != nil {
					return err
				}
				if err := d.Targets.Check(req.v); err != nil {
					return problemf(http.StatusBadRequest, "reportDescriptors[%d]: %v", i, err)
				}
			}
			if err := checkIntervals(req.v, e.Intervals, "intervals"); err != nil {
				return err
			}
			if _, err := Resolve(*e, Timing{Now: req.now}); err != nil {
				return problemf(http.StatusBadRequest, "%v", err)
			}
			return nil
		},
		view: func(ctx context.Context, _ *http.Request, req *request, e Event, search bool) (Event, bool, error) {
			var filter []Target
			if search {
				filter = req.targets
				if !queryMatch(req.q, "programID", e.ProgramID) {
					return Event{}, false, nil
				}
				if req.v == V310 && req.q.Get("active") == "true" {
					res, err := Resolve(e, Timing{Now: req.now})
					if err == nil && len(res.Spans) > 0 && !res.End.IsZero() && !res.End.After(req.now) {
						return Event{}, false, nil
					}
				}
			}
			ok, shown, err := vt.targetedView(ctx, req, e.Targets.Pairs(), filter)
			if !ok || err != nil {
				return Event{}, false, err
			}
			applyTargets(&e.Targets, req.v, shown)
			for i := range e.ReportDescriptors {
				e.ReportDescriptors[i].Targets = e.ReportDescriptors[i].Targets.For(req.v)
			}
			if e.Intervals == nil {
				e.Intervals = []Interval{}
			}
			return e, true, nil
		},
		writable:  func(ctx context.Context, req *request, e Event) (bool, error) { return blOnly(ctx, req, e) },
		programOf: func(e Event) string { return e.ProgramID },
	}
}

func (vt *VTN) reportKind() *kind[Report] {
	return &kind[Report]{
		objType: ObjectReport, coll: CollReports, readScope: readScope(false), writeScope: scopeWriteReports,
		meta: func(r *Report) *ObjectMeta { return &r.ObjectMeta },
		prepare: func(ctx context.Context, _ *http.Request, req *request, r *Report, old *Report) error {
			if err := checkRef("eventID", r.EventID); err != nil {
				return err
			}
			if req.v == V301 && r.ProgramID == "" {
				return problemf(http.StatusBadRequest, "programID: required")
			}
			ev, ok, err := loadOne[Event](ctx, vt.st, CollEvents, r.EventID)
			if err != nil {
				return err
			}
			if !ok {
				return problemf(http.StatusConflict, "eventID %s: no such event", r.EventID)
			}
			if r.ProgramID != "" && r.ProgramID != ev.Object.ProgramID {
				return problemf(http.StatusBadRequest, "programID %s: event %s is of program %s", r.ProgramID, r.EventID, ev.Object.ProgramID)
			}
			r.ProgramID = ev.Object.ProgramID
			if err := checkName("clientName", r.ClientName); err != nil {
				return err
			}
			if r.Resources == nil {
				return problemf(http.StatusBadRequest, "resources: required")
			}
			for i, res := range r.Resources {
				if err := checkName(fmt.Sprintf("resources[%d].resourceName", i), res.ResourceName); err != nil {
					return err
				}
				if res.Intervals == nil {
					return problemf(http.StatusBadRequest, "resources[%d].intervals: required", i)
				}
				if err := checkPeriod(req.v, res.IntervalPeriod, fmt.Sprintf("resources[%d].intervalPeriod", i)); err != nil {
					return err
				}
				if err := checkIntervals(req.v, res.Intervals, fmt.Sprintf("resources[%d].intervals", i)); err != nil {
					return err
				}
			}
			if err := checkDescriptors(req.v, r.PayloadDescriptors, ReportPayloadDescriptor); err != nil {
				return err
			}
			r.ClientID = req.client.ID
			if old != nil {
				r.ClientID = old.ClientID
			}
			return nil
		},
		view: func(_ context.Context, _ *http.Request, req *request, r Report, search bool) (Report, bool, error) {
			if !req.bl() && r.ClientID != req.client.ID {
				return Report{}, false, nil
			}
			if search && !(queryMatch(req.q, "programID", r.ProgramID) && queryMatch(req.q, "eventID", r.EventID) && queryMatch(req.q, "clientName", r.ClientName)) {
				return Report{}, false, nil
			}
			if r.Resources == nil {
				r.Resources = []ReportResource{}
			}
			return r, true, nil
		},
		writable: func(_ context.Context, req *request, r Report) (bool, error) {
			return req.bl() || r.ClientID == req.client.ID, nil
		},
		programOf: func(r Report) string { return r.ProgramID },
	}
}

func (vt *VTN) subscriptionKind() *kind[Subscription] {
	return &kind[Subscription]{
		objType: ObjectSubscription, coll: CollSubscriptions, readScope: readScope(false), writeScope: scopeWriteSubscriptions,
		meta: func(s *Subscription) *ObjectMeta { return &s.ObjectMeta },
		prepare: func(ctx context.Context, _ *http.Request, req *request, s *Subscription, old *Subscription) error {
			if err := checkName("clientName", s.ClientName); err != nil {
				return err
			}
			if req.v == V301 && s.ProgramID == "" {
				return problemf(http.StatusBadRequest, "programID: required")
			}
			if s.ProgramID != "" {
				if _, err := vt.program(ctx, s.ProgramID); err != nil {
					return err
				}
			}
			if err := s.Targets.Check(req.v); err != nil {
				return problemf(http.StatusBadRequest, "%v", err)
			}
			if s.ObjectOperations == nil {
				return problemf(http.StatusBadRequest, "objectOperations: required")
			}
			for i, oo := range s.ObjectOperations {
				if err := vt.checkObjectOperation(oo); err != nil {
					return problemf(http.StatusBadRequest, "objectOperations[%d]: %v", i, err)
				}
			}
			s.ClientID = req.client.ID
			if old != nil {
				s.ClientID = old.ClientID
			}
			return nil
		},
		check: func(ctx context.Context, s *Subscription, old *Subscription) error {
			for i, oo := range s.ObjectOperations {
				if err := vt.checkObjectOperation(oo); err != nil {
					return problemf(http.StatusBadRequest, "objectOperations[%d]: %v", i, err)
				}
				if err := vt.checkCallback(ctx, oo, old); err != nil {
					return problemf(http.StatusBadRequest, "objectOperations[%d]: %v", i, err)
				}
			}
			return nil
		},
		view: func(_ context.Context, _ *http.Request, req *request, s Subscription, search bool) (Subscription, bool, error) {
			if !req.bl() && s.ClientID != req.client.ID {
				return Subscription{}, false, nil
			}
			if req.v == V301 && s.ProgramID == "" {
				return Subscription{}, false, nil // not representable in 3.0.1
			}
			if search {
				if !(queryMatch(req.q, "programID", s.ProgramID) && queryMatch(req.q, "clientName", s.ClientName)) {
					return Subscription{}, false, nil
				}
				if objs := req.q["objects"]; len(objs) > 0 && !slices.ContainsFunc(s.ObjectOperations, func(oo ObjectOperation) bool {
					return slices.ContainsFunc(oo.Objects, func(o ObjectType) bool { return slices.Contains(objs, string(o)) })
				}) {
					return Subscription{}, false, nil
				}
				if req.targets != nil && !match(s.Targets.Pairs(), req.targets) {
					return Subscription{}, false, nil
				}
			}
			s.Targets = s.Targets.For(req.v)
			return s, true, nil
		},
		writable: func(_ context.Context, req *request, s Subscription) (bool, error) {
			return req.bl() || s.ClientID == req.client.ID, nil
		},
		programOf: func(s Subscription) string { return s.ProgramID },
	}
}

func (vt *VTN) venKind() *kind[Ven] {
	return &kind[Ven]{
		objType: ObjectVEN, coll: CollVens, readScope: readScope(false), writeScope: scopeWriteVens,
		meta: func(v *Ven) *ObjectMeta { return &v.ObjectMeta },
		prepare: func(ctx context.Context, _ *http.Request, req *request, v *Ven, old *Ven) error {
			if err := checkName("venName", v.VenName); err != nil {
				return err
			}
			if req.v == V310 {
				switch v.ObjectType {
				case VenVenRequest:
				case BlVenRequest:
					if v.ClientID == "" {
						return problemf(http.StatusBadRequest, "clientID: required in a %s", BlVenRequest)
					}
				default:
					return problemf(http.StatusBadRequest, "objectType %q: want %s or %s", v.ObjectType, VenVenRequest, BlVenRequest)
				}
			}
			if err := v.Targets.Check(req.v); err != nil {
				return problemf(http.StatusBadRequest, "%v", err)
			}
			c := req.client
			v.Resources = nil
			if !req.bl() {
				if c.VENName != "" && v.VenName != c.VENName {
					return problemf(http.StatusForbidden, "client %s may only register venName %q", c.ID, c.VENName)
				}
				v.ClientID = c.ID
				v.Targets = Targets{} // only business logic grants targets
				if old != nil {
					v.Targets = old.Targets
				}
			}
			all, err := loadAll[Ven](ctx, vt.st, CollVens)
			if err != nil {
				return err
			}
			for _, rec := range all {
				if rec.Object.VenName == v.VenName && (old == nil || rec.Object.ID != old.ID) {
					status := http.StatusConflict
					if req.v == V310 && old == nil {
						status = http.StatusBadRequest // createVen defines no 409
					}
					return problemf(status, "venName %q exists (id %s)", v.VenName, rec.Object.ID)
				}
			}
			return nil
		},
		view: func(_ context.Context, _ *http.Request, req *request, v Ven, search bool) (Ven, bool, error) {
			if !req.bl() && !ownsVen(req.client, v) {
				return Ven{}, false, nil
			}
			if search {
				if !queryMatch(req.q, "venName", v.VenName) || (req.targets != nil && !match(v.Targets.Pairs(), req.targets)) {
					return Ven{}, false, nil
				}
			}
			v.Targets = v.Targets.For(req.v)
			return v, true, nil
		},
		writable: func(_ context.Context, req *request, v Ven) (bool, error) {
			return req.bl() || ownsVen(req.client, v), nil
		},
	}
}

func (vt *VTN) resourceKind() *kind[Resource] {
	// pathVen is the 3.0.1 path's {venID} ("" in 3.1.0 and for notifications).
	pathVen := func(r *http.Request, req *request) string {
		if r == nil || req.v != V301 {
			return ""
		}
		return r.PathValue("venID")
	}
	return &kind[Resource]{
		objType: ObjectResource, coll: CollResources, readScope: readScope(false), writeScope: scopeWriteVens,
		meta: func(r *Resource) *ObjectMeta { return &r.ObjectMeta },
		parent: func(ctx context.Context, r *http.Request, req *request) error {
			id := pathVen(r, req)
			if id == "" {
				return nil
			}
			_, err := vt.venFor(ctx, req, id, http.StatusNotFound)
			return err
		},
		prepare: func(ctx context.Context, r *http.Request, req *request, res *Resource, old *Resource) error {
			if err := checkName("resourceName", res.ResourceName); err != nil {
				return err
			}
			if req.v == V310 {
				switch res.ObjectType {
				case VenResourceRequest, BlResourceRequest:
				default:
					return problemf(http.StatusBadRequest, "objectType %q: want %s or %s", res.ObjectType, VenResourceRequest, BlResourceRequest)
				}
				if err := checkRef("venID", res.VenID); err != nil {
					return err
				}
			} else {
				res.VenID = pathVen(r, req)
			}
			if err := res.Targets.Check(req.v); err != nil {
				return problemf(http.StatusBadRequest, "%v", err)
			}
			ven, err := vt.venFor(ctx, req, res.VenID, http.StatusConflict)
			if err != nil {
				return err
			}
			if !req.bl() {
				res.Targets = Targets{} // only business logic grants targets
				if old != nil {
					res.Targets = old.Targets
				}
			}
			res.ClientID = ven.ClientID
			if res.ClientID == "" && !req.bl() {
				res.ClientID = req.client.ID
			}
			all, err := loadAll[Resource](ctx, vt.st, CollResources)
			if err != nil {
				return err
			}
			for _, rec := range all {
				o := rec.Object
				if o.VenID == res.VenID && o.ResourceName == res.ResourceName && (old == nil || o.ID != old.ID) {
					return problemf(http.StatusConflict, "ven %s already has resource %q", res.VenID, res.ResourceName)
				}
			}
			return nil
		},
		view: func(ctx context.Context, r *http.Request, req *request, res Resource, search bool) (Resource, bool, error) {
			if pv := pathVen(r, req); pv != "" && res.VenID != pv {
				return Resource{}, false, nil
			}
			if !req.bl() {
				ids, err := vt.venIDsOf(ctx, req)
				if err != nil {
					return Resource{}, false, err
				}
				if res.ClientID != req.client.ID && !ids[res.VenID] {
					return Resource{}, false, nil
				}
			}
			if search {
				if !queryMatch(req.q, "resourceName", res.ResourceName) || !queryMatch(req.q, "venID", res.VenID) ||
					(req.targets != nil && !match(res.Targets.Pairs(), req.targets)) {
					return Resource{}, false, nil
				}
			}
			res.Targets = res.Targets.For(req.v)
			return res, true, nil
		},
		writable: func(ctx context.Context, req *request, res Resource) (bool, error) {
			if req.bl() || res.ClientID == req.client.ID {
				return true, nil
			}
			ids, err := vt.venIDsOf(ctx, req)
			return ids[res.VenID], err
		},
	}
}

// program loads a referenced program: 409 if there is none.
func (vt *VTN) program(ctx context.Context, id string) (Program, error) {
	if err := checkRef("programID", id); err != nil {
		return Program{}, err
	}
	rec, ok, err := loadOne[Program](ctx, vt.st, CollPrograms, id)
	if err != nil {
		return Program{}, err
	}
	if !ok {
		return Program{}, problemf(http.StatusConflict, "programID %s: no such program", id)
	}
	return rec.Object, nil
}

// venFor loads a ven the request may use: missing answers missing, a ven
// of another VEN client 403.
func (vt *VTN) venFor(ctx context.Context, req *request, id string, missing int) (Ven, error) {
	if err := checkRef("venID", id); err != nil {
		return Ven{}, err
	}
	rec, ok, err := loadOne[Ven](ctx, vt.st, CollVens, id)
	if err != nil {
		return Ven{}, err
	}
	if !ok {
		return Ven{}, problemf(missing, "venID %s: no such ven", id)
	}
	if !req.bl() && !ownsVen(req.client, rec.Object) {
		return Ven{}, problemf(http.StatusForbidden, "ven %s is not client %s's", id, req.client.ID)
	}
	return rec.Object, nil
}

func checkName(what, s string) error {
	if s == "" || len(s) > 128 {
		return problemf(http.StatusBadRequest, "%s: required, 1 to 128 characters", what)
	}
	return nil
}

func checkRef(what, id string) error {
	if id == "" {
		return problemf(http.StatusBadRequest, "%s: required", what)
	}
	if err := checkObjectID(id); err != nil {
		return problemf(http.StatusBadRequest, "%s: %v", what, err)
	}
	return nil
}

func checkDuration(d Duration, what string) error {
	if d == "" {
		return nil
	}
	if _, err := d.Parse(); err != nil {
		return problemf(http.StatusBadRequest, "%s: %v", what, err)
	}
	return nil
}

func checkPeriod(v Version, ip *IntervalPeriod, what string) error {
	if ip == nil {
		return nil
	}
	if ip.Start == "" && v == V301 {
		return problemf(http.StatusBadRequest, "%s.start: required", what)
	}
	if ip.Start != "" {
		if _, _, err := ip.Start.Parse(); err != nil {
			return problemf(http.StatusBadRequest, "%s.start: %v", what, err)
		}
	}
	if err := checkDuration(ip.Duration, what+".duration"); err != nil {
		return err
	}
	return checkDuration(ip.RandomizeStart, what+".randomizeStart")
}

func checkIntervals(v Version, ivs []Interval, what string) error {
	for i, iv := range ivs {
		w := what + "[" + strconv.Itoa(i) + "]"
		if iv.Payloads == nil {
			return problemf(http.StatusBadRequest, "%s.payloads: required", w)
		}
		if err := checkPeriod(v, iv.IntervalPeriod, w+".intervalPeriod"); err != nil {
			return err
		}
		for j, p := range iv.Payloads {
			if err := checkName(fmt.Sprintf("%s.payloads[%d].type", w, j), p.Type); err != nil {
				return err
			}
			if p.Values == nil {
				return problemf(http.StatusBadRequest, "%s.payloads[%d].values: required", w, j)
			}
		}
	}
	return nil
}

// checkDescriptors checks payload descriptors: a payloadType each and, in
// 3.1.0 (which requires it), an objectType among allowed.
func checkDescriptors(v Version, ds []PayloadDescriptor, allowed ...ObjectType) error {
	for i, d := range ds {
		if err := checkName(fmt.Sprintf("payloadDescriptors[%d].payloadType", i), d.PayloadType); err != nil {
			return err
		}
		if d.ObjectType == "" && v == V301 {
			continue
		}
		if !slices.Contains(allowed, d.ObjectType) {
			return problemf(http.StatusBadRequest, "payloadDescriptors[%d].objectType %q: want one of %v", i, d.ObjectType, allowed)
		}
	}
	return nil
}
