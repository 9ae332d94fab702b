// Package bench is e2l's benchmark harness (make bench): on its own local
// Fabric network it measures the paper's method (one peer CLI invoke per
// Docker event), the Gateway's one-record-per-transaction ceiling, and the
// collector binary with one record per transaction and with its default
// batching, fed by a synthetic event source; then spool ingest, the
// collector's memory with a million records spooled, and a real-Docker
// churn compared with Docker's own event stream.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/testimage"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// Config of a benchmark run.
type Config struct {
	NetDir       string        // the bench network's state directory (recreated)
	PortBase     int           // its port base
	BatchTimeout time.Duration // orderer batch timeout, the same for every configuration
	FabricBin    string        // Fabric binaries (make fabric-bin)
	ChaincodeBin string        // e2l-chaincode
	CollectorBin string        // e2l-collector
	E2LBin       string        // e2l (the index measurements)
	WorkDir      string        // spools and logs of the runs

	Duration      time.Duration // per collector run and for the Gateway ceiling
	Warmup        time.Duration // left out of each collector run's measurement
	PaperEvents   int           // Docker events the paper's method records
	InFlight      int           // transactions in flight: Gateway ceiling and collector-1-per-tx
	RateOneTx     float64       // offered events/s, collector-1-per-tx at full load
	RateBatched   float64       // offered events/s, collector-batched at full load
	IngestEvents  int           // spool ingest measurement
	SpoolRecords  int           // records spooled with the ledger unreachable
	ChurnDuration time.Duration // real-Docker churn
	ChurnWorkers  int
	// IndexSmall and IndexLarge are the ledger sizes (records) the index
	// is measured at.
	IndexSmall, IndexLarge int
	Only                   []string // run only these parts (names as in Report), all when empty
	// NoRegister leaves the hosts out of the host registry: only for
	// measuring a chaincode that predates the registry (its cost, A/B).
	NoRegister bool

	Log io.Writer
}

func (c Config) want(part string) bool { return len(c.Only) == 0 || slices.Contains(c.Only, part) }

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "bench: "+format+"\n", args...)
	}
}

// fullLoadGrace is how long a full-load run waits after its window for the
// events due in the window to commit (counted late): its backlog does not
// drain, so the rest count as not committed.
const fullLoadGrace = 5 * time.Second

// Run brings up the bench network and runs every part.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	rep := newReport(cfg)
	if err := testimage.Ensure(ctx, ""); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(cfg.WorkDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	cfg.logf("network up: %s, port base %d, batch timeout %s (load %s)", cfg.NetDir, cfg.PortBase, cfg.BatchTimeout, loadAvg())
	t0 := time.Now()
	n, err := network.Up(ctx, network.Config{Dir: cfg.NetDir, PortBase: cfg.PortBase, BatchTimeout: cfg.BatchTimeout,
		BinDir: cfg.FabricBin, ChaincodeBin: cfg.ChaincodeBin, Fresh: true})
	if err != nil {
		if o, oerr := network.Open(network.Config{Dir: cfg.NetDir, PortBase: cfg.PortBase}); oerr == nil {
			_ = o.Down(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("network up: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := n.Down(dctx); err != nil {
			cfg.logf("network down: %v", err)
		}
	}()
	rep.NetworkUpSeconds = time.Since(t0).Seconds()

	// Each host is registered (as a Swarm manager) in the host registry by
	// the Provider's admin before its first batch: the chaincode refuses an
	// unregistered host's records.
	enroll := func(host string) (network.HostIdentity, error) {
		return n.EnrollHost(ctx, network.Provider, host, network.EnrollOptions{Role: network.RoleCollector, SwarmRole: wire.SwarmManager, NoRegister: cfg.NoRegister})
	}
	listener, err := enroll("bench-listener")
	if err != nil {
		return nil, err
	}
	lg, err := connectHost(listener)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lg.Close() }()
	w, err := watchLedger(ctx, lg)
	if err != nil {
		return nil, err
	}

	var errs []error
	part := func(name string, f func() error) {
		if !cfg.want(name) || ctx.Err() != nil {
			return
		}
		cfg.logf("%s: start (load %s)", name, loadAvg())
		t := time.Now()
		if err := f(); err != nil {
			cfg.logf("%s: %v", name, err)
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		cfg.logf("%s: done in %s", name, time.Since(t).Round(time.Second))
	}

	part(PaperCLI, func() error {
		id, err := enroll("bench-cli")
		if err != nil {
			return err
		}
		la := loadAvg()
		r, err := runPaper(ctx, n, id, filepath.Join(cfg.WorkDir, "paper"), cfg.PaperEvents)
		rep.paper(r, la)
		if err == nil && r.Committed == 0 {
			err = fmt.Errorf("no invoke committed: %s", r.FirstError)
		}
		return err
	})

	ceiling := func(name string) func() error {
		return func() error {
			id, err := enroll("bench-" + strings.TrimPrefix(name, "gateway-"))
			if err != nil {
				return err
			}
			g, err := connectHost(id)
			if err != nil {
				return err
			}
			defer func() { _ = g.Close() }()
			la := loadAvg()
			r, err := runCeiling(ctx, g, w, id.Host, cfg.InFlight, cfg.Duration, cfg.Warmup)
			rep.ceiling(name, r, cfg.InFlight, la)
			if err == nil && r.firstErr != nil && r.window.Committed == 0 {
				err = r.firstErr
			}
			return err
		}
	}
	part(GatewayCeiling, ceiling(GatewayCeiling))

	collector := func(name string, env map[string]string, rate float64) func() error {
		return func() error {
			full, err := enroll(name + "-full")
			if err != nil {
				return err
			}
			la := loadAvg()
			// Full load: the offer moves towards the capacity (offer.go),
			// a run each (a new host, a new spool); the capacity is the run
			// that committed most.
			var (
				runs    []offerRun
				results []loadResult
			)
			for try := 0; ; try++ {
				dir := filepath.Join(cfg.WorkDir, fmt.Sprintf("%s-full-%d", name, try))
				r, err := runLoad(ctx, w, loadSpec{bin: cfg.CollectorBin, id: full, dir: dir,
					env: env, rate: rate, duration: cfg.Duration, warmup: cfg.Warmup, drain: fullLoadGrace})
				if err != nil {
					return err
				}
				cfg.logf("%s: full load: offered %.0f/s, committed %.1f/s, p50 %.0f ms, p99 %.0f ms (%d of %d events due in the window not committed)",
					name, rate, r.EventsPerS, r.P50, r.P99, r.NotCommitted, r.LatencyN)
				runs, results = append(runs, offerRun{rate, r.EventsPerS}), append(results, r)
				next, ok := nextOffer(runs)
				if !ok {
					break
				}
				if runs[len(runs)-1].keptUp() {
					cfg.logf("%s: it committed what was offered: the offer was not above capacity; offering %.0f/s", name, next)
				} else {
					cfg.logf("%s: the offer was above capacity; offering %.0f/s", name, next)
				}
				rate = next
				if full, err = enroll(fmt.Sprintf("%s-full-%d", name, try+1)); err != nil {
					return err
				}
			}
			rf := results[capacity(runs)]
			half, err := enroll(name + "-half")
			if err != nil {
				return err
			}
			hrate := max(1, rf.EventsPerS/2)
			rh, err := runLoad(ctx, w, loadSpec{bin: cfg.CollectorBin, id: half, dir: filepath.Join(cfg.WorkDir, name+"-half"),
				env: env, rate: hrate, duration: cfg.Duration, warmup: cfg.Warmup, drain: time.Minute})
			if err != nil {
				return err
			}
			cfg.logf("%s: half load: offered %.0f/s, committed %.1f/s, p50 %.0f ms, p99 %.0f ms, all committed %v (%d of %d late, %d not committed)",
				name, hrate, rh.EventsPerS, rh.P50, rh.P99, rh.DrainedAll, rh.Late, rh.LatencyN, rh.NotCommitted)
			rep.collector(name, env, rf, rh, la)
			return nil
		}
	}
	part(CollectorOnePerTx, collector(CollectorOnePerTx,
		map[string]string{"E2L_BATCH_MAX": "1", "E2L_MAX_IN_FLIGHT": fmt.Sprint(cfg.InFlight)}, cfg.RateOneTx))
	part(CollectorBatched, collector(CollectorBatched, map[string]string{}, cfg.RateBatched))
	// The ceiling again, on the ledger the collector runs grew: how much of
	// a collector's figure below the first ceiling is the network's own
	// slowing down as its ledger grows.
	if cfg.want(GatewayCeiling) && (cfg.want(CollectorOnePerTx) || cfg.want(CollectorBatched)) {
		part(GatewayCeilingEnd, ceiling(GatewayCeilingEnd))
	}

	part(SpoolPart, func() error {
		rate, err := spoolIngest(ctx, cfg.WorkDir, cfg.IngestEvents, 256)
		if err != nil {
			return err
		}
		rep.Spool.IngestEventsPerS = rate
		cfg.logf("spool: ingest %.0f events/s (in-process, batches of 256)", rate)
		id, err := enroll("bench-spooled")
		if err != nil {
			return err
		}
		r, err := runSpooled(ctx, cfg.CollectorBin, id, filepath.Join(cfg.WorkDir, "spooled"), cfg.SpoolRecords, 50_000)
		rep.spooled(r)
		return err
	})

	part(ChurnPart, func() error {
		id, err := enroll("bench-churn")
		if err != nil {
			return err
		}
		la := loadAvg()
		r, err := runChurn(ctx, w, cfg.CollectorBin, id, filepath.Join(cfg.WorkDir, "churn"), cfg.ChurnDuration, cfg.ChurnWorkers)
		rep.churn(r, la)
		if err == nil && !r.Exact() {
			err = fmt.Errorf("the ledger does not hold Docker's events exactly once: %d emitted, %d once, %d missing, %d duplicated, %d phantom, %d gap records",
				r.Emitted, r.Committed, r.Missing, r.Duplicated, r.Phantom, r.GapRecords)
		}
		return err
	})

	part(IndexPart, func() error {
		r, err := runIndexBench(ctx, cfg)
		rep.Index = r
		return err
	})

	rep.finish(runtime.NumCPU())
	return rep, errors.Join(errs...)
}
