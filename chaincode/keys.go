package chaincode

import (
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/e2l-project/e2l/internal/wire"
)

// StateLayout is the version of the contract's key layout (README.md).
// Version 2 kept only what validation, idempotency and chain integrity
// need: a record costs one read and two writes; queries beyond a host's
// chain and a record by ID are answered by the audit index (internal/index),
// built from the channel's blocks. Version 3 keeps those keys and moves the
// chain slot to a simple key, so that a batch reads all its slots with one
// range query instead of one read per record. A channel written under an
// earlier version is re-created, not migrated.
const StateLayout = wire.StateLayout

// Composite key object types. See README.md for what each key holds.
const (
	keyRecord  = "rec"     // [recordID, host, seq20] → record hash, written once
	keyHostReg = "hostreg" // [host] → HostRegistration (written by RegisterHost, ReleaseHost)
)

// A chain slot is wire.SlotKey(host, seq) → Stored, written once: a
// simple key, so that a batch reads its slots with one range query.

// padSeq writes a sequence number so that byte order is numeric order.
func padSeq(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func parseSeq(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
func key(objectType string, attrs ...string) (string, error) {
	return shim.CreateCompositeKey(objectType, attrs)
}
