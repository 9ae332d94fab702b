package chaincode

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"

	"github.com/e2l-project/e2l/internal/wire"
)

// signer is the identity that signed the transaction.
type signer struct {
	id, msp, host, certSHA256 string
}

// identity is the signer's MSP ID and readable ID.
type identity struct {
	id, msp string
}

func readIdentity(ci cid.ClientIdentity) (identity, error) {
	var s identity
	if c, ok := ci.(*cid.ClientID); ci == nil || (ok && c == nil) {
		// contractapi stores a nil *cid.ClientID when the creator does not parse.
		return s, refuse(wire.CodeAccessDenied, "the client identity is unavailable")
	}
	var err error
	if s.msp, err = ci.GetMSPID(); err != nil {
		return s, refuse(wire.CodeAccessDenied, "read the signer's MSP ID: %v", err)
	}
	if s.id, err = ci.GetID(); err != nil {
		return s, refuse(wire.CodeAccessDenied, "read the signer's ID: %v", err)
	}
	s.id = readableID(s.id)
	return s, nil
}

func readSigner(ci cid.ClientIdentity) (signer, error) {
	id, err := readIdentity(ci)
	if err != nil {
		return signer{}, err
	}
	s := signer{id: id.id, msp: id.msp}
	role, found, err := ci.GetAttributeValue(AttrRole)
	switch {
	case err != nil:
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s: read attribute %s: %v", s.id, s.msp, AttrRole, err)
	case !found:
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s has no %s=%s attribute", s.id, s.msp, AttrRole, RoleCollector)
	case role != RoleCollector:
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s has %s=%q, not %s", s.id, s.msp, AttrRole, role, RoleCollector)
	}
	s.host, found, err = ci.GetAttributeValue(AttrHost)
	switch {
	case err != nil:
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s: read attribute %s: %v", s.id, s.msp, AttrHost, err)
	case !found || s.host == "":
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s has no %s attribute", s.id, s.msp, AttrHost)
	}
	cert, err := ci.GetX509Certificate()
	if err != nil {
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s: read certificate: %v", s.id, s.msp, err)
	}
	if cert == nil || len(cert.Raw) == 0 {
		return s, refuse(wire.CodeAccessDenied, "identity %q of %s has no X.509 certificate", s.id, s.msp)
	}
	sum := sha256.Sum256(cert.Raw)
	s.certSHA256 = hex.EncodeToString(sum[:])
	return s, nil
}

// readableID decodes cid's base64 "x509::<subject>::<issuer>" ID.
func readableID(id string) string {
	if b, err := base64.StdEncoding.DecodeString(id); err == nil && strings.HasPrefix(string(b), "x509::") {
		return string(b)
	}
	return id
}
