package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/testkit/pgtest"
	"github.com/e2l-project/e2l/internal/webview"
	"github.com/e2l-project/e2l/network"
)

// IndexPart measures the audit index: the indexer's ingest from the real
// channel into SQLite and PostgreSQL, verify --index after 1,000 new
// records, and timeline and usage --by service, each at two sizes of the
// ledger (IndexSmall and IndexLarge records), through the real e2l binary.
const IndexPart = "index"

// indexSize is what was measured at one size of the ledger.
type indexSize struct {
	Records          int64   `json:"records"`            // records in the index
	FillSeconds      float64 `json:"fill_s"`             // committing the records added for this size
	FillPerS         float64 `json:"fill_records_per_s"` // their commit rate through the Gateway
	SQLitePerS       float64 `json:"sqlite_ingest_records_per_s"`
	SQLiteSeconds    float64 `json:"sqlite_ingest_s"`
	PostgresPerS     float64 `json:"postgres_ingest_records_per_s"`
	PostgresSeconds  float64 `json:"postgres_ingest_s"`
	VerifyNewSeconds float64 `json:"verify_index_after_1000_new_s"`
	TimelineSeconds  float64 `json:"timeline_s"`
	UsageSeconds     float64 `json:"usage_by_service_s"`
}

type indexResult struct {
	Small, Large indexSize
	StoreSQLite  index.IngestResult // the store alone (index.MeasureIngest)
	StorePG      index.IngestResult
	// Pages are the web view's host and usage pages of one host of
	// 100,000 synthetic records (webview.MeasurePages, server time).
	Pages   webview.PageTimes
	LoadAvg string
}

// e2lRunner runs the e2l binary against the bench network as the
// Developer org's admin, with its own trust file, cache and state.
type e2lRunner struct {
	bin  string
	conn []string
	env  []string
}

func newE2LRunner(bin, dir string, n *network.Network) e2lRunner {
	dev := n.Peer(network.Developer)
	var eps []string
	for _, p := range n.Peers() {
		eps = append(eps, p.Endpoint)
	}
	return e2lRunner{bin: bin,
		conn: []string{"--msp-id", dev.MSPID, "--cert", dev.AdminCertPath, "--key", dev.AdminKeyPath, "--peer-endpoints", strings.Join(eps, ","),
			"--peer-tls-ca", n.PeerTLSCABundle(), "--channel", network.ChannelName, "--chaincode", network.ChaincodeName,
			"--trust-file", filepath.Join(dir, "trust")},
		env: append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "XDG_STATE_HOME="+filepath.Join(dir, "state"))}
}

// run runs e2l with args and returns its output and wall time.
func (r e2lRunner) run(ctx context.Context, args ...string) (string, time.Duration, error) {
	cmd := exec.CommandContext(ctx, r.bin, append(append([]string{}, r.conn...), args...)...)
	cmd.Env = r.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return out.String(), d, fmt.Errorf("e2l %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), d, nil
}

var indexedRe = regexp.MustCompile(`: (\d+) blocks, (\d+) records \(channel`)

// ingest indexes the whole channel into a new index at dsn and returns the
// records in it and the rate.
func (r e2lRunner) ingest(ctx context.Context, dsn string) (int64, float64, time.Duration, error) {
	out, d, err := r.run(ctx, "--index", dsn, "index")
	if err != nil {
		return 0, 0, d, err
	}
	m := indexedRe.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, d, fmt.Errorf("e2l index: unexpected output %q", out)
	}
	n, _ := strconv.ParseInt(m[2], 10, 64)
	return n, float64(n) / d.Seconds(), d, nil
}

// runIndexBench measures the index on a network of its own, fresh, so
// that its two sizes are what it committed (the other parts leave tens of
// thousands of records, and holes, on the main network).
func runIndexBench(ctx context.Context, cfg Config) (*indexResult, error) {
	res := &indexResult{LoadAvg: loadAvg()}
	dir := filepath.Join(cfg.WorkDir, "index")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	n, err := network.Up(ctx, network.Config{Dir: cfg.NetDir + "-index", PortBase: cfg.PortBase + 200, BatchTimeout: cfg.BatchTimeout,
		BinDir: cfg.FabricBin, ChaincodeBin: cfg.ChaincodeBin, Fresh: true})
	if err != nil {
		return nil, fmt.Errorf("the index's network: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := n.Down(dctx); err != nil {
			cfg.logf("index: network down: %v", err)
		}
	}()
	r := newE2LRunner(cfg.E2LBin, dir, n)
	if _, _, err := r.run(ctx, "trust"); err != nil {
		return nil, err
	}
	pg, err := pgtest.StartServer(filepath.Join(dir, "pg"), pgtest.Durable())
	if err != nil {
		return nil, err
	}
	defer pg.Stop()

	// The store alone, for reference.
	if res.StoreSQLite, err = index.MeasureIngest(ctx, filepath.Join(dir, "store-only.db"), 100_000); err != nil {
		return nil, err
	}
	dsn, err := pg.CreateDB("storeonly")
	if err != nil {
		return nil, err
	}
	if res.StorePG, err = index.MeasureIngest(ctx, dsn, 100_000); err != nil {
		return nil, err
	}
	cfg.logf("index: the store alone ingests %.0f records/s (SQLite), %.0f (PostgreSQL)", res.StoreSQLite.RecordsPerSecond, res.StorePG.RecordsPerSecond)
	if res.Pages, err = measurePages(ctx, filepath.Join(dir, "pages.db")); err != nil {
		return nil, err
	}
	cfg.logf("index: web view of a host of %d records: host page %s, usage page %s", res.Pages.Records, res.Pages.Host, res.Pages.Usage)

	f, err := newFiller(ctx, n, 10, cfg.NoRegister)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	main := filepath.Join(dir, "main.db")
	for i, sz := range []struct {
		target int64
		into   *indexSize
	}{{int64(cfg.IndexSmall), &res.Small}, {int64(cfg.IndexLarge), &res.Large}} {
		// Fill the ledger up to the size (less the 1,000 verify adds).
		have, _, _, err := r.ingest(ctx, main)
		if err != nil {
			return nil, err
		}
		if add := sz.target - 1000 - have; add > 0 {
			d, err := f.fill(ctx, int(add))
			if err != nil {
				return nil, fmt.Errorf("fill the ledger: %w", err)
			}
			sz.into.FillSeconds, sz.into.FillPerS = round(d.Seconds(), 1), round(float64(add)/d.Seconds(), 0)
			cfg.logf("index: committed %d records in %s (%.0f/s)", add, d.Round(time.Second), float64(add)/d.Seconds())
		}
		// verify --index after 1,000 new records (the index verified once).
		if _, _, err := r.run(ctx, "--index", main, "verify", "-q"); err != nil {
			return nil, err
		}
		if _, err := f.fill(ctx, 1000); err != nil {
			return nil, err
		}
		_, d, err := r.run(ctx, "--index", main, "verify", "-q")
		if err != nil {
			return nil, err
		}
		sz.into.VerifyNewSeconds = round(d.Seconds(), 2)
		// Ingest of the whole channel into new indexes.
		recs, rate, d, err := r.ingest(ctx, filepath.Join(dir, fmt.Sprintf("fresh-%d.db", i)))
		if err != nil {
			return nil, err
		}
		sz.into.Records, sz.into.SQLitePerS, sz.into.SQLiteSeconds = recs, round(rate, 0), round(d.Seconds(), 1)
		pgDSN, err := pg.CreateDB(fmt.Sprintf("fresh%d", i))
		if err != nil {
			return nil, err
		}
		if _, rate, d, err = r.ingest(ctx, pgDSN); err != nil {
			return nil, err
		}
		sz.into.PostgresPerS, sz.into.PostgresSeconds = round(rate, 0), round(d.Seconds(), 1)
		// Queries on the caught-up index.
		if _, d, err = r.run(ctx, "--index", main, "timeline", "svc-1.1"); err != nil {
			return nil, err
		}
		sz.into.TimelineSeconds = round(d.Seconds(), 3)
		if _, d, err = r.run(ctx, "--index", main, "usage", "--from", "48h", "--to", "now", "--by", "service"); err != nil {
			return nil, err
		}
		sz.into.UsageSeconds = round(d.Seconds(), 3)
		cfg.logf("index: %d records: ingest %.0f/s SQLite, %.0f/s PostgreSQL; verify --index after 1,000 new %.2fs; timeline %.3fs; usage --by service %.3fs",
			recs, sz.into.SQLitePerS, sz.into.PostgresPerS, sz.into.VerifyNewSeconds, sz.into.TimelineSeconds, sz.into.UsageSeconds)
	}
	return res, nil
}

// measurePages builds an index of one host of 100,000 synthetic records
// and measures the web view's host and usage pages on it.
func measurePages(ctx context.Context, path string) (webview.PageTimes, error) {
	st, err := index.Open(ctx, path)
	if err != nil {
		return webview.PageTimes{}, err
	}
	defer st.Close()
	shape := index.SyntheticShape{Hosts: []string{"node01"}, TxsPerBlock: 20, RecordsPerTx: 50}
	var root []byte
	for next := uint64(0); next <= 100; next += 10 { // 110 blocks: more than 100,000 records (block 0 holds none)
		run := index.SyntheticUpdates(shape, root, next, 10)
		if err := st.Apply(ctx, run); err != nil {
			return webview.PageTimes{}, err
		}
		root = run[len(run)-1].Block.Root
	}
	return webview.MeasurePages(ctx, st, "node01")
}

// indexTable prints the index measurements, each size's figure with its
// growth from the small ledger to the large one.
func (r *Report) indexTable(w io.Writer) {
	x := r.Index
	if x == nil {
		return
	}
	fmt.Fprintf(w, "\naudit index (e2l binary, load %s); the store alone: SQLite %.0f records/s, PostgreSQL %.0f records/s (index.MeasureIngest, 100,000 synthetic records)\n\n",
		x.LoadAvg, x.StoreSQLite.RecordsPerSecond, x.StorePG.RecordsPerSecond)
	fmt.Fprintf(w, "| %-36s | %12s | %12s | %8s |\n", "measure", fmt.Sprintf("%d rec", x.Small.Records), fmt.Sprintf("%d rec", x.Large.Records), "growth")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|\n", strings.Repeat("-", 38), strings.Repeat("-", 13), strings.Repeat("-", 13), strings.Repeat("-", 9))
	row := func(name, unit string, a, b float64, prec int) {
		g := "-"
		if a > 0 {
			g = fmt.Sprintf("%.2fx", b/a)
		}
		fmt.Fprintf(w, "| %-36s | %12s | %12s | %8s |\n", name, strconv.FormatFloat(a, 'f', prec, 64)+unit, strconv.FormatFloat(b, 'f', prec, 64)+unit, g)
	}
	row("ingest into SQLite (records/s)", "", x.Small.SQLitePerS, x.Large.SQLitePerS, 0)
	row("ingest into PostgreSQL (records/s)", "", x.Small.PostgresPerS, x.Large.PostgresPerS, 0)
	row("verify --index after 1,000 new", " s", x.Small.VerifyNewSeconds, x.Large.VerifyNewSeconds, 2)
	row("timeline <name>", " s", x.Small.TimelineSeconds, x.Large.TimelineSeconds, 3)
	row("usage --by service", " s", x.Small.UsageSeconds, x.Large.UsageSeconds, 3)
	row("Gateway fill rate (records/s)", "", x.Small.FillPerS, x.Large.FillPerS, 0)
	fmt.Fprintf(w, "\nweb view (webview.MeasurePages, one host of %d synthetic records, SQLite, slowest of 3): host page %s (CPU %s), usage page %s (CPU %s); background pass %s\n",
		x.Pages.Records, x.Pages.Host.Round(time.Millisecond), x.Pages.HostCPU.Round(time.Millisecond), x.Pages.Usage.Round(time.Millisecond),
		x.Pages.UsageCPU.Round(time.Millisecond), x.Pages.Status.Round(time.Millisecond))
}

// indexTargets are issue 12's targets on the large ledger.
func (r *Report) indexTargets() []Target {
	x := r.Index
	if x == nil {
		return nil
	}
	l := x.Large
	return []Target{
		{"index ingest >= 5,000 records/s into SQLite", fmt.Sprintf("%.0f records/s (%d records)", l.SQLitePerS, l.Records), verdict(l.SQLitePerS >= 5000)},
		{"index ingest >= 5,000 records/s into PostgreSQL", fmt.Sprintf("%.0f records/s", l.PostgresPerS), verdict(l.PostgresPerS >= 5000)},
		{"verify --index, 1,000 new on 100,000: <= 5 s", fmt.Sprintf("%.2f s (%d records)", l.VerifyNewSeconds, l.Records), verdict(l.VerifyNewSeconds > 0 && l.VerifyNewSeconds <= 5 && l.Records >= 100_000)},
		{"timeline on 100,000 records <= 1 s", fmt.Sprintf("%.3f s", l.TimelineSeconds), verdict(l.TimelineSeconds > 0 && l.TimelineSeconds <= 1 && l.Records >= 100_000)},
		{"usage --by service on 100,000 records <= 1 s", fmt.Sprintf("%.3f s", l.UsageSeconds), verdict(l.UsageSeconds > 0 && l.UsageSeconds <= 1 && l.Records >= 100_000)},
		{"web host page, host of 100,000 records <= 300 ms", fmt.Sprintf("%s (%d records)", x.Pages.Host.Round(time.Millisecond), x.Pages.Records),
			verdict(x.Pages.Host > 0 && x.Pages.Host <= 300*time.Millisecond && x.Pages.Records >= 100_000)},
		{"web usage page, host of 100,000 records <= 300 ms", x.Pages.Usage.Round(time.Millisecond).String(),
			verdict(x.Pages.Usage > 0 && x.Pages.Usage <= 300*time.Millisecond && x.Pages.Records >= 100_000)},
	}
}
