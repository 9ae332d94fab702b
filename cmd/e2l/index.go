package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/httpserver"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/indexer"
	"github.com/e2l-project/e2l/internal/query"
)

// The audit index: events, timeline, usage, hosts and verify read a
// database that follows the channel's blocks (internal/index), caught up
// before each answer. --index names it (a SQLite file or a postgres://
// URL); by default it is a SQLite file in the user's cache directory, one
// per channel and trust anchor.

func (a *app) registerIndexFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&a.indexDSN, "index", "",
		"audit index: a SQLite file or a postgres:// URL (default: a SQLite file per channel in $XDG_CACHE_HOME/e2l or ~/.cache/e2l) [E2L_INDEX]")
}

// indexLocation is --index, E2L_INDEX, or the default cache file of the
// channel and its anchor.
func (a *app) indexLocation(channel, anchor string) (string, error) {
	switch {
	case a.indexDSN != "":
		return a.indexDSN, nil
	case a.getenv("E2L_INDEX") != "":
		return a.getenv("E2L_INDEX"), nil
	}
	dir := ""
	switch {
	case a.getenv("XDG_CACHE_HOME") != "":
		dir = filepath.Join(a.getenv("XDG_CACHE_HOME"), "e2l")
	case a.getenv("HOME") != "":
		dir = filepath.Join(a.getenv("HOME"), ".cache", "e2l")
	default:
		return "", usageError{errors.New("no index location: set --index, E2L_INDEX, XDG_CACHE_HOME or HOME")}
	}
	return filepath.Join(dir, fmt.Sprintf("index-%s-%s.db", channel, anchor[:12])), nil
}

// ledgerIndex is an open index caught up with the channel, and the
// connection to the ledger it follows.
type ledgerIndex struct {
	c      *query.Client
	st     *index.Store
	anchor string
	where  string
}

func (li *ledgerIndex) Close() error {
	return errors.Join(li.st.Close(), li.c.Close())
}

// openIndex dials the peers, checks the channel's genesis block against
// the trust anchor (pinning it on first use), opens the index and catches
// it up to the channel's height, verifying every new block.
func (a *app) openIndex(ctx context.Context) (*ledgerIndex, error) {
	li, err := a.dialIndex(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := a.catchUp(ctx, li, false, nil); err != nil {
		_ = li.Close()
		return nil, err
	}
	return li, nil
}

// dialIndex is openIndex without the catch-up, for commands that catch up
// their own way (index, serve, verify --index).
func (a *app) dialIndex(ctx context.Context) (*ledgerIndex, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	li, err := a.openIndexOn(ctx, c)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return li, nil
}

// openIndexOn opens the index of c's channel, pinned to its trust anchor.
func (a *app) openIndexOn(ctx context.Context, c *query.Client) (*ledgerIndex, error) {
	anchor, err := a.onlineAnchor(ctx, c, c.Channel())
	if err != nil {
		return nil, err
	}
	where, err := a.indexLocation(c.Channel(), anchor)
	if err != nil {
		return nil, err
	}
	st, err := index.Open(ctx, where)
	if err != nil {
		return nil, fmt.Errorf("open the index %s: %w", index.Redact(where), err)
	}
	return &ledgerIndex{c: c, st: st, anchor: anchor, where: st.DSN()}, nil
}

// catchUp indexes the channel up to its height (or, with follow, until ctx
// ends), printing progress on a terminal.
func (a *app) catchUp(ctx context.Context, li *ledgerIndex, follow bool, reg prometheus.Registerer) (indexer.Progress, error) {
	p := newProgressLine(a.stderr, a.now)
	x, err := indexer.New(li.c, li.st, indexer.Config{
		Channel: li.c.Channel(), Chaincode: li.c.Chaincode(), Anchor: li.anchor, Follow: follow, RunBlocks: a.runBlocks,
		Progress: p.show, Registerer: reg, Clock: a.now, Logger: a.logger,
	})
	if err != nil {
		return indexer.Progress{}, err
	}
	prog, err := x.Run(ctx)
	p.done(prog)
	if err != nil {
		return prog, fmt.Errorf("index %s: %w", li.where, err)
	}
	return prog, nil
}

// progressLine shows an indexer's progress on one terminal line, updated
// at most every half second; on anything but a terminal it stays quiet.
type progressLine struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	last  time.Time
	shown bool
}

func newProgressLine(w io.Writer, now func() time.Time) *progressLine {
	return &progressLine{w: w, tty: isTerminal(w), now: now}
}

func (p *progressLine) show(pr indexer.Progress) {
	if !p.tty || p.now().Sub(p.last) < 500*time.Millisecond {
		return
	}
	p.last, p.shown = p.now(), true
	fmt.Fprintf(p.w, "\rindex: block %d of %d, %d records (%.0f/s), ETA %s   ", pr.Next, pr.Height, pr.Records, pr.Rate(), pr.ETA().Round(time.Second))
}

func (p *progressLine) done(pr indexer.Progress) {
	if !p.tty || pr.Blocks == 0 {
		return
	}
	if p.shown {
		fmt.Fprint(p.w, "\r")
	}
	fmt.Fprintf(p.w, "index: %d blocks, %d records indexed and verified in %s (%.0f records/s); %d findings   \n",
		pr.Blocks, pr.Records, pr.Elapsed.Round(time.Millisecond), pr.Rate(), pr.Findings)
}

// isTerminal says whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (a *app) indexCommand() *cobra.Command {
	var follow bool
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "index [--follow] [--metrics-addr ADDR]",
		Short: "Catch up the audit index with the channel (or follow it)",
		Long: `Follow the channel's blocks into the audit index (--index: a SQLite file,
default in the user's cache directory, or a postgres:// URL for a team),
verifying every block as it arrives against the trust anchor: blocks and
their orderer signatures, transactions, endorsements, the host registry's
binding of each record to its organisation. Findings are stored with the
records. A restart resumes at the first block not indexed; a crash leaves no
half block.

Without --follow it catches up to the channel's height and exits (the other
commands do this themselves before they answer). With --follow it indexes
blocks as they commit until interrupted, and serves Prometheus metrics
(height behind the channel, ingest rate, findings) on --metrics-addr.`,
		Example: `  e2l index
  e2l index --follow --index postgres://e2l@db/e2l --metrics-addr :9465`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runIndex(cmd.Context(), follow, metricsAddr) },
	}
	cmd.Flags().BoolVar(&follow, "follow", false, "keep indexing blocks as they commit until interrupted")
	cmd.Flags().IntVar(&a.runBlocks, "run-blocks", 100, "blocks verified and applied in one database transaction (the checkpoint moves by as many)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "with --follow: serve /metrics, /healthz and /readyz on this address")
	return cmd
}

func (a *app) runIndex(ctx context.Context, follow bool, metricsAddr string) error {
	if metricsAddr != "" && !follow {
		return usageError{errors.New("index: --metrics-addr needs --follow")}
	}
	li, err := a.dialIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	var reg prometheus.Registerer // nil: no metrics
	done := make(chan error, 1)
	if follow {
		logger, err := zap.NewProduction()
		if err != nil {
			return err
		}
		a.logger = logger
	}
	if metricsAddr != "" {
		r := prometheus.NewRegistry()
		reg = r
		srv, err := httpserver.Listen(metricsAddr, httpserver.NewHandler(r, r, func() error { return nil }), a.logger)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		defer func() { cancel(); <-done }()
		go func() { done <- srv.Run(sctx) }()
		fmt.Fprintf(a.stderr, "index: metrics on http://%s/metrics\n", srv.Addr())
	} else {
		close(done)
	}
	prog, err := a.catchUp(ctx, li, follow, reg)
	if err != nil {
		return err
	}
	// After --follow ends on an interrupt ctx is done: the summary is
	// read without it.
	blocks, records, err := li.st.Count(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "index %s: %d blocks, %d records (channel %s, next block %d); this run: %d blocks, %d records, %d findings\n",
		li.where, blocks, records, li.c.Channel(), prog.Next, prog.Blocks, prog.Records, prog.Findings)
	return nil
}

// countLine shows the progress of a count of work on one terminal line
// (what, done of total, rate, ETA), at most every half second; on anything
// but a terminal it stays quiet.
type countLine struct {
	w        io.Writer
	tty      bool
	now      func() time.Time
	what     string
	start    time.Time
	last     time.Time
	shown    bool
	n, total int
}

func newCountLine(w io.Writer, now func() time.Time, what string) *countLine {
	return &countLine{w: w, tty: isTerminal(w), now: now, what: what, start: now()}
}

func (c *countLine) show(done, total int) {
	c.n, c.total = done, total
	if !c.tty || c.now().Sub(c.last) < 500*time.Millisecond {
		return
	}
	c.last, c.shown = c.now(), true
	el := c.now().Sub(c.start)
	rate, eta := 0.0, time.Duration(0)
	if el > 0 && done > 0 {
		rate = float64(done) / el.Seconds()
		eta = time.Duration(float64(total-done) / rate * float64(time.Second))
	}
	fmt.Fprintf(c.w, "\r%s: %d of %d records (%.0f/s), ETA %s   ", c.what, done, total, rate, eta.Round(time.Second))
}

func (c *countLine) done() {
	if c.shown {
		fmt.Fprintf(c.w, "\r%s: %d records in %s   \n", c.what, c.total, c.now().Sub(c.start).Round(time.Millisecond))
	}
}
