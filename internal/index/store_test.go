package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/e2l-project/e2l/internal/testkit/pgtest"
)

// pg is the PostgreSQL server of this package's tests: started once in
// TestMain (or E2L_TEST_PG_DSN's), a database per test.
var pg *pgtest.Server

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	srv, err := pgtest.StartOrUse("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	pg = srv
	return m.Run()
}

// databases are the two kinds of index every store test runs against;
// each gives the test a new, empty one.
var databases = []struct {
	name string
	dsn  func(t testing.TB) string
}{
	{DialectSQLite, func(t testing.TB) string { return filepath.Join(t.TempDir(), "index.db") }},
	{DialectPostgres, func(t testing.TB) string { return pg.Database(t) }},
}

// forEachDSN runs test once per database, as a subtest named after it,
// with the DSN of a new, empty index.
func forEachDSN(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Helper()
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) { test(t, db.dsn(t)) })
	}
}

// forEachDB runs test once per database with a new, empty, open index.
func forEachDB(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	forEachDSN(t, func(t *testing.T, dsn string) { test(t, openStore(t, dsn)) })
}

func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func mustApply(t testing.TB, s *Store, updates ...Update) {
	t.Helper()
	if err := s.Apply(context.Background(), updates); err != nil {
		t.Fatal(err)
	}
}
