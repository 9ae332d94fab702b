package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/query"
)

// indexRecords answers the record queries of events, timeline, hosts and
// usage from the audit index, as the ledger's records (audit.Stored, the
// value the transaction wrote, byte for byte).
type indexRecords struct {
	st *index.Store
}

func stored(r index.Record) (audit.Stored, error) {
	var st audit.Stored
	if err := json.Unmarshal(r.Stored, &st); err != nil {
		return st, fmt.Errorf("index row of host %s seq %d: %w", r.Host, r.Seq, err)
	}
	return st, nil
}

func (s indexRecords) each(ctx context.Context, q index.Query, each func(audit.Stored) error) error {
	return s.st.Records(ctx, q, func(r index.Record) error {
		st, err := stored(r)
		if err != nil {
			return err
		}
		return each(st)
	})
}

// Chain hands the host's records with from <= seq <= to to each, in seq
// order.
func (s indexRecords) Chain(ctx context.Context, host string, from, to uint64, each func(audit.Stored) error) error {
	return s.each(ctx, index.Query{Host: host, FromSeq: from, ToSeq: to, OrderBy: index.BySlot}, each)
}

// ChainRecords returns the host's records with seq in [from, to].
func (s indexRecords) ChainRecords(ctx context.Context, host string, from, to uint64) ([]audit.Stored, error) {
	var out []audit.Stored
	err := s.Chain(ctx, host, from, to, func(st audit.Stored) error {
		out = append(out, st)
		return nil
	})
	return out, err
}

// Timeline hands a container's or service's records (its events, and
// snapshots listing the container) to each, in time order.
func (s indexRecords) Timeline(ctx context.Context, actor string, each func(audit.Stored) error) error {
	return s.each(ctx, index.Query{Actor: actor, OrderBy: index.ByTime}, each)
}

// ByType hands the records of an event type (and action) or record kind
// with from <= time <= to to each, in time order.
func (s indexRecords) ByType(ctx context.Context, typ, action string, from, to int64, each func(audit.Stored) error) error {
	q := index.Query{Type: typ, Action: action, Since: from, OrderBy: index.ByTime}
	if to != query.MaxTime {
		q.Until = to
	}
	return s.each(ctx, q, each)
}

// Hosts lists every host the index knows (with records or a registry
// entry), in name order.
func (s indexRecords) Hosts(ctx context.Context) ([]query.Host, error) {
	hs, err := s.st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]query.Host, 0, len(hs))
	for _, h := range hs {
		out = append(out, query.Host{Host: h.Host, MSP: h.MSP, SwarmRole: h.SwarmRole})
	}
	return out, nil
}
