package collector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/docker/docker/client"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/httpserver"
	"github.com/e2l-project/e2l/internal/ledger"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/spool"
)

// Run is the collector: it wires the parts and runs them until ctx is cancelled. Shutdown
// order: the watcher stops reading and writes what it queued and the stop
// record; then the submitter has DrainTimeout in all to empty the spool
// and to see its last transactions committed.
func Run(ctx context.Context, cfg config.Config, logger *zap.Logger, build buildinfo.Info) error {
	ver := build.Version
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
	if err := registerProcess(reg, build, cfg.Host, id.NotAfter); err != nil {
		return err
	}

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
	resumeCfg := ResumeConfig{Host: cfg.Host, LiveWindow: 2*cfg.HeartbeatInterval + 10*time.Second}
	resumeCtx, cancelResume := context.WithTimeout(ctx, 10*time.Second)
	resumed, err := Resume(resumeCtx, sp, conn, resumeCfg)
	cancelResume()
	resumeLater := false
	switch {
	case errors.Is(err, ErrOtherCollector), errors.Is(err, spool.ErrNotAdoptable):
		return fmt.Errorf("refusing to start: %w", err)
	case err != nil:
		logger.Warn("cannot read the ledger's head of this host's chain yet: recording, submitting once it can be read", zap.Error(err))
		resumeLater = true
	}
	logResumed(logger, resumed)
	var drainDeadline atomic.Int64 // unix ns; set when the shutdown drain starts
	sub, err := ledger.NewSubmitter(sp, conn, ledger.Config{
		Logger: logger.Named("ledger"), Registerer: reg,
		MaxBatch: cfg.BatchMax, MaxDelay: cfg.BatchDelay, MaxInFlight: cfg.MaxInFlight, DrainTimeout: cfg.DrainTimeout,
		DrainDeadline: func() time.Time {
			if ns := drainDeadline.Load(); ns != 0 {
				return time.Unix(0, ns)
			}
			return time.Time{}
		},
	})
	if err != nil {
		return fmt.Errorf("submitter: %w", err)
	}

	w, err := dockerwatch.New(docker, Sink{Spool: sp}, dockerwatch.Config{
		Logger: logger.Named("dockerwatch"), Registerer: reg, Host: cfg.Host, Version: ver, Filter: cfg.Filter, HeartbeatInterval: cfg.HeartbeatInterval,
		Pending: func() uint64 { return uint64(sp.Stats().PendingRecords) },
	})
	if err != nil {
		return fmt.Errorf("docker watcher: %w", err)
	}

	ready := Readiness{StreamUp: w.StreamUp, LastCommit: sub.LastCommit, Window: cfg.ReadyWindow}
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
			resumed, err := ResumeOnStart(gctx, sp, conn, resumeCfg, logger.Named("resume"))
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
		drainDeadline.Store(time.Now().Add(cfg.DrainTimeout).UnixNano())
		if left := DrainSpool(sp, cfg.DrainTimeout); left > 0 {
			logger.Warn("stopping with records still spooled; they are submitted at the next start", zap.Int("pending", left))
		}
		return nil
	})
	g.Go(func() error { return srv.Run(gctx) })
	return g.Wait()
}

func logResumed(logger *zap.Logger, r Resumed) {
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
