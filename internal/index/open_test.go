package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrationsAreNumberedFromOneWithoutGaps(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %d (%s) has number %d", i+1, m.name, m.version)
		}
		for _, d := range []*dialect{sqliteDialect, postgresDialect} {
			if sql := d.types.Replace(m.sql); strings.Contains(sql, "{{") {
				t.Errorf("migration %d leaves a type token the %s dialect does not replace", m.version, d.name)
			}
		}
	}
	if SchemaVersion() != len(ms) {
		t.Errorf("SchemaVersion() = %d, want %d", SchemaVersion(), len(ms))
	}
}

func TestOpenMakesASQLiteFileAndItsDirectories(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, dsn, file string
	}{
		{"a plain path", filepath.Join(dir, "a", "b", "index.db"), filepath.Join(dir, "a", "b", "index.db")},
		{"a path prefixed with sqlite:", "sqlite:" + filepath.Join(dir, "c", "index.db"), filepath.Join(dir, "c", "index.db")},
		{"a path with characters a URI escapes", filepath.Join(dir, "d ?#%", "index.db"), filepath.Join(dir, "d ?#%", "index.db")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, tt.dsn)
			if _, err := os.Stat(tt.file); err != nil {
				t.Fatalf("no index file: %v", err)
			}
			if s.Dialect() != DialectSQLite || s.DSN() != "sqlite:"+tt.file {
				t.Errorf("Dialect, DSN = %q, %q; want sqlite, sqlite:%s", s.Dialect(), s.DSN(), tt.file)
			}
		})
	}
}

func TestPostgresURLsAreRedactedForLogs(t *testing.T) {
	tests := []struct {
		name, dsn, want string
	}{
		{"a password in the user information", "postgres://e2l:s3cret@db:5432/e2l?sslmode=require", "postgres://e2l:xxxxx@db:5432/e2l?sslmode=require"},
		{"a password parameter", "postgresql://e2l@db/e2l?password=s3cret&sslmode=disable", "postgresql://e2l@db/e2l?password=xxxxx&sslmode=disable"},
		{"no password", "postgres://e2l@db/e2l", "postgres://e2l@db/e2l"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactURL(tt.dsn); got != tt.want {
				t.Errorf("redactURL(%q) = %q, want %q", tt.dsn, got, tt.want)
			}
		})
	}
	t.Run("a server's error names the URL without its password", func(t *testing.T) {
		_, err := Open(t.Context(), "postgres://e2l:s3cret@127.0.0.1:1/e2l?connect_timeout=2")
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open of an unreachable server: %v", err)
		}
	})
}

func TestOpenIsIdempotent(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		s := openStore(t, dsn)
		if s.Dialect() != databaseOf(t) {
			t.Errorf("Dialect() = %q", s.Dialect())
		}
		fx := fixture()
		mustApply(t, s, fx[:2]...)
		for range 2 {
			again := openStore(t, dsn)
			next, state, err := again.Head(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if next != 2 || string(state) != "state after 1" {
				t.Errorf("after reopening: Head = %d, %q; want 2, %q", next, state, "state after 1")
			}
			var versions, max int
			if err := again.db.QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&versions, &max); err != nil {
				t.Fatal(err)
			}
			if versions != SchemaVersion() || max != SchemaVersion() {
				t.Errorf("schema_migrations has %d versions up to %d, want %d", versions, max, SchemaVersion())
			}
		}
	})
}

func TestAnIndexOfANewerSchemaIsRefused(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		s := openStore(t, dsn)
		newer := SchemaVersion() + 1
		if _, err := s.db.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, newer); err != nil {
			t.Fatal(err)
		}
		_, err := Open(t.Context(), dsn)
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Fatalf("Open of an index of schema %d: %v, want ErrSchemaTooNew", newer, err)
		}
		if want := fmt.Sprintf("schema version %d", newer); !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
}

// databaseOf is the dialect a forEachDSN/forEachDB subtest runs against.
func databaseOf(t *testing.T) string { return filepath.Base(t.Name()) }
