package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// indexes returns the index keys of a record (object type and attributes),
// each ending with the record ID; their value is the ID.
func indexes(s *record.Sealed) [][]string {
	r := &s.Record
	t := padTime(r.Time)
	switch r.Kind {
	case record.KindEvent:
		e := r.Event
		return [][]string{
			{keyActor, e.Actor, t, s.ID},
			{keyType, e.Type, t, s.ID},
			{keyTypeAction, e.Type, e.Action, t, s.ID},
		}
	case record.KindSnapshot:
		idx := make([][]string, 0, 1+len(r.Snapshot.Containers))
		idx = append(idx, []string{keyType, string(r.Kind), t, s.ID})
		for _, ctr := range r.Snapshot.Containers {
			idx = append(idx, []string{keyActor, ctr.ID, t, s.ID})
		}
		return idx
	case record.KindHeartbeat:
		return [][]string{
			{keyType, string(r.Kind), t, s.ID},
			{keyHeartbeat, r.Host, invSeq(r.Seq)},
		}
	default:
		return [][]string{{keyType, string(r.Kind), t, s.ID}}
	}
}

// isSwarmEvent says whether r is a swarm-scope event.
func isSwarmEvent(r *record.Record) bool {
	return r.Kind == record.KindEvent && r.Event.Scope == record.ScopeSwarm
}

// recordWrites is the number of keys add writes for a new record: its rec
// and chain keys, its indexes, and a swarm event's event and witness keys.
func recordWrites(r *record.Record) int {
	n := 3 // rec, chain, type
	switch r.Kind {
	case record.KindEvent:
		n += 2 // actor, typeact
		if isSwarmEvent(r) {
			n += 2 // event, witness
		}
	case record.KindSnapshot:
		n += len(r.Snapshot.Containers)
	case record.KindHeartbeat:
		n++ // hb
	}
	return n
}

// add checks record i against the ledger and collects its writes.
func (w *writer) add(i int, s *record.Sealed) (RecordStatus, error) {
	r := &s.Record
	st := RecordStatus{ID: s.ID, Seq: r.Seq}
	// fail marks a transient error (a read) with the record; refusals are
	// returned as they are.
	fail := func(err error) (RecordStatus, error) {
		return st, fmt.Errorf("record %d (%s): %w", i, s.ID, err)
	}
	refused := func(code wire.Code, format string, args ...any) (RecordStatus, error) {
		return st, refuseRecord(code, i, s.ID, format, args...)
	}

	recKey, err := key(keyRecord, s.ID)
	if err != nil {
		return refused(wire.CodeInvalidBatch, "%v", err)
	}
	old, err := w.stub.GetState(recKey)
	if err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	if old != nil {
		var prev Stored
		if err := json.Unmarshal(old, &prev); err != nil {
			return refused(wire.CodeCorruptState, "stored record: %v", err)
		}
		if prev.Hash != s.Hash {
			return refused(wire.CodeConflict, "the ledger holds this ID with hash %s (tx %s), the batch has hash %s",
				prev.Hash, prev.TxID, s.Hash)
		}
		st.Status = StatusDuplicate
		return st, nil
	}

	chainKey, err := key(keyChain, r.Host, padSeq(r.Seq))
	if err != nil {
		return refused(wire.CodeInvalidBatch, "%v", err)
	}
	taken, err := w.stub.GetState(chainKey)
	if err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	if taken != nil && string(taken) != s.ID {
		return refused(wire.CodeChainFork, "host %q seq %d is already taken by record %s", r.Host, r.Seq, taken)
	}

	value, err := marshal(Stored{
		ID: s.ID, Hash: s.Hash, Record: r.Canonical(),
		MSP: w.signer.msp, CertSHA256: w.signer.certSHA256, TxID: w.txID, TxTime: w.txTime,
	})
	if err != nil {
		return fail(err)
	}
	w.put(recKey, value)
	w.put(chainKey, []byte(s.ID))
	st.Status = StatusWritten
	if isSwarmEvent(r) {
		var err error
		if st, err = w.addSwarmEvent(st, s); err != nil {
			var rf *wire.Refusal
			if errors.As(err, &rf) {
				return refused(rf.Code, "%s", rf.Message)
			}
			return fail(err)
		}
	}
	id := []byte(s.ID)
	for _, parts := range indexes(s) {
		k, err := key(parts[0], parts[1:]...)
		if err != nil {
			return refused(wire.CodeInvalidBatch, "cannot index under %s: %v", parts[0], err)
		}
		w.put(k, id)
	}
	return st, nil
}

// addSwarmEvent stores the first report of a swarm event under its EventID
// and a witness key for every manager's report.
func (w *writer) addSwarmEvent(st RecordStatus, s *record.Sealed) (RecordStatus, error) {
	r := &s.Record
	eventID := r.EventID()
	evKey, err := key(keyEvent, eventID)
	if err != nil {
		return st, wire.Refuse(wire.CodeInvalidBatch, err.Error())
	}
	witKey, err := key(keyWitness, eventID, r.Host)
	if err != nil {
		return st, wire.Refuse(wire.CodeInvalidBatch, err.Error())
	}
	canon := r.Event.CanonicalEvent()
	wit := Witness{Host: r.Host, RecordID: s.ID, Hash: sha256Hex(canon), TxID: w.txID}

	old, err := w.stub.GetState(evKey)
	if err != nil {
		return st, fmt.Errorf("read event %s: %w", eventID, err)
	}
	if old == nil {
		ev, err := marshal(StoredEvent{EventID: eventID, Hash: wit.Hash, Event: canon, FirstRecord: s.ID, FirstHost: r.Host, TxID: w.txID})
		if err != nil {
			return st, err
		}
		w.put(evKey, ev)
	} else {
		var first StoredEvent
		if err := json.Unmarshal(old, &first); err != nil {
			return st, wire.Refuse(wire.CodeCorruptState, fmt.Sprintf("stored event %s: %v", eventID, err))
		}
		var firstEvent record.Event
		if err := json.Unmarshal(first.Event, &firstEvent); err != nil {
			return st, wire.Refuse(wire.CodeCorruptState, fmt.Sprintf("stored event %s: %v", eventID, err))
		}
		wit.Divergent = !sameEvent(&firstEvent, r.Event)
		st.Status = StatusWitness
		st.Divergent = wit.Divergent
	}
	v, err := marshal(wit)
	if err != nil {
		return st, err
	}
	w.put(witKey, v)
	return st, nil
}

// sameEvent says whether two managers' reports of one swarm event agree.
// Docker stamps a swarm remove with each manager's own clock (which is why
// record.EventID leaves its time out), so the time of a remove is ignored.
func sameEvent(a, b *record.Event) bool {
	x, y := *a, *b
	if x.Action == "remove" {
		x.TimeNano, y.TimeNano = 0, 0
	}
	return string(x.CanonicalEvent()) == string(y.CanonicalEvent())
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
