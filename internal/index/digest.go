package index

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// rowsDigestDomain starts every rows digest: a digest of another kind of
// data, or of a later encoding, cannot equal one of this.
const rowsDigestDomain = "e2l/index/rows/v1"

// RowsDigest returns the SHA-256 digest of one block's rows, its
// Block.Digest: the records, registry entries and findings the block
// added, in the order given (Apply keeps it and RowsOfBlock and Findings
// read it back so).
//
// The encoding is unambiguous: the domain string "e2l/index/rows/v1",
// then for each of the three lists its length and each row's fields in
// declaration order. A string or byte slice is its length as 8 bytes big
// endian followed by its bytes; an integer (uint64, int64, int) is 8 bytes
// big endian (two's complement); a list (Record.Actors) is its length,
// then its strings. So a nil slice and an empty one encode alike: the
// index, which does not tell them apart either, reads both back as nil,
// and a digest of rows read back equals the digest of the rows applied.
//
// Records: ID, Hash, Host, Seq, PrevHash, Kind, Time, EventID, Scope,
// Type, Action, Actor, Name, Service, Actors, MSP, CertSHA256, TxID,
// TxTime, Block, TxIndex, Stored. Registry entries (Host): Host, MSP,
// SwarmRole, TxID, Block, Entry. Findings: Block, TxID, RecordID, Host,
// Severity, Problem.
func RowsDigest(records []Record, hosts []Host, findings []Finding) []byte {
	e := digestEncoder{h: sha256.New()}
	e.str(rowsDigestDomain)
	e.uint(uint64(len(records)))
	for i := range records {
		r := &records[i]
		e.str(r.ID)
		e.str(r.Hash)
		e.str(r.Host)
		e.uint(r.Seq)
		e.str(r.PrevHash)
		e.str(r.Kind)
		e.uint(uint64(r.Time))
		e.str(r.EventID)
		e.str(r.Scope)
		e.str(r.Type)
		e.str(r.Action)
		e.str(r.Actor)
		e.str(r.Name)
		e.str(r.Service)
		e.uint(uint64(len(r.Actors)))
		for _, a := range r.Actors {
			e.str(a)
		}
		e.str(r.MSP)
		e.str(r.CertSHA256)
		e.str(r.TxID)
		e.uint(uint64(r.TxTime))
		e.uint(r.Block)
		e.uint(uint64(r.TxIndex))
		e.bytes(r.Stored)
		e.flush()
	}
	e.uint(uint64(len(hosts)))
	for i := range hosts {
		h := &hosts[i]
		e.str(h.Host)
		e.str(h.MSP)
		e.str(h.SwarmRole)
		e.str(h.TxID)
		e.uint(h.Block)
		e.bytes(h.Entry)
	}
	e.uint(uint64(len(findings)))
	for i := range findings {
		f := &findings[i]
		e.uint(f.Block)
		e.str(f.TxID)
		e.str(f.RecordID)
		e.str(f.Host)
		e.str(f.Severity)
		e.str(f.Problem)
	}
	e.flush()
	return e.h.Sum(nil)
}

// ChainRoot returns a block's Root: SHA-256(prevRoot ‖ headerHash ‖
// digest), where prevRoot is the previous block's Root (empty for the
// first block indexed), headerHash the block's HeaderHash and digest its
// RowsDigest. Each root thus commits to every row of every block up to
// its own. The concatenation is unambiguous as the three are SHA-256
// values (32 bytes) but for the empty prevRoot of the first block.
func ChainRoot(prevRoot, headerHash, digest []byte) []byte {
	h := sha256.New()
	h.Write(prevRoot)
	h.Write(headerHash)
	h.Write(digest)
	return h.Sum(nil)
}

// digestEncoder writes RowsDigest's encoding into a hash through a small
// buffer.
type digestEncoder struct {
	h   hash.Hash
	buf []byte
}

func (e *digestEncoder) uint(v uint64) {
	e.buf = binary.BigEndian.AppendUint64(e.buf, v)
}

func (e *digestEncoder) str(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *digestEncoder) bytes(b []byte) {
	e.uint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *digestEncoder) flush() {
	e.h.Write(e.buf)
	e.buf = e.buf[:0]
}
