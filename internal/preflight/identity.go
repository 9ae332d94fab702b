package preflight

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/wire"
)

// FileReader reads the identity's files (os.ReadFile).
type FileReader interface {
	ReadFile(name string) ([]byte, error)
}

// IdentityConfig is what the identity checks compare the certificate with.
type IdentityConfig struct {
	Cert, Key string // PEM files (E2L_CERT, E2L_KEY)
	MSPID     string
	Host      string // E2L_HOST: must equal the certificate's e2l.host
	// OrgCA is a PEM file with the organisation's root CA (and any
	// intermediates) that must have issued the certificate; "" skips the
	// chain check.
	OrgCA string
	// ExpiryWarning is how long before the certificate's expiry the
	// validity check warns (the E2LCertificateExpiringSoon alert's 14 days).
	ExpiryWarning time.Duration
}

// Identity checks the host's certificate and key: readable, the key its
// own, the host and role attributes, the validity period and the chain to
// the organisation's root CA. It returns the loaded identity (nil when it
// cannot be loaded) for the checks that talk to the peers as this host.
func Identity(files FileReader, cfg IdentityConfig, now time.Time) ([]Result, *signer.Identity) {
	const (
		cCert  = "certificate"
		cHost  = "certificate host"
		cRole  = "certificate role"
		cValid = "certificate validity"
		cChain = "certificate chain"
	)
	certPEM, err := files.ReadFile(cfg.Cert)
	if err != nil {
		return unloaded(fail(cCert, "cannot read %s: %v", cfg.Cert, err)), nil
	}
	keyPEM, err := files.ReadFile(cfg.Key)
	if err != nil {
		return unloaded(fail(cCert, "cannot read the private key %s: %v", cfg.Key, err)), nil
	}
	id, err := signer.New(certPEM, keyPEM, cfg.MSPID)
	if err != nil {
		return unloaded(fail(cCert, "%s with %s: %v", cfg.Cert, cfg.Key, err)), nil
	}
	res := []Result{ok(cCert, "%s (subject %q, serial %x) and its private key %s", cfg.Cert, id.Cert.Subject.CommonName, id.Cert.SerialNumber, cfg.Key)}

	switch {
	case id.Host == "":
		res = append(res, fail(cHost, "the certificate has no %s attribute: enroll the host with e2l.host=%s", wire.AttrHost, cfg.Host))
	case id.Host != cfg.Host:
		res = append(res, fail(cHost, "the certificate is for %s %q, this host is %q (E2L_HOST): install this host's own identity, or correct E2L_HOST", wire.AttrHost, id.Host, cfg.Host))
	default:
		res = append(res, ok(cHost, "%s=%s", wire.AttrHost, id.Host))
	}
	if id.Role != wire.RoleCollector {
		res = append(res, fail(cRole, "the certificate's %s is %q, want %q: the chaincode refuses this identity's records", wire.AttrRole, id.Role, wire.RoleCollector))
	} else {
		res = append(res, ok(cRole, "%s=%s", wire.AttrRole, id.Role))
	}
	res = append(res, validity(cValid, id.Cert, now, cfg.ExpiryWarning))
	res = append(res, chain(cChain, files, cfg.OrgCA, id.Cert, now))
	return res, id
}

// unloaded is the certificate line of an identity that could not be
// loaded, with the lines that need it skipped.
func unloaded(r Result) []Result {
	out := []Result{r}
	for _, c := range []string{"certificate host", "certificate role", "certificate validity", "certificate chain"} {
		out = append(out, skip(c, "needs a readable certificate and key"))
	}
	return out
}

func validity(check string, cert *x509.Certificate, now time.Time, warnBefore time.Duration) Result {
	const day = 24 * time.Hour
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch left := cert.NotAfter.Sub(now); {
	case now.Before(cert.NotBefore):
		return fail(check, "not valid before %s (%s from now): is this host's clock behind?", at(cert.NotBefore), cert.NotBefore.Sub(now).Round(time.Second))
	case left <= 0:
		return fail(check, "expired at %s (%s ago): re-enroll the host and install the new certificate", at(cert.NotAfter), (-left).Round(time.Second))
	case left < warnBefore:
		return warn(check, "expires at %s, in %.1f days: re-enroll the host soon", at(cert.NotAfter), float64(left)/float64(day))
	default:
		return ok(check, "valid until %s (%d days)", at(cert.NotAfter), int(left/day))
	}
}

// chain verifies that cert was issued under a root CA of the PEM file
// orgCA (its other certificates serve as intermediates). A certificate
// outside its validity period is the validity check's failure: its chain
// is then checked by signatures alone.
func chain(check string, files FileReader, orgCA string, cert *x509.Certificate, now time.Time) Result {
	if orgCA == "" {
		return skip(check, "no organisation root CA configured (E2L_ORG_CA)")
	}
	data, err := files.ReadFile(orgCA)
	if errors.Is(err, fs.ErrNotExist) {
		// An identity directory provisioned without the org's CA: the
		// chain is a check of the set-up, not what the peers enforce.
		return warn(check, "not checked: the organisation's root CA %s (E2L_ORG_CA) does not exist", orgCA)
	}
	if err != nil {
		return fail(check, "cannot read the organisation's root CA %s: %v", orgCA, err)
	}
	var cas []*x509.Certificate
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fail(check, "%s: %v", orgCA, err)
		}
		cas = append(cas, c)
		if bytes.Equal(c.RawIssuer, c.RawSubject) {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	if len(cas) == 0 {
		return fail(check, "%s holds no PEM certificate", orgCA)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		root, err := signedUnder(cert, cas)
		if err != nil {
			return fail(check, "the certificate (issuer %q) was not issued by the organisation's root CA in %s: %v", cert.Issuer.CommonName, orgCA, err)
		}
		return ok(check, "issued under %q (by signatures: the certificate is outside its validity period)", root.Subject.CommonName)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return fail(check, "the certificate (issuer %q) was not issued by the organisation's root CA in %s", cert.Issuer.CommonName, orgCA)
		}
		return fail(check, "against %s: %v", orgCA, err)
	}
	root := chains[0][len(chains[0])-1]
	return ok(check, "issued under %q (%s)", root.Subject.CommonName, describeChain(chains[0]))
}

// signedUnder follows cert's issuers among cas by their signatures, up to a
// self-signed root, and returns that root.
func signedUnder(cert *x509.Certificate, cas []*x509.Certificate) (*x509.Certificate, error) {
	cur := cert
	for range 8 {
		var parent *x509.Certificate
		for _, c := range cas {
			if bytes.Equal(cur.RawIssuer, c.RawSubject) && cur.CheckSignatureFrom(c) == nil {
				parent = c
				break
			}
		}
		if parent == nil {
			return nil, fmt.Errorf("no certificate there signed %q", cur.Subject.CommonName)
		}
		if bytes.Equal(parent.RawIssuer, parent.RawSubject) {
			return parent, nil
		}
		cur = parent
	}
	return nil, errors.New("a chain longer than 8 certificates")
}

func describeChain(c []*x509.Certificate) string {
	if len(c) == 2 {
		return "directly"
	}
	return fmt.Sprintf("%d intermediates", len(c)-2)
}
