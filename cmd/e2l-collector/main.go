// Command e2l-collector runs on each Docker host: it records the Docker
// Engine's events durably in a local spool and submits them to the e2l
// chaincode on a Hyperledger Fabric channel. See docs/collector.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/collector"
	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/httpserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the collector: it returns the process exit code (0 after a clean
// stop, 1 on a failure, 2 on a configuration error). `check` runs the
// preflight checks instead (see check.go), `healthcheck` asks a running
// collector's /healthz.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	build := buildinfo.Get("e2l-collector")
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		fmt.Fprintln(stderr, build)
		return 0
	}
	if len(args) > 0 && args[0] == "check" {
		return check(ctx, args[1:], getenv, stdout, stderr)
	}
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "e2l-collector: configuration:\n%v\n", err)
		return 2
	}
	if healthcheck {
		return probe(ctx, cfg.Listen, stderr)
	}
	logger := newLogger(cfg.Level, stderr)
	defer func() { _ = logger.Sync() }()
	if cfg.Preflight && !preflightPasses(ctx, cfg, logger.Named("preflight")) {
		return 1
	}
	if err := collector.Run(ctx, cfg, logger, build); err != nil {
		logger.Error("collector failed", zap.Error(err))
		return 1
	}
	logger.Info("collector stopped")
	return 0
}

// probe is `e2l-collector healthcheck`: the container health check of an
// image without a shell. It asks the running collector's /healthz.
func probe(ctx context.Context, listen string, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := httpserver.Probe(ctx, http.DefaultClient, listen, "/healthz"); err != nil {
		fmt.Fprintf(stderr, "e2l-collector healthcheck: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(level zapcore.Level, w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core).Named("e2l-collector")
}
