package fabricconn

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/e2l-project/e2l/internal/testkit/testpki"
)

// testCA writes a self-signed certificate as a PEM file and returns the
// file, the certificate and its key.
func testCA(t *testing.T) (string, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	ca := testpki.New(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlsca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}, nil)
	file := filepath.Join(t.TempDir(), "ca.pem")
	ca.Write(t, file, "")
	return file, ca.Cert, ca.Key
}

func TestTLSCredentials(t *testing.T) {
	good, _, _ := testCA(t)
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, want string
	}{
		{"a PEM file of roots gives TLS credentials", good, ""},
		{"no file is refused", "", "no TLS root CA file"},
		{"a missing file is refused", filepath.Join(t.TempDir(), "nope.pem"), "no such file"},
		{"a file without certificates is refused", notPEM, "no certificate in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := TLSCredentials(tt.file, "peer0.example.com")
			if tt.want == "" {
				if err != nil || creds.Info().SecurityProtocol != "tls" {
					t.Fatalf("creds %v, err %v", creds, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestConnect(t *testing.T) {
	caFile, cert, key := testCA(t)
	id, err := identity.NewX509Identity("ProviderMSP", cert)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"a TLS root file and an identity connect", Config{Endpoint: "127.0.0.1:1", TLSRootCAFile: caFile, ID: id, Sign: sign,
			Timeouts: Timeouts{Evaluate: time.Second, Endorse: time.Second, Submit: time.Second, CommitStatus: time.Second}}, ""},
		{"given credentials and a receive bound connect", Config{Endpoint: "127.0.0.1:1", Credentials: insecure.NewCredentials(),
			MaxRecvBytes: 16 << 20, ID: id, Sign: sign}, ""},
		{"no identity is refused", Config{Endpoint: "127.0.0.1:1", TLSRootCAFile: caFile}, "identity and sign are required"},
		{"no TLS roots are refused", Config{Endpoint: "127.0.0.1:1", ID: id, Sign: sign}, "TLS root CAs: no TLS root CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Connect(tt.cfg)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					_ = c.Close()
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Endpoint != tt.cfg.Endpoint || c.Contract("e2l", "e2l") == nil {
				t.Fatalf("conn %+v", c)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}
