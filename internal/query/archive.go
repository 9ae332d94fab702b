package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/wire"
)

// Selection says which records an archive holds: one host's (every
// host's when Host is empty), within a sequence range or a time window.
type Selection struct {
	Host           string
	FromSeq, ToSeq uint64 // 0: open ends
	Since, Until   int64  // unix ns, 0: open ends; not with a sequence range
	// Progress, when set, is told how many of the selected records have
	// their block fetched, after each block fetched.
	Progress func(done, total int)
}

// Archive collects the evidence for verify and export: the selected
// records, the blocks of their transactions and every configuration block.
// A time window selects, per host, the stretch of its chain from the first
// record at or after Since to the last at or before Until (the whole chain
// is read to find it).
func (c *Client) Archive(ctx context.Context, sel Selection, now time.Time) (*audit.Archive, error) {
	byTime := sel.Since != 0 || sel.Until != 0
	if byTime && (sel.FromSeq != 0 || sel.ToSeq != 0) {
		return nil, errors.New("select records by sequence numbers or by time, not both")
	}
	from, to := sel.FromSeq, sel.ToSeq
	if to == 0 {
		to = MaxSeq
	}
	if from == 0 {
		from = 1
	}
	a := &audit.Archive{Version: audit.ArchiveVersion, Channel: c.cfg.Channel, Chaincode: c.cfg.Chaincode, Created: now.UTC(), Host: sel.Host,
		Since: sel.Since, Until: sel.Until}
	if from > 1 {
		a.FromSeq = from
	}
	if to != MaxSeq {
		a.ToSeq = to
	}
	hosts := []string{sel.Host}
	if sel.Host == "" {
		hs, err := c.Hosts(ctx)
		if err != nil {
			return nil, err
		}
		hosts = hosts[:0]
		for _, h := range hs {
			hosts = append(hosts, h.Host)
		}
	}
	for _, h := range hosts {
		recs, err := c.ChainRecords(ctx, h, from, to)
		if err != nil {
			return nil, err
		}
		if byTime {
			var first uint64
			if recs, first = audit.Window(recs, sel.Since, sel.Until); recs == nil {
				continue
			}
			if a.HostFrom == nil {
				a.HostFrom = map[string]uint64{}
			}
			a.HostFrom[h] = first
		}
		a.Records = append(a.Records, recs...)
	}
	bs := blockSet{seen: map[string]bool{}, numbers: map[uint64]bool{}}
	for i, st := range a.Records {
		fetched := len(a.Blocks)
		if err := bs.add(ctx, c, st.TxID, a); err != nil {
			return nil, err
		}
		if sel.Progress != nil && (len(a.Blocks) > fetched || i == len(a.Records)-1) {
			sel.Progress(i+1, len(a.Records))
		}
	}
	regs, err := c.registryOf(ctx, a.Records)
	if err != nil {
		return nil, err
	}
	a.Hosts = regs
	for _, reg := range regs {
		for _, h := range reg.History {
			if err := bs.add(ctx, c, h.TxID, a); err != nil {
				return nil, fmt.Errorf("host registry of %s: %w", reg.Host, err)
			}
		}
		if err := bs.add(ctx, c, reg.TxID, a); err != nil {
			return nil, fmt.Errorf("host registry of %s: %w", reg.Host, err)
		}
	}
	cfgs, err := c.ConfigBlocks(ctx)
	if err != nil {
		return nil, fmt.Errorf("configuration blocks: %w", err)
	}
	a.ConfigBlocks = cfgs
	return a, nil
}

// registryOf returns the host registry's entries of the hosts of recs, in
// host name order; a host the registry does not hold has none (verification
// says so). The registry is read whole (ListRegistry: one small entry per
// host), which spares telling "not registered" from other failures of a
// per-host GetHost.
func (c *Client) registryOf(ctx context.Context, recs []audit.Stored) ([]wire.HostRegistration, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	for _, st := range recs {
		h, _ := st.Claimed()
		want[h] = true
	}
	all, err := c.Registry(ctx)
	if err != nil {
		return nil, fmt.Errorf("host registry: %w", err)
	}
	var out []wire.HostRegistration
	for _, reg := range all {
		if want[reg.Host] {
			out = append(out, reg)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out, nil
}

// blockSet adds to an archive the blocks of transactions, each block once.
type blockSet struct {
	seen    map[string]bool // transactions of the blocks added
	numbers map[uint64]bool // blocks added
}

// add adds the block of transaction txID (qscc GetBlockByTxID) unless it
// is in already.
func (s *blockSet) add(ctx context.Context, c *Client, txID string, a *audit.Archive) error {
	if txID == "" || s.seen[txID] {
		return nil
	}
	raw, err := c.BlockByTxID(ctx, txID)
	if err != nil {
		return fmt.Errorf("block of transaction %s: %w", txID, err)
	}
	b, err := audit.ParseBlock(raw)
	if err != nil {
		return fmt.Errorf("block of transaction %s: %w", txID, err)
	}
	s.seen[txID] = true
	for _, tx := range b.Txs {
		s.seen[tx.ID] = true
	}
	if !s.numbers[b.Number] {
		s.numbers[b.Number] = true
		a.Blocks = append(a.Blocks, raw)
	}
	return nil
}
