package query

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Open bounds of the queries.
const (
	MaxSeq  = ^uint64(0)
	MaxTime = int64(^uint64(0) >> 1)
)

// paged calls fn with its arguments followed by PageSize and a bookmark
// until a page comes back empty or without a bookmark, handing every item
// decode finds in a page to each.
func paged[T any](ctx context.Context, c *Client, fn string, args []string, decode func([]byte) ([]T, string, error), each func(T) error) error {
	bookmark := ""
	for {
		b, err := c.evaluate(ctx, c.cfg.Chaincode, fn, append(args[:len(args):len(args)], strconv.Itoa(PageSize), bookmark)...)
		if err != nil {
			return err
		}
		items, next, err := decode(b)
		if err != nil {
			return fmt.Errorf("%s: decode page: %w", fn, err)
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return err
			}
		}
		if next == "" || len(items) == 0 {
			return nil
		}
		bookmark = next
	}
}

type page struct {
	Records  []audit.Stored `json:"records"`
	Bookmark string         `json:"bookmark"`
}

func decodeRecords(b []byte) ([]audit.Stored, string, error) {
	var p page
	err := json.Unmarshal(b, &p)
	return p.Records, p.Bookmark, err
}

// pages hands every record of fn's pages to each.
func (c *Client) pages(ctx context.Context, fn string, args []string, each func(audit.Stored) error) error {
	return paged(ctx, c, fn, args, decodeRecords, each)
}

// Chain hands the host's records with from <= seq <= to to each, in seq
// order.
func (c *Client) Chain(ctx context.Context, host string, from, to uint64, each func(audit.Stored) error) error {
	return c.pages(ctx, "QueryChain", []string{host, strconv.FormatUint(from, 10), strconv.FormatUint(to, 10)}, each)
}

// ChainRecords returns the host's records with seq in [from, to], in seq
// order, every page read.
func (c *Client) ChainRecords(ctx context.Context, host string, from, to uint64) ([]audit.Stored, error) {
	var recs []audit.Stored
	if err := c.Chain(ctx, host, from, to, func(st audit.Stored) error {
		recs = append(recs, st)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("chain of %s: %w", host, err)
	}
	return recs, nil
}

// Timeline hands a container's or service's records (its events, and
// snapshots listing the container) to each, in time order. The ledger keeps
// no index by actor (StateLayout 3): this reads every host's chain, which
// the audit index (internal/index) avoids.
func (c *Client) Timeline(ctx context.Context, actor string, each func(audit.Stored) error) error {
	return c.scan(ctx, func(r *record.Record) bool { return about(r, actor) }, each)
}

// ByType hands the records of a Docker event type (and action, all when
// empty) or record kind with from <= time <= to to each, in time order. Like
// Timeline it reads every host's chain.
func (c *Client) ByType(ctx context.Context, typ, action string, from, to int64, each func(audit.Stored) error) error {
	return c.scan(ctx, func(r *record.Record) bool {
		if r.Time < from || r.Time > to {
			return false
		}
		if r.Kind != record.KindEvent {
			return string(r.Kind) == typ && action == ""
		}
		return r.Event.Type == typ && (action == "" || r.Event.Action == action)
	}, each)
}

// about says whether r is about actor: an event of it, or a snapshot
// listing it.
func about(r *record.Record, actor string) bool {
	switch r.Kind {
	case record.KindEvent:
		return r.Event.Actor == actor
	case record.KindSnapshot:
		for _, ctr := range r.Snapshot.Containers {
			if ctr.ID == actor {
				return true
			}
		}
	}
	return false
}

// scan reads every host's chain and hands the records keep accepts to each
// in time order (then host, then seq). A record that does not decode is
// handed on: the caller's verification names it.
func (c *Client) scan(ctx context.Context, keep func(*record.Record) bool, each func(audit.Stored) error) error {
	hs, err := c.Hosts(ctx)
	if err != nil {
		return err
	}
	type hit struct {
		st   audit.Stored
		time int64
		host string
		seq  uint64
	}
	var hits []hit
	for _, h := range hs {
		if err := c.Chain(ctx, h.Host, 1, MaxSeq, func(st audit.Stored) error {
			r, err := record.DecodeRecord(st.Record)
			if err != nil {
				host, seq := st.Claimed()
				hits = append(hits, hit{st: st, host: host, seq: seq})
				return nil
			}
			if keep(&r) {
				hits = append(hits, hit{st: st, time: r.Time, host: r.Host, seq: r.Seq})
			}
			return nil
		}); err != nil {
			return fmt.Errorf("chain of %s: %w", h.Host, err)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.time != b.time {
			return a.time < b.time
		}
		if a.host != b.host {
			return a.host < b.host
		}
		return a.seq < b.seq
	})
	for _, h := range hits {
		if err := each(h.st); err != nil {
			return err
		}
	}
	return nil
}

// Record returns the stored record with this ID, ErrNotFound when the
// ledger has none.
func (c *Client) Record(ctx context.Context, id string) (audit.Stored, error) {
	b, err := c.evaluate(ctx, c.cfg.Chaincode, "GetRecord", id)
	if err != nil {
		return audit.Stored{}, err
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		return audit.Stored{}, fmt.Errorf("GetRecord: decode: %w", err)
	}
	if len(p.Records) == 0 {
		return audit.Stored{}, fmt.Errorf("record %s on channel %s: %w", id, c.cfg.Channel, ErrNotFound)
	}
	return p.Records[0], nil
}

// Host is one host of the host registry: every host that may write
// records (RecordEvents refuses an unregistered one).
type Host struct {
	Host      string
	MSP       string
	SwarmRole string
}

// Hosts lists every registered host, in name order.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	reg, err := c.Registry(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Host, 0, len(reg))
	for _, r := range reg {
		out = append(out, Host{Host: r.Host, MSP: r.MSP, SwarmRole: r.SwarmRole})
	}
	return out, nil
}

// HostRegistration returns the host registry's entry of a host (GetHost).
// An unregistered host is the chaincode's refusal not-registered, returned
// as a *CallError.
func (c *Client) HostRegistration(ctx context.Context, host string) (wire.HostRegistration, error) {
	b, err := c.evaluate(ctx, c.cfg.Chaincode, "GetHost", host)
	if err != nil {
		return wire.HostRegistration{}, err
	}
	var reg wire.HostRegistration
	if err := json.Unmarshal(b, &reg); err != nil {
		return wire.HostRegistration{}, fmt.Errorf("GetHost: decode: %w", err)
	}
	return reg, nil
}

// Registry lists the host registry (ListRegistry), every page read, in
// host name order.
func (c *Client) Registry(ctx context.Context) ([]wire.HostRegistration, error) {
	var out []wire.HostRegistration
	err := paged(ctx, c, "ListRegistry", nil, func(b []byte) ([]wire.HostRegistration, string, error) {
		var p wire.RegistryPage
		err := json.Unmarshal(b, &p)
		return p.Hosts, p.Bookmark, err
	}, func(h wire.HostRegistration) error {
		out = append(out, h)
		return nil
	})
	return out, err
}
