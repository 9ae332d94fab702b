package chaincode

import (
	"fmt"
	"math"
	"strconv"
	"strings"

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

// slotPrefix starts a chain slot's key, "chain <host> <seq20>" → Stored,
// written once. It is a simple key, not a composite one: the shim refuses
// composite keys in a range query. A host is printable ASCII without
// spaces (record.CheckIdent), and a space sorts below every such byte, so
// the keys of host h's slots a..b are exactly those in
// [slotKey(h, a), slotEnd(h, b)), and no other host's key falls between.
const slotPrefix = "chain "

// slotKey is the key of host's chain slot seq.
func slotKey(host string, seq uint64) string { return slotPrefix + host + " " + padSeq(seq) }

// slotEnd is the exclusive end of a range of host's slots that ends at
// seq: the next slot's key, or past the host's last possible key.
func slotEnd(host string, seq uint64) string {
	if seq == math.MaxUint64 {
		return slotPrefix + host + "!" // '!' follows ' ', which ends the host
	}
	return slotKey(host, seq+1)
}

// parseSlotKey returns the host and seq of a chain slot's key.
func parseSlotKey(k string) (string, uint64, error) {
	rest, ok := strings.CutPrefix(k, slotPrefix)
	i := strings.LastIndexByte(rest, ' ')
	if !ok || i <= 0 || len(rest)-i-1 != seqDigits {
		return "", 0, fmt.Errorf("%q is not a chain slot key", k)
	}
	seq, err := parseSeq(rest[i+1:])
	if err != nil {
		return "", 0, fmt.Errorf("chain slot key %q: %w", k, err)
	}
	return rest[:i], seq, nil
}

// seqDigits is the width of a padded seq: the digits of math.MaxUint64.
const seqDigits = 20

// padSeq writes a sequence number so that byte order is numeric order.
func padSeq(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func parseSeq(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
func key(objectType string, attrs ...string) (string, error) {
	return shim.CreateCompositeKey(objectType, attrs)
}
