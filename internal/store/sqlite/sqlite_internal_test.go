package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gridminer/gridminer/internal/energy"
	"github.com/gridminer/gridminer/internal/ledger"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/store"
)

func openTemp(t *testing.T, name string) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	return s, path
}

func telemetryRows(n int, at time.Time) []store.Telemetry {
	rows := make([]store.Telemetry, n)
	for i := range rows {
		rows[i] = store.Telemetry{
			MinerID: fmt.Sprintf("m%05d", i),
			Status: miner.Status{
				Time: at, State: miner.StateMining, Power: 3250, PowerTarget: 3250, Profile: "default",
				Hashrate: 110.5, HashrateAvg: 110, TempMaxC: 68, FanRPM: []int{5400, 5420, 5380, 5410},
				Boards: 3, BoardsActive: 3, Uptime: time.Duration(i) * time.Second, Accepted: uint64(i), Rejected: 1,
			},
		}
	}
	return rows
}

func TestReopenKeepsDataAndVersion(t *testing.T) {
	s, path := openTemp(t, "g.db")
	ctx := t.Context()
	e, err := ledger.Settle(ledger.Usage{Interval: energy.IntervalOf(time.Unix(1_720_000_800, 0), 15*time.Minute), Energy: 750_000}, 40, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutLedger(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Close checkpointed the WAL into the main file.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("WAL is %d bytes after Close, want 0 (checkpointed)", fi.Size())
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2; v != want { // 0001_init, 0002_objects
		t.Errorf("schema version = %d, want %d", v, want)
	}
	got, err := s.Ledger(ctx, time.Time{}, time.Now().AddDate(100, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ledger.Entry{e}, got); diff != "" {
		t.Errorf("ledger after reopen mismatch (-want +got):\n%s", diff)
	}
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.writer.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t, "g.db")
	if _, err := s.writer.ExecContext(t.Context(), "UPDATE schema_version SET version = 99"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(t.Context(), path)
	if !errors.Is(err, ErrSchemaTooNew) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open of a version-99 database: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrate(t *testing.T) {
	ok1 := &fstest.MapFile{Data: []byte("CREATE TABLE a (x INTEGER);")}
	ok2 := &fstest.MapFile{Data: []byte("CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (7);")}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		wantErr bool
	}{
		{"two steps", fstest.MapFS{"migrations/0001_a.sql": ok1, "migrations/0002_b.sql": ok2}, false},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": ok1, "migrations/0003_b.sql": ok2}, true},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": ok1, "migrations/1_b.sql": ok2}, true},
		{"bad name", fstest.MapFS{"migrations/0001_a.sql": ok1, "migrations/two.sql": ok2}, true},
		{"bad sql", fstest.MapFS{"migrations/0001_a.sql": &fstest.MapFile{Data: []byte("CREATE TABL x;")}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh database whose schema_version is dropped: migrate starts at 0.
			fresh, err := Open(t.Context(), ":memory:")
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			if _, err := fresh.writer.ExecContext(t.Context(), "DROP TABLE schema_version"); err != nil {
				t.Fatal(err)
			}
			err = migrate(t.Context(), fresh.writer, tt.fsys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("migrate error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			var y, v int
			if err := fresh.writer.QueryRowContext(t.Context(), "SELECT y FROM b").Scan(&y); err != nil || y != 7 {
				t.Errorf("migration 2 data = %d, %v; want 7", y, err)
			}
			if err := fresh.writer.QueryRowContext(t.Context(), "SELECT version FROM schema_version").Scan(&v); err != nil || v != 2 {
				t.Errorf("schema version = %d, %v; want 2", v, err)
			}
			// Migrating again is a no-op.
			if err := migrate(t.Context(), fresh.writer, tt.fsys); err != nil {
				t.Errorf("second migrate: %v", err)
			}
		})
	}
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "g.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not created at %q: %v", path, err)
	}
}

func TestOpenRejects(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "no", "such", "dir", "g.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// TestTelemetryBatchSizes covers the multi-row insert's full batches and
// remainder around the batch size.
func TestTelemetryBatchSizes(t *testing.T) {
	s, _ := openTemp(t, "g.db")
	defer s.Close()
	ctx := t.Context()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range []int{1, telemetryBatch - 1, telemetryBatch, telemetryBatch + 1, 3*telemetryBatch + 5} {
		rows := telemetryRows(n, at.Add(time.Duration(i)*time.Minute))
		if err := s.AddTelemetry(ctx, rows); err != nil {
			t.Fatalf("AddTelemetry(%d rows): %v", n, err)
		}
		last := rows[n-1]
		got, err := s.Telemetry(ctx, last.MinerID, last.Status.Time, last.Status.Time.Add(1))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]store.Telemetry{last}, got); diff != "" {
			t.Errorf("%d rows: last row mismatch (-want +got):\n%s", n, diff)
		}
	}
	var count int
	if err := s.reader.QueryRowContext(ctx, "SELECT count(*) FROM telemetry").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if want := 1 + 63 + 64 + 65 + 197; count != want {
		t.Errorf("rows stored = %d, want %d", count, want)
	}
}

func TestTimeOutOfRange(t *testing.T) {
	s, _ := openTemp(t, "g.db")
	defer s.Close()
	rows := telemetryRows(1, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := s.AddTelemetry(t.Context(), rows); err == nil {
		t.Error("AddTelemetry accepted a time in 2300")
	}
}

func BenchmarkAddTelemetry10k(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := telemetryRows(10_000, at)
	for b.Loop() {
		if err := s.AddTelemetry(b.Context(), rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/row")
}

func BenchmarkDecision10kSetpoints(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	sps := make([]store.Setpoint, 10_000)
	for i := range sps {
		sps[i] = store.Setpoint{MinerID: fmt.Sprintf("m%05d", i), Mode: miner.ModeRun, Power: 3250}
	}
	i := 0
	for b.Loop() {
		d := store.Decision{Time: at.Add(time.Duration(i) * time.Minute), Interval: energy.IntervalOf(at, 15*time.Minute), Policy: "p", Setpoints: sps}
		i++
		if err := s.AddDecision(b.Context(), d); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.LatestDecision(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
