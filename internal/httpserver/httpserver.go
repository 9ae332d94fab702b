// Package httpserver serves the collector's operational endpoints:
// /metrics (the private registry), /healthz (the process is alive) and
// /readyz (the collector is doing its job, see the readiness check).
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// NewHandler returns the mux of the three endpoints. ready returns nil when
// the collector is ready, else why not.
func NewHandler(gatherer prometheus.Gatherer, reg prometheus.Registerer, ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// Server serves a handler until its context is cancelled.
type Server struct {
	ln  net.Listener
	srv *http.Server
	log *zap.Logger
	// shutdownTimeout bounds the graceful shutdown (5s; tests shorten it).
	shutdownTimeout time.Duration
}

// Listen binds addr (so a busy port fails at start, not later).
func Listen(addr string, h http.Handler, logger *zap.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &Server{ln: ln, log: logger, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		shutdownTimeout: 5 * time.Second}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is cancelled, then shuts down within 5s. Connections
// still open then are closed: that is not a failure of the process (a
// scraper's connection that has not sent its request yet counts as busy
// for 5s in net/http, long enough to fail a clean stop).
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.log.Info("http server listening", zap.String("addr", s.ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.log.Warn("http server: connections still open at shutdown, closed", zap.Error(err))
		if err := s.srv.Close(); err != nil {
			return fmt.Errorf("http server close: %w", err)
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}
