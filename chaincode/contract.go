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
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
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

// Bounds of the state writes of one RecordEvents call. MaxRecordWrites is
// the most keys one valid record writes (a snapshot part of
// record.MaxSnapshotItems containers: its rec, chain and type keys and one
// actor key per container). A batch may cause at most MaxBatchWrites
// writes, counted as if every record were new (so the refusal does not
// depend on the ledger's state), its host key included: 16 full snapshot
// parts (8,000 containers), while a 50-record batch of events writes at
// most 351 keys (7 per event). Any valid record fits in a batch on its own.
const (
	MaxRecordWrites = 3 + record.MaxSnapshotItems
	MaxBatchWrites  = 1 + 16*MaxRecordWrites
)

// MaxHostHistory bounds a host's registry history: RecordEvents reads the
// registry entry on every batch.
const MaxHostHistory = 256

// Contract is the e2l contract.
type Contract struct {
	contractapi.Contract
	// maxBatchWrites is MaxBatchWrites; tests lower it.
	maxBatchWrites int
}

// New returns the contract. Its functions are the chaincode's defaults (no
// "e2l:" prefix needed).
func New() *Contract {
	c := &Contract{maxBatchWrites: MaxBatchWrites}
	c.Name = Name
	return c
}

// GetEvaluateTransactions marks the read-only functions in the metadata.
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{"Ping", "GetRecord", "QueryChain", "QueryTimeline", "QueryByType", "ListHosts", "GetEvent", "GetHost", "ListRegistry"}
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
