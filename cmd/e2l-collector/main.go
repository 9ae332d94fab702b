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
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/docker/docker/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"

	"github.com/e2l-project/e2l/internal/collector"
	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/httpserver"
	"github.com/e2l-project/e2l/internal/ledger"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/spool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// buildVersion is set at link time: -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion string

// version is the collector's version: the one set at link time, else the
// module's build information.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// run is the collector: it returns the process exit code (0 after a clean
// stop, 1 on a failure, 2 on a configuration error).
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
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
	if err := collect(ctx, cfg, logger); err != nil {
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

// collect wires the parts and runs them until ctx is cancelled. Shutdown
// order: the watcher stops reading and writes what it queued and the stop
// record; then the submitter gets up to DrainTimeout to empty the spool and
// as long again for the transactions in flight.
func collect(ctx context.Context, cfg config.Config, logger *zap.Logger) error {
	ver := version()
	logger.Info("collector starting", zap.String("version", ver), zap.String("host", cfg.Host),
		zap.String("docker", cfg.DockerHost), zap.Strings("peers", cfg.PeerEndpoints))

	id, err := signer.Load(cfg.Cert, cfg.Key, cfg.MSPID)
	if err != nil {
		return fmt.Errorf("load identity: %w", err)
	}
	if id.Host != cfg.Host {
		return fmt.Errorf("the certificate %s is for e2l.host %q, not for this host %q (E2L_HOST): refusing to start", cfg.Cert, id.Host, cfg.Host)
	}
	if now := time.Now(); now.After(id.NotAfter) {
		return fmt.Errorf("the certificate %s expired at %s: refusing to start", cfg.Cert, id.NotAfter.Format(time.RFC3339))
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "e2l_collector", Name: "build_info",
		Help: "Always 1; the collector's version and host as labels."}, []string{"version", "host"})
	buildInfo.WithLabelValues(ver, cfg.Host).Set(1)
	certExpiry := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "e2l_collector", Subsystem: "identity",
		Name: "cert_expiry_timestamp_seconds", Help: "When the host's certificate expires (unix seconds): renew it before."})
	certExpiry.Set(float64(id.NotAfter.Unix()))
	reg.MustRegister(buildInfo, certExpiry)

	if err := os.MkdirAll(cfg.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("spool directory: %w", err)
	}
	sp, err := spool.Open(filepath.Join(cfg.SpoolDir, "spool.db"), spool.Options{
		Host: cfg.Host, MaxBytes: cfg.SpoolMaxBytes, Registerer: reg})
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	defer func() {
		if err := sp.Close(); err != nil {
			logger.Error("close spool", zap.Error(err))
		}
	}()

	docker, closeDocker, err := dockerSource(cfg.DockerHost, logger)
	if err != nil {
		return err
	}
	defer closeDocker()

	conn, err := ledger.Dial(ctx, ledger.ConnConfig{
		Endpoints: cfg.PeerEndpoints, TLSRootCAFile: cfg.PeerTLSCA, ServerNameOverride: cfg.PeerTLSName,
		ID: id.X509, Sign: id.Sign, Channel: cfg.Channel, Chaincode: cfg.Chaincode,
	})
	if err != nil {
		return fmt.Errorf("fabric gateway: %w", err)
	}
	defer func() { _ = conn.Close() }()
	// Continue the host's chain where the ledger has it (a new or lost
	// spool), or refuse to fork it (another collector of this host). When
	// the ledger cannot be read now, the submitter does it before its first
	// submission, and the watcher spools meanwhile.
	resumeCfg := collector.ResumeConfig{Host: cfg.Host, LiveWindow: 2*cfg.HeartbeatInterval + 10*time.Second}
	resumeCtx, cancelResume := context.WithTimeout(ctx, 10*time.Second)
	resumed, err := collector.Resume(resumeCtx, sp, conn, resumeCfg)
	cancelResume()
	resumeLater := false
	switch {
	case errors.Is(err, collector.ErrOtherCollector), errors.Is(err, spool.ErrNotAdoptable):
		return fmt.Errorf("refusing to start: %w", err)
	case err != nil:
		logger.Warn("cannot read the ledger's head of this host's chain yet: recording, submitting once it can be read", zap.Error(err))
		resumeLater = true
	}
	logResumed(logger, resumed)
	sub, err := ledger.NewSubmitter(sp, conn, logger.Named("ledger"), reg, ledger.Config{
		MaxBatch: cfg.BatchMax, MaxDelay: cfg.BatchDelay, MaxInFlight: cfg.MaxInFlight, DrainTimeout: cfg.DrainTimeout,
	})
	if err != nil {
		return fmt.Errorf("submitter: %w", err)
	}

	w, err := dockerwatch.New(docker, collector.Sink{Spool: sp}, logger.Named("dockerwatch"), reg, dockerwatch.Config{
		Host: cfg.Host, Version: ver, Filter: cfg.Filter, HeartbeatInterval: cfg.HeartbeatInterval,
		Pending: func() uint64 { return uint64(sp.Stats().PendingRecords) },
	})
	if err != nil {
		return fmt.Errorf("docker watcher: %w", err)
	}

	ready := collector.Readiness{StreamUp: w.StreamUp, LastCommit: sub.LastCommit, Window: cfg.ReadyWindow}
	srv, err := httpserver.Listen(cfg.Listen, httpserver.NewHandler(reg, reg, ready.Check), logger.Named("http"))
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The submitter outlives the watcher: its context ends only after the
	// watcher has stopped and the spool drained (or DrainTimeout passed).
	subCtx, cancelSub := context.WithCancel(context.WithoutCancel(gctx))
	defer cancelSub()
	watcherDone := make(chan struct{})
	g.Go(func() error {
		defer close(watcherDone)
		if err := w.Run(gctx); err != nil {
			return fmt.Errorf("docker watcher: %w", err)
		}
		return nil
	})
	subDone := make(chan struct{})
	g.Go(func() error {
		defer close(subDone)
		if resumeLater {
			resumed, err := collector.ResumeOnStart(gctx, sp, conn, resumeCfg, logger.Named("resume"))
			if gctx.Err() != nil {
				return nil
			}
			if err != nil {
				return fmt.Errorf("continue the host's chain: %w", err)
			}
			logResumed(logger, resumed)
		}
		if err := sub.Run(subCtx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("submitter: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		defer cancelSub()
		select {
		case <-gctx.Done():
		case <-subDone: // the submitter stopped early: the group is stopping
			return nil
		}
		<-watcherDone
		select {
		case <-subDone:
			return nil // nothing would drain the spool
		default:
		}
		if left := collector.DrainSpool(sp, cfg.DrainTimeout); left > 0 {
			logger.Warn("stopping with records still spooled; they are submitted at the next start", zap.Int("pending", left))
		}
		return nil
	})
	g.Go(func() error { return srv.Run(gctx) })
	return g.Wait()
}

func logResumed(logger *zap.Logger, r collector.Resumed) {
	if r.Moved {
		logger.Warn("this spool did not write the host's chain: it continues from the ledger's newest record, after a gap record",
			zap.Uint64("ledger_seq", r.Ledger.Seq), zap.String("ledger_kind", string(r.Ledger.Kind)), zap.Uint64("gap_seq", r.Gap.Record.Seq))
	}
}

// dockerSource is the Docker Engine at endpoint, or, for a synthetic://
// endpoint, the benchmark's synthetic event source (dockerwatch.Synthetic).
func dockerSource(endpoint string, logger *zap.Logger) (dockerwatch.Docker, func(), error) {
	if dockerwatch.IsSynthetic(endpoint) {
		s, err := dockerwatch.ParseSynthetic(endpoint)
		if err != nil {
			return nil, nil, err
		}
		logger.Warn("synthetic Docker event source: for benchmarks only", zap.String("docker", endpoint))
		return s, func() {}, nil
	}
	docker, err := client.NewClientWithOpts(client.WithHost(endpoint), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, nil, fmt.Errorf("docker client: %w", err)
	}
	return docker, func() { _ = docker.Close() }, nil
}
