package openadr3

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
)

// kind describes one object type to the generic handlers.
type kind[T any] struct {
	objType    ObjectType
	coll       string
	readScope  func(Version) string
	writeScope string
	meta       func(*T) *ObjectMeta
	// parent checks the path's parent object (3.0.1 /vens/{venID}/resources).
	parent func(ctx context.Context, r *http.Request, req *request) error
	// check, if set, runs the checks that go over the network (callback
	// URLs) before the write lock is taken.
	check func(ctx context.Context, obj *T, old *T) error
	// prepare validates a create (old nil) or update body and fills in
	// what the VTN owns (owner, references).
	prepare func(ctx context.Context, r *http.Request, req *request, obj *T, old *T) error
	// view returns what the request may see of obj; with search it also
	// applies the query's filters.
	view func(ctx context.Context, r *http.Request, req *request, obj T, search bool) (T, bool, error)
	// writable reports whether the request may change or delete obj.
	writable func(ctx context.Context, req *request, obj T) (bool, error)
	// programOf is the program obj belongs to ("" for none).
	programOf func(T) string
}

// registerKind serves search and create on path and get, update and
// delete on path/{id}.
func registerKind[T any](vt *VTN, mux *http.ServeMux, v Version, path string, k *kind[T]) {
	read := k.readScope(v)
	vt.handle(mux, path, map[string]http.HandlerFunc{
		http.MethodGet:  vt.authed(v, read, func(w http.ResponseWriter, r *http.Request, req *request) { search(vt, k, w, r, req) }),
		http.MethodPost: vt.authed(v, k.writeScope, func(w http.ResponseWriter, r *http.Request, req *request) { createObj(vt, k, w, r, req) }),
	})
	vt.handle(mux, path+"/{id}", map[string]http.HandlerFunc{
		http.MethodGet:    vt.authed(v, read, func(w http.ResponseWriter, r *http.Request, req *request) { getObj(vt, k, w, r, req) }),
		http.MethodPut:    vt.authed(v, k.writeScope, func(w http.ResponseWriter, r *http.Request, req *request) { updateObj(vt, k, w, r, req) }),
		http.MethodDelete: vt.authed(v, k.writeScope, func(w http.ResponseWriter, r *http.Request, req *request) { deleteObj(vt, k, w, r, req) }),
	})
}

func search[T any](vt *VTN, k *kind[T], w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	if k.parent != nil {
		if err := k.parent(ctx, r, req); err != nil {
			vt.writeErr(w, r, err)
			return
		}
	}
	// Check paging before the work.
	if _, err := page(req.q, []T{}); err != nil {
		vt.writeErr(w, r, err)
		return
	}
	recs, err := loadAll[T](ctx, vt.st, k.coll)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	out := []T{}
	for _, rec := range recs {
		seen, ok, err := k.view(ctx, r, req, rec.Object, true)
		if err != nil {
			vt.writeErr(w, r, err)
			return
		}
		if ok {
			out = append(out, seen)
		}
	}
	out, err = page(req.q, out)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	writeJSON(w, vt.log, http.StatusOK, out)
}

// find loads the object of the path's {id} that the request may see.
func find[T any](vt *VTN, k *kind[T], r *http.Request, req *request) (record[T], error) {
	ctx := r.Context()
	if k.parent != nil {
		if err := k.parent(ctx, r, req); err != nil {
			return record[T]{}, err
		}
	}
	id := r.PathValue("id")
	if err := checkObjectID(id); err != nil {
		return record[T]{}, problemf(http.StatusBadRequest, "%v", err)
	}
	rec, ok, err := loadOne[T](ctx, vt.st, k.coll, id)
	if err != nil {
		return record[T]{}, err
	}
	if ok {
		_, ok, err = k.view(ctx, r, req, rec.Object, false)
		if err != nil {
			return record[T]{}, err
		}
	}
	if !ok {
		return record[T]{}, problemf(http.StatusNotFound, "no %s %s", k.objType, id)
	}
	return rec, nil
}

func getObj[T any](vt *VTN, k *kind[T], w http.ResponseWriter, r *http.Request, req *request) {
	rec, err := find(vt, k, r, req)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	seen, _, err := k.view(r.Context(), r, req, rec.Object, false)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	writeJSON(w, vt.log, http.StatusOK, seen)
}

func createObj[T any](vt *VTN, k *kind[T], w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	if k.parent != nil {
		if err := k.parent(ctx, r, req); err != nil {
			vt.writeErr(w, r, err)
			return
		}
	}
	var obj T
	if err := decodeBody(w, r, &obj); err != nil {
		vt.writeErr(w, r, err)
		return
	}
	if k.check != nil {
		if err := k.check(ctx, &obj, nil); err != nil {
			vt.writeErr(w, r, err)
			return
		}
	}
	vt.mu.Lock()
	if err := k.prepare(ctx, r, req, &obj, nil); err != nil {
		vt.mu.Unlock()
		vt.writeErr(w, r, err)
		return
	}
	m := k.meta(&obj)
	now := DateTimeOf(req.now)
	*m = ObjectMeta{ID: newID(), CreatedDateTime: now, ModificationDateTime: now, ObjectType: k.objType}
	commitObj(vt, k, w, r, req, obj, record[T]{Version: req.v, Object: obj}, OpCreate)
}

// commitObj saves a created or updated object (the caller holds vt.mu,
// which it releases), notifies subscribers and answers with the object as
// the client may see it.
func commitObj[T any](vt *VTN, k *kind[T], w http.ResponseWriter, r *http.Request, req *request, obj T, rec record[T], op Operation) {
	ctx := r.Context()
	id := k.meta(&obj).ID
	err := vt.save(ctx, k.coll, id, rec)
	vt.mu.Unlock()
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	vt.log.Info("openadr3 vtn: "+map[Operation]string{OpCreate: "created", OpUpdate: "updated"}[op], "type", k.objType, "id", id, "client", req.client.ID)
	notifyKind(ctx, vt, k, op, obj)
	seen, _, err := k.view(ctx, r, req, obj, false)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	code := http.StatusOK
	if op == OpCreate {
		code = http.StatusCreated
	}
	writeJSON(w, vt.log, code, seen)
}

func updateObj[T any](vt *VTN, k *kind[T], w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	old, err := find(vt, k, r, req)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	if ok, err := k.writable(ctx, req, old.Object); err != nil || !ok {
		vt.writeErr(w, r, orForbidden(err, "client "+req.client.ID+" may not change this object"))
		return
	}
	var obj T
	if err := decodeBody(w, r, &obj); err != nil {
		vt.writeErr(w, r, err)
		return
	}
	if k.check != nil {
		if err := k.check(ctx, &obj, &old.Object); err != nil {
			vt.writeErr(w, r, err)
			return
		}
	}
	vt.mu.Lock()
	if err := k.prepare(ctx, r, req, &obj, &old.Object); err != nil {
		vt.mu.Unlock()
		vt.writeErr(w, r, err)
		return
	}
	om := k.meta(&old.Object)
	m := k.meta(&obj)
	*m = ObjectMeta{ID: om.ID, CreatedDateTime: om.CreatedDateTime, ModificationDateTime: DateTimeOf(req.now), ObjectType: k.objType}
	commitObj(vt, k, w, r, req, obj, record[T]{Version: old.Version, Object: obj}, OpUpdate)
}

func deleteObj[T any](vt *VTN, k *kind[T], w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	old, err := find(vt, k, r, req)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	if ok, err := k.writable(ctx, req, old.Object); err != nil || !ok {
		vt.writeErr(w, r, orForbidden(err, "client "+req.client.ID+" may not delete this object"))
		return
	}
	seen, _, err := k.view(ctx, r, req, old.Object, false)
	if err != nil {
		vt.writeErr(w, r, err)
		return
	}
	id := k.meta(&old.Object).ID
	if _, err := vt.st.DeleteObject(ctx, k.coll, id); err != nil {
		vt.writeErr(w, r, err)
		return
	}
	vt.log.Info("openadr3 vtn: deleted", "type", k.objType, "id", id, "client", req.client.ID)
	notifyKind(ctx, vt, k, OpDelete, old.Object)
	writeJSON(w, vt.log, http.StatusOK, seen)
}

func orForbidden(err error, detail string) error {
	if err != nil {
		return err
	}
	return problemf(http.StatusForbidden, "%s", detail)
}

// notifyKind queues a notification of op on obj for every subscription
// that asks for it and whose client may see obj (as that client would,
// in the subscription's version, with its targets as the filter).
func notifyKind[T any](ctx context.Context, vt *VTN, k *kind[T], op Operation, obj T) {
	subs, err := loadAll[Subscription](ctx, vt.st, CollSubscriptions)
	if err != nil {
		vt.log.Error("openadr3 vtn: notify: load subscriptions", "err", err)
		return
	}
	prog := ""
	if k.programOf != nil {
		prog = k.programOf(obj)
	}
	for _, rec := range subs {
		sub := rec.Object
		c := vt.clients[sub.ClientID]
		if c == nil || (sub.ProgramID != "" && prog != "" && sub.ProgramID != prog) {
			continue
		}
		req := &request{v: rec.Version, client: c, now: vt.clk.Now()}
		if sub.Targets.Len() > 0 {
			req.targets = sub.Targets.Pairs()
		}
		var body []byte
		for _, oo := range sub.ObjectOperations {
			if !slices.Contains(oo.Objects, k.objType) || !slices.Contains(oo.Operations, op) {
				continue
			}
			if body == nil {
				seen, ok, err := k.view(ctx, nil, req, obj, true)
				if err != nil {
					vt.log.Error("openadr3 vtn: notify", "subscription", sub.ID, "err", err)
					break
				}
				if !ok {
					break
				}
				raw, err := json.Marshal(seen)
				if err != nil {
					vt.log.Error("openadr3 vtn: notify: encode", "err", err)
					break
				}
				body, err = json.Marshal(Notification{ObjectType: k.objType, Operation: NotificationOperation(rec.Version, op), Object: raw})
				if err != nil {
					vt.log.Error("openadr3 vtn: notify: encode", "err", err)
					break
				}
			}
			vt.enqueue(delivery{subID: sub.ID, url: oo.CallbackURL, bearer: oo.BearerToken, body: body, due: vt.clk.Now()})
		}
	}
}
