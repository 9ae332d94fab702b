package audit

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/record"
)

// validArchive is a chain of six records of node1 (registered to
// ProviderMSP first) written in three transactions, each in its own block,
// with valid signatures throughout. Its Blocks are the records' blocks,
// then the registry's.
func validArchive(t *testing.T) (*world, *Archive, []record.Sealed) {
	t.Helper()
	w := newWorld(t)
	reg := newRegistry(w)
	reg.register("node1", "ProviderMSP", "manager")
	c := newChainer(t, "node1")
	recs := []record.Sealed{c.start(), c.event("container", "create", "c1", "web", nil), c.event("container", "start", "c1", "web", nil),
		c.heartbeat(), c.event("container", "die", "c1", "web", nil), c.heartbeat()}
	a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs}
	for i := 0; i < len(recs); i += 2 {
		a.Records = append(a.Records, w.commit(record.Batch{Records: recs[i : i+2]}, txOpts{})...)
	}
	a.Blocks = append(append([][]byte{}, w.blocks[1:]...), w.blocks[0])
	a.Hosts = reg.hosts()
	return w, a, recs
}

func errorsOf(rep *Report) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Severity == Error {
			out = append(out, f.String())
		}
	}
	return out
}

// wantError fails unless some error finding names the record and contains
// every fragment.
func wantError(t *testing.T, rep *Report, host string, seq uint64, fragments ...string) {
	t.Helper()
	if !rep.Failed() {
		t.Fatalf("verification passed, want an error about %s seq %d: %v", host, seq, fragments)
	}
	for _, f := range rep.Findings {
		if f.Severity != Error || f.Host != host || f.Seq != seq || f.ID == "" {
			continue
		}
		ok := true
		for _, fr := range fragments {
			ok = ok && strings.Contains(f.Problem, fr)
		}
		if ok {
			if s := f.String(); !strings.Contains(s, "host "+host) || !strings.Contains(s, f.ID) {
				t.Fatalf("message %q does not name the record", s)
			}
			return
		}
	}
	t.Fatalf("no error about %s seq %d containing %q; errors:\n%s", host, seq, fragments, strings.Join(errorsOf(rep), "\n"))
}

func TestVerifyPassesAValidArchive(t *testing.T) {
	w, a, _ := validArchive(t)
	rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
	if rep.Failed() {
		t.Fatalf("valid archive fails:\n%s", strings.Join(errorsOf(rep), "\n"))
	}
	if rep.Records != 6 || rep.Transactions != 3 || rep.Blocks != 3 || rep.Hosts != 1 {
		t.Fatalf("report counts %+v", rep)
	}
}

func TestArchiveRoundTripsThroughItsFileFormat(t *testing.T) {
	w, a, _ := validArchive(t)
	var buf bytes.Buffer
	if err := WriteArchive(&buf, a); err != nil {
		t.Fatal(err)
	}
	back, err := ReadArchive(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Verify(back, VerifyOptions{Anchor: anchorOf(t, w)}); rep.Failed() {
		t.Fatalf("archive read back fails:\n%s", strings.Join(errorsOf(rep), "\n"))
	}
}

// mutateTx rewrites transaction envelope i of block b with f, keeping the
// block otherwise as it was (so its data hash no longer matches).
func mutateTx(t *testing.T, raw []byte, f func(env *common.Envelope, ptx *peer.Transaction, cap *peer.ChaincodeActionPayload)) []byte {
	t.Helper()
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var env common.Envelope
	var payload common.Payload
	var ptx peer.Transaction
	var cap peer.ChaincodeActionPayload
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(proto.Unmarshal(b.Data.Data[0], &env))
	must(proto.Unmarshal(env.Payload, &payload))
	must(proto.Unmarshal(payload.Data, &ptx))
	must(proto.Unmarshal(ptx.Actions[0].Payload, &cap))
	f(&env, &ptx, &cap)
	ptx.Actions[0].Payload = mustMarshal(t, &cap)
	payload.Data = mustMarshal(t, &ptx)
	env.Payload = mustMarshal(t, &payload)
	b.Data.Data[0] = mustMarshal(t, &env)
	return mustMarshal(t, &b)
}

func TestVerifyCatchesTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, w *world, a *Archive, recs []record.Sealed)
		host   string
		seq    uint64
		want   []string
	}{
		{"a deleted record shows as missing seq before the next one", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			a.Records = append(a.Records[:2], a.Records[3:]...) // seq 3
		}, "node1", 4, []string{"missing seq 3"}},
		{"an altered field fails the record's hash and its transaction's argument", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			a.Records[1].Record = bytes.Replace(a.Records[1].Record, []byte(`"name":"web"`), []byte(`"name":"wex"`), 1)
		}, "node1", 2, []string{"altered", "hash"}},
		{"an altered field with a recomputed hash breaks the next record's link", func(t *testing.T, w *world, a *Archive, recs []record.Sealed) {
			r := recs[1].Record
			r.Event.Attrs.Name = "other"
			s, _ := record.Seal(r)
			a.Records[1].Hash, a.Records[1].Record = s.Hash, s.Record.Canonical()
		}, "node1", 3, []string{"broken link", "seq 2"}},
		{"an altered field with a recomputed hash differs from the transaction's argument", func(t *testing.T, w *world, a *Archive, recs []record.Sealed) {
			r := recs[1].Record
			r.Event.Attrs.Name = "other"
			s, _ := record.Seal(r)
			a.Records[1].Hash, a.Records[1].Record = s.Hash, s.Record.Canonical()
		}, "node1", 2, []string{"differs from the record submitted"}},
		{"reordered records are reported", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			a.Records[2], a.Records[3] = a.Records[3], a.Records[2]
		}, "node1", 3, []string{"reordered", "after seq 4"}},
		{"a swapped endorsement signature does not verify", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			a.Blocks[1] = mutateTx(t, a.Blocks[1], func(_ *common.Envelope, _ *peer.Transaction, cap *peer.ChaincodeActionPayload) {
				e := cap.Action.Endorsements
				e[0].Signature, e[1].Signature = e[1].Signature, e[0].Signature
			})
		}, "node1", 3, []string{"endorsement 0 by ProviderMSP", "signature does not verify"}},
		{"a swapped creator signature does not verify", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			other := mutateTx(t, a.Blocks[2], func(*common.Envelope, *peer.Transaction, *peer.ChaincodeActionPayload) {})
			var ob common.Block
			var oenv common.Envelope
			_ = proto.Unmarshal(other, &ob)
			_ = proto.Unmarshal(ob.Data.Data[0], &oenv)
			a.Blocks[0] = mutateTx(t, a.Blocks[0], func(env *common.Envelope, _ *peer.Transaction, _ *peer.ChaincodeActionPayload) {
				env.Signature = oenv.Signature
			})
		}, "node1", 1, []string{"creator", "transaction signature: signature does not verify"}},
		{"a changed transaction fails the block's data hash", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			a.Blocks[1] = mutateTx(t, a.Blocks[1], func(env *common.Envelope, _ *peer.Transaction, _ *peer.ChaincodeActionPayload) {})
			var b common.Block
			_ = proto.Unmarshal(a.Blocks[1], &b)
			b.Data.Data[0] = append(b.Data.Data[0], 0x78, 0x01) // an unknown field 15
			a.Blocks[1] = mustMarshal(t, &b)
		}, "node1", 4, []string{"data hash"}},
		{"a re-signed stored certificate hash is caught", func(t *testing.T, w *world, a *Archive, _ []record.Sealed) {
			a.Records[4].CertSHA256 = strings.Repeat("0", 64)
		}, "node1", 5, []string{"certSha256"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, a, recs := validArchive(t)
			tc.tamper(t, w, a, recs)
			wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), tc.host, tc.seq, tc.want...)
		})
	}
}

func TestVerifyCatchesASkippedSequenceNumber(t *testing.T) {
	w := newWorld(t)
	reg := newRegistry(w)
	reg.register("node1", "ProviderMSP", "manager")
	c := newChainer(t, "node1")
	first := []record.Sealed{c.start(), c.heartbeat()}
	c.skip() // the writer skips seq 3; seq 4's prev is seq 2's hash
	second := []record.Sealed{c.heartbeat()}
	a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs}
	a.Records = append(w.commit(record.Batch{Records: first}, txOpts{}), w.commit(record.Batch{Records: second}, txOpts{})...)
	a.Blocks, a.Hosts = w.blocks, reg.hosts()
	wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "node1", 4, "missing seq 3")
}

func TestVerifyChecksTheTransactionAndItsSigners(t *testing.T) {
	tests := []struct {
		name string
		opt  func(w *world) txOpts
		want []string
	}{
		{"an INVALID transaction fails", func(*world) txOpts { return txOpts{code: peer.TxValidationCode_MVCC_READ_CONFLICT} },
			[]string{"MVCC_READ_CONFLICT, not VALID"}},
		{"one endorsing organisation does not meet the policy", func(*world) txOpts { return txOpts{endorsers: []string{"UserMSP"}} },
			[]string{"endorsement policy not met", "need 2"}},
		{"two endorsements of one organisation do not meet the policy", func(*world) txOpts {
			return txOpts{endorsers: []string{"UserMSP", "UserMSP"}}
		}, []string{"endorsement policy not met"}},
		{"a creator bound to another host fails", func(w *world) txOpts { k := w.host("node2"); return txOpts{creator: &k} },
			[]string{`bound to host "node2"`}},
		{"a creator from an unknown CA fails", func(w *world) txOpts {
			rogue := newCert(t, "ProviderMSP", "rogue-ca", nil, nil)
			k := newCert(t, "ProviderMSP", "node1", &rogue, map[string]string{"e2l.host": "node1"})
			return txOpts{creator: &k}
		}, []string{"does not chain to a ProviderMSP root CA"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			reg := newRegistry(w)
			reg.register("node1", "ProviderMSP", "manager")
			c := newChainer(t, "node1")
			a := &Archive{Version: ArchiveVersion, Channel: "e2l", Chaincode: "e2l", ConfigBlocks: w.configs}
			a.Records = w.commit(record.Batch{Records: []record.Sealed{c.start()}}, tc.opt(w))
			a.Blocks, a.Hosts = w.blocks, reg.hosts()
			wantError(t, Verify(a, VerifyOptions{Anchor: anchorOf(t, w)}), "node1", 1, tc.want...)
		})
	}
}

func TestReceiptVerifiesOfflineAndCatchesTampering(t *testing.T) {
	w, a, _ := validArchive(t)
	st := a.Records[2]
	r, rep, err := NewReceipt("e2l", "e2l", st, a.Blocks[1], w.config)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() {
		t.Fatalf("receipt fails: %v", errorsOf(rep))
	}
	var buf bytes.Buffer
	if err := WriteReceipt(&buf, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReceipt(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if rep := VerifyReceipt(back, ReceiptOptions{TrustedConfigBlock: w.config, Anchor: anchorOf(t, w)}); rep.Failed() {
		t.Fatalf("receipt read back fails: %v", errorsOf(rep))
	}
	tamper := map[string]func(r *Receipt){
		"an altered record": func(r *Receipt) {
			r.Record.Record = bytes.Replace(r.Record.Record, []byte("start"), []byte("stast"), 1)
		},
		"a different block":          func(r *Receipt) { r.Block = a.Blocks[2] },
		"a forged orderer signature": func(r *Receipt) { r.Block = resignBlock(t, r.Block, newCert(t, "OrdererMSP", "rogue", nil, nil)) },
		"another config block":       func(r *Receipt) { r.ConfigBlock = newWorld(t).config },
	}
	for name, f := range tamper {
		t.Run(name+" fails", func(t *testing.T) {
			c := *back
			f(&c)
			if rep := VerifyReceipt(&c, ReceiptOptions{Anchor: anchorOf(t, w)}); !rep.Failed() {
				t.Fatal("tampered receipt verifies")
			}
		})
	}
}

// resignBlock replaces a block's orderer signature with one by k.
func resignBlock(t *testing.T, raw []byte, k keyPair) []byte {
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var md common.Metadata
	_ = proto.Unmarshal(b.Metadata.Metadata[0], &md)
	sh := mustMarshal(t, &common.SignatureHeader{Creator: k.serialized(t)})
	md.Signatures = []*common.MetadataSignature{{SignatureHeader: sh,
		Signature: k.sign(t, append(append(append([]byte{}, md.Value...), sh...), HeaderBytes(b.Header)...))}}
	b.Metadata.Metadata[0] = mustMarshal(t, &md)
	return mustMarshal(t, &b)
}

func TestVerifyATimeWindow(t *testing.T) {
	wld, a, recs := validArchive(t) // node1 seq 1-6 at t0 + 0…5 ns
	anchor := VerifyOptions{Anchor: anchorOf(t, wld)}
	at := func(i int) int64 { return recs[i].Record.Time }
	tests := []struct {
		name         string
		since, until int64
		wantSeqs     []uint64
	}{
		{"open window: the whole chain", 0, 0, []uint64{1, 2, 3, 4, 5, 6}},
		{"since: from the first record at or after it", at(2), 0, []uint64{3, 4, 5, 6}},
		{"until: up to the last record at or before it", 0, at(3), []uint64{1, 2, 3, 4}},
		{"both", at(1) + 1, at(4) - 1, []uint64{3, 4}},
		{"nothing in the window", at(5) + 1, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, first := Window(a.Records, tc.since, tc.until)
			var seqs []uint64
			for _, st := range got {
				_, seq := st.Claimed()
				seqs = append(seqs, seq)
			}
			if !slices.Equal(seqs, tc.wantSeqs) || (len(seqs) > 0 && first != seqs[0]) {
				t.Fatalf("window [%d, %d]: seqs %v starting at %d, want %v", tc.since, tc.until, seqs, first, tc.wantSeqs)
			}
		})
	}
	t.Run("a window starting mid-chain verifies from its first seq, and a record deleted inside it is caught", func(t *testing.T) {
		w := *a
		var first uint64
		w.Records, first = Window(a.Records, at(2), 0)
		w.HostFrom = map[string]uint64{"node1": first}
		if rep := Verify(&w, anchor); rep.Failed() {
			t.Fatalf("window fails: %v", errorsOf(rep))
		}
		w.Records = append(append([]Stored{}, w.Records[:1]...), w.Records[2:]...) // seq 4
		wantError(t, Verify(&w, anchor), "node1", 5, "missing seq 4")
		w.Records = w.Records[1:] // and seq 3, the window's first
		wantError(t, Verify(&w, anchor), "node1", 5, "missing seq 3-4")
	})
}
