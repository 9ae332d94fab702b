package pgtest

import "testing"

// Start gives the test a fresh database of its own and returns its URL:
// on the server E2L_TEST_PG_DSN names when set, else on a server started
// for this test alone. The database, and a server started for it, are
// gone when the test ends, however it ends.
//
// Starting a server takes a second or two: tests of a package that need
// many databases start one Server in TestMain and take a Database each.
func Start(t testing.TB) string {
	t.Helper()
	s, err := StartOrUse("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s.Database(t)
}

// Database creates a fresh database for the test, named after it, and
// returns its URL; it is dropped when the test ends.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name := NewName("e2l_" + t.Name())
	dsn, err := s.CreateDB(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.DropDB(name); err != nil {
			t.Error(err)
		}
	})
	return dsn
}
