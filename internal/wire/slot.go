package wire

import (
	"math"
	"strconv"
	"strings"
)

// Chain slots (state layout 3). A record's chain slot, where the ledger
// holds its Stored value, is the simple key "chain <host> <seq20>", seq
// zero-padded to 20 digits so that byte order is numeric order. It is a
// simple key, not a composite one, so that the contract reads a batch's
// slots with one range query (the shim refuses composite keys there). A
// host is printable ASCII without spaces (record.CheckIdent), and a space
// sorts below every such byte: the slots of host h from a to b are exactly
// the keys in [SlotKey(h, a), SlotRangeEnd(h, b)), no other host's among
// them. The contract writes the slots; auditors read them in transactions'
// read/write sets.

// SlotPrefix starts every chain slot's key.
const SlotPrefix = "chain "

// SlotKey is the key of host's chain slot seq.
func SlotKey(host string, seq uint64) string {
	return SlotPrefix + host + " " + padSeq(seq)
}

// SlotRangeEnd is the exclusive end of a range of host's slots whose last
// slot is last: the next slot's key, or past the host's every key.
func SlotRangeEnd(host string, last uint64) string {
	if last == math.MaxUint64 {
		return SlotPrefix + host + "!" // '!' follows ' ', which ends the host
	}
	return SlotKey(host, last+1)
}

// ParseSlotKey returns the host and seq of a chain slot's key; ok is false
// for any other key.
func ParseSlotKey(k string) (host string, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(k, SlotPrefix)
	i := strings.LastIndexByte(rest, ' ')
	if !found || i <= 0 || len(rest)-i-1 != seqDigits || strings.IndexByte(rest[:i], ' ') >= 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return rest[:i], seq, true
}

// seqDigits is the width of a padded seq: the digits of math.MaxUint64.
const seqDigits = 20

func padSeq(seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	return strings.Repeat("0", seqDigits-len(s)) + s
}
