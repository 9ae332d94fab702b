package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"time"
)

// Handshaker makes a TLS handshake with addr (host:port) and returns the
// connection's state; the connection is closed.
type Handshaker interface {
	Handshake(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error)
}

// PeersConfig says how to reach the peers (the collector's peer settings).
type PeersConfig struct {
	Endpoints  []string // host:port (E2L_PEER_ENDPOINTS)
	TLSRootCA  string   // PEM file of the peers' TLS root CAs (E2L_PEER_TLS_CA)
	ServerName string   // TLS server name for every peer; "" = the endpoint's host
}

// Peers checks each peer endpoint: reachable, and a TLS handshake that
// verifies the peer's certificate against the configured TLS roots, the
// way the collector's Gateway connection does. One result per endpoint. A
// failure does not block the start: the collector spools meanwhile.
func Peers(ctx context.Context, files FileReader, h Handshaker, cfg PeersConfig) []Result {
	data, err := files.ReadFile(cfg.TLSRootCA)
	if err != nil {
		return []Result{failLater("peer TLS roots", "cannot read %s: %v", cfg.TLSRootCA, err)}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return []Result{failLater("peer TLS roots", "no PEM certificate in %s", cfg.TLSRootCA)}
	}
	var out []Result
	for _, ep := range cfg.Endpoints {
		out = append(out, peer(ctx, h, ep, pool, cfg))
	}
	return out
}

func peer(ctx context.Context, h Handshaker, ep string, pool *x509.CertPool, cfg PeersConfig) Result {
	check := "peer " + ep
	name := cfg.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(ep)
		if err != nil {
			return failLater(check, "not host:port: %v", err)
		}
		name = host
	}
	st, err := h.Handshake(ctx, ep, &tls.Config{RootCAs: pool, ServerName: name, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	var (
		opErr     *net.OpError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case err == nil:
	case errors.As(err, &unknownCA):
		return failLater(check, "TLS: the peer's certificate (issuer %q) is not signed by a root in %s", unknownCA.Cert.Issuer.CommonName, cfg.TLSRootCA)
	case errors.As(err, &hostname):
		return failLater(check, "TLS: the peer's certificate is not for %q (set E2L_PEER_TLS_SERVER_NAME to the name it carries): %v", name, hostname)
	case errors.As(err, &invalid):
		return failLater(check, "TLS: the peer's certificate is not valid: %v", invalid)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return failLater(check, "unreachable: %v", opErr.Err)
	default:
		return failLater(check, "TLS handshake: %v", err)
	}
	detail := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		detail += ", certificate of " + c.Subject.CommonName + " valid until " + c.NotAfter.UTC().Format(time.RFC3339)
	}
	return ok(check, "%s", detail)
}

// TLSDialer is the real Handshaker.
type TLSDialer struct{ Timeout time.Duration }

// Handshake dials addr and completes a TLS handshake.
func (d TLSDialer) Handshake(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: d.Timeout}, Config: cfg}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState(), nil
}
