package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"
)

func TestACertificateChainsAndItsFilesLoad(t *testing.T) {
	now := time.Now()
	ca := New(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil)
	leaf := New(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}, &ca)
	if err := ca.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("the CA is not self-signed: %v", err)
	}
	if err := leaf.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("the leaf is not signed by the CA: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "leaf.crt"), filepath.Join(dir, "leaf.key")
	leaf.Write(t, certFile, keyFile)
	got, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Leaf.Equal(leaf.Cert) {
		t.Fatal("the files hold another certificate")
	}
}
