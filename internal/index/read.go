package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
)

// recordColumns are a record's columns in scanRecord's order, from
// records r; the record's actors follow as a JSON array (recordSelect).
const recordColumns = `r.host, r.seq, r.id, r.hash, r.prev_hash, r.kind, r.time, r.event_id, r.scope, r.type,
	r.action, r.actor, r.name, r.service, r.msp, r.cert_sha256, r.tx_id, r.tx_time, r.block, r.tx_index, r.stored`

// recordSelect is the SELECT … FROM records r that every record query
// starts with.
func (s *Store) recordSelect() string {
	return "SELECT " + recordColumns + ", (SELECT " + s.d.jsonArray +
		"(a.actor ORDER BY a.ord) FROM record_actors a WHERE a.host = r.host AND a.seq = r.seq) FROM records r"
}

// scanRecord reads one row of recordSelect. Empty byte strings and actor
// lists read back as nil (see RowsDigest).
func scanRecord(rows *sql.Rows) (Record, error) {
	var (
		r                   Record
		seq, block, txIndex int64
		actors              sql.NullString
	)
	err := rows.Scan(&r.Host, &seq, &r.ID, &r.Hash, &r.PrevHash, &r.Kind, &r.Time, &r.EventID, &r.Scope, &r.Type,
		&r.Action, &r.Actor, &r.Name, &r.Service, &r.MSP, &r.CertSHA256, &r.TxID, &r.TxTime, &block, &txIndex,
		&r.Stored, &actors)
	if err != nil {
		return Record{}, err
	}
	r.Seq, r.Block, r.TxIndex = uint64(seq), uint64(block), int(txIndex)
	r.Stored = nilIfEmpty(r.Stored)
	if actors.Valid {
		if err := json.Unmarshal([]byte(actors.String), &r.Actors); err != nil {
			return Record{}, fmt.Errorf("actors of record %s/%d: %w", r.Host, r.Seq, err)
		}
		if len(r.Actors) == 0 {
			r.Actors = nil
		}
	}
	return r, nil
}

// eachRecord runs a record query and hands each record to each, in the
// query's order. each's error ends the query and is returned as it is.
func (s *Store) eachRecord(ctx context.Context, query string, args []any, each func(Record) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := each(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// records runs a record query and returns its records.
func (s *Store) records(ctx context.Context, query string, args ...any) ([]Record, error) {
	var out []Record
	err := s.eachRecord(ctx, query, args, func(r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// sqlUint is a bound for a query on a column that holds at most
// MaxInt64: larger values are that.
func sqlUint(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
