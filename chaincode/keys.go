package chaincode

import (
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// StateLayout is the version of the contract's key layout (README.md).
// Version 2 keeps only what validation, idempotency and chain integrity
// need: a record costs one read and two writes; queries beyond a host's
// chain and a record by ID are answered by the audit index (internal/index),
// built from the channel's blocks. A channel written under version 1 (query
// indexes and shared swarm-event keys on the ledger) is re-created, not
// migrated.
const StateLayout = 2

// Composite key object types. See README.md for what each key holds.
const (
	keyChain   = "chain"   // [host, seq20] → Stored, written once
	keyRecord  = "rec"     // [recordID, host, seq20] → record hash, written once
	keyHostReg = "hostreg" // [host] → HostRegistration (written by RegisterHost, ReleaseHost)
)

// padSeq writes a sequence number so that byte order is numeric order.
func padSeq(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func parseSeq(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
func key(objectType string, attrs ...string) (string, error) {
	return shim.CreateCompositeKey(objectType, attrs)
}
