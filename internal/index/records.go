package index

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Order is the order in which Records hands out records.
type Order int

const (
	// ByTime orders by the record's time, then host and seq: a timeline.
	ByTime Order = iota
	// BySlot orders by host, then seq: each host's chain in turn.
	BySlot
)

// Query selects records for Records. Zero fields select everything; set
// fields must all match.
type Query struct {
	Host  string
	Actor string // a container or service the record is about (Record.Actors)
	// Type matches records whose event type or kind is Type, as the
	// ledger's query by type does: "container" finds container events,
	// "heartbeat" finds heartbeats.
	Type   string
	Action string
	Kind   string
	// Since and Until bound the record's time (unix ns), both inclusive;
	// 0 leaves that end open.
	Since, Until int64
	// FromSeq and ToSeq bound the seq, both inclusive; 0 leaves that end
	// open.
	FromSeq, ToSeq uint64
	EventID        string
	Block          *uint64 // the records of one block
	Limit          int     // at most this many records; 0: all of them
	OrderBy        Order
}

// Records hands each record q selects to each, in q.OrderBy's order,
// while reading them: a large result is never held in memory. An error
// each returns ends the query and is returned as it is.
func (s *Store) Records(ctx context.Context, q Query, each func(Record) error) error {
	if q.Limit < 0 {
		return errors.New("index: records: negative limit")
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Host != "" {
		where = append(where, "r.host = "+arg(q.Host))
	}
	if q.Actor != "" {
		// Through record_actors' (actor, time) index.
		sub := "a.actor = " + arg(q.Actor)
		if q.Since != 0 {
			sub += " AND a.time >= " + arg(q.Since)
		}
		if q.Until != 0 {
			sub += " AND a.time <= " + arg(q.Until)
		}
		where = append(where, "(r.host, r.seq) IN (SELECT a.host, a.seq FROM record_actors a WHERE "+sub+")")
	}
	if q.Type != "" {
		p := arg(q.Type)
		where = append(where, "(r.type = "+p+" OR r.kind = "+p+")")
	}
	if q.Action != "" {
		where = append(where, "r.action = "+arg(q.Action))
	}
	if q.Kind != "" {
		where = append(where, "r.kind = "+arg(q.Kind))
	}
	if q.Since != 0 {
		where = append(where, "r.time >= "+arg(q.Since))
	}
	if q.Until != 0 {
		where = append(where, "r.time <= "+arg(q.Until))
	}
	if q.FromSeq != 0 {
		where = append(where, "r.seq >= "+arg(sqlUint(q.FromSeq)))
	}
	if q.ToSeq != 0 {
		where = append(where, "r.seq <= "+arg(sqlUint(q.ToSeq)))
	}
	if q.EventID != "" {
		where = append(where, "r.event_id = "+arg(q.EventID))
	}
	if q.Block != nil {
		where = append(where, "r.block = "+arg(sqlUint(*q.Block)))
	}
	query := s.recordSelect()
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	switch q.OrderBy {
	case ByTime:
		query += " ORDER BY r.time, r.host, r.seq"
	case BySlot:
		query += " ORDER BY r.host, r.seq"
	default:
		return fmt.Errorf("index: records: unknown order %d", q.OrderBy)
	}
	if q.Limit > 0 {
		query += " LIMIT " + arg(int64(q.Limit))
	}
	var eachErr error
	err := s.eachRecord(ctx, query, args, func(r Record) error {
		if err := each(r); err != nil {
			eachErr = err
			return err
		}
		return nil
	})
	if err != nil && eachErr == nil {
		return fmt.Errorf("index: records: %w", err)
	}
	return err
}
