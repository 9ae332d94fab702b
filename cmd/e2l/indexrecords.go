package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/record"
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

// usageInputs is what usage needs of every host, from the index without
// reading every record: container events from their columns (their JSON
// only when grouping by label), gap records, and the holes of each chain
// (missing seqs, broken links, records with verification errors), each
// from the time of the last trusted record before it to the next after it.
func (s indexRecords) usageInputs(ctx context.Context, needLabels bool) ([]audit.UsageInput, error) {
	hosts, err := s.st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	problems, err := s.st.ChainProblems(ctx, "")
	if err != nil {
		return nil, err
	}
	type span struct{ from, to uint64 }
	untrusted := map[string][]span{}
	for _, p := range problems {
		untrusted[p.Host] = append(untrusted[p.Host], span{p.From, p.To})
	}
	findings, err := s.st.Findings(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		if f.Severity != "error" || f.RecordID == "" || f.Host == "" {
			continue
		}
		recs, err := s.st.Record(ctx, f.RecordID)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Host == f.Host {
				untrusted[r.Host] = append(untrusted[r.Host], span{r.Seq, r.Seq})
			}
		}
	}
	timeAt := func(host string, seq uint64, none int64) (int64, error) {
		if seq == 0 {
			return none, nil
		}
		rows, err := s.st.ChainRecords(ctx, host, seq, seq)
		if err != nil || len(rows) == 0 {
			return none, err
		}
		return rows[0].Time, nil
	}
	var out []audit.UsageInput
	for _, h := range hosts {
		if h.Records == 0 {
			continue
		}
		in := audit.UsageInput{Host: h.Host, LastTime: h.LastTime}
		if in.FirstTime, err = timeAt(h.Host, h.FirstSeq, 0); err != nil {
			return nil, err
		}
		for _, sp := range untrusted[h.Host] {
			from, err := timeAt(h.Host, sp.from-1, 0)
			if err != nil {
				return nil, err
			}
			to, err := timeAt(h.Host, sp.to+1, int64(^uint64(0)>>1))
			if err != nil {
				return nil, err
			}
			in.Holes = append(in.Holes, audit.TimeRange{From: from, To: to})
		}
		err := s.st.Records(ctx, index.Query{Host: h.Host, Kind: string(record.KindGap), OrderBy: index.BySlot}, func(r index.Record) error {
			st, err := stored(r)
			if err != nil {
				return err
			}
			rec, err := record.DecodeRecord(st.Record)
			if err != nil || rec.Gap == nil {
				return nil // an untrusted record: a hole above
			}
			in.Gaps = append(in.Gaps, audit.TimeRange{From: rec.Gap.From, To: rec.Gap.To})
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = s.st.Records(ctx, index.Query{Host: h.Host, Type: "container", Kind: string(record.KindEvent), OrderBy: index.BySlot}, func(r index.Record) error {
			if !needLabels {
				in.Events = append(in.Events, record.Record{Kind: record.KindEvent, Host: r.Host, Seq: r.Seq, Time: r.Time,
					Event: &record.Event{Type: r.Type, Action: r.Action, Actor: r.Actor, Scope: r.Scope, TimeNano: r.Time,
						Attrs: record.Attributes{Name: r.Name, ServiceName: r.Service}}})
				return nil
			}
			st, err := stored(r)
			if err != nil {
				return err
			}
			rec, err := record.DecodeRecord(st.Record)
			if err != nil {
				return nil
			}
			in.Events = append(in.Events, rec)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}
