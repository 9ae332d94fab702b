package chaincode

import (
	"fmt"
	"math"
	"strconv"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// Composite key object types. See README.md for what each key holds.
const (
	keyRecord     = "rec"     // [recordID] → Stored
	keyChain      = "chain"   // [host, seq20] → recordID
	keyActor      = "actor"   // [actorID, time19, recordID] → recordID
	keyType       = "type"    // [type, time19, recordID] → recordID
	keyTypeAction = "typeact" // [type, action, time19, recordID] → recordID
	keyHeartbeat  = "hb"      // [host, invSeq20] → recordID
	keyHost       = "host"    // [host] → MSP ID of the last writer
	keyEvent      = "event"   // [eventID] → StoredEvent
	keyWitness    = "witness" // [eventID, host] → Witness
	keyHostReg    = "hostreg" // [host] → HostRegistration (written by RegisterHost, ReleaseHost)
)

// padSeq writes a sequence number so that byte order is numeric order.
func padSeq(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// invSeq writes MaxUint64-seq padded: the newest record sorts first.
func invSeq(seq uint64) string { return padSeq(math.MaxUint64 - seq) }

// padTime writes a non-negative unix-nanosecond time so that byte order is
// numeric order.
func padTime(t int64) string { return fmt.Sprintf("%019d", t) }

func parseSeq(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
func parseTime(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
func key(objectType string, attrs ...string) (string, error) {
	return shim.CreateCompositeKey(objectType, attrs)
}
