package chaincode

import (
	"encoding/json"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// writer checks records against the ledger and collects their writes, which
// flush puts in the order they were collected.
type writer struct {
	stub   shim.ChaincodeStubInterface
	signer signer
	txID   string
	txTime int64
	writes []kv
	slots  map[uint64][]byte // the batch's chain slots that hold a value, by seq (readSlots)
}

type kv struct {
	key   string
	value []byte
}

func (w *writer) put(k string, v []byte) { w.writes = append(w.writes, kv{k, v}) }

func (w *writer) flush() error {
	for _, p := range w.writes {
		if err := w.stub.PutState(p.key, p.value); err != nil {
			return fmt.Errorf("put state: %w", err)
		}
	}
	return nil
}

// readSlots reads the chain slots of a batch's records: one host's
// consecutive seqs (record.CheckBatch). A batch of one reads its slot; a
// longer batch reads its run of slots with one range query, whose range
// (the read set's range query info) Fabric checks for phantoms at commit as
// it checks a read's version: a concurrent batch that fills one of these
// slots first invalidates this one. Only this batch's records fill its
// slots, so concurrent batches of one host still never conflict.
func (w *writer) readSlots(b record.Batch) error {
	first, last := &b.Records[0].Record, &b.Records[len(b.Records)-1].Record
	w.slots = map[uint64][]byte{}
	if len(b.Records) == 1 {
		v, err := w.stub.GetState(wire.SlotKey(first.Host, first.Seq))
		if err != nil {
			return fmt.Errorf("record 0 (%s): read: %w", b.Records[0].ID, err)
		}
		if v != nil {
			w.slots[first.Seq] = v
		}
		return nil
	}
	it, err := w.stub.GetStateByRange(wire.SlotKey(first.Host, first.Seq), wire.SlotRangeEnd(last.Host, last.Seq))
	if err != nil {
		return fmt.Errorf("read the chain slots %d to %d: %w", first.Seq, last.Seq, err)
	}
	defer it.Close()
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return fmt.Errorf("read the chain slots %d to %d: %w", first.Seq, last.Seq, err)
		}
		host, seq, ok := wire.ParseSlotKey(e.GetKey())
		if !ok || host != first.Host || seq < first.Seq || seq > last.Seq {
			return refuse(wire.CodeCorruptState, "the range of host %q's slots %d to %d holds key %q", first.Host, first.Seq, last.Seq, e.GetKey())
		}
		w.slots[seq] = e.GetValue()
	}
	return nil
}

// RecordWrites is the number of keys a new record writes, whatever its
// kind: its chain slot (holding the stored record) and its ID key. A batch
// writes at most RecordWrites × record.MaxBatchRecords keys.
const RecordWrites = 2

// add checks record i against its chain slot (host, seq), as readSlots
// read it, and collects its writes: the slot holds canonical, the record's
// canonical encoding (record.CheckBatchCanonical). Only this record can fill the slot:
// concurrent batches of one host, and several managers reporting one swarm
// event each in its own chain, never read a key another writes.
func (w *writer) add(i int, s *record.Sealed, canonical []byte) (RecordStatus, error) {
	r := &s.Record
	st := RecordStatus{ID: s.ID, Seq: r.Seq}
	refused := func(code wire.Code, format string, args ...any) (RecordStatus, error) {
		return st, refuseRecord(code, i, s.ID, format, args...)
	}

	chainKey := wire.SlotKey(r.Host, r.Seq)
	if old := w.slots[r.Seq]; old != nil {
		var prev Stored
		if err := json.Unmarshal(old, &prev); err != nil {
			return refused(wire.CodeCorruptState, "stored record at host %q seq %d: %v", r.Host, r.Seq, err)
		}
		if !isHex64(prev.ID) || !isHex64(prev.Hash) {
			return refused(wire.CodeCorruptState, "the chain slot of host %q seq %d holds no stored record (id %q, hash %q)", r.Host, r.Seq, prev.ID, prev.Hash)
		}
		switch {
		case prev.ID != s.ID:
			return refused(wire.CodeChainFork, "host %q seq %d is already taken by record %s", r.Host, r.Seq, prev.ID)
		case prev.Hash != s.Hash:
			return refused(wire.CodeConflict, "the ledger holds this ID at host %q seq %d with hash %s (tx %s), the batch has hash %s",
				r.Host, r.Seq, prev.Hash, prev.TxID, s.Hash)
		}
		st.Status = StatusDuplicate
		return st, nil
	}

	recKey, err := key(keyRecord, s.ID, r.Host, padSeq(r.Seq))
	if err != nil {
		return refused(wire.CodeInvalidBatch, "%v", err)
	}
	value, err := marshal(Stored{
		ID: s.ID, Hash: s.Hash, Record: canonical,
		MSP: w.signer.msp, CertSHA256: w.signer.certSHA256, TxID: w.txID, TxTime: w.txTime,
	})
	if err != nil {
		return st, fmt.Errorf("record %d (%s): %w", i, s.ID, err)
	}
	w.put(chainKey, value)
	w.put(recKey, []byte(s.Hash))
	st.Status = StatusWritten
	return st, nil
}
