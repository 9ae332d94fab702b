// Package chaincode is e2l's smart contract: it stores the records that
// collectors seal (see internal/record), binds every record to the identity
// that signed it, keeps the indexes auditors query, and answers those
// queries.
//
// The logic is deterministic: it reads no clock but the transaction
// timestamp, draws no random numbers and never lets map order reach the
// ledger or a result. It does not log. See README.md for the key layout.
package chaincode

import (
	"errors"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Name is the chaincode name on the channel.
const Name = "e2l"

// EventRecorded is the name of the chaincode event RecordEvents sets.
const EventRecorded = "e2l.recorded"

// Identity attributes (Fabric CA enrollment attributes, in the certificate).
const (
	AttrRole      = "e2l.role"
	AttrHost      = "e2l.host"
	RoleCollector = "collector"
)

// Page sizes of the queries.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Errors the contract returns, wrapped with the details (errors.Is).
var (
	// ErrAccessDenied: the signer may not write these records.
	ErrAccessDenied = errors.New("access denied")
	// ErrInvalidBatch: the batch does not decode or a record is invalid.
	ErrInvalidBatch = errors.New("invalid batch")
	// ErrFutureDated: a record is dated too far after the transaction.
	ErrFutureDated = errors.New("future-dated")
	// ErrConflict: the record's ID is stored with a different hash.
	ErrConflict = errors.New("conflict")
	// ErrChainFork: the host's sequence number is taken by another record.
	ErrChainFork = errors.New("chain fork")
	// ErrBadArgument: a query argument is invalid.
	ErrBadArgument = errors.New("bad argument")
	// ErrCorrupt: a stored value does not decode (should never happen).
	ErrCorrupt = errors.New("corrupt state")
)

// Contract is the e2l contract.
type Contract struct {
	contractapi.Contract
}

// New returns the contract. Its functions are the chaincode's defaults (no
// "e2l:" prefix needed).
func New() *Contract {
	c := &Contract{}
	c.Name = Name
	return c
}

// GetEvaluateTransactions marks the read-only functions in the metadata.
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{"Ping", "GetRecord", "QueryChain", "QueryTimeline", "QueryByType", "ListHosts", "GetEvent"}
}

// Ping answers "pong": a readiness probe that touches no state.
func (c *Contract) Ping() string { return "pong" }
