package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Actors returns the IDs of the containers and services named name, or
// whose ID starts with name when it is at least minPrefix characters long,
// in the order they first appear (names are reused: every ID that carried
// the name is returned). Name lookups use the name column of event
// records; ID prefixes the actor column.
func (s *Store) Actors(ctx context.Context, name string, minPrefix int) ([]string, error) {
	if name == "" {
		return nil, errors.New("index: actors: empty name")
	}
	q, args := actorsQuery(name, minPrefix)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("index: actors named %s: %w", name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		var first int64
		if err := rows.Scan(&id, &first); err != nil {
			return nil, fmt.Errorf("index: actors named %s: %w", name, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: actors named %s: %w", name, err)
	}
	return out, nil
}

// RecordedTwice returns the records whose ID is held by more than one
// chain slot, grouped by ID, by ID then host and seq. The chaincode writes
// each slot once but, to read one key per record, does not look an ID up
// across slots: a host that records one Docker event at two places of its
// chain is seen here.
func (s *Store) RecordedTwice(ctx context.Context) ([][]Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM records GROUP BY id HAVING COUNT(*) > 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("index: records recorded twice: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("index: records recorded twice: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("index: records recorded twice: %w", err)
	}
	rows.Close()
	out := make([][]Record, 0, len(ids))
	for _, id := range ids {
		recs, err := s.Record(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, recs)
	}
	return out, nil
}

// Redact is dsn as it may be shown: a PostgreSQL URL without its password
// (in the URL or as a parameter); a SQLite path as it is.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return redactURL(dsn)
	}
	return dsn
}

// actorsQuery is Actors' query. Each half is a range of one index
// (migration 0003's, record_actors'), not a pass over every record: an OR
// of the two was one (TestActorsReadNoRecordsPass).
func actorsQuery(name string, minPrefix int) (string, []any) {
	q := `SELECT actor, MIN(time) AS first FROM (
	SELECT actor, time FROM records WHERE kind = 'event' AND name = $1 AND type IN ('container', 'service')`
	args := []any{name}
	if utf8.RuneCountInString(name) >= minPrefix {
		q += `
	UNION ALL
	SELECT a.actor, a.time FROM record_actors a WHERE a.actor >= $1 AND a.actor < $2 AND EXISTS (
		SELECT 1 FROM records r WHERE r.host = a.host AND r.seq = a.seq AND r.kind = 'event' AND r.type IN ('container', 'service'))`
		args = append(args, name+string(utf8.MaxRune))
	}
	q += `
) named GROUP BY actor ORDER BY first, actor`
	return q, args
}
