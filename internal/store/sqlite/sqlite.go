// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite: pure Go, no cgo), the default store of a single-site
// gridminer.
//
// The database runs in WAL mode with a busy timeout and foreign keys on.
// Writes go through one connection (so writers in this process queue in Go
// rather than fail with SQLITE_BUSY) and reads through a small pool of
// read-only connections. The schema is created and upgraded by versioned
// migrations embedded in the binary (table schema_version); a database
// written by a newer gridminer is refused with ErrSchemaTooNew.
//
// Storage: times are Unix nanoseconds (so only 1678–2262 can be stored),
// durations nanoseconds, money integer micro-dollars, bitcoin integer
// millisatoshis, a decision's setpoints one compact JSON array. Reads return
// times in UTC.
//
// It does not prune old telemetry, and it is not meant for several sites
// sharing one database (that is the PostgreSQL store's job).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/gridminer/gridminer/internal/store"
)

// ErrSchemaTooNew is returned by Open for a database whose schema version is
// newer than this build knows.
var ErrSchemaTooNew = errors.New("database schema is newer than this gridminer supports")

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for another process's lock.
const busyTimeout = 10 * time.Second

// Store is a store.Store on SQLite. It is safe for concurrent use.
type Store struct {
	path   string
	writer *sql.DB // one connection: all writes
	reader *sql.DB // read-only connections

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the database at path and migrates it to
// the current schema. The path ":memory:" opens a private in-memory database.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open sqlite store: empty path")
	}
	s := &Store{path: path}
	var err error
	if path == ":memory:" {
		// Every connection to :memory: is a different database: use one.
		s.writer, err = sql.Open("sqlite", dsn(path, false))
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
		s.writer.SetMaxOpenConns(1)
		s.reader = s.writer
	} else {
		s.writer, err = sql.Open("sqlite", dsn(path, false))
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
		s.writer.SetMaxOpenConns(1)
		s.reader, err = sql.Open("sqlite", dsn(path, true))
		if err != nil {
			s.writer.Close()
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
		s.reader.SetMaxOpenConns(4)
	}
	s.writer.SetMaxIdleConns(1)
	if err := migrate(ctx, s.writer, migrations); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return s, nil
}

// dsn returns the driver data source name for path: WAL, busy timeout,
// foreign keys, and BEGIN IMMEDIATE so a write transaction takes the write
// lock up front (waiting out other processes) instead of failing midway.
func dsn(path string, readOnly bool) string {
	q := "_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)"
	if path != ":memory:" {
		q += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	if readOnly {
		q += "&_pragma=query_only(1)"
	} else {
		q += "&_txlock=immediate"
	}
	// A "file:" URI lets any path through: escape what a URI would parse.
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	return "file:" + esc + "?" + q
}

// Close checkpoints the write-ahead log into the database file and closes
// the store. Calls after the first return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.path != ":memory:" {
			ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
			if _, err := s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				errs = append(errs, fmt.Errorf("checkpoint: %w", err))
			}
			cancel()
		}
		if err := s.closeDBs(); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close sqlite store %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}

// SchemaVersion returns the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.reader.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite store %s: schema version: %w", s.path, err)
	}
	return v, nil
}

var migrationName = regexp.MustCompile(`^([0-9]+)_[a-z0-9_]+\.sql$`)

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/NNNN_name.sql from fsys; versions must run
// 1, 2, 3… without gaps or repeats.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	ents, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range ents {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", e.Name())
		}
		v, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("migration %q: version: %w", e.Name(), err)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: version %d, want %d (versions run 1, 2, 3… without gaps)", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrate brings db to the newest schema in fsys in one transaction.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT"); err != nil {
		return fmt.Errorf("migrate: create schema_version: %w", err)
	}
	var cur int
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*), coalesce(max(version), 0) FROM schema_version").Scan(&n, &cur); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if n > 1 {
		return fmt.Errorf("migrate: schema_version has %d rows, want 1", n)
	}
	if cur > len(ms) {
		return fmt.Errorf("migrate: database is at schema version %d, this build knows up to %d: %w", cur, len(ms), ErrSchemaTooNew)
	}
	if cur == len(ms) {
		return nil
	}
	for _, m := range ms[cur:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
	}
	if n == 0 {
		_, err = tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?)", len(ms))
	} else {
		_, err = tx.ExecContext(ctx, "UPDATE schema_version SET version = ?", len(ms))
	}
	if err != nil {
		return fmt.Errorf("migrate: set schema version %d: %w", len(ms), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}

// Times are stored as Unix nanoseconds, which span 1677-09-21 to 2262-04-11.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos returns t as Unix nanoseconds, or an error naming what when t is
// outside the storable range.
func nanos(what string, t time.Time) (int64, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%s %s: outside the storable range 1678–2262", what, t.UTC().Format(time.RFC3339Nano))
	}
	return t.UnixNano(), nil
}

// boundNanos returns a query bound as Unix nanoseconds, clamped to the
// storable range (so the zero time.Time means "from the beginning").
func boundNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }
