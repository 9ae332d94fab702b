package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// The registry's types live in package wire, shared with clients.
type (
	HostRegistration = wire.HostRegistration
	HostOwnership    = wire.HostOwnership
	RegistryPage     = wire.RegistryPage
)

// AdminOU is the organisational unit of an organisation's admins under
// NodeOUs (cryptogen's Admin@<org>, a Fabric CA identity of type admin).
const AdminOU = "admin"

// maxMSPIDLen bounds an MSP ID argument.
const maxMSPIDLen = 128

// RegisterHost declares that host belongs to the signer's organisation,
// with its Swarm role (wire.SwarmManager or wire.SwarmWorker), and returns
// the registry entry (wire.HostRegistration JSON). Only an admin of an
// organisation may call it (certificate OU "admin", no e2l.role=collector).
//
// An unregistered host becomes the signer's MSP's ("register"). A host of
// the signer's MSP gets its new role ("role"); the same role again changes
// nothing and answers with Unchanged set. A host of another MSP is refused
// (host-owned) unless that MSP released it to the signer's MSP
// (ReleaseHost): then it moves to the signer's MSP ("move").
func (c *Contract) RegisterHost(ctx contractapi.TransactionContextInterface, host, swarmRole string) (string, error) {
	if err := checkHost(host); err != nil {
		return "", err
	}
	if swarmRole != wire.SwarmManager && swarmRole != wire.SwarmWorker {
		return "", refuse(wire.CodeBadArgument, "swarmRole %q is neither %s nor %s", swarmRole, wire.SwarmManager, wire.SwarmWorker)
	}
	stub := ctx.GetStub()
	a, err := readAdmin(ctx.GetClientIdentity())
	if err != nil {
		return "", err
	}
	reg, err := readRegistration(stub, host)
	if err != nil {
		return "", err
	}
	entry := HostOwnership{MSP: a.msp, SwarmRole: swarmRole, TxID: stub.GetTxID(), AdminCertSHA256: a.certSHA256}
	switch {
	case reg == nil:
		reg = &HostRegistration{Host: host}
		entry.Action = wire.HostRegister
	case reg.MSP == a.msp && reg.SwarmRole == swarmRole:
		reg.Unchanged = true
		return encode(reg)
	case reg.MSP == a.msp:
		entry.Action = wire.HostRole
		entry.ReleasedTo = reg.ReleasedTo // a pending release stays
	case reg.ReleasedTo == a.msp:
		entry.Action = wire.HostMove
	default:
		return "", refuse(wire.CodeHostOwned, "host %q is registered to %s, not to %s of the signer %q: an admin of %s releases it to %s first (ReleaseHost, e2l host release)",
			host, reg.MSP, a.msp, a.id, reg.MSP, a.msp)
	}
	return c.writeRegistration(stub, reg, entry)
}

// ReleaseHost, called by an admin of the MSP that owns host, allows toMSP
// to take the host over: toMSP's admin then calls RegisterHost. Until then
// the owner keeps the host and its collectors keep writing. Releasing to
// the owner's own MSP withdraws a pending release. It returns the registry
// entry (Unchanged when toMSP is already the pending release).
func (c *Contract) ReleaseHost(ctx contractapi.TransactionContextInterface, host, toMSP string) (string, error) {
	if err := checkHost(host); err != nil {
		return "", err
	}
	if err := checkIdent("toMSP", toMSP, maxMSPIDLen); err != nil {
		return "", err
	}
	stub := ctx.GetStub()
	a, err := readAdmin(ctx.GetClientIdentity())
	if err != nil {
		return "", err
	}
	reg, err := readRegistration(stub, host)
	if err != nil {
		return "", err
	}
	switch {
	case reg == nil:
		return "", refuse(wire.CodeNotRegistered, "host %q is not registered: there is nothing to release", host)
	case reg.MSP != a.msp:
		return "", refuse(wire.CodeHostOwned, "host %q is registered to %s: only an admin of %s may release it, not the signer %q of %s",
			host, reg.MSP, reg.MSP, a.id, a.msp)
	}
	released := toMSP
	if toMSP == a.msp {
		released = "" // withdraw
	}
	if reg.ReleasedTo == released {
		reg.Unchanged = true
		return encode(reg)
	}
	entry := HostOwnership{MSP: a.msp, SwarmRole: reg.SwarmRole, TxID: stub.GetTxID(), Action: wire.HostRelease,
		ReleasedTo: released, AdminCertSHA256: a.certSHA256}
	return c.writeRegistration(stub, reg, entry)
}

// writeRegistration appends entry to reg's history, makes it the current
// entry and writes it.
func (c *Contract) writeRegistration(stub shim.ChaincodeStubInterface, reg *HostRegistration, entry HostOwnership) (string, error) {
	if len(reg.History) >= MaxHostHistory {
		return "", refuse(wire.CodeBadArgument, "host %q has %d registry changes, the bound: it cannot change again", reg.Host, len(reg.History))
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return "", fmt.Errorf("read the transaction timestamp: %w", err)
	}
	entry.TxTime = ts.AsTime().UnixNano()
	reg.MSP, reg.SwarmRole, reg.TxID, reg.AdminCertSHA256, reg.ReleasedTo = entry.MSP, entry.SwarmRole, entry.TxID, entry.AdminCertSHA256, entry.ReleasedTo
	reg.History = append(reg.History, entry)
	v, err := marshal(reg)
	if err != nil {
		return "", err
	}
	k, err := key(keyHostReg, reg.Host)
	if err != nil {
		return "", refuse(wire.CodeBadArgument, "host %q: %v", reg.Host, err)
	}
	if err := stub.PutState(k, v); err != nil {
		return "", fmt.Errorf("put the registry entry of %q: %w", reg.Host, err)
	}
	return string(v), nil
}

// GetHost returns host's registry entry (wire.HostRegistration JSON), or
// the refusal not-registered.
func (c *Contract) GetHost(ctx contractapi.TransactionContextInterface, host string) (string, error) {
	if err := checkHost(host); err != nil {
		return "", err
	}
	reg, err := readRegistration(ctx.GetStub(), host)
	if err != nil {
		return "", err
	}
	if reg == nil {
		return "", refuse(wire.CodeNotRegistered, "host %q is not registered", host)
	}
	return encode(reg)
}

// ListRegistry returns a page of the host registry (wire.RegistryPage) in
// host order.
func (c *Contract) ListRegistry(ctx contractapi.TransactionContextInterface, pageSize int32, bookmark string) (string, error) {
	page := RegistryPage{Hosts: []HostRegistration{}}
	var err error
	page.Bookmark, err = pageKeys(ctx.GetStub(), keyHostReg, pageSize, bookmark, func(k string, v []byte) (int, error) {
		var reg HostRegistration
		if err := json.Unmarshal(v, &reg); err != nil {
			return 0, refuse(wire.CodeCorruptState, "registry entry %q: %v", k, err)
		}
		page.Hosts = append(page.Hosts, reg)
		return len(v), nil
	}, func() { page.Hosts = page.Hosts[:len(page.Hosts)-1] })
	if err != nil {
		return "", err
	}
	page.Count = len(page.Hosts)
	return encode(page)
}

// readRegistration reads host's registry entry, nil when it has none. A
// read failure is returned as is (transient, not a refusal).
func readRegistration(stub shim.ChaincodeStubInterface, host string) (*HostRegistration, error) {
	k, err := key(keyHostReg, host)
	if err != nil {
		return nil, refuse(wire.CodeBadArgument, "host %q: %v", host, err)
	}
	v, err := stub.GetState(k)
	if err != nil {
		return nil, fmt.Errorf("read the registry entry of %q: %w", host, err)
	}
	if v == nil {
		return nil, nil
	}
	var reg HostRegistration
	if err := json.Unmarshal(v, &reg); err != nil {
		return nil, refuse(wire.CodeCorruptState, "registry entry of %q: %v", host, err)
	}
	return &reg, nil
}

// admin is an organisation admin that signed a registry change.
type admin struct {
	id, msp, certSHA256 string
}

// readAdmin reads the signer and refuses it (not-admin) unless its
// certificate's subject has the OU "admin" and it is no collector.
func readAdmin(ci cid.ClientIdentity) (admin, error) {
	var a admin
	id, err := readIdentity(ci)
	if err != nil {
		return a, err
	}
	a.id, a.msp = id.id, id.msp
	cert, err := ci.GetX509Certificate()
	if err != nil {
		return a, refuse(wire.CodeAccessDenied, "identity %q of %s: read certificate: %v", a.id, a.msp, err)
	}
	if cert == nil || len(cert.Raw) == 0 {
		return a, refuse(wire.CodeAccessDenied, "identity %q of %s has no X.509 certificate", a.id, a.msp)
	}
	if !slices.Contains(cert.Subject.OrganizationalUnit, AdminOU) {
		return a, refuse(wire.CodeNotAdmin, "identity %q of %s is not an admin of its organisation (its certificate has no OU=%s): the host registry is written by an org admin (Admin@<org>)",
			a.id, a.msp, AdminOU)
	}
	role, found, err := ci.GetAttributeValue(AttrRole)
	switch {
	case err != nil:
		return a, refuse(wire.CodeNotAdmin, "identity %q of %s: read attribute %s: %v", a.id, a.msp, AttrRole, err)
	case found && role == RoleCollector:
		return a, refuse(wire.CodeNotAdmin, "identity %q of %s is a collector (%s=%s): a collector never writes the host registry",
			a.id, a.msp, AttrRole, RoleCollector)
	}
	sum := sha256.Sum256(cert.Raw)
	a.certSHA256 = hex.EncodeToString(sum[:])
	return a, nil
}

// checkHost refuses what record.Validate would refuse as a record's host.
func checkHost(host string) error {
	if err := record.CheckIdent("host", host, record.MaxHostLen, true); err != nil {
		return refuse(wire.CodeBadArgument, "%v", err)
	}
	return nil
}
