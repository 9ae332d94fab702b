package audit

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// doubleSubmit writes two different records for node1's seq 1, as a
// collector submitting twice: the first commits VALID, the second loses
// the race (MVCC_READ_CONFLICT). It returns the winner's and the loser's
// stored records; the archive holds both blocks and the loser's record
// (what someone passing the loser off as the ledger's would hand over).
func doubleSubmit(t *testing.T) (*world, *Archive, Stored, Stored) {
	w := newWorld(t)
	reg := newRegistry(w)
	reg.register("node1", "ProviderMSP", "manager")
	c1, c2 := newChainer(t, "node1"), newChainer(t, "node1").at(5)
	winner := w.commit(record.Batch{Records: []record.Sealed{c1.start()}}, txOpts{})[0]
	loser := w.commit(record.Batch{Records: []record.Sealed{c2.event("container", "die", "c1", "web", nil)}}, txOpts{code: peer.TxValidationCode_MVCC_READ_CONFLICT})[0]
	a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks,
		Hosts: reg.hosts(), Records: []Stored{loser}}
	return w, a, winner, loser
}

func TestVerifyReplaysMVCC(t *testing.T) {
	t.Run("the loser of a double submit is not VALID", func(t *testing.T) {
		w, a, _, _ := doubleSubmit(t)
		wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "node1", 1, "MVCC_READ_CONFLICT, not VALID")
	})
	t.Run("the loser of a double submit flipped to VALID is caught by its stale read", func(t *testing.T) {
		w, a, winner, loser := doubleSubmit(t)
		a.Blocks[2] = setFlag(t, a.Blocks[2], 0, peer.TxValidationCode_VALID) // block 3: the loser
		rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
		wantError(t, rep, "node1", 1, "MVCC: transaction "+loser.TxID+` (block 3 tx 0) is marked VALID but its read of key "chain node1 00000000000000000001" is stale`,
			"transaction "+winner.TxID+" (block 2 tx 0), VALID and earlier, wrote it (it read the key absent)", "validation flag was altered")
		for _, f := range rep.Findings {
			if strings.Contains(f.Problem, "not VALID") {
				t.Fatalf("the flipped flag still reads invalid: %v", f)
			}
		}
	})
	t.Run("with both records in the archive the chain shows the fork too", func(t *testing.T) {
		w, a, winner, _ := doubleSubmit(t)
		a.Blocks[2] = setFlag(t, a.Blocks[2], 0, peer.TxValidationCode_VALID)
		a.Records = append([]Stored{winner}, a.Records...)
		rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
		wantError(t, rep, "node1", 1, "fork")
		wantError(t, rep, "node1", 1, "is stale")
	})
}

func TestVerifyCatchesAWriteOnceKeyWrittenTwice(t *testing.T) {
	// A second transaction writes seq 1's chain slot blindly (no read, so
	// Fabric's MVCC check passes): endorsers that did not run the e2l
	// chaincode. The archive holds both.
	w := newWorld(t)
	reg := newRegistry(w)
	reg.register("node1", "ProviderMSP", "manager")
	c1, c2 := newChainer(t, "node1"), newChainer(t, "node1").at(5)
	winner := w.commit(record.Batch{Records: []record.Sealed{c1.start()}}, txOpts{})[0]
	other := c2.event("container", "die", "c1", "web", nil)
	creator := w.host("node1")
	batch, _ := json.Marshal(record.Batch{Records: []record.Sealed{other}})
	txID, ts := w.nextTx()
	kv := recordKV(t, record.Batch{Records: []record.Sealed{other}}, creator, txID, ts)
	kv.Reads = nil // blind writes
	env, _, _ := w.invoke(creator, []string{"RecordEvents", string(batch)}, kv)
	w.blocks = append(w.blocks, w.block([][]byte{env}, nil))
	blind := stored(other, creator, txID, ts)
	a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks,
		Hosts: reg.hosts(), Records: []Stored{blind}}
	wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "node1", 1,
		`write-once key "chain node1 00000000000000000001" written by two VALID transactions, `+winner.TxID+" (block 2 tx 0) and "+txID+" (block 3 tx 0)")
}

func TestVerifyChecksThatTheTransactionWroteTheRecord(t *testing.T) {
	type layout func(t testing.TB, b record.Batch, creator keyPair, txID string, ts time.Time) *kvrwset.KVRWSet
	tests := []struct {
		name   string
		layout layout
		kv     func(kv *kvrwset.KVRWSet)
		want   string // "" for no error
	}{
		{"layout 3 as written", recordKV, func(*kvrwset.KVRWSet) {}, ""},
		{"layout 2 as written", recordKVLayout2, func(*kvrwset.KVRWSet) {}, ""},
		{"layout 1 as written", recordKVLayout1, func(*kvrwset.KVRWSet) {}, ""},
		{"a transaction that wrote nothing", recordKV, func(kv *kvrwset.KVRWSet) { kv.Writes = nil },
			`did not write its chain slot "chain node1 00000000000000000001"`},
		{"a transaction that wrote another value", recordKV, func(kv *kvrwset.KVRWSet) {
			kv.Writes[0].Value = []byte(strings.Replace(string(kv.Writes[0].Value), `"msp":"ProviderMSP"`, `"msp":"UserMSP"`, 1))
		}, "wrote another value under its chain slot (msp differs)"},
		{"a transaction that wrote another hash under the ID key", recordKV, func(kv *kvrwset.KVRWSet) { kv.Writes[1].Value = []byte("x") },
			"did not write its ID key rec["},
		{"a layout 1 transaction that wrote another value", recordKVLayout1, func(kv *kvrwset.KVRWSet) {
			kv.Writes[0].Value = []byte(strings.Replace(string(kv.Writes[0].Value), `"msp":"ProviderMSP"`, `"msp":"UserMSP"`, 1))
		}, "wrote another value under its record key (msp differs)"},
		{"a layout 1 transaction that wrote another record into the chain slot", recordKVLayout1, func(kv *kvrwset.KVRWSet) { kv.Writes[1].Value = []byte("x") },
			"did not write it into chain slot chain[node1, 00000000000000000001]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			reg := newRegistry(w)
			reg.register("node1", "ProviderMSP", "manager")
			s := newChainer(t, "node1").start()
			b := record.Batch{Records: []record.Sealed{s}}
			creator := w.host("node1")
			txID, ts := w.nextTx()
			kv := tc.layout(t, b, creator, txID, ts)
			tc.kv(kv)
			batch, _ := json.Marshal(b)
			env, _, _ := w.invoke(creator, []string{"RecordEvents", string(batch)}, kv)
			w.blocks = append(w.blocks, w.block([][]byte{env}, nil))
			a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks,
				Hosts: reg.hosts(), Records: []Stored{stored(s, creator, txID, ts)}}
			rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
			if tc.want == "" {
				if rep.Failed() {
					t.Fatalf("errors: %v", rep.Findings)
				}
				return
			}
			wantError(t, rep, "node1", 1, tc.want)
		})
	}
}

func TestKeysShowAsTheChaincodeLaysThemOut(t *testing.T) {
	k := compositeKey("chain", "node1", "00000000000000000007")
	if k != "\x00chain\x00node1\x0000000000000000000007\x00" {
		t.Fatalf("composite key %q", k)
	}
	if s := keyString(k); s != "chain[node1, 00000000000000000007]" {
		t.Fatalf("key shown as %q", s)
	}
	if !writeOnce(compositeKey("rec", "x")) || writeOnce(compositeKey("hostreg", "node1")) || writeOnce(compositeKey("recx", "y")) {
		t.Fatal("write-once keys: rec and chain are, hostreg and other types are not")
	}
}

func TestVerifyChecksTheVersionsRead(t *testing.T) {
	// RecordEvents reads the host's registry entry (block 1, tx 0).
	tests := []struct {
		name string
		read *kvrwset.KVRead
		want string // "" when the archive passes
	}{
		{"the registry entry read at its version passes", &kvrwset.KVRead{Key: compositeKey(keyTypeHostReg, "node1"), Version: &kvrwset.Version{BlockNum: 1}}, ""},
		{"a key read at a version whose transaction did not write it", &kvrwset.KVRead{Key: compositeKey(keyTypeHostReg, "node2"), Version: &kvrwset.Version{BlockNum: 1}},
			"read key hostreg[node2] at version block 1 tx 0, but transaction"},
		{"a key read at a version of its own block", &kvrwset.KVRead{Key: compositeKey(keyTypeHostReg, "node1"), Version: &kvrwset.Version{BlockNum: 2}},
			"which is not from a block before its own"},
		{"the registry entry read absent after its registration", &kvrwset.KVRead{Key: compositeKey(keyTypeHostReg, "node1")},
			"its read of key hostreg[node1] is stale"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			reg := newRegistry(w)
			reg.register("node1", "ProviderMSP", "manager")
			s := newChainer(t, "node1").start()
			b := record.Batch{Records: []record.Sealed{s}}
			creator := w.host("node1")
			txID, ts := w.nextTx()
			kv := recordKV(t, b, creator, txID, ts)
			kv.Reads = append(kv.Reads, tc.read)
			batch, _ := json.Marshal(b)
			env, _, _ := w.invoke(creator, []string{"RecordEvents", string(batch)}, kv)
			w.blocks = append(w.blocks, w.block([][]byte{env}, nil))
			a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks,
				Hosts: reg.hosts(), Records: []Stored{stored(s, creator, txID, ts)}}
			rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
			if tc.want == "" {
				if rep.Failed() {
					t.Fatalf("fails:\n%s", strings.Join(errorsOf(rep), "\n"))
				}
				return
			}
			wantError(t, rep, "node1", 1, tc.want)
		})
	}
}

// A batch of several records reads its chain slots with one range query
// (layout 3): the loser of a double submit of such batches, flipped to
// VALID, is caught by replaying its range as reads of each slot.
func TestVerifyReplaysRangeReads(t *testing.T) {
	setup := func(t *testing.T) (*world, *Archive, []Stored, []Stored) {
		w := newWorld(t)
		reg := newRegistry(w)
		reg.register("node1", "ProviderMSP", "manager")
		c1, c2 := newChainer(t, "node1"), newChainer(t, "node1").at(5)
		winner := w.commit(record.Batch{Records: []record.Sealed{c1.start(), c1.heartbeat(), c1.heartbeat()}}, txOpts{})
		loser := w.commit(record.Batch{Records: []record.Sealed{c2.start(), c2.event("container", "die", "c1", "web", nil)}},
			txOpts{code: peer.TxValidationCode_PHANTOM_READ_CONFLICT})
		a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks,
			Hosts: reg.hosts(), Records: loser}
		return w, a, winner, loser
	}
	t.Run("the loser is not VALID", func(t *testing.T) {
		w, a, _, _ := setup(t)
		wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "node1", 1, "PHANTOM_READ_CONFLICT, not VALID")
	})
	t.Run("the loser flipped to VALID is caught by its stale range", func(t *testing.T) {
		w, a, winner, loser := setup(t)
		a.Blocks[2] = setFlag(t, a.Blocks[2], 0, peer.TxValidationCode_VALID)
		rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
		wantError(t, rep, "node1", 1, "MVCC: transaction "+loser[0].TxID+` (block 3 tx 0) is marked VALID but its read of key "chain node1 00000000000000000001" is stale`,
			"transaction "+winner[0].TxID+" (block 2 tx 0), VALID and earlier, wrote it (it read the key absent) (and 1 other key)", "validation flag was altered")
	})
	t.Run("a range the chaincode does not read is a finding", func(t *testing.T) {
		for _, rq := range []*kvrwset.RangeQueryInfo{
			{StartKey: wire.SlotKey("node1", 1), EndKey: wire.SlotKey("node2", 2), ItrExhausted: true},
			{StartKey: compositeKey(keyTypeChain, "node1"), EndKey: compositeKey(keyTypeChain, "node1") + "\U0010FFFF", ItrExhausted: true},
			{StartKey: wire.SlotKey("node1", 1), EndKey: wire.SlotKey("node1", 2001), ItrExhausted: true},
			{StartKey: wire.SlotKey("node1", 1), EndKey: wire.SlotKey("node1", 2)},
			{StartKey: wire.SlotKey("node1", 1), EndKey: wire.SlotKey("node1", 2), ItrExhausted: true,
				ReadsInfo: &kvrwset.RangeQueryInfo_RawReads{RawReads: &kvrwset.QueryReads{KvReads: []*kvrwset.KVRead{{Key: wire.SlotKey("node1", 5)}}}}},
		} {
			w := newWorld(t)
			reg := newRegistry(w)
			reg.register("node1", "ProviderMSP", "manager")
			b := record.Batch{Records: []record.Sealed{newChainer(t, "node1").start()}}
			creator := w.host("node1")
			txID, ts := w.nextTx()
			kv := recordKV(t, b, creator, txID, ts)
			kv.RangeQueriesInfo = append(kv.RangeQueriesInfo, rq)
			batch, _ := json.Marshal(b)
			env, _, _ := w.invoke(creator, []string{"RecordEvents", string(batch)}, kv)
			w.blocks = append(w.blocks, w.block([][]byte{env}, nil))
			a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs, Blocks: w.blocks,
				Hosts: reg.hosts(), Records: []Stored{stored(b.Records[0], creator, txID, ts)}}
			wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "node1", 1, "read a range the e2l chaincode does not read")
		}
	})
}

func TestRangeReads(t *testing.T) {
	k := func(seq uint64) string { return wire.SlotKey("node1", seq) }
	got, err := rangeReads(&kvrwset.RangeQueryInfo{StartKey: k(7), EndKey: k(10), ItrExhausted: true,
		ReadsInfo: &kvrwset.RangeQueryInfo_RawReads{RawReads: &kvrwset.QueryReads{KvReads: []*kvrwset.KVRead{
			{Key: k(8), Version: &kvrwset.Version{BlockNum: 4, TxNum: 1}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, rd := range got {
		desc = append(desc, fmt.Sprintf("%s@%v", strings.TrimPrefix(rd.GetKey(), "chain node1 "), rd.GetVersion().GetBlockNum()))
	}
	if want := "00000000000000000007@0 00000000000000000008@4 00000000000000000009@0"; strings.Join(desc, " ") != want {
		t.Errorf("reads %s, want %s", strings.Join(desc, " "), want)
	}
	last, err := rangeReads(&kvrwset.RangeQueryInfo{StartKey: k(math.MaxUint64), EndKey: wire.SlotRangeEnd("node1", math.MaxUint64), ItrExhausted: true})
	if err != nil || len(last) != 1 || last[0].GetKey() != k(math.MaxUint64) {
		t.Errorf("the host's last slot: %v, %v", last, err)
	}
	merkle, err := rangeReads(&kvrwset.RangeQueryInfo{StartKey: k(1), EndKey: k(101), ItrExhausted: true,
		ReadsInfo: &kvrwset.RangeQueryInfo_ReadsMerkleHashes{ReadsMerkleHashes: &kvrwset.QueryReadsMerkleSummary{}}})
	if err != nil || merkle != nil {
		t.Errorf("a summarised range: %v, %v", merkle, err)
	}
}
