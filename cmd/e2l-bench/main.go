// Command e2l-bench runs e2l's benchmarks on a local Fabric network of its
// own (make bench) and writes docs/benchmarks.json and docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/e2l-project/e2l/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("e2l-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := bench.Config{Log: stderr}
	var only, jsonOut, mdOut string
	fs.StringVar(&cfg.NetDir, "net-dir", ".e2l/bench-network", "state directory of the bench network (recreated)")
	fs.IntVar(&cfg.PortBase, "port-base", 17000, "port base of the bench network (120 ports; keep below the ephemeral range, 32768 and up)")
	fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", 500*time.Millisecond, "orderer batch timeout, the same for every configuration")
	fs.StringVar(&cfg.FabricBin, "fabric-bin", ".bin/fabric", "Fabric binaries (make fabric-bin)")
	fs.StringVar(&cfg.ChaincodeBin, "chaincode-bin", ".bin/bench/e2l-chaincode", "e2l-chaincode binary")
	fs.StringVar(&cfg.CollectorBin, "collector-bin", ".bin/bench/e2l-collector", "e2l-collector binary")
	fs.StringVar(&cfg.E2LBin, "e2l-bin", ".bin/bench/e2l", "e2l binary (the audit index measurements)")
	fs.IntVar(&cfg.IndexSmall, "index-small", 10_000, "records on the ledger for the index's first measurement")
	fs.IntVar(&cfg.IndexLarge, "index-large", 100_000, "records on the ledger for the index's second measurement")
	fs.StringVar(&cfg.WorkDir, "work-dir", ".e2l/bench-work", "spools and logs of the runs (recreated)")
	fs.DurationVar(&cfg.Duration, "duration", 25*time.Second, "length of each collector run and of the Gateway ceiling")
	fs.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "start of each collector run left out of the measurement")
	fs.IntVar(&cfg.PaperEvents, "paper-events", 30, "Docker events the paper's method records")
	fs.IntVar(&cfg.InFlight, "in-flight", 128, "transactions in flight for the Gateway ceiling and collector-1-per-tx")
	fs.Float64Var(&cfg.RateOneTx, "rate-1-per-tx", 200, "first offered events/s for collector-1-per-tx at full load (raised by a quarter while committed)")
	fs.Float64Var(&cfg.RateBatched, "rate-batched", 1200, "first offered events/s for collector-batched at full load (raised by a quarter while committed)")
	fs.IntVar(&cfg.IngestEvents, "ingest-events", 100_000, "events appended for the spool ingest measurement")
	fs.IntVar(&cfg.SpoolRecords, "spool-records", 1_000_000, "records spooled with the ledger unreachable (the spool's bound: the collector stops spooling there)")
	fs.DurationVar(&cfg.ChurnDuration, "churn", 30*time.Second, "length of the real-Docker container churn")
	fs.IntVar(&cfg.ChurnWorkers, "churn-workers", 4, "parallel `docker run --rm` loops")
	fs.BoolVar(&cfg.NoRegister, "no-register", false, "do not register the bench hosts (A/B against a chaincode that predates the host registry)")
	fs.StringVar(&only, "only", "", "comma-separated parts to run (paper-cli, gateway-ceiling, collector-1-per-tx, collector-batched, gateway-ceiling-end, spool, real-docker, index; gateway-ceiling-end runs when gateway-ceiling and a collector part do)")
	fs.StringVar(&jsonOut, "json", "docs/benchmarks.json", "JSON output (empty: none)")
	fs.StringVar(&mdOut, "md", "docs/benchmarks.md", "Markdown output (empty: none)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if only != "" {
		cfg.Only = strings.Split(only, ",")
	}
	for _, p := range []*string{&cfg.NetDir, &cfg.FabricBin, &cfg.ChaincodeBin, &cfg.CollectorBin, &cfg.WorkDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			fmt.Fprintf(stderr, "e2l-bench: %v\n", err)
			return 2
		}
		*p = abs
	}
	command := "e2l-bench " + strings.Join(args, " ")
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		rep.Table(stdout)
		if jsonOut != "" {
			if werr := rep.WriteJSON(jsonOut); werr != nil {
				fmt.Fprintf(stderr, "e2l-bench: %v\n", werr)
				return 1
			}
		}
		if mdOut != "" {
			if werr := rep.WriteMarkdown(mdOut, command); werr != nil {
				fmt.Fprintf(stderr, "e2l-bench: %v\n", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "e2l-bench: %v\n", err)
		return 1
	}
	return 0
}
