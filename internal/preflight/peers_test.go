package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
)

type fakeHandshaker struct {
	errs map[string]error // by address
	got  []*tls.Config
}

func (h *fakeHandshaker) Handshake(_ context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	h.got = append(h.got, cfg)
	if err := h.errs[addr]; err != nil {
		return tls.ConnectionState{}, err
	}
	return tls.ConnectionState{Version: tls.VersionTLS13}, nil
}

func TestPeersCheck(t *testing.T) {
	ca := newTestCA(t, "tlsca.provider.e2l.local")
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	unknown := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: ca.Cert.Cert}}
	tests := []struct {
		name       string
		endpoints  []string
		caFile     []byte
		serverName string
		errs       map[string]error
		want       map[string]string
		wantName   string // the TLS server name asked for the first endpoint
	}{
		{name: "reachable peers pass, one line each", endpoints: []string{"peer0.provider:7051", "peer0.user:9051"}, caFile: ca.pem,
			want: map[string]string{"peer peer0.provider:7051": "ok: TLS 1.3", "peer peer0.user:9051": "ok: TLS 1.3"}, wantName: "peer0.provider"},
		{name: "the configured server name is verified for every peer", endpoints: []string{"127.0.0.1:7051"}, caFile: ca.pem, serverName: "peer0.provider.e2l.local",
			want: map[string]string{"peer 127.0.0.1:7051": "ok:"}, wantName: "peer0.provider.e2l.local"},
		{name: "an unreachable peer fails on its own line", endpoints: []string{"127.0.0.1:7051", "127.0.0.1:9051"}, caFile: ca.pem,
			errs: map[string]error{"127.0.0.1:9051": refused},
			want: map[string]string{"peer 127.0.0.1:7051": "ok:", "peer 127.0.0.1:9051": "FAIL: unreachable: connect: connection refused"}},
		{name: "a peer whose certificate the roots do not sign fails naming the file", endpoints: []string{"127.0.0.1:7051"}, caFile: ca.pem,
			errs: map[string]error{"127.0.0.1:7051": unknown},
			want: map[string]string{"peer 127.0.0.1:7051": `FAIL: TLS: the peer's certificate (issuer "tlsca.provider.e2l.local") is not signed by a root in /id/ca.pem`}},
		{name: "a roots file without certificates fails once", endpoints: []string{"127.0.0.1:7051"}, caFile: []byte("junk"),
			want: map[string]string{"peer TLS roots": "FAIL: no PEM certificate in /id/ca.pem"}},
		{name: "no roots file fails once", endpoints: []string{"127.0.0.1:7051"},
			want: map[string]string{"peer TLS roots": "FAIL: cannot read /id/ca.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := memFiles{}
			if tc.caFile != nil {
				files["/id/ca.pem"] = tc.caFile
			}
			h := &fakeHandshaker{errs: tc.errs}
			res := Peers(t.Context(), files, h, PeersConfig{Endpoints: tc.endpoints, TLSRootCA: "/id/ca.pem", ServerName: tc.serverName})
			requireResults(t, res, tc.want)
			for _, r := range res {
				if r.Blocks {
					t.Errorf("%s blocks the start; a peer's problem must not", r)
				}
			}
			if tc.wantName != "" && (len(h.got) == 0 || h.got[0].ServerName != tc.wantName) {
				t.Errorf("server name asked: %v, want %q", h.got, tc.wantName)
			}
		})
	}
}

// The real handshaker against a real TLS server: verified with the
// server's root, refused with another root.
func TestTLSDialerVerifiesThePeer(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.EnableHTTP2 = true // a peer's gRPC server speaks h2 only
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	other := newTestCA(t, "someone else")
	d := TLSDialer{Timeout: 0}
	cfg := PeersConfig{Endpoints: []string{addr}, TLSRootCA: "/ca.pem", ServerName: "example.com"}

	res := Peers(t.Context(), memFiles{"/ca.pem": rootPEM}, d, cfg)
	requireResults(t, res, map[string]string{"peer " + addr: "ok: TLS 1.3"})
	res = Peers(t.Context(), memFiles{"/ca.pem": other.pem}, d, cfg)
	requireResults(t, res, map[string]string{"peer " + addr: "FAIL: TLS: the peer's certificate"})

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	res = Peers(t.Context(), memFiles{"/ca.pem": rootPEM}, d, PeersConfig{Endpoints: []string{closed}, TLSRootCA: "/ca.pem"})
	requireResults(t, res, map[string]string{"peer " + closed: "FAIL: unreachable:"})
}
