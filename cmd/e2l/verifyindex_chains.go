package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
)

// The chain part of verify --index: every host's chain checked over all
// its rows by the database.

type chainFindings struct {
	findings []audit.Finding
	hosts    int
}

// indexChainFindings checks every host's chain over all its rows: holes
// and broken links from the database (the host's chain is then checked
// whole, for the same findings as verify on the ledger), gap records, and
// the last heartbeat's age.
func (a *app) indexChainFindings(ctx context.Context, st *index.Store, factor float64) (*chainFindings, error) {
	out := &chainFindings{}
	problems, err := st.ChainProblems(ctx, "")
	if err != nil {
		return nil, err
	}
	broken := map[string]bool{}
	for _, p := range problems {
		broken[p.Host] = true
	}
	for _, h := range sortedHosts(broken) {
		recs, err := indexRecords{st}.ChainRecords(ctx, h, 1, ^uint64(0))
		if err != nil {
			return nil, err
		}
		for _, f := range audit.CheckChain(h, recs, audit.ChainOptions{}).Findings {
			if f.Severity == audit.Error && !strings.HasPrefix(f.Problem, "altered") {
				out.findings = append(out.findings, f)
			}
		}
	}
	twice, err := st.RecordedTwice(ctx)
	if err != nil {
		return nil, err
	}
	for _, recs := range twice {
		var where []string
		for _, r := range recs {
			where = append(where, fmt.Sprintf("host %s seq %d (block %d)", r.Host, r.Seq, r.Block))
		}
		r := recs[len(recs)-1]
		out.findings = append(out.findings, audit.Finding{Severity: audit.Error, Host: r.Host, Seq: r.Seq, ID: r.ID,
			Problem: "one record ID in several chain slots: " + strings.Join(where, ", ") + " (one Docker event recorded twice: usage counts it once per slot)"})
	}
	if err := st.Records(ctx, index.Query{Kind: string(record.KindGap), OrderBy: index.BySlot}, func(r index.Record) error {
		s, err := stored(r)
		if err != nil {
			return err
		}
		sealed, err := s.Sealed()
		if err != nil {
			return nil // reported as altered when indexed
		}
		out.findings = append(out.findings, audit.GapFinding(s, sealed.Record.Gap))
		return nil
	}); err != nil {
		return nil, err
	}
	hosts, err := st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	now := a.now()
	for _, h := range hosts {
		if h.Records == 0 {
			continue
		}
		out.hosts++
		var hb *record.Sealed
		if h.LastHeartbeat != nil {
			rows, err := st.ChainRecords(ctx, h.Host, h.LastHeartbeat.Seq, h.LastHeartbeat.Seq)
			if err != nil {
				return nil, err
			}
			if len(rows) == 1 {
				if s, err := stored(rows[0]); err == nil {
					if sealed, err := s.Sealed(); err == nil {
						hb = &sealed
					}
				}
			}
		}
		if f, ok := audit.HeartbeatFinding(h.Host, hb, now, factor); ok {
			out.findings = append(out.findings, f)
		}
	}
	return out, nil
}

func sortedHosts(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for h := range m {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}
