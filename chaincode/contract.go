// Package chaincode is e2l's smart contract: it validates and stores the
// records that collectors seal (see internal/record), binds every record to
// the identity that signed it and its host to the organisation that owns
// it, and keeps each host's chain free of forks. Queries beyond a chain and
// a record by ID are the audit index's (internal/index), built from the
// channel's blocks.
//
// The logic is deterministic: it reads no clock but the transaction
// timestamp, draws no random numbers and never lets map order reach the
// ledger or a result. It does not log. See README.md for the key layout.
package chaincode

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/wire"
)

// Name is the chaincode name on the channel.
const Name = "e2l"

// EventRecorded is the name of the chaincode event RecordEvents sets.
const EventRecorded = "e2l.recorded"

// Identity attributes (Fabric CA enrollment attributes, in the certificate).
const (
	AttrRole      = wire.AttrRole
	AttrHost      = wire.AttrHost
	RoleCollector = wire.RoleCollector
)

// Page bounds of the queries: a page holds at most MaxPageSize entries and
// its JSON at most MaxPageBytes (well under gRPC's default 4 MiB receive
// limit; one record is at most record.MaxRecordBytes, so a page always
// holds at least one).
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	MaxPageBytes    = 2 << 20
)

// MaxHostHistory bounds a host's registry history: RecordEvents reads the
// registry entry on every batch.
const MaxHostHistory = 256

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
	return []string{"Ping", "GetRecord", "QueryChain", "GetHost", "ListRegistry"}
}

// Ping answers "pong": a readiness probe that touches no state.
func (c *Contract) Ping() string { return "pong" }

// refuse returns the refusal of the call (wire.Refusal), which clients
// classify by its code.
func refuse(code wire.Code, format string, args ...any) error {
	return wire.Refuse(code, fmt.Sprintf(format, args...))
}

// refuseRecord returns the refusal of record index (id) of the batch.
func refuseRecord(code wire.Code, index int, id, format string, args ...any) error {
	return wire.RefuseRecord(code, index, id, fmt.Sprintf(format, args...))
}
