package chaincode_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// reseal seals r after edit changed a copy of it.
func reseal(t testing.TB, r record.Record, edit func(*record.Record)) record.Sealed {
	t.Helper()
	if r.Event != nil {
		e := *r.Event
		r.Event = &e
	}
	if r.Lifecycle != nil {
		lc := *r.Lifecycle
		r.Lifecycle = &lc
	}
	if r.Heartbeat != nil {
		hb := *r.Heartbeat
		r.Heartbeat = &hb
	}
	edit(&r)
	s, err := record.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRecordEventsRefuses(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	good := g.batch(t, start(), containerEvent("create", "c1"), containerEvent("start", "c1"))

	// Ledger state the ledger cases run against: seq 1-3 of node1 stored.
	stored := newWorld(t)
	storedTx := mustInvoke(t, stored, node1, good).TxID

	// Seq 2's Docker event with another attribute: same ID (an event ID
	// leaves attributes out) in the same chain slot, another hash.
	altered := reseal(t, good[1].Record, func(r *record.Record) { r.Event.Attrs.Image = "nginx:1.28" })
	// Seq 1's start with another version: same ID (kind, host, seq), another hash.
	restarted := reseal(t, good[0].Record, func(r *record.Record) { r.Lifecycle.Version = "0.2.0" })
	// Seq 2 again, with another event: a fork of node1's chain.
	forked := reseal(t, good[1].Record, func(r *record.Record) { r.Event.Actor = "c9" })
	if altered.ID != good[1].ID || restarted.ID != good[0].ID || forked.ID == good[1].ID {
		t.Fatal("test records: the conflicts must keep their slot's ID, the fork must not")
	}

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
	workerSwarm := newChain("wkr1").batch(t, start(), serviceEvent("create", "svc1", t0.UnixNano(), "1"))
	badPrev := slices.Clone(good[:2])
	badPrev[1] = reseal(t, badPrev[1].Record, func(r *record.Record) { r.Prev = strings.Repeat("0", 64) })

	cases := []struct {
		name   string
		ledger *fakeLedger
		id     *fakeIdentity
		batch  string
		code   wire.Code
		index  int
		reads  int // GetState calls before the refusal
		want   string
	}{
		{"a signer without the collector role is denied", newWorld(t), noRole, batchJSON(t, good), wire.CodeAccessDenied, -1, 0,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has no e2l.role=collector attribute`},
		{"a signer with another role is denied", newWorld(t), admin, batchJSON(t, good), wire.CodeAccessDenied, -1, 0,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has e2l.role="admin", not collector`},
		{"an org admin is no collector", newWorld(t), orgAdmin("ProviderMSP"), batchJSON(t, good), wire.CodeAccessDenied, -1, 0,
			`e2l-refusal access-denied: identity "x509::CN=Admin@provider.example.com,OU=admin::CN=ca.provider" of ProviderMSP has no e2l.role=collector attribute`},
		{"a signer without a host attribute is denied", newWorld(t), noHost, batchJSON(t, good), wire.CodeAccessDenied, -1, 0,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has no e2l.host attribute`},
		{"a signer without an X.509 certificate is denied", newWorld(t), noCert, batchJSON(t, good), wire.CodeAccessDenied, -1, 0,
			`e2l-refusal access-denied: identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP has no X.509 certificate`},
		{"a transaction without client identity is denied", newWorld(t), nil, batchJSON(t, good), wire.CodeAccessDenied, -1, 0,
			`e2l-refusal access-denied: the client identity is unavailable`},
		{"another host's records are denied", newWorld(t), collector("node2", "DeveloperMSP"), batchJSON(t, good), wire.CodeAccessDenied, 0, 0,
			`e2l-refusal access-denied record 0 (` + good[0].ID + `): the record is for host "node1" but the signer's e2l.host is "node2"`},
		{"an unregistered host is refused", newLedger(), node1, batchJSON(t, good), wire.CodeNotRegistered, -1, 1,
			`e2l-refusal not-registered: host "node1" is not registered: an admin of the organisation that owns it (ProviderMSP, if this collector's) registers it before its collector writes (e2l host register node1, or make register HOST=node1 ORG=<org> SWARM_ROLE=manager|worker)`},
		{"another organisation's collector claiming the host is refused", newWorld(t), collector("node1", "DeveloperMSP"), batchJSON(t, good), wire.CodeHostOwned, -1, 1,
			`e2l-refusal host-owned: host "node1" is registered to ProviderMSP, but the signer "x509::CN=node1,OU=client::CN=ca.developer" is of DeveloperMSP: only collectors of ProviderMSP write its records (a host moves when ProviderMSP's admin releases it and the new organisation's admin registers it)`},
		{"a worker reporting a swarm event is refused", newWorld(t), collector("wkr1", "ProviderMSP"), batchJSON(t, workerSwarm), wire.CodeNotAManager, 1, 1,
			`e2l-refusal not-a-manager record 1 (` + workerSwarm[1].ID + `): a swarm-scope service create event, but host "wkr1" is registered as a worker: only managers report swarm events (if it is a manager, an admin of ProviderMSP registers it again as manager)`},
		{"a batch that is not JSON is invalid", newWorld(t), node1, `{"records":[`, wire.CodeInvalidBatch, -1, 0,
			`e2l-refusal invalid-batch: decode batch: invalid record: unexpected EOF`},
		{"a batch with unknown fields is invalid", newWorld(t), node1, `{"records":[],"extra":1}`, wire.CodeInvalidBatch, -1, 0,
			`e2l-refusal invalid-batch: decode batch: invalid record: json: unknown field "extra"`},
		{"an empty batch is invalid", newWorld(t), node1, `{"records":[]}`, wire.CodeInvalidBatch, -1, 0,
			`e2l-refusal invalid-batch: batch is empty: invalid record`},
		{"a record whose hash does not match is invalid", newWorld(t), node1, batchJSON(t, badHash), wire.CodeInvalidBatch, 2, 0,
			`e2l-refusal invalid-batch record 2 (` + good[2].ID + `): hash: does not match the record's canonical encoding (want ` + good[2].Hash + `)`},
		{"a batch with a hole in the chain is invalid", newWorld(t), node1, batchJSON(t, gapInSeq), wire.CodeInvalidBatch, 1, 0,
			`e2l-refusal invalid-batch record 1 (` + good[2].ID + `): seq: is 3, want 2 (chain not contiguous within the batch)`},
		{"a record that is not the next of its predecessor is invalid", newWorld(t), node1, batchJSON(t, badPrev), wire.CodeInvalidBatch, 1, 0,
			`e2l-refusal invalid-batch record 1 (` + badPrev[1].ID + `): prev: does not match the hash of record seq 1`},
		{"a record dated more than five minutes after the transaction is refused", newWorld(t), node1, batchJSON(t, futureRecs), wire.CodeFutureDated, 1, 1,
			`e2l-refusal future-dated record 1 (` + futureRecs[1].ID + `): its time 2026-03-01T12:05:00.000000001Z is 5m0.000000001s after the transaction timestamp 2026-03-01T12:00:00Z (allowed: 5m0s)`},
		{"an event in a taken slot with its ID and another hash is a conflict", stored, node1, batchJSON(t, []record.Sealed{altered}), wire.CodeConflict, 0, 2,
			`e2l-refusal conflict record 0 (` + good[1].ID + `): the ledger holds this ID at host "node1" seq 2 with hash ` + good[1].Hash + ` (tx ` + storedTx + `), the batch has hash ` + altered.Hash},
		{"a start in a taken slot with its ID and another hash is a conflict", stored, node1, batchJSON(t, []record.Sealed{restarted}), wire.CodeConflict, 0, 2,
			`e2l-refusal conflict record 0 (` + good[0].ID + `): the ledger holds this ID at host "node1" seq 1 with hash ` + good[0].Hash + ` (tx ` + storedTx + `), the batch has hash ` + restarted.Hash},
		{"a slot taken by another ID is a chain fork", stored, node1, batchJSON(t, []record.Sealed{forked}), wire.CodeChainFork, 0, 2,
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
			if len(stub.readLog) != c.reads {
				t.Errorf("reads %q, want %d", stub.readLog, c.reads)
			}
			if len(stub.writes) != 0 {
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
		edge := newChain("node1").batch(t, record.Record{Kind: record.KindStart, Time: t0.Add(5 * time.Minute).UnixNano(), Lifecycle: &record.Lifecycle{Version: "1"}})
		if _, _, err := invoke(t, newWorld(t), node1, t0, batchJSON(t, edge)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an action no composite key could hold is stored: no key holds an action", func(t *testing.T) {
		l := newWorld(t)
		weird := newChain("node1").batch(t, containerEvent("exec_start: sh \U0010FFFF", "c1"))
		res := mustInvoke(t, l, node1, weird)
		if res.Written != 1 || storedAt(t, l, weird[0]).ID != weird[0].ID {
			t.Errorf("result %+v", res)
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

// Concurrent batches may leave seq 2 and 3 empty while seq 4 is stored: a
// batch of seq 2 to 4 whose seq 4 clashes with the stored one is refused
// whole, at its last record, after reading every slot up to it.
func TestALedgerRefusalAtTheEndOfABatchLeavesNothingWritten(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	g := newChain("node1")
	rs := g.batch(t, start(), heartbeat(), heartbeat(), heartbeat())
	// otherSeq4 seals r as seq 4 of the same chain.
	otherSeq4 := func(r record.Record) record.Sealed {
		h := newChain("node1")
		h.batch(t, start(), heartbeat(), heartbeat())
		return h.next(t, r)
	}
	conflicting := otherSeq4(record.Record{Kind: record.KindHeartbeat, Heartbeat: &record.Heartbeat{IntervalMs: 60000}})
	forking := otherSeq4(containerEvent("create", "c7"))
	if conflicting.ID != rs[3].ID || conflicting.Hash == rs[3].Hash || conflicting.Record.Prev != rs[2].Hash || forking.Record.Prev != rs[2].Hash {
		t.Fatal("test records do not chain as planned")
	}

	cases := []struct {
		name string
		last record.Sealed
		code wire.Code
		want func(tx string) string
	}{
		{"a conflict", conflicting, wire.CodeConflict, func(tx string) string {
			return `e2l-refusal conflict record 2 (` + rs[3].ID + `): the ledger holds this ID at host "node1" seq 4 with hash ` + rs[3].Hash +
				` (tx ` + tx + `), the batch has hash ` + conflicting.Hash
		}},
		{"a chain fork", forking, wire.CodeChainFork, func(string) string {
			return `e2l-refusal chain-fork record 2 (` + forking.ID + `): host "node1" seq 4 is already taken by record ` + rs[3].ID
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newWorld(t)
			mustInvoke(t, l, node1, rs[:1])
			tx := mustInvoke(t, l, node1, rs[3:]).TxID
			before := l.snapshot()
			batch := []record.Sealed{rs[1], rs[2], c.last}
			_, stub, err := invoke(t, l, node1, t0, batchJSON(t, batch))
			refusal(t, err, c.code, 2)
			if err.Error() != c.want(tx) {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want(tx))
			}
			if want := layoutReads(t, "node1", batch...); !slices.Equal(stub.readLog, want) {
				t.Errorf("reads %q\nwant %q", stub.readLog, want)
			}
			if len(stub.writes) != 0 || stub.event != nil || !maps.Equal(before, l.snapshot()) {
				t.Errorf("%d keys put, event %v, or the ledger changed", len(stub.writes), stub.event)
			}
		})
	}
}
