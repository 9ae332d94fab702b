// Package wire is the wire format of the e2l chaincode: the JSON that its
// functions return and the payload of its events, shared by the contract and
// every client (collector, CLI, tests) so that clients need not link the
// contract itself.
package wire

import (
	"encoding/json"
	"hash/maphash"

	"github.com/e2l-project/e2l/internal/record"
)

// StateLayout is the version of the chaincode's key layout
// (chaincode/README.md "Key layout"): 3 since the chain slot became a
// simple key read by range. A channel is not migrated from one layout to
// another; a dev network of another layout is created again (network.Up).
const StateLayout = 3

// Stored is what the ledger holds for one record: the sealed record in its
// canonical encoding and who wrote it in which transaction.
type Stored struct {
	ID         string          `json:"id"`
	Hash       string          `json:"hash"`
	Record     json.RawMessage `json:"record"`     // the record's canonical encoding, byte for byte
	MSP        string          `json:"msp"`        // the signer's MSP ID
	CertSHA256 string          `json:"certSha256"` // SHA-256 of the signer's certificate (DER), hex
	TxID       string          `json:"txId"`
	TxTime     int64           `json:"txTime"` // the transaction timestamp, unix ns

	// opened is the record decoded and checked once (Open).
	opened *opened
}

// opened is what Open found of a stored record, with the length and a
// keyed hash of the bytes it read (not a copy: an archive holds millions
// of records): a Stored whose Record no longer holds them is decoded again.
type opened struct {
	n      int
	sum    uint64
	sealed record.Sealed
	err    error
	host   string
	seq    uint64
}

// Open returns s with its record decoded and checked now, once: Sealed,
// Decoded and Claimed of the copy it returns (and of copies of that)
// answer from what it found, for as long as Record holds the same bytes.
// A reader that asks them many times of each record (the audit of a run
// of blocks) opens the records first.
func (s Stored) Open() Stored {
	if s.memo() != nil {
		return s
	}
	o := &opened{n: len(s.Record), sum: maphash.Bytes(openedSeed, s.Record)}
	o.sealed, o.err = record.OpenSealed(s.ID, s.Hash, s.Record)
	if o.err == nil {
		o.host, o.seq = o.sealed.Record.Host, o.sealed.Record.Seq
	} else {
		o.host, o.seq = claimed(s.Record)
	}
	s.opened = o
	return s
}

// memo is what Open found, nil when s was not opened or its Record changed
// since.
func (s Stored) memo() *opened {
	if o := s.opened; o != nil && o.n == len(s.Record) && o.sum == maphash.Bytes(openedSeed, s.Record) {
		return o
	}
	return nil
}

// openedSeed keys the hash of an opened record's bytes; it is the
// process's own, so no input can be made to collide with another.
var openedSeed = maphash.MakeSeed()

// Sealed decodes the stored record and re-verifies it: canonical bytes,
// schema, ID and hash.
func (s Stored) Sealed() (record.Sealed, error) {
	if o := s.memo(); o != nil {
		return o.sealed, o.err
	}
	return record.OpenSealed(s.ID, s.Hash, s.Record)
}

// Decoded decodes the stored record (record.DecodeRecord) without checking
// its ID and hash.
func (s Stored) Decoded() (record.Record, error) {
	if o := s.memo(); o != nil && o.err == nil {
		return o.sealed.Record, nil
	}
	return record.DecodeRecord(s.Record)
}

// Statuses of a record in a RecordEvents result.
const (
	StatusWritten   = "written"   // stored now
	StatusDuplicate = "duplicate" // already stored with the same hash: nothing written
)

// RecordStatus is the outcome for one record of a batch.
type RecordStatus struct {
	ID     string `json:"id"`
	Seq    uint64 `json:"seq"`
	Status string `json:"status"`
}

// Result is RecordEvents' answer. Records lists the duplicates only: a
// record of the batch it does not list was written (the result is stored
// in the transaction, so the common case, all written, costs no bytes per
// record).
type Result struct {
	TxID       string         `json:"txId"`
	Host       string         `json:"host"`
	Written    int            `json:"written"`
	Duplicates int            `json:"duplicates"`
	Records    []RecordStatus `json:"records"` // the duplicates, in batch order
}

// Summary is the payload of the e2l.recorded chaincode event.
type Summary struct {
	TxID       string `json:"txId"`
	Host       string `json:"host"`
	FromSeq    uint64 `json:"fromSeq"`
	ToSeq      uint64 `json:"toSeq"`
	Written    int    `json:"written"`
	Duplicates int    `json:"duplicates"`
}

// Page is a page of stored records.
type Page struct {
	Records  []json.RawMessage `json:"records"` // Stored values
	Bookmark string            `json:"bookmark"`
	Count    int               `json:"count"`
}

// Claimed returns the host and seq the stored record claims, read leniently
// so that an altered record can still be named.
func (s Stored) Claimed() (host string, seq uint64) {
	if o := s.memo(); o != nil {
		return o.host, o.seq
	}
	return claimed(s.Record)
}

func claimed(rec []byte) (host string, seq uint64) {
	var r struct {
		Host string `json:"host"`
		Seq  uint64 `json:"seq"`
	}
	_ = json.Unmarshal(rec, &r)
	return r.Host, r.Seq
}

// Swarm roles of a registered host.
const (
	SwarmManager = "manager"
	SwarmWorker  = "worker"
)

// HostRegistration is the host registry's entry for one host: the
// organisation that owns it (whose collectors alone may write its records)
// and its Swarm role (only managers may report swarm-scope events). Only an
// admin of the owning organisation writes it (RegisterHost, ReleaseHost).
type HostRegistration struct {
	Host            string `json:"host"`
	MSP             string `json:"msp"`       // the owning organisation's MSP ID
	SwarmRole       string `json:"swarmRole"` // SwarmManager or SwarmWorker
	TxID            string `json:"txId"`      // the transaction of the current entry
	AdminCertSHA256 string `json:"adminCertSha256"`
	// ReleasedTo is the MSP that ReleaseHost allowed to take the host over.
	ReleasedTo string `json:"releasedTo,omitempty"`
	// History is every entry, oldest first, the current one last.
	History []HostOwnership `json:"history"`
	// Unchanged is set only in the answer of a RegisterHost or ReleaseHost
	// call that changed nothing (never stored).
	Unchanged bool `json:"unchanged,omitempty"`
}

// Actions of a HostOwnership entry.
const (
	HostRegister = "register" // first registration
	HostRole     = "role"     // the owner changed the Swarm role
	HostRelease  = "release"  // the owner allowed ReleasedTo to take it over
	HostMove     = "move"     // ReleasedTo took it over
)

// HostOwnership is one entry of a host's registry history.
type HostOwnership struct {
	MSP       string `json:"msp"`
	SwarmRole string `json:"swarmRole"`
	TxID      string `json:"txId"`
	Action    string `json:"action"`
	// ReleasedTo is set on a release entry (empty when a release is
	// withdrawn), and kept on a role entry while a release is pending.
	ReleasedTo string `json:"releasedTo,omitempty"`
	// AdminCertSHA256 is the SHA-256 of the certificate (DER) of the admin
	// who made the change.
	AdminCertSHA256 string `json:"adminCertSha256,omitempty"`
	// TxTime is the transaction's timestamp, unix ns.
	TxTime int64 `json:"txTime,omitempty"`
}

// RegistryPage is a page of the host registry.
type RegistryPage struct {
	Hosts    []HostRegistration `json:"hosts"`
	Bookmark string             `json:"bookmark"`
	Count    int                `json:"count"`
}

// Identity attributes a collector's certificate carries (Fabric CA
// enrollment attributes): RecordEvents accepts records of the host named by
// AttrHost from an identity with AttrRole = RoleCollector.
const (
	AttrRole      = "e2l.role"
	AttrHost      = "e2l.host"
	RoleCollector = "collector"
)
