package chaincode

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
)

// RecordEvents stores a batch of sealed records (a JSON record.Batch) of the
// signer's host, all or nothing. It returns a JSON Result with one status per
// record: written, duplicate (already stored with the same hash; nothing
// written) or witness (a swarm event another manager reported first).
//
// It refuses the whole batch when the signer lacks e2l.role=collector, when
// a record's host is not the signer's e2l.host, when the batch is invalid
// (record.DecodeBatch, record.CheckBatch), when a record is dated more than
// record.MaxFutureSkewNano after the transaction timestamp, when a record's
// ID is stored with another hash (conflict) and when the host's sequence
// number is taken by another record (chain fork).
//
// It reads only keys that no other in-flight batch of the same host writes
// (the record's own ID and chain slot, and a swarm event's key), so
// concurrent batches of one host do not conflict. Continuity with the
// host's previous batch is not checked here: that would read the previous
// batch's keys; auditors check it with QueryChain.
func (c *Contract) RecordEvents(ctx contractapi.TransactionContextInterface, batchJSON string) (string, error) {
	stub := ctx.GetStub()
	signer, err := readSigner(ctx.GetClientIdentity())
	if err != nil {
		return "", err
	}
	batch, err := record.DecodeBatch([]byte(batchJSON))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	if err := record.CheckBatch(batch); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	for i := range batch.Records {
		if s := &batch.Records[i]; s.Record.Host != signer.host {
			return "", fmt.Errorf("%w: record %d (%s) is for host %q but the signer's %s is %q",
				ErrAccessDenied, i, s.ID, s.Record.Host, AttrHost, signer.host)
		}
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return "", fmt.Errorf("read the transaction timestamp: %w", err)
	}
	txTime := ts.AsTime().UnixNano()
	for i := range batch.Records {
		s := &batch.Records[i]
		if t := s.Record.Time; t > txTime && t-txTime > record.MaxFutureSkewNano {
			return "", fmt.Errorf("record %d (%s): %w: its time %s is %s after the transaction timestamp %s (allowed: %s)",
				i, s.ID, ErrFutureDated, fmtTime(t), time.Duration(t-txTime), fmtTime(txTime), time.Duration(record.MaxFutureSkewNano))
		}
	}

	w := &writer{stub: stub, signer: signer, txID: stub.GetTxID(), txTime: txTime}
	res := Result{TxID: w.txID, Host: signer.host, Records: make([]RecordStatus, 0, len(batch.Records))}
	for i := range batch.Records {
		st, err := w.add(i, &batch.Records[i])
		if err != nil {
			return "", err
		}
		switch st.Status {
		case StatusWritten:
			res.Written++
		case StatusDuplicate:
			res.Duplicates++
		case StatusWitness:
			res.Witnesses++
		}
		res.Records = append(res.Records, st)
	}
	if res.Written+res.Witnesses > 0 {
		hostKey, err := key(keyHost, signer.host)
		if err != nil {
			return "", fmt.Errorf("%w: host: %w", ErrInvalidBatch, err)
		}
		w.put(hostKey, []byte(signer.msp)) // blind write: never read by RecordEvents
	}
	if err := w.flush(); err != nil {
		return "", err
	}

	summary, err := marshal(Summary{
		TxID: res.TxID, Host: res.Host,
		FromSeq: batch.Records[0].Record.Seq, ToSeq: batch.Records[len(batch.Records)-1].Record.Seq,
		Written: res.Written, Duplicates: res.Duplicates, Witnesses: res.Witnesses,
	})
	if err != nil {
		return "", err
	}
	if err := stub.SetEvent(EventRecorded, summary); err != nil {
		return "", fmt.Errorf("set event %s: %w", EventRecorded, err)
	}
	out, err := marshal(res)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// signer is the identity that signed the transaction.
type signer struct {
	id, msp, host, certSHA256 string
}

func readSigner(ci cid.ClientIdentity) (signer, error) {
	if c, ok := ci.(*cid.ClientID); ci == nil || (ok && c == nil) {
		// contractapi stores a nil *cid.ClientID when the creator does not parse.
		return signer{}, fmt.Errorf("%w: the client identity is unavailable", ErrAccessDenied)
	}
	var s signer
	var err error
	if s.msp, err = ci.GetMSPID(); err != nil {
		return s, fmt.Errorf("%w: read the signer's MSP ID: %w", ErrAccessDenied, err)
	}
	if s.id, err = ci.GetID(); err != nil {
		return s, fmt.Errorf("%w: read the signer's ID: %w", ErrAccessDenied, err)
	}
	s.id = readableID(s.id)
	role, found, err := ci.GetAttributeValue(AttrRole)
	switch {
	case err != nil:
		return s, fmt.Errorf("%w: identity %q of %s: read attribute %s: %w", ErrAccessDenied, s.id, s.msp, AttrRole, err)
	case !found:
		return s, fmt.Errorf("%w: identity %q of %s has no %s=%s attribute", ErrAccessDenied, s.id, s.msp, AttrRole, RoleCollector)
	case role != RoleCollector:
		return s, fmt.Errorf("%w: identity %q of %s has %s=%q, not %s", ErrAccessDenied, s.id, s.msp, AttrRole, role, RoleCollector)
	}
	s.host, found, err = ci.GetAttributeValue(AttrHost)
	switch {
	case err != nil:
		return s, fmt.Errorf("%w: identity %q of %s: read attribute %s: %w", ErrAccessDenied, s.id, s.msp, AttrHost, err)
	case !found || s.host == "":
		return s, fmt.Errorf("%w: identity %q of %s has no %s attribute", ErrAccessDenied, s.id, s.msp, AttrHost)
	}
	cert, err := ci.GetX509Certificate()
	if err != nil {
		return s, fmt.Errorf("%w: identity %q of %s: read certificate: %w", ErrAccessDenied, s.id, s.msp, err)
	}
	if cert == nil || len(cert.Raw) == 0 {
		return s, fmt.Errorf("%w: identity %q of %s has no X.509 certificate", ErrAccessDenied, s.id, s.msp)
	}
	sum := sha256.Sum256(cert.Raw)
	s.certSHA256 = hex.EncodeToString(sum[:])
	return s, nil
}

// readableID decodes cid's base64 "x509::<subject>::<issuer>" ID.
func readableID(id string) string {
	if b, err := base64.StdEncoding.DecodeString(id); err == nil && strings.HasPrefix(string(b), "x509::") {
		return string(b)
	}
	return id
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

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

// add checks record i against the ledger and collects its writes.
func (w *writer) add(i int, s *record.Sealed) (RecordStatus, error) {
	r := &s.Record
	st := RecordStatus{ID: s.ID, Seq: r.Seq}
	fail := func(err error) (RecordStatus, error) {
		return st, fmt.Errorf("record %d (%s): %w", i, s.ID, err)
	}

	recKey, err := key(keyRecord, s.ID)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidBatch, err))
	}
	old, err := w.stub.GetState(recKey)
	if err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	if old != nil {
		var prev Stored
		if err := json.Unmarshal(old, &prev); err != nil {
			return fail(fmt.Errorf("%w: stored record: %w", ErrCorrupt, err))
		}
		if prev.Hash != s.Hash {
			return fail(fmt.Errorf("%w: the ledger holds this ID with hash %s (tx %s), the batch has hash %s",
				ErrConflict, prev.Hash, prev.TxID, s.Hash))
		}
		st.Status = StatusDuplicate
		return st, nil
	}

	chainKey, err := key(keyChain, r.Host, padSeq(r.Seq))
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInvalidBatch, err))
	}
	taken, err := w.stub.GetState(chainKey)
	if err != nil {
		return fail(fmt.Errorf("read: %w", err))
	}
	if taken != nil && string(taken) != s.ID {
		return fail(fmt.Errorf("%w: host %q seq %d is already taken by record %s", ErrChainFork, r.Host, r.Seq, taken))
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

	// Index keys all end with the record ID and hold it as their value.
	id := []byte(s.ID)
	t := padTime(r.Time)
	var idx [][]string
	switch r.Kind {
	case record.KindEvent:
		e := r.Event
		idx = append(idx,
			[]string{keyActor, e.Actor, t, s.ID},
			[]string{keyType, e.Type, t, s.ID},
			[]string{keyTypeAction, e.Type, e.Action, t, s.ID})
		if e.Scope == record.ScopeSwarm {
			if st, err = w.addSwarmEvent(st, s); err != nil {
				return fail(err)
			}
		}
	case record.KindSnapshot:
		idx = append(idx, []string{keyType, string(r.Kind), t, s.ID})
		for _, ctr := range r.Snapshot.Containers {
			idx = append(idx, []string{keyActor, ctr.ID, t, s.ID})
		}
	case record.KindHeartbeat:
		idx = append(idx,
			[]string{keyType, string(r.Kind), t, s.ID},
			[]string{keyHeartbeat, r.Host, invSeq(r.Seq)})
	default:
		idx = append(idx, []string{keyType, string(r.Kind), t, s.ID})
	}
	for _, parts := range idx {
		k, err := key(parts[0], parts[1:]...)
		if err != nil {
			return fail(fmt.Errorf("%w: cannot index under %s: %w", ErrInvalidBatch, parts[0], err))
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
		return st, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	witKey, err := key(keyWitness, eventID, r.Host)
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
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
			return st, fmt.Errorf("%w: stored event %s: %w", ErrCorrupt, eventID, err)
		}
		var firstEvent record.Event
		if err := json.Unmarshal(first.Event, &firstEvent); err != nil {
			return st, fmt.Errorf("%w: stored event %s: %w", ErrCorrupt, eventID, err)
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
