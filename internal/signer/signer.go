package signer

import (
	"crypto/x509"
	"errors"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
)

// Attribute names the collector relies on.
const (
	AttrHost = "e2l.host"
	AttrRole = "e2l.role"
)

// Identity is a loaded signing identity.
type Identity struct {
	X509     *identity.X509Identity // MSP ID and certificate, for client.Connect
	Sign     identity.Sign          // low-S ECDSA (or Ed25519) signing function
	Cert     *x509.Certificate
	Attrs    map[string]string // Fabric CA attributes; empty when the extension is absent
	Host     string            // Attrs["e2l.host"], "" when absent
	Role     string            // Attrs["e2l.role"], "" when absent
	NotAfter time.Time         // the certificate's expiry
}

// Load reads a PEM certificate and a PEM private key (PKCS#8, SEC 1 or
// PKCS#1) and checks that the key belongs to the certificate.
func Load(certPEMPath, keyPEMPath, mspID string) (*Identity, error) {
	return nil, errors.New("signer: not implemented")
}

// New is Load from PEM bytes.
func New(certPEM, keyPEM []byte, mspID string) (*Identity, error) {
	return nil, errors.New("signer: not implemented")
}
