package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
)

// Attribute names the collector relies on.
const (
	AttrHost = "e2l.host"
	AttrRole = "e2l.role"
)

// OIDAttributes is the certificate extension where Fabric CA writes the
// enrolled identity's attributes, as JSON {"attrs":{"name":"value",...}}.
var OIDAttributes = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// Identity is a loaded signing identity.
type Identity struct {
	X509     *identity.X509Identity // MSP ID and certificate, for client.Connect
	Sign     identity.Sign          // low-S ECDSA signing of a SHA-256 digest
	Cert     *x509.Certificate
	Attrs    map[string]string // Fabric CA attributes; empty when the extension is absent
	Host     string            // Attrs["e2l.host"], "" when absent
	Role     string            // Attrs["e2l.role"], "" when absent
	NotAfter time.Time         // the certificate's expiry
}

// Load reads a PEM certificate and a PEM ECDSA private key (PKCS #8 or
// SEC 1) and checks that the key belongs to the certificate.
func Load(certPEMPath, keyPEMPath, mspID string) (*Identity, error) {
	certPEM, err := os.ReadFile(certPEMPath)
	if err != nil {
		return nil, fmt.Errorf("signer: certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPEMPath)
	if err != nil {
		return nil, fmt.Errorf("signer: private key: %w", err)
	}
	id, err := New(certPEM, keyPEM, mspID)
	if err != nil {
		return nil, fmt.Errorf("%w (certificate %s, key %s)", err, certPEMPath, keyPEMPath)
	}
	return id, nil
}

// New is Load from PEM bytes.
func New(certPEM, keyPEM []byte, mspID string) (*Identity, error) {
	if mspID == "" {
		return nil, errors.New("signer: MSP ID is required")
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("signer: certificate: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("signer: private key: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer: certificate: public key is %T, want ECDSA", cert.PublicKey)
	}
	if !pub.Equal(key.Public()) {
		return nil, errors.New("signer: the private key does not match the certificate")
	}
	attrs, err := Attributes(cert)
	if err != nil {
		return nil, fmt.Errorf("signer: certificate: %w", err)
	}
	x509ID, err := identity.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &Identity{
		X509:     x509ID,
		Sign:     sign,
		Cert:     cert,
		Attrs:    attrs,
		Host:     attrs[AttrHost],
		Role:     attrs[AttrRole],
		NotAfter: cert.NotAfter,
	}, nil
}

// Attributes returns the Fabric CA attributes of cert: an empty map when the
// extension is absent, an error when it is not the expected JSON.
func Attributes(cert *x509.Certificate) (map[string]string, error) {
	attrs := map[string]string{}
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(OIDAttributes) {
			continue
		}
		var v struct {
			Attrs map[string]string `json:"attrs"`
		}
		if err := json.Unmarshal(ext.Value, &v); err != nil {
			return nil, fmt.Errorf("attribute extension %s is not JSON {\"attrs\":{...}}: %w", OIDAttributes, err)
		}
		for k, val := range v.Attrs {
			attrs[k] = val
		}
	}
	return attrs, nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("PEM block is %q, want CERTIFICATE", block.Type)
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var key crypto.PrivateKey
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ECDSA (Fabric signs with ECDSA)", key)
	}
	return ec, nil
}
