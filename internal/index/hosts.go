package index

import (
	"context"
	"database/sql"
	"fmt"
)

// HostSummary is one host as the index knows it: its registry entry, if
// any, and the extent of its chain.
type HostSummary struct {
	Host string
	// MSP is the registry entry's organisation, or, for a host without
	// one, the MSP that signed its last record.
	MSP        string
	SwarmRole  string // the registry entry's, "" without one
	Registered bool   // the host has a registry entry (Entry)
	Records    int64  // records in the index
	// FirstSeq and LastSeq are the lowest and highest seq indexed (0 with
	// no records); LastTime is the time of the record at LastSeq.
	FirstSeq, LastSeq uint64
	LastTime          int64
	LastHeartbeat     *Heartbeat // nil when the host has none
	Entry             []byte     // the current registry entry as written
}

// Heartbeat is a host's heartbeat record, by its place and time.
type Heartbeat struct {
	Seq  uint64
	Time int64
}

// hostsQuery reads every host with records or a registry entry with a
// few lookups per host, however many records it has: its chain's extent
// from chains (which Apply keeps), the last record by its key, the last
// heartbeat from the (host, kind, seq) index.
const hostsQuery = `WITH names AS (
	SELECT host FROM chains UNION SELECT host FROM hosts
), beats AS (
	SELECT n.host, (SELECT MAX(x.seq) FROM records x WHERE x.host = n.host AND x.kind = 'heartbeat') AS seq FROM names n
)
SELECT n.host, h.host IS NOT NULL, COALESCE(h.msp, last.msp, ''), COALESCE(h.swarm_role, ''), h.entry,
	COALESCE(c.records, 0), COALESCE(c.first_seq, 0), COALESCE(c.last_seq, 0), COALESCE(last.time, 0), hb.seq, hb.time
FROM names n
LEFT JOIN hosts h ON h.host = n.host
LEFT JOIN chains c ON c.host = n.host
LEFT JOIN records last ON last.host = n.host AND last.seq = c.last_seq
LEFT JOIN beats b ON b.host = n.host
LEFT JOIN records hb ON hb.host = n.host AND hb.seq = b.seq
ORDER BY n.host`

// Hosts returns every host that has records or a registry entry, by name
// (byte order). It costs a few index lookups per host, however many
// records the index holds: the counts and seq bounds come from the chains
// table that Apply keeps with the records.
func (s *Store) Hosts(ctx context.Context) ([]HostSummary, error) {
	rows, err := s.db.QueryContext(ctx, hostsQuery)
	if err != nil {
		return nil, fmt.Errorf("index: hosts: %w", err)
	}
	defer rows.Close()
	var out []HostSummary
	for rows.Next() {
		var (
			h                 HostSummary
			first, last       int64
			beatSeq, beatTime sql.NullInt64
		)
		if err := rows.Scan(&h.Host, &h.Registered, &h.MSP, &h.SwarmRole, &h.Entry, &h.Records, &first, &last,
			&h.LastTime, &beatSeq, &beatTime); err != nil {
			return nil, fmt.Errorf("index: hosts: %w", err)
		}
		h.FirstSeq, h.LastSeq, h.Entry = uint64(first), uint64(last), nilIfEmpty(h.Entry)
		if beatSeq.Valid {
			h.LastHeartbeat = &Heartbeat{Seq: uint64(beatSeq.Int64), Time: beatTime.Int64}
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: hosts: %w", err)
	}
	return out, nil
}
