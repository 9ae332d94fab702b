package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/record"
)

type eventsFlags struct {
	host           string
	fromSeq, toSeq uint64
	actor          string
	typ, action    string
	since, until   string
	output         string
	watch          bool
	startBlock     int64
}

func (a *app) eventsCommand() *cobra.Command {
	var f eventsFlags
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List records: a host's chain, a container's or service's, or by type and time",
		Long: `List records from the audit index (see "e2l index"), caught up with the
channel first.

  --host H [--from-seq N] [--to-seq M]   the host's chain in seq order
  --actor ID                              a container's or service's records (audit index)
  --type T [--action A] [--since] [--until]  by Docker event type (container, service, ...)
                                          or record kind (gap, heartbeat, start, stop,
                                          snapshot), in time order (audit index)
  --watch                                 stream records as blocks commit (from the next
                                          block, or --start-block); the filters above apply

Times: RFC 3339, YYYY-MM-DD, unix ns, now, or a duration ago (24h).`,
		Example: `  e2l --env-file .e2l/network/hosts/vm/collector.env events --host vm
  e2l events --type container --action die --since 24h --output csv
  e2l events --watch --type container`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.events(cmd.Context(), f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.host, "host", "", "the host whose chain to list")
	fs.Uint64Var(&f.fromSeq, "from-seq", 1, "with --host: first sequence number")
	fs.Uint64Var(&f.toSeq, "to-seq", query.MaxSeq, "with --host: last sequence number")
	fs.StringVar(&f.actor, "actor", "", "container or service ID")
	fs.StringVar(&f.typ, "type", "", "Docker event type or record kind")
	fs.StringVar(&f.action, "action", "", "with --type: Docker action (create, start, die, ...)")
	fs.StringVar(&f.since, "since", "", "with --type: earliest record time")
	fs.StringVar(&f.until, "until", "", "with --type: latest record time")
	fs.StringVarP(&f.output, "output", "o", formatTable, "table, json or csv")
	fs.BoolVar(&f.watch, "watch", false, "stream new records as blocks commit")
	fs.Int64Var(&f.startBlock, "start-block", -1, "with --watch: first block to read (default: the next one)")
	return cmd
}

func (a *app) events(ctx context.Context, f eventsFlags) error {
	if err := checkFormat(f.output); err != nil {
		return err
	}
	modes := 0
	for _, set := range []bool{f.host != "", f.actor != "", f.typ != ""} {
		if set {
			modes++
		}
	}
	if !f.watch && modes != 1 {
		return usageError{errors.New("events: give one of --host, --actor or --type (or --watch)")}
	}
	if f.action != "" && f.typ == "" {
		return usageError{errors.New("events: --action needs --type")}
	}
	from, to := int64(0), query.MaxTime
	var err error
	if f.since != "" {
		if from, err = parseTime(f.since, a.now()); err != nil {
			return usageError{err}
		}
	}
	if f.until != "" {
		if to, err = parseTime(f.until, a.now()); err != nil {
			return usageError{err}
		}
	}
	t := newTable(a.stdout, f.output, recordHeader...)
	full := f.output != formatTable
	each := func(st audit.Stored) error {
		s := show(st)
		t.row(s, s.cells(full)...)
		return nil
	}
	if f.watch {
		c, err := a.client()
		if err != nil {
			return err
		}
		defer c.Close()
		t.stream = true
		_ = t.flush() // the header
		return a.watch(ctx, c, f, from, to, t)
	}
	li, err := a.openIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	src := indexRecords{li.st}
	switch {
	case f.host != "":
		err = src.Chain(ctx, f.host, f.fromSeq, f.toSeq, each)
	case f.actor != "":
		err = src.Timeline(ctx, f.actor, each)
	default:
		err = src.ByType(ctx, f.typ, f.action, from, to, each)
	}
	if err != nil {
		return err
	}
	return t.flush()
}

// watch streams the records of valid RecordEvents transactions as their
// blocks commit. A record resent by a collector (a duplicate the chaincode
// did not store again) shows again.
func (a *app) watch(ctx context.Context, c *query.Client, f eventsFlags, from, to int64, t *table) error {
	start := uint64(0)
	if f.startBlock >= 0 {
		start = uint64(f.startBlock)
	} else {
		h, err := c.Height(ctx)
		if err != nil {
			return err
		}
		start = h
	}
	blocks, err := c.Blocks(ctx, start)
	if err != nil {
		return err
	}
	for blk := range blocks {
		raw, err := proto.Marshal(blk)
		if err != nil {
			return fmt.Errorf("block %d: %w", blk.GetHeader().GetNumber(), err)
		}
		b, err := audit.ParseBlock(raw)
		if err != nil {
			return err
		}
		for _, tx := range b.Txs {
			if tx.Code != peer.TxValidationCode_VALID || tx.Chaincode != c.Chaincode() || tx.Batch == nil {
				continue
			}
			for _, s := range tx.Batch.Records {
				if !matches(s.Record, f, from, to) {
					continue
				}
				sh := shown{ID: s.ID, Hash: s.Hash, Record: &s.Record, MSP: tx.Creator.MSP, TxID: tx.ID, TxTime: fmtTime(tx.Timestamp.UnixNano())}
				if err := s.Check(); err != nil {
					sh.Problem = err.Error()
				}
				t.row(sh, sh.cells(f.output != formatTable)...)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil // interrupted: a normal end of --watch
	}
	return errors.New("watch: the block event stream ended")
}

func matches(r record.Record, f eventsFlags, from, to int64) bool {
	if f.host != "" && r.Host != f.host {
		return false
	}
	if r.Time < from || r.Time > to {
		return false
	}
	if f.host != "" && (r.Seq < f.fromSeq || r.Seq > f.toSeq) {
		return false
	}
	if f.actor != "" && (r.Event == nil || r.Event.Actor != f.actor) {
		return false
	}
	if f.typ != "" {
		typ, action := string(r.Kind), ""
		if r.Event != nil {
			typ, action = r.Event.Type, r.Event.Action
		}
		if typ != f.typ || (f.action != "" && !strings.EqualFold(action, f.action)) {
			return false
		}
	}
	return true
}
