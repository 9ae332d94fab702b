package preflight

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io/fs"
	"math/big"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/testkit/testpki"
)

// testCA is an in-memory certificate authority.
type testCA struct {
	testpki.Cert
	pem []byte
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	return newTestCASince(t, name, time.Now().Add(-48*time.Hour))
}

// newTestCASince is a CA valid from notBefore.
func newTestCASince(t *testing.T, name string, notBefore time.Time) testCA {
	t.Helper()
	c := testpki.New(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil)
	return testCA{Cert: c, pem: c.CertPEM()}
}

// leaf is a host certificate as Fabric CA issues it: the e2l attributes in
// its attribute extension.
type leaf struct {
	attrs               map[string]string
	notBefore, notAfter time.Time
}

// issue returns the certificate and its private key, PEM.
func (ca testCA) issue(t *testing.T, l leaf) (certPEM, keyPEM []byte) {
	t.Helper()
	ext, err := json.Marshal(map[string]any{"attrs": l.attrs})
	if err != nil {
		t.Fatal(err)
	}
	if l.notBefore.IsZero() {
		l.notBefore = time.Now().Add(-time.Hour)
	}
	if l.notAfter.IsZero() {
		l.notAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	c := testpki.New(t, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: l.attrs["e2l.host"]},
		NotBefore: l.notBefore, NotAfter: l.notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: signer.OIDAttributes, Value: ext}},
	}, &ca.Cert)
	return c.CertPEM(), c.KeyPEM(t)
}

func collectorAttrs(host string) map[string]string {
	return map[string]string{"e2l.host": host, "e2l.role": "collector"}
}

// memFiles is a FileReader over a map; a missing name is fs.ErrNotExist.
type memFiles map[string][]byte

func (m memFiles) ReadFile(name string) ([]byte, error) {
	if b, ok := m[name]; ok {
		return b, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
