package chaincode_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

func TestRecordEventsWritesEveryKindWithItsIndexes(t *testing.T) {
	l := newWorld(t)
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	rs := g.batch(t, start(), containerEvent("create", "c1"), containerEvent("start", "c1"), snapshot("c1", "c2"), gap(), heartbeat())

	res, stub, err := invoke(t, l, node1, t0, batchJSON(t, rs))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("every record is reported written in batch order", func(t *testing.T) {
		if res.Written != len(rs) || res.Duplicates != 0 || res.Witnesses != 0 {
			t.Fatalf("counts = %d/%d/%d, want %d/0/0", res.Written, res.Duplicates, res.Witnesses, len(rs))
		}
		for i, st := range res.Records {
			want := chaincode.RecordStatus{ID: rs[i].ID, Seq: uint64(i + 1), Status: chaincode.StatusWritten}
			if st != want {
				t.Errorf("record %d: %+v, want %+v", i, st, want)
			}
		}
		if res.TxID != stub.txID || res.Host != "node1" {
			t.Errorf("txId, host = %q, %q", res.TxID, res.Host)
		}
	})

	t.Run("the stored envelope re-verifies and names the signer", func(t *testing.T) {
		for _, s := range rs {
			k, _ := shim.CreateCompositeKey("rec", []string{s.ID})
			var st chaincode.Stored
			if err := json.Unmarshal(l.state[k], &st); err != nil {
				t.Fatalf("record %s: %v", s.ID, err)
			}
			got, err := st.Sealed()
			if err != nil {
				t.Fatalf("record %s does not re-verify: %v", s.ID, err)
			}
			if got.Hash != s.Hash || string(st.Record) != string(s.Record.Canonical()) {
				t.Errorf("record %s: stored bytes differ from the canonical encoding", s.ID)
			}
			sum := sha256.Sum256(node1.cert.Raw)
			want := chaincode.Stored{ID: s.ID, Hash: s.Hash, Record: st.Record, MSP: "ProviderMSP",
				CertSHA256: hex.EncodeToString(sum[:]), TxID: stub.txID, TxTime: t0.UnixNano()}
			if !equalStored(st, want) {
				t.Errorf("record %s: %+v, want %+v", s.ID, st, want)
			}
		}
	})

	t.Run("the index keys follow the documented layout", func(t *testing.T) {
		tm := func(i int) string { return padTime(rs[i].Record.Time) }
		want := map[string][]string{
			"chain":   {"node1", "00000000000000000001"},
			"actor":   {"c1", tm(1), rs[1].ID},
			"type":    {"container", tm(2), rs[2].ID},
			"typeact": {"container", "start", tm(2), rs[2].ID},
			"hb":      {"node1", "18446744073709551609"}, // MaxUint64 - 6
			"host":    {"node1"},
		}
		for _, objectType := range slices.Sorted(maps.Keys(want)) {
			k, err := shim.CreateCompositeKey(objectType, want[objectType])
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := l.state[k]; !ok {
				t.Errorf("no %s key %q", objectType, want[objectType])
			}
		}
		for _, c := range []string{"c1", "c2"} {
			k, _ := shim.CreateCompositeKey("actor", []string{c, tm(3), rs[3].ID})
			if string(l.state[k]) != rs[3].ID {
				t.Errorf("snapshot not indexed under its container %s", c)
			}
		}
		if got := string(l.state[mustKey(t, "host", "node1")]); got != "ProviderMSP" {
			t.Errorf("host key holds %q, want the MSP ID", got)
		}
	})

	t.Run("a chaincode event summarises the batch", func(t *testing.T) {
		if stub.event == nil || stub.event.EventName != "e2l.recorded" {
			t.Fatalf("event = %v", stub.event)
		}
		var s chaincode.Summary
		if err := json.Unmarshal(stub.event.Payload, &s); err != nil {
			t.Fatal(err)
		}
		want := chaincode.Summary{TxID: stub.txID, Host: "node1", FromSeq: 1, ToSeq: 6, Written: 6}
		if s != want {
			t.Errorf("summary = %+v, want %+v", s, want)
		}
	})
}

func equalStored(a, b chaincode.Stored) bool {
	return a.ID == b.ID && a.Hash == b.Hash && string(a.Record) == string(b.Record) && a.MSP == b.MSP &&
		a.CertSHA256 == b.CertSHA256 && a.TxID == b.TxID && a.TxTime == b.TxTime
}

func padTime(ns int64) string { return fmt.Sprintf("%019d", ns) }

func mustKey(t testing.TB, objectType string, attrs ...string) string {
	t.Helper()
	k, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecordEventsRefuses(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	good := g.batch(t, start(), containerEvent("create", "c1"), containerEvent("start", "c1"))

	// Ledger state the conflict cases run against: seq 1-3 of node1 stored.
	stored := newWorld(t)
	storedTx := mustInvoke(t, stored, node1, good).TxID

	// The same container event sealed at another place in the chain: same
	// ID, another hash.
	other := newChain("node1")
	other.batch(t, start(), heartbeat(), heartbeat())
	moved := other.next(t, containerEvent("create", "c1"))
	moved.Record.Time = good[1].Record.Time
	moved.Record.Event.TimeNano = good[1].Record.Time
	moved, _ = record.Seal(moved.Record)

	// Seq 2 again, with another event: a fork of node1's chain.
	fork := newChain("node1")
	fork.next(t, start())
	forked := fork.next(t, containerEvent("create", "c9"))
	forked.Record.Prev = good[0].Hash
	forked, _ = record.Seal(forked.Record)

	noRole := collector("node1", "ProviderMSP")
	delete(noRole.attrs, "e2l.role")
	admin := collector("node1", "ProviderMSP")
	admin.attrs["e2l.role"] = "admin"
	noHost := collector("node1", "ProviderMSP")
	delete(noHost.attrs, "e2l.host")
	noCert := collector("node1", "ProviderMSP")
	noCert.cert = nil

	badHash := slices.Clone(good)
	badHash[2].Hash = strings.Repeat("0", 64)
	gapInSeq := []record.Sealed{good[0], good[2]}
	future := newChain("node1")
	futureRecs := future.batch(t, start(), record.Record{Kind: record.KindHeartbeat, Time: t0.Add(5*time.Minute + 1).UnixNano(), Heartbeat: &record.Heartbeat{IntervalMs: 1}})
	edgeOK := newChain("node1")
	edgeRecs := edgeOK.batch(t, record.Record{Kind: record.KindStart, Time: t0.Add(5 * time.Minute).UnixNano(), Lifecycle: &record.Lifecycle{Version: "1"}})
	weird := newChain("node1")
	weirdAction := weird.batch(t, containerEvent("exec_start: sh \U0010FFFF", "c1"))
	workerSwarm := newChain("wkr1").batch(t, start(), serviceEvent("create", "svc1", t0.UnixNano(), "1"))
	badPrev := slices.Clone(good[:2])
	badPrev[1].Record.Prev = strings.Repeat("0", 64)
	badPrev[1], _ = record.Seal(badPrev[1].Record)

	cases := []struct {
		name   string
		ledger *fakeLedger
		id     *fakeIdentity
		batch  string
		code   wire.Code
		index  int
		want   string
	}{
		{"a signer without the collector role is denied", newWorld(t), noRole, batchJSON(t, good), wire.CodeAccessDenied, -1,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has no e2l.role=collector attribute`},
		{"a signer with another role is denied", newWorld(t), admin, batchJSON(t, good), wire.CodeAccessDenied, -1,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has e2l.role="admin", not collector`},
		{"an org admin is no collector", newWorld(t), orgAdmin("ProviderMSP"), batchJSON(t, good), wire.CodeAccessDenied, -1,
			`e2l-refusal access-denied: identity "x509::CN=Admin@provider.example.com,OU=admin::CN=ca.provider" of ProviderMSP has no e2l.role=collector attribute`},
		{"a signer without a host attribute is denied", newWorld(t), noHost, batchJSON(t, good), wire.CodeAccessDenied, -1,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has no e2l.host attribute`},
		{"a signer without an X.509 certificate is denied", newWorld(t), noCert, batchJSON(t, good), wire.CodeAccessDenied, -1,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has no X.509 certificate`},
		{"a transaction without client identity is denied", newWorld(t), nil, batchJSON(t, good), wire.CodeAccessDenied, -1,
			`e2l-refusal access-denied: the client identity is unavailable`},
		{"another host's records are denied", newWorld(t), collector("node2", "DeveloperMSP"), batchJSON(t, good), wire.CodeAccessDenied, 0,
			`e2l-refusal access-denied record 0 (` + good[0].ID + `): the record is for host "node1" but the signer's e2l.host is "node2"`},
		{"an unregistered host is refused", newLedger(), node1, batchJSON(t, good), wire.CodeNotRegistered, -1,
			`e2l-refusal not-registered: host "node1" is not registered: an admin of the organisation that owns it (ProviderMSP, if this collector's) registers it before its collector writes (e2l host register node1, or make register HOST=node1 ORG=<org> SWARM_ROLE=manager|worker)`},
		{"another organisation's collector claiming the host is refused", newWorld(t), collector("node1", "DeveloperMSP"), batchJSON(t, good), wire.CodeHostOwned, -1,
			`e2l-refusal host-owned: host "node1" is registered to ProviderMSP, but the signer "x509::CN=node1,OU=client::CN=ca.developer" is of DeveloperMSP: only collectors of ProviderMSP write its records (a host moves when ProviderMSP's admin releases it and the new organisation's admin registers it)`},
		{"a worker reporting a swarm event is refused", newWorld(t), collector("wkr1", "ProviderMSP"), batchJSON(t, workerSwarm), wire.CodeNotAManager, 1,
			`e2l-refusal not-a-manager record 1 (` + workerSwarm[1].ID + `): a swarm-scope service create event, but host "wkr1" is registered as a worker: only managers report swarm events (if it is a manager, an admin of ProviderMSP registers it again as manager)`},
		{"a batch that is not JSON is invalid", newWorld(t), node1, `{"records":[`, wire.CodeInvalidBatch, -1,
			`e2l-refusal invalid-batch: decode batch: invalid record: unexpected EOF`},
		{"a batch with unknown fields is invalid", newWorld(t), node1, `{"records":[],"extra":1}`, wire.CodeInvalidBatch, -1,
			`e2l-refusal invalid-batch: decode batch: invalid record: json: unknown field "extra"`},
		{"an empty batch is invalid", newWorld(t), node1, `{"records":[]}`, wire.CodeInvalidBatch, -1,
			`e2l-refusal invalid-batch: batch is empty: invalid record`},
		{"a record whose hash does not match is invalid", newWorld(t), node1, batchJSON(t, badHash), wire.CodeInvalidBatch, 2,
			`e2l-refusal invalid-batch record 2 (` + good[2].ID + `): hash: does not match the record's canonical encoding (want ` + good[2].Hash + `)`},
		{"a batch with a hole in the chain is invalid", newWorld(t), node1, batchJSON(t, gapInSeq), wire.CodeInvalidBatch, 1,
			`e2l-refusal invalid-batch record 1 (` + good[2].ID + `): seq: is 3, want 2 (chain not contiguous within the batch)`},
		{"a record that is not the next of its predecessor is invalid", newWorld(t), node1, batchJSON(t, badPrev), wire.CodeInvalidBatch, 1,
			`e2l-refusal invalid-batch record 1 (` + badPrev[1].ID + `): prev: does not match the hash of record seq 1`},
		{"a record dated more than five minutes after the transaction is refused", newWorld(t), node1, batchJSON(t, futureRecs), wire.CodeFutureDated, 1,
			`e2l-refusal future-dated record 1 (` + futureRecs[1].ID + `): its time 2026-03-01T12:05:00.000000001Z is 5m0.000000001s after the transaction timestamp 2026-03-01T12:00:00Z (allowed: 5m0s)`},
		{"an action that cannot be a composite key attribute is refused", newWorld(t), node1, batchJSON(t, weirdAction), wire.CodeInvalidBatch, 0,
			`e2l-refusal invalid-batch record 0 (` + weirdAction[0].ID + `): cannot index under typeact: input contains unicode U+10FFFF starting at position [15]. U+0000 and U+10FFFF are not allowed in the input attribute of a composite key`},
		{"a stored ID with another hash is a conflict", stored, node1, batchJSON(t, []record.Sealed{moved}), wire.CodeConflict, 0,
			`e2l-refusal conflict record 0 (` + good[1].ID + `): the ledger holds this ID with hash ` + good[1].Hash + ` (tx ` + storedTx + `), the batch has hash ` + moved.Hash},
		{"a taken sequence number is a chain fork", stored, node1, batchJSON(t, []record.Sealed{forked}), wire.CodeChainFork, 0,
			`e2l-refusal chain-fork record 0 (` + forked.ID + `): host "node1" seq 2 is already taken by record ` + good[1].ID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := c.ledger.snapshot()
			_, stub, err := invoke(t, c.ledger, c.id, t0, c.batch)
			r := refusal(t, err, c.code, c.index)
			if err.Error() != c.want {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
			if r.Index >= 0 && r.ID == "" {
				t.Errorf("record refusal without the record's ID")
			}
			if len(stub.writes) != 0 && c.code != wire.CodeConflict && c.code != wire.CodeChainFork {
				t.Errorf("%d keys written before refusing", len(stub.writes))
			}
			if stub.event != nil {
				t.Errorf("event set on a refused batch")
			}
			if !maps.Equal(before, c.ledger.snapshot()) {
				t.Errorf("the ledger changed")
			}
		})
	}

	t.Run("a record dated exactly five minutes after the transaction is accepted", func(t *testing.T) {
		if _, _, err := invoke(t, newWorld(t), node1, t0, batchJSON(t, edgeRecs)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a conflicting record at the end of a batch leaves nothing written", func(t *testing.T) {
		l := newWorld(t)
		firstTx := mustInvoke(t, l, node1, good[:2]).TxID
		// Seq 3 and 4 are new; seq 5 re-uses seq 2's event ID with another hash.
		tail := newChain("node1")
		tail.seq, tail.prev, tail.time = good[2].Record.Seq-1, good[1].Hash, good[2].Record.Time+int64(time.Hour)
		rs := tail.batch(t, heartbeat(), heartbeat())
		bad := tail.next(t, containerEvent("create", "c1"))
		bad.Record.Time, bad.Record.Event.TimeNano = good[1].Record.Time, good[1].Record.Time
		bad, _ = record.Seal(bad.Record)
		before := l.snapshot()
		_, stub, err := invoke(t, l, node1, t0.Add(time.Hour), batchJSON(t, append(rs, bad)))
		want := `e2l-refusal conflict record 2 (` + good[1].ID + `): the ledger holds this ID with hash ` + good[1].Hash + ` (tx ` + firstTx + `), the batch has hash ` + bad.Hash
		if err == nil || err.Error() != want {
			t.Fatalf("error\n got: %v\nwant: %s", err, want)
		}
		if len(stub.writes) != 0 {
			t.Errorf("%d keys put before the refusal", len(stub.writes))
		}
		if !maps.Equal(before, l.snapshot()) {
			t.Error("the ledger changed")
		}
	})

	t.Run("a failing SetEvent fails the transaction", func(t *testing.T) {
		stub := newWorld(t).tx(t0)
		stub.failEvent = errors.New("event too large")
		_, err := chaincode.New().RecordEvents(txContext(stub, node1), batchJSON(t, good))
		if err == nil || err.Error() != "set event e2l.recorded: event too large" {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestRecordEventsIsIdempotent(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	rs := g.batch(t, start(), containerEvent("create", "c1"), containerEvent("start", "c1"), heartbeat())

	t.Run("the same batch twice is a no-op reported as duplicates", func(t *testing.T) {
		l := newWorld(t)
		mustInvoke(t, l, node1, rs)
		before := l.snapshot()
		res, stub, err := invoke(t, l, node1, t0, batchJSON(t, rs))
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicates != len(rs) || res.Written != 0 {
			t.Fatalf("result %+v", res)
		}
		for i, st := range res.Records {
			if st.Status != chaincode.StatusDuplicate || st.ID != rs[i].ID {
				t.Errorf("record %d: %+v", i, st)
			}
		}
		if len(stub.writes) != 0 {
			t.Errorf("re-sent batch wrote %d keys", len(stub.writes))
		}
		if !maps.Equal(before, l.snapshot()) {
			t.Error("the ledger changed")
		}
		var s chaincode.Summary
		if err := json.Unmarshal(stub.event.Payload, &s); err != nil || s.Duplicates != 4 {
			t.Errorf("summary %+v, %v", s, err)
		}
	})

	t.Run("a batch overlapping stored records writes only the new ones", func(t *testing.T) {
		l := newWorld(t)
		mustInvoke(t, l, node1, rs[:2])
		res := mustInvoke(t, l, node1, rs[1:])
		got := []string{}
		for _, st := range res.Records {
			got = append(got, st.Status)
		}
		want := []string{"duplicate", "written", "written"}
		if !slices.Equal(got, want) {
			t.Errorf("statuses %v, want %v", got, want)
		}
	})
}

func TestRecordEventsSwarmWitnesses(t *testing.T) {
	at := t0.Add(time.Minute).UnixNano()
	m1, m2, m3 := collector("mgr1", "ProviderMSP"), collector("mgr2", "DeveloperMSP"), collector("mgr3", "UserMSP")
	g1, g2, g3 := newChain("mgr1"), newChain("mgr2"), newChain("mgr3")
	r1 := g1.batch(t, start(), serviceEvent("create", "svc1", at, "3"))
	r2 := g2.batch(t, start(), heartbeat(), serviceEvent("create", "svc1", at, "3"))
	r3 := g3.batch(t, start(), serviceEvent("create", "svc1", at, "5")) // disagrees
	eventID := r1[1].Record.EventID()

	l := newWorld(t)
	res1 := mustInvoke(t, l, m1, r1)
	res2 := mustInvoke(t, l, m2, r2)
	res3 := mustInvoke(t, l, m3, r3)

	t.Run("the first manager writes the event", func(t *testing.T) {
		if st := res1.Records[1]; st.Status != chaincode.StatusWritten || st.Divergent {
			t.Errorf("%+v", st)
		}
	})
	t.Run("a second manager is a witness, not a duplicate or a conflict", func(t *testing.T) {
		if st := res2.Records[2]; st.Status != chaincode.StatusWitness || st.Divergent || st.ID != r2[2].ID {
			t.Errorf("%+v", st)
		}
		if res2.Witnesses != 1 || res2.Written != 2 {
			t.Errorf("counts %+v", res2)
		}
	})
	t.Run("a manager reporting other content is a divergent witness", func(t *testing.T) {
		if st := res3.Records[1]; st.Status != chaincode.StatusWitness || !st.Divergent {
			t.Errorf("%+v", st)
		}
	})
	t.Run("every manager's record is stored under its own ID and chain", func(t *testing.T) {
		for _, s := range []record.Sealed{r1[1], r2[2], r3[1]} {
			var p page
			if err := query(t, l, func(c *chaincode.Contract, s2 *fakeStub) (string, error) {
				return c.GetRecord(txContext(s2, nil), s.ID)
			}, &p); err != nil || p.Count != 1 {
				t.Errorf("record %s of %s: %v, %d", s.ID, s.Record.Host, err, p.Count)
			}
		}
	})
	t.Run("GetEvent returns the first report and every witness", func(t *testing.T) {
		var info chaincode.EventInfo
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.GetEvent(txContext(s, nil), eventID)
		}, &info); err != nil {
			t.Fatal(err)
		}
		if info.Event == nil || info.Event.FirstHost != "mgr1" || info.Event.FirstRecord != r1[1].ID || info.Event.EventID != eventID {
			t.Fatalf("event %+v", info.Event)
		}
		if string(info.Event.Event) != string(r1[1].Record.Event.CanonicalEvent()) {
			t.Errorf("stored event is not the canonical event")
		}
		type w struct {
			host      string
			divergent bool
		}
		var got []w
		for _, x := range info.Witnesses {
			got = append(got, w{x.Host, x.Divergent})
		}
		want := []w{{"mgr1", false}, {"mgr2", false}, {"mgr3", true}}
		if !slices.Equal(got, want) {
			t.Errorf("witnesses %+v, want %+v", got, want)
		}
	})
	t.Run("managers stamping a remove with their own clocks agree", func(t *testing.T) {
		a := g1.batch(t, serviceEvent("remove", "svc1", at+int64(time.Second), ""))
		b := g2.batch(t, serviceEvent("remove", "svc1", at+int64(2*time.Second), ""))
		mustInvoke(t, l, m1, a)
		res := mustInvoke(t, l, m2, b)
		if st := res.Records[0]; st.Status != chaincode.StatusWitness || st.Divergent {
			t.Errorf("%+v", st)
		}
	})
	t.Run("a manager re-sending its report is a duplicate", func(t *testing.T) {
		res := mustInvoke(t, l, m2, r2)
		if res.Duplicates != 3 {
			t.Errorf("%+v", res)
		}
	})
	t.Run("an unknown event has no witnesses", func(t *testing.T) {
		var info chaincode.EventInfo
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.GetEvent(txContext(s, nil), strings.Repeat("a", 64))
		}, &info); err != nil || info.Event != nil || info.Witnesses == nil || len(info.Witnesses) != 0 {
			t.Errorf("%+v, %v", info, err)
		}
	})
}

// Concurrent batches of one host are endorsed against the same state and
// committed in one block; Fabric invalidates a transaction that read a key
// an earlier transaction of the block wrote (MVCC_READ_CONFLICT).
func TestRecordEventsConcurrentBatchesOfOneHostDoNotConflict(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	first := g.batch(t, start(), containerEvent("create", "c1"), heartbeat())
	second := g.batch(t, containerEvent("start", "c1"), heartbeat(), snapshot("c1"))
	third := g.batch(t, heartbeat())

	l := newWorld(t)
	var stubs []*fakeStub
	for _, b := range [][]record.Sealed{first, second, third} {
		stub := l.tx(t0)
		if _, err := chaincode.New().RecordEvents(txContext(stub, node1), batchJSON(t, b)); err != nil {
			t.Fatal(err)
		}
		stubs = append(stubs, stub)
	}
	for i, a := range stubs {
		for j, b := range stubs {
			if i == j {
				continue
			}
			for k := range b.reads {
				if _, ok := a.writes[k]; ok {
					t.Errorf("batch %d reads %q, which batch %d writes", j, k, i)
				}
			}
		}
	}
	for _, s := range stubs {
		s.commit()
	}
	var p page
	if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
		return c.QueryChain(txContext(s, nil), "node1", 1, 100, 0, "")
	}, &p); err != nil {
		t.Fatal(err)
	}
	if got := p.seqs(t); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("chain %v", got)
	}
}
