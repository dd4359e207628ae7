package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gridminer/gridminer/internal/store"
)

// PutObject inserts or replaces a document, keeping its place and creation
// time when it replaces one.
func (s *Store) PutObject(ctx context.Context, collection, id string, body []byte, now time.Time) error {
	if err := store.CheckObject(collection, id, body); err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	at, err := nanos("time", now)
	if err != nil {
		return fmt.Errorf("put object %s/%s: %w", collection, id, err)
	}
	if _, err := s.writer.ExecContext(ctx,
		`INSERT INTO objects (collection, id, body, created_ns, updated_ns) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body, updated_ns = excluded.updated_ns`,
		collection, id, string(body), at, at); err != nil {
		return fmt.Errorf("put object %s/%s: %w", collection, id, err)
	}
	return nil
}

// Object returns one document.
func (s *Store) Object(ctx context.Context, collection, id string) (store.Object, bool, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT body, created_ns, updated_ns FROM objects WHERE collection = ? AND id = ?`, collection, id)
	o := store.Object{Collection: collection, ID: id}
	var body string
	var created, updated int64
	if err := row.Scan(&body, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return store.Object{}, false, nil
		}
		return store.Object{}, false, fmt.Errorf("object %s/%s: %w", collection, id, err)
	}
	o.Body, o.Created, o.Updated = []byte(body), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return o, true, nil
}

// Objects returns a collection in insertion order.
func (s *Store) Objects(ctx context.Context, collection string) ([]store.Object, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, body, created_ns, updated_ns FROM objects WHERE collection = ? ORDER BY seq`, collection)
	if err != nil {
		return nil, fmt.Errorf("objects %s: %w", collection, err)
	}
	defer rows.Close()
	var out []store.Object
	for rows.Next() {
		o := store.Object{Collection: collection}
		var body string
		var created, updated int64
		if err := rows.Scan(&o.ID, &body, &created, &updated); err != nil {
			return nil, fmt.Errorf("objects %s: %w", collection, err)
		}
		o.Body, o.Created, o.Updated = []byte(body), time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("objects %s: %w", collection, err)
	}
	return out, nil
}

// DeleteObject removes a document.
func (s *Store) DeleteObject(ctx context.Context, collection, id string) (bool, error) {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM objects WHERE collection = ? AND id = ?`, collection, id)
	if err != nil {
		return false, fmt.Errorf("delete object %s/%s: %w", collection, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete object %s/%s: %w", collection, id, err)
	}
	return n > 0, nil
}
