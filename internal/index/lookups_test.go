package index

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestActors(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		mustApply(t, s, fixture()...)
		tests := []struct {
			name      string
			minPrefix int
			want      []string
		}{
			{"web." + hostAlpha, 4, []string{"c-" + hostAlpha}},
			{"web", 4, []string{"svc-1"}}, // the service's events carry its name
			{"c-" + hostBeta[:2], 4, []string{"c-" + hostBeta}},
			{"c-" + hostBeta[:2], 10, nil}, // too short a prefix: names only
			{"nobody", 4, nil},
		}
		for _, tc := range tests {
			got, err := s.Actors(t.Context(), tc.name, tc.minPrefix)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Actors(%q, %d) = %v, want %v", tc.name, tc.minPrefix, got, tc.want)
			}
		}
		if _, err := s.Actors(t.Context(), "", 4); err == nil {
			t.Error("an empty name is not refused")
		}
	})
}

func TestRecordedTwice(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		mustApply(t, s, fixture()...)
		got, err := s.RecordedTwice(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0]) != 2 || got[0][0].Seq != 8 || got[0][1].Seq != 9 || got[0][0].Host != hostBeta {
			t.Fatalf("recorded twice: %+v, want beta's seq 8 and 9", got)
		}
	})
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://e2l:secret@db:5432/e2l":              "postgres://e2l:xxxxx@db:5432/e2l",
		"postgresql://e2l@db/e2l?password=secret&x=1":    "postgresql://e2l@db/e2l?password=xxxxx&x=1",
		"/home/auditor/.cache/e2l/index-e2l-0123abcd.db": "/home/auditor/.cache/e2l/index-e2l-0123abcd.db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// Actors' query ranges over indexes: on SQLite its plan searches, and never
// scans records (a pass over every record with its stored bytes, whose
// time grew with the index). The ID-prefix half drives from
// record_actors' actor index.
func TestActorsReadNoRecordsPass(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "index.db"))
	mustApply(t, s, fixture()...)
	for _, minPrefix := range []int{4, 100} {
		q, args := actorsQuery("web-1", minPrefix)
		rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "\n")
		if !strings.Contains(all, "USING INDEX records_event_names") || strings.Contains(all, "SCAN records") || strings.Contains(all, "SCAN r ") {
			t.Errorf("minPrefix %d: plan\n%s", minPrefix, all)
		}
		if minPrefix == 4 && !strings.Contains(all, "SEARCH a USING INDEX record_actors_actor_time") {
			t.Errorf("the ID-prefix half does not range over record_actors' actor index:\n%s", all)
		}
	}
}
