package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// MVCC re-validation.
//
// A transaction's VALID flag is the committing peer's verdict, written into
// the block's metadata, which no one signs: flipping one byte of an archive
// or receipt turns an invalidated transaction into a "valid" one. The
// loser of a deliberate double submit of one chain slot (two records for
// one seq, both endorsed, the second marked MVCC_READ_CONFLICT) is the
// case that matters: flipped, it passes off the record that lost as the
// ledger's. What the endorsers signed cannot be changed, though: each
// transaction's read/write set, with the version (block, tx) of every key
// it read. Replaying the archive's VALID transactions in ledger order, as
// the peers did, shows a read that Fabric would have refused.
//
// What this catches: a transaction marked VALID that read a key (absent, or
// at an older version) after an earlier VALID transaction of the evidence
// wrote it; a read naming a version that no VALID transaction of the
// evidence at that position wrote (when that block is held); a write-once
// key (a record's key, a chain slot, a swarm event) written by two VALID
// transactions; a stored record whose transaction did not write it.
//
// A range query of a batch's chain slots (layout 3) is replayed as reads
// of each slot in the range: of the version it returned, or absent.
//
// What it cannot catch: only what the evidence holds is replayed. When the
// winner's block is left out of an archive (or a receipt holds only the
// loser's block), the stale read cannot be seen; PreviousHash links
// (BlockSet) and a trusted export are what make an omission visible. A
// range whose results Fabric summarised as Merkle hashes (more than 50
// slots already stored) is not replayed: a slot it missed is one it wrote,
// which the write-once check catches. A read whose version belongs to a
// block the evidence does not hold is taken on trust.

// Composite key object types of the e2l chaincode (chaincode/keys.go).
// State layout 3 (the chaincode's StateLayout) writes a record's chain slot
// (a simple key, wire.SlotKey) with the stored record and its ID key with its
// hash; layout 2 did the same with a composite chain slot; layout 1 wrote
// the stored record under its ID key, the ID into the chain slot, and a
// swarm event once under its event key. Evidence of any layout is verified.
const (
	keyTypeRecord  = "rec"     // layouts 2, 3: [recordID, host, seq20] → hash; layout 1: [recordID] → Stored; written once
	keyTypeChain   = "chain"   // layout 2: [host, seq20] → Stored; layout 1: → recordID; written once
	keyTypeEvent   = "event"   // layout 1 only: [eventID] → StoredEvent, written once
	keyTypeHostReg = "hostreg" // [host] → wire.HostRegistration
)

// rangeReads turns a range query of a transaction that writes into the
// reads it stands for: each slot of the range, at the version the query
// returned or absent. The chaincode reads one kind of range, a batch's
// consecutive slots of one host, to the end; any other is refused. A
// range summarised by Merkle hashes yields no reads (nil, nil).
func rangeReads(rq *kvrwset.RangeQueryInfo) ([]*kvrwset.KVRead, error) {
	host, from, ok := wire.ParseSlotKey(rq.GetStartKey())
	last, ok2 := slotRangeLast(host, rq.GetEndKey())
	switch {
	case !ok || !ok2 || last < from || last-from >= record.MaxBatchRecords:
		return nil, fmt.Errorf("range [%q, %q) is not a batch's chain slots", rq.GetStartKey(), rq.GetEndKey())
	case !rq.GetItrExhausted():
		return nil, fmt.Errorf("range [%q, %q) was not read to its end", rq.GetStartKey(), rq.GetEndKey())
	case rq.GetReadsMerkleHashes() != nil:
		return nil, nil
	}
	got := map[string]*kvrwset.Version{}
	for _, rd := range rq.GetRawReads().GetKvReads() {
		if k := rd.GetKey(); k < rq.GetStartKey() || k >= rq.GetEndKey() {
			return nil, fmt.Errorf("range [%q, %q) returned key %q outside it", rq.GetStartKey(), rq.GetEndKey(), k)
		}
		got[rd.GetKey()] = rd.GetVersion()
	}
	reads := make([]*kvrwset.KVRead, 0, last-from+1)
	for seq := from; ; seq++ {
		k := wire.SlotKey(host, seq)
		reads = append(reads, &kvrwset.KVRead{Key: k, Version: got[k]})
		if seq == last {
			return reads, nil
		}
	}
}

// slotRangeLast returns the last slot of host's that a range ending
// (exclusively) at end holds: the slot before end, or the host's last
// possible slot when end is past its every key (wire.SlotRangeEnd).
func slotRangeLast(host, end string) (uint64, bool) {
	if end == wire.SlotRangeEnd(host, math.MaxUint64) {
		return math.MaxUint64, true
	}
	h, seq, ok := wire.ParseSlotKey(end)
	if !ok || h != host || seq == 0 {
		return 0, false
	}
	return seq - 1, true
}

// compositeKey is shim.CreateCompositeKey's layout: \x00type\x00attr\x00….
func compositeKey(objectType string, attrs ...string) string {
	var b strings.Builder
	b.WriteString("\x00" + objectType + "\x00")
	for _, a := range attrs {
		b.WriteString(a + "\x00")
	}
	return b.String()
}

// keyString shows a composite key as type[attr, …].
func keyString(k string) string {
	if !strings.HasPrefix(k, "\x00") {
		return fmt.Sprintf("%q", k)
	}
	parts := strings.Split(strings.TrimSuffix(k[1:], "\x00"), "\x00")
	return parts[0] + "[" + strings.Join(parts[1:], ", ") + "]"
}

func writeOnce(k string) bool {
	if strings.HasPrefix(k, wire.SlotPrefix) {
		return true
	}
	for _, t := range []string{keyTypeRecord, keyTypeChain, keyTypeEvent} {
		if strings.HasPrefix(k, "\x00"+t+"\x00") {
			return true
		}
	}
	return false
}

// rwSets decodes transactions' read/write sets in one namespace (the
// chaincode's), once each: the decoded set is kept with its transaction,
// so every reader of a parsed block shares it.
type rwSets struct {
	namespace string
}

func newRWSets(namespace string) *rwSets {
	return &rwSets{namespace: namespace}
}

// txRWSet is a transaction's read/write set in one namespace, decoded,
// with its writes by key (the last write of a key is the one committed).
type txRWSet struct {
	namespace string
	set       *kvrwset.KVRWSet
	err       error
	writes    map[string]*kvrwset.KVWrite
	stored    map[string]Stored // values written that decoded as stored records, by key
}

// storedAt decodes the value tx wrote under key k as a stored record, once.
func (r *rwSets) storedAt(tx *Tx, w *kvrwset.KVWrite) (Stored, error) {
	d := r.decoded(tx)
	if st, ok := d.stored[w.GetKey()]; ok && d.writes[w.GetKey()] == w {
		return st, nil
	}
	var st Stored
	if err := json.Unmarshal(w.GetValue(), &st); err != nil {
		return Stored{}, err
	}
	if d.writes[w.GetKey()] == w {
		if d.stored == nil {
			d.stored = map[string]Stored{}
		}
		d.stored[w.GetKey()] = st
	}
	return st, nil
}

// of returns tx's reads and writes in the namespace (empty when it has
// none there).
func (r *rwSets) of(tx *Tx) (*kvrwset.KVRWSet, error) {
	d := r.decoded(tx)
	return d.set, d.err
}

func (r *rwSets) decoded(tx *Tx) *txRWSet {
	if d := tx.rwset; d != nil && d.namespace == r.namespace {
		return d
	}
	d := &txRWSet{namespace: r.namespace}
	d.set, d.err = decodeRWSet(tx.Results, r.namespace)
	if d.err != nil {
		d.err = fmt.Errorf("the read/write set of transaction %s does not decode: %w", tx.ID, d.err)
	}
	d.writes = make(map[string]*kvrwset.KVWrite, len(d.set.GetWrites()))
	for _, w := range d.set.GetWrites() {
		d.writes[w.GetKey()] = w
	}
	tx.rwset = d
	return d
}

func decodeRWSet(results []byte, namespace string) (*kvrwset.KVRWSet, error) {
	var txrw rwset.TxReadWriteSet
	if err := proto.Unmarshal(results, &txrw); err != nil {
		return &kvrwset.KVRWSet{}, err
	}
	out := &kvrwset.KVRWSet{}
	for _, ns := range txrw.GetNsRwset() {
		if ns.GetNamespace() != namespace {
			continue
		}
		var kv kvrwset.KVRWSet
		if err := proto.Unmarshal(ns.GetRwset(), &kv); err != nil {
			return &kvrwset.KVRWSet{}, fmt.Errorf("namespace %s: %w", namespace, err)
		}
		out.Reads = append(out.Reads, kv.GetReads()...)
		out.RangeQueriesInfo = append(out.RangeQueriesInfo, kv.GetRangeQueriesInfo()...)
		out.Writes = append(out.Writes, kv.GetWrites()...)
	}
	return out, nil
}

// write returns tx's write of key k, nil when it wrote none.
func (r *rwSets) write(tx *Tx, k string) *kvrwset.KVWrite {
	d := r.decoded(tx)
	if d.err != nil {
		return nil
	}
	return d.writes[k]
}

func counted(tx *Tx, chaincode string) bool {
	return tx.Err == nil && tx.Code == peer.TxValidationCode_VALID && tx.Type == common.HeaderType_ENDORSER_TRANSACTION && tx.Chaincode == chaincode
}

func describeTx(tx *Tx) string { return fmt.Sprintf("%s (block %d tx %d)", tx.ID, tx.Block, tx.Index) }

// mvccProblems replays the VALID transactions of the chaincode held by the
// set in ledger order and returns, per transaction, what Fabric's MVCC
// validation would have refused.
func mvccProblems(set *BlockSet, rws *rwSets, chaincode string) map[*Tx][]string {
	type lastWrite struct {
		tx      *Tx
		deleted bool
	}
	written := map[string]lastWrite{}
	firstWriter := map[string]*Tx{}
	probs := map[*Tx][]string{}
	for _, tx := range set.Txs() {
		if !counted(tx, chaincode) {
			continue
		}
		rw, err := rws.of(tx)
		if err != nil {
			probs[tx] = append(probs[tx], err.Error())
			continue
		}
		pos := posOf(tx)
		type group struct {
			first, how string
			n          int
		}
		stale := map[*Tx]*group{}
		var staleOrder []*Tx
		staleKeys := map[string]bool{}
		reads := rw.GetReads()
		if len(rw.GetWrites()) > 0 { // a range read matters to what a transaction writes
			for _, rq := range rw.GetRangeQueriesInfo() {
				rr, err := rangeReads(rq)
				if err != nil {
					probs[tx] = append(probs[tx], fmt.Sprintf("transaction %s read a range the e2l chaincode does not read: %v", describeTx(tx), err))
					continue
				}
				reads = append(reads[:len(reads):len(reads)], rr...)
			}
		}
		for _, rd := range reads {
			k, v := rd.GetKey(), rd.GetVersion()
			var vp txPos
			if v != nil {
				vp = txPos{v.GetBlockNum(), int(v.GetTxNum())}
				if vp.Block >= pos.Block {
					// Endorsers simulate against the blocks committed before.
					probs[tx] = append(probs[tx], fmt.Sprintf("transaction %s read key %s at version %s, which is not from a block before its own", describeTx(tx), keyString(k), vp))
					continue
				}
				if p := versionProblem(set, rws, chaincode, k, vp); p != "" {
					probs[tx] = append(probs[tx], fmt.Sprintf("transaction %s read key %s at version %s, %s", describeTx(tx), keyString(k), vp, p))
				}
			}
			lw, ok := written[k]
			if !ok {
				continue
			}
			wp := posOf(lw.tx)
			how := ""
			switch {
			case v == nil && !lw.deleted:
				how = "it read the key absent"
			case v != nil && vp.before(wp):
				how = fmt.Sprintf("it read version %s", vp)
			default:
				continue
			}
			staleKeys[k] = true
			g := stale[lw.tx]
			if g == nil {
				g = &group{first: keyString(k), how: how}
				stale[lw.tx] = g
				staleOrder = append(staleOrder, lw.tx)
			}
			g.n++
		}
		for _, w := range staleOrder {
			g := stale[w]
			probs[tx] = append(probs[tx], fmt.Sprintf("MVCC: transaction %s is marked VALID but its read of key %s is stale: transaction %s, VALID and earlier, wrote it (%s)%s; Fabric marks such a transaction MVCC_READ_CONFLICT, so its validation flag was altered",
				describeTx(tx), g.first, describeTx(w), g.how, others(g.n-1, "key")))
		}
		dup := map[*Tx]*struct {
			first string
			n     int
		}{}
		var dupOrder []*Tx
		for _, wr := range rw.GetWrites() {
			k := wr.GetKey()
			if writeOnce(k) && !wr.GetIsDelete() {
				if first, ok := firstWriter[k]; ok && first != tx && !staleKeys[k] {
					d := dup[first]
					if d == nil {
						d = &struct {
							first string
							n     int
						}{first: keyString(k)}
						dup[first] = d
						dupOrder = append(dupOrder, first)
					}
					d.n++
				} else if !ok {
					firstWriter[k] = tx
				}
			}
			written[k] = lastWrite{tx: tx, deleted: wr.GetIsDelete()}
		}
		for _, first := range dupOrder {
			d := dup[first]
			probs[tx] = append(probs[tx], fmt.Sprintf("write-once key %s%s written by two VALID transactions, %s and %s: the chaincode writes it once, so the later cannot be valid (an altered validation flag, or endorsers that did not run the e2l chaincode)",
				d.first, others(d.n-1, "key"), describeTx(first), describeTx(tx)))
		}
	}
	return probs
}

// versionProblem checks a read's version against the block of that
// version, when the evidence holds it: the transaction there must be VALID
// and have written the key.
func versionProblem(set *BlockSet, rws *rwSets, chaincode, k string, vp txPos) string {
	b := set.Get(vp.Block)
	if b == nil {
		return "" // not in the evidence: taken on trust
	}
	if vp.Index >= len(b.Txs) {
		return fmt.Sprintf("but block %d holds %d transactions", vp.Block, len(b.Txs))
	}
	w := b.Txs[vp.Index]
	if !counted(w, chaincode) || rws.write(w, k) == nil {
		return fmt.Sprintf("but transaction %s there did not validly write it", describeTx(w))
	}
	return ""
}

func others(n int, what string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(" (and 1 other %s)", what)
	default:
		return fmt.Sprintf(" (and %d other %ss)", n, what)
	}
}

// recordWriteProblems checks that the record's transaction wrote it: in
// state layouts 2 and 3 its chain slot with the stored value and its ID key with
// its hash; in layout 1 (a transaction that wrote the record's one-part ID
// key) its ID key with the stored value and its chain slot with its ID.
func recordWriteProblems(tx *Tx, st Stored, rws *rwSets) []string {
	if tx.Err != nil {
		return nil
	}
	if _, err := rws.of(tx); err != nil {
		return []string{err.Error()}
	}
	var p []string
	host, seq := st.Claimed()
	seq20 := fmt.Sprintf("%020d", seq)
	chainKey := wire.SlotKey(host, seq) // layout 3
	if old := compositeKey(keyTypeChain, host, seq20); rws.write(tx, chainKey) == nil && rws.write(tx, old) != nil {
		chainKey = old // layouts 1, 2
	}
	storedUnder := func(k, what string) {
		switch w := rws.write(tx, k); {
		case w == nil || w.GetIsDelete():
			p = append(p, fmt.Sprintf("its transaction %s did not write its %s %s: the ledger's entry for this record is not from that transaction", tx.ID, what, keyString(k)))
		default:
			if got, err := rws.storedAt(tx, w); err != nil {
				p = append(p, fmt.Sprintf("its transaction %s wrote a value under its %s that does not decode: %v", tx.ID, what, err))
			} else if d := storedDiff(got, st); d != "" {
				p = append(p, fmt.Sprintf("its transaction %s wrote another value under its %s (%s differs)", tx.ID, what, d))
			}
		}
	}
	if oldKey := compositeKey(keyTypeRecord, st.ID); rws.write(tx, oldKey) != nil { // layout 1
		storedUnder(oldKey, "record key")
		slot1 := compositeKey(keyTypeChain, host, seq20)
		if w := rws.write(tx, slot1); w == nil || w.GetIsDelete() || string(w.GetValue()) != st.ID {
			p = append(p, fmt.Sprintf("its transaction %s did not write it into chain slot %s", tx.ID, keyString(slot1)))
		}
		return p
	}
	storedUnder(chainKey, "chain slot")
	idKey := compositeKey(keyTypeRecord, st.ID, host, seq20)
	if w := rws.write(tx, idKey); w == nil || w.GetIsDelete() || string(w.GetValue()) != st.Hash {
		p = append(p, fmt.Sprintf("its transaction %s did not write its ID key %s with its hash", tx.ID, keyString(idKey)))
	}
	return p
}

func storedDiff(a, b Stored) string {
	var d []string
	if a.ID != b.ID {
		d = append(d, "id")
	}
	if a.Hash != b.Hash {
		d = append(d, "hash")
	}
	if !bytes.Equal(a.Record, b.Record) {
		d = append(d, "record")
	}
	if a.MSP != b.MSP {
		d = append(d, "msp")
	}
	if a.CertSHA256 != b.CertSHA256 {
		d = append(d, "certSha256")
	}
	if a.TxID != b.TxID {
		d = append(d, "txId")
	}
	if a.TxTime != b.TxTime {
		d = append(d, "txTime")
	}
	sort.Strings(d)
	return strings.Join(d, ", ")
}
