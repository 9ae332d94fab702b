package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/query"
)

func (a *app) hostsCommand() *cobra.Command {
	var output string
	var factor float64
	cmd := &cobra.Command{
		Use:   "hosts",
		Short: "Each host: latest seq, last heartbeat and its age, gaps, chain continuity",
		Long: `List the hosts that wrote records or are registered. For each, the whole
chain is read from the audit index (caught up first) and checked: its latest sequence number, its last
heartbeat (time, age, stale when older than --heartbeat-factor intervals),
its gap records and whether the chain is continuous (every record verifies,
seq contiguous from 1, prev links intact).`,
		Example: `  e2l hosts
  e2l hosts --output json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.hosts(cmd.Context(), output, factor) },
	}
	cmd.Flags().StringVarP(&output, "output", "o", formatTable, "table, json or csv")
	cmd.Flags().Float64Var(&factor, "heartbeat-factor", audit.DefaultHeartbeatFactor, "a heartbeat older than this many intervals is stale")
	return cmd
}

type hostRow struct {
	Host          string   `json:"host"`
	MSP           string   `json:"msp"`
	Records       int      `json:"records"`
	LastSeq       uint64   `json:"lastSeq"`
	LastHeartbeat string   `json:"lastHeartbeat,omitempty"`
	AgeNs         int64    `json:"heartbeatAgeNs,omitempty"`
	Stale         bool     `json:"stale"`
	Gaps          int      `json:"gaps"`
	Continuous    bool     `json:"continuous"`
	Problems      []string `json:"problems,omitempty"`
}

func (a *app) hosts(ctx context.Context, output string, factor float64) error {
	if err := checkFormat(output); err != nil {
		return err
	}
	li, err := a.openIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	hcs, err := everyChain(ctx, indexRecords{li.st})
	if err != nil {
		return err
	}
	now := a.now()
	t := newTable(a.stdout, output, "HOST", "MSP", "RECORDS", "LAST SEQ", "LAST HEARTBEAT", "AGE", "STALE", "GAPS", "CONTINUOUS")
	for _, hc := range hcs {
		h, ch := hc.host, hc.chain
		row := hostRow{Host: h.Host, MSP: h.MSP, Records: hc.records, LastSeq: ch.Last, Gaps: len(ch.Gaps),
			Continuous: ch.Continuous(), Stale: ch.Stale(now, factor)}
		for _, f := range ch.Findings {
			if f.Severity == audit.Error {
				row.Problems = append(row.Problems, f.String())
			}
		}
		hb, age := "none", ""
		if ch.LastHeartbeat != nil {
			tm := ch.LastHeartbeat.Record.Time
			row.LastHeartbeat, row.AgeNs = fmtTime(tm), now.UnixNano()-tm
			hb, age = row.LastHeartbeat, fmtDuration(time.Duration(row.AgeNs).Round(time.Second))
		}
		cont := "yes"
		if !row.Continuous {
			cont = fmt.Sprintf("no (%d problems", len(row.Problems))
			if len(ch.Missing) > 0 {
				var ms []string
				for _, m := range ch.Missing {
					ms = append(ms, m.String())
				}
				cont += "; missing seq " + strings.Join(ms, ",")
			}
			cont += ")"
		}
		t.row(row, h.Host, h.MSP, fmt.Sprint(row.Records), fmt.Sprint(row.LastSeq), hb, age, yesNo(row.Stale), fmt.Sprint(row.Gaps), cont)
	}
	return t.flush()
}

// hostChain is one host's whole chain, read from the index and checked.
type hostChain struct {
	host    query.Host
	records int
	chain   *audit.Chain
}

// chainReader reads hosts' chains.
type chainReader interface {
	Hosts(ctx context.Context) ([]query.Host, error)
	ChainRecords(ctx context.Context, host string, from, to uint64) ([]audit.Stored, error)
}

// everyChain reads and checks the whole chain of every host (cost: every
// record of the index).
func everyChain(ctx context.Context, c chainReader) ([]hostChain, error) {
	hs, err := c.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]hostChain, 0, len(hs))
	for _, h := range hs {
		recs, err := c.ChainRecords(ctx, h.Host, 1, query.MaxSeq)
		if err != nil {
			return nil, err
		}
		out = append(out, hostChain{host: h, records: len(recs), chain: audit.CheckChain(h.Host, recs, audit.ChainOptions{})})
	}
	return out, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
