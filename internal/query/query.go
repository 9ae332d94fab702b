package query

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/e2l-project/e2l/internal/audit"
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

// Timeline hands a container's or service's records to each, in time order.
func (c *Client) Timeline(ctx context.Context, actor string, each func(audit.Stored) error) error {
	return c.pages(ctx, "QueryTimeline", []string{actor}, each)
}

// ByType hands the records of a Docker event type (and action, all when
// empty) or record kind with from <= time <= to to each, in time order.
func (c *Client) ByType(ctx context.Context, typ, action string, from, to int64, each func(audit.Stored) error) error {
	return c.pages(ctx, "QueryByType", []string{typ, action, strconv.FormatInt(from, 10), strconv.FormatInt(to, 10)}, each)
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

// Host is one host of ListHosts.
type Host = wire.HostInfo

// Hosts lists every host that wrote records, in name order.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	var out []Host
	err := paged(ctx, c, "ListHosts", nil, func(b []byte) ([]Host, string, error) {
		var p wire.HostPage
		err := json.Unmarshal(b, &p)
		return p.Hosts, p.Bookmark, err
	}, func(h Host) error {
		out = append(out, h)
		return nil
	})
	return out, err
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
