package webview

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/deps"
)

// TLSFiles are the server's certificate and key and, for client
// certificate authentication, the CA bundle client certificates must
// chain to (the channel organisations' CAs).
type TLSFiles struct {
	Cert, Key string
	ClientCA  string
}

// TLSConfig builds the listener's TLS configuration: TLS 1.2 or later
// with the server's certificate; with a client CA bundle, the handshake
// requires a client certificate that chains to it and refuses any other.
func TLSConfig(f TLSFiles) (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("webview: TLS needs a certificate and a key")
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("webview: TLS certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if f.ClientCA != "" {
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("webview: client CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("webview: client CA bundle %s holds no PEM certificate", f.ClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Listener serves a handler on a bound address, over TLS when configured.
type Listener struct {
	ln  net.Listener
	srv *http.Server
	log *zap.Logger
	tls bool
}

// Listen binds addr (a busy port fails here, not later); tlsCfg nil
// serves plain HTTP.
func Listen(addr string, h http.Handler, tlsCfg *tls.Config, logger *zap.Logger) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webview: listen on %s: %w", addr, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	logger = deps.Logger(logger)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: zap.NewStdLog(logger.Named("http"))}
	return &Listener{ln: ln, srv: srv, log: logger, tls: tlsCfg != nil}, nil
}

// URL is the address to browse to.
func (l *Listener) URL() string {
	scheme := "http"
	if l.tls {
		scheme = "https"
	}
	return scheme + "://" + l.ln.Addr().String() + "/"
}

// Run serves until ctx ends, then shuts down within 5 s (connections
// still open then are closed).
func (l *Listener) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- l.srv.Serve(l.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("webview: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(sctx); err != nil {
		l.log.Warn("web view: connections still open at shutdown, closed", zap.Error(err))
		_ = l.srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("webview: serve: %w", err)
	}
	return nil
}
