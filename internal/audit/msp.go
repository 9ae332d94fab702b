package audit

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// MSP is one organisation's membership service provider as the channel
// configuration defines it: its CAs, listed admins, revocation lists and
// node organisational units (NodeOUs). Its methods judge a certificate as
// Fabric's X.509 MSP does (the semantics of Fabric 1.4.2 and later), with
// one difference: a certificate's validity period is judged at a given
// time (the block's or the transaction's), where Fabric's MSP ignores it.
type MSP struct {
	ID            string
	Orderer       bool // an orderer organisation
	Roots         []*x509.Certificate
	Intermediates []*x509.Certificate
	// Admins are the certificates the configuration lists as admins.
	Admins []*x509.Certificate
	// CRLs are the revocation lists (revocation_list); a CRL counts for a
	// certificate when its issuer signed it.
	CRLs []*x509.RevocationList
	// NodeOUs: identities are told apart (client, peer, admin, orderer) by
	// their subject's OU; each such OU is nil when the configuration does
	// not define it.
	NodeOUs                              bool
	ClientOU, PeerOU, AdminOU, OrdererOU *OUIdentifier
	// OUs are the organizational_unit_identifiers: when any, a member must
	// carry one of them.
	OUs          []OUIdentifier
	roots, inter *x509.CertPool
}

// OUIdentifier is an organisational unit of an MSP, optionally bound to a
// certification chain (Certifiers: the SHA-256 of the chain's certificates
// from the issuing CA to the root; empty when any chain of the MSP will do).
type OUIdentifier struct {
	OU         string
	Certifiers []byte
}

// parseMSP reads a FabricMSPConfig as Fabric's MSP setup does.
func parseMSP(raw []byte, orderer bool) (*MSP, error) {
	var mc msp.MSPConfig
	var fc msp.FabricMSPConfig
	if err := proto.Unmarshal(raw, &mc); err != nil {
		return nil, err
	}
	if mc.GetType() != 0 {
		return nil, fmt.Errorf("MSP type %d is not an X.509 (Fabric) MSP", mc.GetType())
	}
	if err := proto.Unmarshal(mc.GetConfig(), &fc); err != nil {
		return nil, err
	}
	if h := fc.GetCryptoConfig().GetIdentityIdentifierHashFunction(); h != "" && h != "SHA256" {
		return nil, fmt.Errorf("MSP %s: identity identifier hash function %s is not supported", fc.GetName(), h)
	}
	m := &MSP{ID: fc.GetName(), Orderer: orderer, roots: x509.NewCertPool(), inter: x509.NewCertPool()}
	certs := func(what string, pems [][]byte) ([]*x509.Certificate, error) {
		var out []*x509.Certificate
		for _, p := range pems {
			cs, err := parsePEMCerts(p)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", m.ID, what, err)
			}
			out = append(out, cs...)
		}
		return out, nil
	}
	var err error
	if m.Roots, err = certs("root CA", fc.GetRootCerts()); err != nil {
		return nil, err
	}
	if m.Intermediates, err = certs("intermediate CA", fc.GetIntermediateCerts()); err != nil {
		return nil, err
	}
	if m.Admins, err = certs("admin certificate", fc.GetAdmins()); err != nil {
		return nil, err
	}
	for _, c := range m.Roots {
		m.roots.AddCert(c)
	}
	for _, c := range m.Intermediates {
		m.inter.AddCert(c)
	}
	for _, p := range fc.GetRevocationList() {
		der := p
		if blk, _ := pem.Decode(p); blk != nil {
			der = blk.Bytes
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("%s revocation list: %w", m.ID, err)
		}
		m.CRLs = append(m.CRLs, crl)
	}
	for _, ou := range fc.GetOrganizationalUnitIdentifiers() {
		id, err := m.ouIdentifier(ou)
		if err != nil {
			return nil, err
		}
		m.OUs = append(m.OUs, *id)
	}
	if n := fc.GetFabricNodeOus(); n != nil {
		m.NodeOUs = n.GetEnable()
		for _, x := range []struct {
			dst **OUIdentifier
			src *msp.FabricOUIdentifier
		}{{&m.ClientOU, n.GetClientOuIdentifier()}, {&m.PeerOU, n.GetPeerOuIdentifier()},
			{&m.AdminOU, n.GetAdminOuIdentifier()}, {&m.OrdererOU, n.GetOrdererOuIdentifier()}} {
			if x.src == nil {
				continue
			}
			if *x.dst, err = m.ouIdentifier(x.src); err != nil {
				return nil, err
			}
		}
		if m.ClientOU == nil && m.PeerOU == nil && m.AdminOU == nil && m.OrdererOU == nil {
			m.NodeOUs = false
		}
	}
	return m, nil
}

// ouIdentifier resolves an OU's certificate (one of the MSP's CAs) into the
// identifier of its certification chain.
func (m *MSP) ouIdentifier(ou *msp.FabricOUIdentifier) (*OUIdentifier, error) {
	id := &OUIdentifier{OU: ou.GetOrganizationalUnitIdentifier()}
	if len(ou.GetCertificate()) == 0 {
		return id, nil
	}
	cs, err := parsePEMCerts(ou.GetCertificate())
	if err != nil {
		return nil, fmt.Errorf("%s OU %s: %w", m.ID, id.OU, err)
	}
	ca := cs[0]
	known := false
	for _, c := range append(append([]*x509.Certificate{}, m.Roots...), m.Intermediates...) {
		known = known || bytes.Equal(c.Raw, ca.Raw)
	}
	if !known {
		return nil, fmt.Errorf("%s OU %s: its certificate %q is not a root or intermediate CA of the MSP", m.ID, id.OU, ca.Subject.String())
	}
	chains, err := ca.Verify(x509.VerifyOptions{Roots: m.roots, Intermediates: m.inter,
		CurrentTime: ca.NotBefore.Add(time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("%s OU %s: %w", m.ID, id.OU, err)
	}
	id.Certifiers = chainID(chains[0])
	return id, nil
}

// chainID is Fabric's certification chain identifier: SHA-256 over the
// chain's certificates in order.
func chainID(chain []*x509.Certificate) []byte {
	h := sha256.New()
	for _, c := range chain {
		h.Write(c.Raw)
	}
	return h.Sum(nil)
}

// chain returns the certification chain of cert (cert first, root last),
// valid at the given time.
func (m *MSP) chain(cert *x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	if cert.IsCA {
		return nil, fmt.Errorf("certificate %q is a CA certificate, which cannot be an identity", cert.Subject.String())
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: m.roots, Intermediates: m.inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
		c := invalid.Cert
		return nil, fmt.Errorf("certificate %q is not valid at %s (valid from %s to %s): %w", c.Subject.String(), at.UTC().Format(time.RFC3339),
			c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), err)
	}
	if err != nil {
		return nil, fmt.Errorf("certificate %q does not chain to a %s root CA: %w", cert.Subject.String(), m.ID, err)
	}
	if len(chains) > 1 {
		return nil, fmt.Errorf("certificate %q has %d certification chains in %s, Fabric needs exactly one", cert.Subject.String(), len(chains), m.ID)
	}
	return chains[0], nil
}

// revoked says whether a CRL of the certificate's issuer, signed by that
// issuer, lists its serial number.
func (m *MSP) revoked(cert, issuer *x509.Certificate) error {
	for _, crl := range m.CRLs {
		if len(crl.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 {
			if !bytes.Equal(crl.AuthorityKeyId, issuer.SubjectKeyId) {
				continue
			}
		} else if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
			continue
		}
		for _, rc := range crl.RevokedCertificateEntries {
			if rc.SerialNumber.Cmp(cert.SerialNumber) != 0 {
				continue
			}
			if err := crl.CheckSignatureFrom(issuer); err != nil {
				continue // not the issuer's CRL: Fabric ignores it too
			}
			return fmt.Errorf("certificate %q (serial %s) is revoked by a CRL of %s in the configuration", cert.Subject.String(), cert.SerialNumber, issuer.Subject.String())
		}
	}
	return nil
}

// ous are the certificate's OUs with its chain's identifier.
func ous(cert *x509.Certificate, chain []*x509.Certificate) []OUIdentifier {
	id := chainID(chain[1:])
	var out []OUIdentifier
	for _, ou := range cert.Subject.OrganizationalUnit {
		out = append(out, OUIdentifier{OU: ou, Certifiers: id})
	}
	return out
}

// validate is Fabric's MSP Validate at a time: a certificate chain to a CA
// of the MSP, valid at that time, not revoked, and OUs the MSP accepts
// (with NodeOUs: exactly one of the node OUs). It returns the chain.
func (m *MSP) validate(cert *x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	chain, err := m.chain(cert, at)
	if err != nil {
		return nil, err
	}
	if err := m.revoked(cert, chain[1]); err != nil {
		return nil, err
	}
	have := ous(cert, chain)
	if !m.NodeOUs {
		if len(m.OUs) == 0 {
			return chain, nil
		}
		for _, o := range have {
			for _, want := range m.OUs {
				if o.OU == want.OU && (len(want.Certifiers) == 0 || bytes.Equal(o.Certifiers, want.Certifiers)) {
					return chain, nil
				}
			}
		}
		return nil, fmt.Errorf("certificate %q carries none of the OUs of %s (OU %s)", cert.Subject.String(), m.ID, ouList(cert))
	}
	n := 0
	for _, o := range have {
		for _, node := range []*OUIdentifier{m.ClientOU, m.PeerOU, m.AdminOU, m.OrdererOU} {
			if node == nil || node.OU != o.OU {
				continue
			}
			if len(node.Certifiers) > 0 && !bytes.Equal(node.Certifiers, o.Certifiers) {
				return nil, fmt.Errorf("certificate %q has OU %s from another certification chain than %s defines for it", cert.Subject.String(), o.OU, m.ID)
			}
			n++
			break
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("certificate %q must carry exactly one node OU of %s (client, peer, admin or orderer), it carries OU %s", cert.Subject.String(), m.ID, ouList(cert))
	}
	return chain, nil
}

// Validate checks that cert is a valid identity of the MSP at the given
// time (chain, validity, revocation, OUs).
func (m *MSP) Validate(cert *x509.Certificate, at time.Time) error {
	_, err := m.validate(cert, at)
	return err
}

func ouList(cert *x509.Certificate) string {
	if len(cert.Subject.OrganizationalUnit) == 0 {
		return "none"
	}
	return strings.Join(cert.Subject.OrganizationalUnit, ", ")
}

func (m *MSP) nodeOU(role msp.MSPRole_MSPRoleType) *OUIdentifier {
	switch role {
	case msp.MSPRole_CLIENT:
		return m.ClientOU
	case msp.MSPRole_PEER:
		return m.PeerOU
	case msp.MSPRole_ADMIN:
		return m.AdminOU
	case msp.MSPRole_ORDERER:
		return m.OrdererOU
	}
	return nil
}

func (m *MSP) isListedAdmin(cert *x509.Certificate) bool {
	for _, a := range m.Admins {
		if bytes.Equal(a.Raw, cert.Raw) {
			return true
		}
	}
	return false
}

// HasRole checks that cert holds role in the MSP at the given time, as
// Fabric's MSPRole principal does: MEMBER is any valid identity; ADMIN one
// listed as admin (chaining to the MSP, valid, not revoked) or, with
// NodeOUs, a valid identity with the admin OU; CLIENT, PEER and ORDERER
// need NodeOUs and a valid identity with that OU.
func (m *MSP) HasRole(cert *x509.Certificate, role msp.MSPRole_MSPRoleType, at time.Time) error {
	name := strings.ToLower(role.String())
	if role == msp.MSPRole_ADMIN && m.isListedAdmin(cert) {
		chain, err := m.chain(cert, at)
		if err != nil {
			return err
		}
		return m.revoked(cert, chain[1])
	}
	if err := m.Validate(cert, at); err != nil {
		return err
	}
	if role == msp.MSPRole_MEMBER {
		return nil
	}
	if !m.NodeOUs {
		if role == msp.MSPRole_ADMIN {
			return fmt.Errorf("not an admin of %s (not among its admin certificates, and NodeOUs are not enabled)", m.ID)
		}
		return fmt.Errorf("not a %s of %s: NodeOUs are not enabled, so %s cannot tell a %s apart", name, m.ID, m.ID, name)
	}
	node := m.nodeOU(role)
	if node == nil {
		return fmt.Errorf("not a %s of %s: its configuration defines no %s OU", name, m.ID, name)
	}
	for _, ou := range cert.Subject.OrganizationalUnit {
		if ou == node.OU {
			return nil
		}
	}
	return fmt.Errorf("not a%s %s of %s (OU %s)", article(name), name, m.ID, ouList(cert))
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "n"
	}
	return ""
}

// Roles lists the roles cert holds in the MSP at the given time (MEMBER
// first), or why it is no valid identity of the MSP.
func (m *MSP) Roles(cert *x509.Certificate, at time.Time) ([]msp.MSPRole_MSPRoleType, error) {
	var out []msp.MSPRole_MSPRoleType
	var memberErr error
	for _, r := range []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER, msp.MSPRole_ADMIN, msp.MSPRole_CLIENT, msp.MSPRole_PEER, msp.MSPRole_ORDERER} {
		err := m.HasRole(cert, r, at)
		switch {
		case err == nil:
			out = append(out, r)
		case r == msp.MSPRole_MEMBER && !m.isListedAdmin(cert):
			return nil, err
		case r == msp.MSPRole_MEMBER:
			memberErr = err
		case r == msp.MSPRole_ADMIN && memberErr != nil:
			return nil, err // a listed admin that is no valid admin either
		}
	}
	if len(out) == 0 {
		return nil, memberErr
	}
	return out, nil
}

// SatisfiesPrincipal checks that a signer's identity satisfies a policy
// principal at the given time: an MSP role, an organisational unit, or one
// exact identity, as Fabric's MSP does.
func (t *Trust) SatisfiesPrincipal(id Identity, p *msp.MSPPrincipal, at time.Time) error {
	m := t.MSPs[id.MSP]
	if m == nil {
		return fmt.Errorf("MSP %q is not an organisation of channel %s (config block %d)", id.MSP, t.Channel, t.ConfigBlock)
	}
	switch p.GetPrincipalClassification() {
	case msp.MSPPrincipal_ROLE:
		var r msp.MSPRole
		if err := proto.Unmarshal(p.GetPrincipal(), &r); err != nil {
			return fmt.Errorf("principal: %w", err)
		}
		if r.GetMspIdentifier() != id.MSP {
			return fmt.Errorf("a member of %s, not of %s", id.MSP, r.GetMspIdentifier())
		}
		return m.HasRole(id.Cert, r.GetRole(), at)
	case msp.MSPPrincipal_ORGANIZATION_UNIT:
		var ou msp.OrganizationUnit
		if err := proto.Unmarshal(p.GetPrincipal(), &ou); err != nil {
			return fmt.Errorf("principal: %w", err)
		}
		if ou.GetMspIdentifier() != id.MSP {
			return fmt.Errorf("a member of %s, not of %s", id.MSP, ou.GetMspIdentifier())
		}
		chain, err := m.validate(id.Cert, at)
		if err != nil {
			return err
		}
		for _, o := range ous(id.Cert, chain) {
			if o.OU == ou.GetOrganizationalUnitIdentifier() && bytes.Equal(o.Certifiers, ou.GetCertifiersIdentifier()) {
				return nil
			}
		}
		return fmt.Errorf("not in OU %s of %s (OU %s)", ou.GetOrganizationalUnitIdentifier(), id.MSP, ouList(id.Cert))
	case msp.MSPPrincipal_IDENTITY:
		want, err := parseIdentity(p.GetPrincipal())
		if err != nil {
			return fmt.Errorf("principal: %w", err)
		}
		if want.MSP != id.MSP || !bytes.Equal(want.Cert.Raw, id.Cert.Raw) {
			return fmt.Errorf("not the identity %s (CN=%s) the policy names", want.MSP, want.Cert.Subject.CommonName)
		}
		return m.Validate(id.Cert, at)
	}
	return errors.New("principal of unsupported classification " + p.GetPrincipalClassification().String())
}
