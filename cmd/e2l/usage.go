package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/usagereport"
)

type usageFlags struct {
	from, to  string
	by        string
	output    string
	intervals bool
}

func (a *app) usageCommand() *cobra.Command {
	var f usageFlags
	cmd := &cobra.Command{
		Use:   "usage --from T --to T [--by service|host|label=KEY]",
		Short: "Containers' running time from the ledger, paused time apart",
		Long: `Compute how long containers ran in [--from, --to] from the records: start (or
unpause) opens an interval, pause or die closes it; paused time is not
running time and is shown apart (PAUSED: pause to unpause or die), so that
RUNNING + PAUSED is the time from start to die that docker inspect reports
(State.StartedAt … State.FinishedAt). Intervals are clipped to the window. An interval that overlaps a gap record of
its host, a missing or altered stretch of the host's chain, or the time after
the host's last record is counted as UNCERTAIN, never silently counted as
running nor dropped. Every host's whole chain is read from the audit index
(caught up first) and checked.`,
		Example: `  e2l usage --from 2026-01-01 --to now --by service
  e2l usage --from 24h --to now --by label=com.example.team --intervals`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.usage(cmd.Context(), f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.from, "from", "", "window start (required)")
	fs.StringVar(&f.to, "to", "now", "window end")
	fs.StringVar(&f.by, "by", "", "group by service, host or label=KEY (default: per container)")
	fs.StringVarP(&f.output, "output", "o", formatTable, "table, json or csv")
	fs.BoolVar(&f.intervals, "intervals", false, "list every interval instead of the totals")
	return cmd
}

func (a *app) usage(ctx context.Context, f usageFlags) error {
	if err := checkFormat(f.output); err != nil {
		return err
	}
	now := a.now()
	if f.from == "" {
		return usageError{fmt.Errorf("usage: --from is required")}
	}
	from, err := parseTime(f.from, now)
	if err != nil {
		return usageError{err}
	}
	to, err := parseTime(f.to, now)
	if err != nil {
		return usageError{err}
	}
	li, err := a.openIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	// Checking every link of the chains and reading the hosts' events are
	// independent and take about as long: the check runs meanwhile, on a
	// connection of its own.
	var (
		problems []index.ChainProblem
		checkErr error
		checked  = make(chan struct{})
	)
	checkCtx, cancelCheck := context.WithCancel(ctx)
	go func() {
		defer close(checked)
		problems, checkErr = li.st.ChainProblems(checkCtx, "")
	}()
	defer func() {
		cancelCheck()
		<-checked
	}()
	found := func(ctx context.Context) ([]index.ChainProblem, error) {
		select {
		case <-checked:
			return problems, checkErr
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	inputs, err := usagereport.Inputs(ctx, li.st, found, strings.HasPrefix(f.by, "label="), "")
	if err != nil {
		return err
	}
	rows, ivs, err := audit.UsageOf(inputs, audit.UsageOptions{From: from, To: to, By: f.by})
	if err != nil {
		return usageError{err}
	}
	if f.output == formatCSV {
		// The web view's CSV download writes the same bytes.
		return usagereport.WriteCSV(a.stdout, rows, ivs, f.intervals)
	}
	full := f.output != formatTable
	if f.intervals {
		t := newTable(a.stdout, f.output, usagereport.IntervalsHeader...)
		for _, iv := range ivs {
			t.row(iv, usagereport.IntervalCells(iv, full)...)
		}
		return t.flush()
	}
	t := newTable(a.stdout, f.output, usagereport.TotalsHeader...)
	for _, r := range rows {
		t.row(r, usagereport.TotalsCells(r, full)...)
	}
	if f.output == formatTable {
		fmt.Fprintf(a.stdout, "window %s … %s (%s)\n", fmtTime(from), fmtTime(to), fmtDuration(time.Duration(to-from)))
	}
	return t.flush()
}
