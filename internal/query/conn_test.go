package query

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/testkit/testpki"
	"github.com/e2l-project/e2l/internal/wire"
)

// bigGateway is a Gateway whose Evaluate answers size bytes.
type bigGateway struct {
	gateway.UnimplementedGatewayServer
	size int
}

func (g bigGateway) Evaluate(context.Context, *gateway.EvaluateRequest) (*gateway.EvaluateResponse, error) {
	return &gateway.EvaluateResponse{Result: &peer.Response{Status: 200, Payload: bytes.Repeat([]byte{'x'}, g.size)}}, nil
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files, returning their paths and the TLS certificate.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string, tc tls.Certificate) {
	t.Helper()
	now := time.Now()
	c := testpki.New(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}, nil)
	certFile, keyFile = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	c.Write(t, certFile, keyFile)
	return certFile, keyFile, c.TLS()
}

// serveGateway serves g over TLS on a local port and returns a Config that
// reaches it.
func serveGateway(t *testing.T, g gateway.GatewayServer) Config {
	t.Helper()
	dir := t.TempDir()
	caFile, _, serverCert := writeCert(t, dir, "peer0")
	certFile, keyFile, _ := writeCert(t, dir, "auditor")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&serverCert)))
	gateway.RegisterGatewayServer(srv, g)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return Config{Endpoints: []string{lis.Addr().String()}, TLSCAFile: caFile, MSPID: "ProviderMSP",
		CertFile: certFile, KeyFile: keyFile, Channel: "e2l", Chaincode: "e2l", Timeout: 10 * time.Second}
}

func TestTheClientReceivesAnswersLargerThanGRPCsDefault(t *testing.T) {
	const size = 6 << 20 // over gRPC's default 4 MiB, as a block of up to AbsoluteMaxBytes (10 MB) may be
	cfg := serveGateway(t, bigGateway{size: size})
	tests := []struct {
		name     string
		maxRecv  int
		wantCode codes.Code
	}{
		{"the default limit takes a 6 MiB block", 0, codes.OK},
		{"a 4 MiB limit (gRPC's default) refuses it", 4 << 20, codes.ResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg.MaxRecvBytes = tt.maxRecv
			c, err := Dial(cfg, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			b, err := c.BlockByNumber(t.Context(), 7)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("answer of %d bytes, error %v; want code %s", len(b), err, tt.wantCode)
			}
			if tt.wantCode == codes.OK && len(b) != size {
				t.Fatalf("answer of %d bytes, want %d", len(b), size)
			}
			if tt.wantCode != codes.OK && !strings.Contains(err.Error(), "qscc GetBlockByNumber on peer") {
				t.Errorf("error %q does not name the call and the peer", err)
			}
		})
	}
}

func TestRefusalIsFoundInThePeersDetails(t *testing.T) {
	refused := func(details ...string) error {
		st := status.New(codes.Aborted, "failed to endorse transaction, see attached details for more info")
		for _, d := range details {
			var err error
			if st, err = st.WithDetails(&gateway.ErrorDetail{Address: "peer0:7051", MspId: "DeveloperMSP", Message: d}); err != nil {
				t.Fatal(err)
			}
		}
		return st.Err()
	}
	tests := []struct {
		name     string
		err      error
		wantCode wire.Code
		wantMsg  string
	}{
		{"a refusal in a peer's detail", &CallError{Call: "e2l GetHost", Endpoint: "p", Err: refused("chaincode response 500, e2l-refusal not-registered: host \"x\" is not registered")},
			wire.CodeNotRegistered, `host "x" is not registered`},
		{"the refusal of the second peer when the first has none", refused("timeout", "chaincode response 500, e2l-refusal not-admin: not an admin"),
			wire.CodeNotAdmin, "not an admin"},
		{"a refusal in the status message", status.Error(codes.Unknown, "e2l-refusal bad-argument: host must be 1 to 253 bytes"),
			wire.CodeBadArgument, "host must be 1 to 253 bytes"},
		{"no refusal in a plain failure", status.Error(codes.Unavailable, "connection refused"), "", ""},
		{"no refusal in no error", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := Refusal(tt.err)
			if ok != (tt.wantCode != "") || (ok && (r.Code != tt.wantCode || r.Message != tt.wantMsg)) {
				t.Fatalf("Refusal = %+v, %v; want %s %q", r, ok, tt.wantCode, tt.wantMsg)
			}
		})
	}
}
