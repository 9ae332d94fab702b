package signer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var notAfter = time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCertPEM returns a self-signed certificate for pub, with attrJSON as the
// Fabric CA attribute extension when not empty.
func newCertPEM(t *testing.T, signer *ecdsa.PrivateKey, pub any, attrJSON string) []byte {
	t.Helper()
	tmpl := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "node1", Organization: []string{"Provider"}},
		NotBefore:    notAfter.Add(-24 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if attrJSON != "" {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}, Value: []byte(attrJSON)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func sec1PEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

const collectorAttrs = `{"attrs":{"e2l.host":"node1","e2l.role":"collector","hf.Type":"client"}}`

func TestLoadReadsIdentityAndAttributes(t *testing.T) {
	key := newKey(t)
	certPEM := newCertPEM(t, key, &key.PublicKey, collectorAttrs)
	for name, keyPEM := range map[string][]byte{"PKCS 8": pkcs8PEM(t, key), "SEC 1": sec1PEM(t, key)} {
		t.Run("a "+name+" key is loaded with its certificate's attributes", func(t *testing.T) {
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
			writeFile(t, certPath, certPEM)
			writeFile(t, keyPath, keyPEM)
			id, err := Load(certPath, keyPath, "ProviderMSP")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if id.Host != "node1" || id.Role != "collector" || id.Attrs["hf.Type"] != "client" {
				t.Errorf("attributes: host %q role %q attrs %v", id.Host, id.Role, id.Attrs)
			}
			if !id.NotAfter.Equal(notAfter) {
				t.Errorf("NotAfter = %v, want %v", id.NotAfter, notAfter)
			}
			if id.X509.MspID() != "ProviderMSP" || !strings.Contains(string(id.X509.Credentials()), "BEGIN CERTIFICATE") {
				t.Errorf("X509 identity: %s %q", id.X509.MspID(), id.X509.Credentials())
			}
			digest := sha256.Sum256([]byte("hello"))
			sig, err := id.Sign(digest[:])
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				t.Fatal("signature does not verify with the certificate's key")
			}
			var rs struct{ R, S *big.Int }
			if _, err := asn1.Unmarshal(sig, &rs); err != nil {
				t.Fatal(err)
			}
			halfN := new(big.Int).Rsh(elliptic.P256().Params().N, 1)
			if rs.S.Cmp(halfN) > 0 {
				t.Fatal("signature is not low-S")
			}
		})
	}
}

func TestLoadWithoutAttributes(t *testing.T) {
	key := newKey(t)
	id, err := New(newCertPEM(t, key, &key.PublicKey, ""), pkcs8PEM(t, key), "ProviderMSP")
	if err != nil {
		t.Fatal(err)
	}
	if id.Host != "" || len(id.Attrs) != 0 {
		t.Fatalf("attributes of a certificate without the extension: %v", id.Attrs)
	}
}

func TestLoadRefuses(t *testing.T) {
	key, other := newKey(t), newKey(t)
	certPEM := newCertPEM(t, key, &key.PublicKey, collectorAttrs)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cert    []byte
		key     []byte
		msp     string
		wantErr string
	}{
		{"a key of another certificate", certPEM, pkcs8PEM(t, other), "ProviderMSP", "does not match the certificate"},
		{"a certificate that is not PEM", []byte("hello"), pkcs8PEM(t, key), "ProviderMSP", "certificate: no PEM block"},
		{"a key that is not PEM", certPEM, []byte("hello"), "ProviderMSP", "private key: no PEM block"},
		{"a key where the certificate should be", pkcs8PEM(t, key), pkcs8PEM(t, key), "ProviderMSP", `"PRIVATE KEY", want CERTIFICATE`},
		{"a certificate where the key should be", certPEM, certPEM, "ProviderMSP", `"CERTIFICATE", want PRIVATE KEY`},
		{"an Ed25519 key", certPEM, pkcs8PEM(t, edKey), "ProviderMSP", "want ECDSA"},
		{"attributes that are not JSON", newCertPEM(t, key, &key.PublicKey, "e2l.host=node1"), pkcs8PEM(t, key), "ProviderMSP", "is not JSON"},
		{"an empty MSP ID", certPEM, pkcs8PEM(t, key), "", "MSP ID is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cert, tt.key, tt.msp)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadNamesMissingFiles(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "nope.pem"), filepath.Join(dir, "key.pem"), "ProviderMSP")
	if err == nil || !strings.Contains(err.Error(), "nope.pem") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error naming the file", err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
