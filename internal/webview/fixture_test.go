package webview

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// t0 is the fixture's first second (unix ns).
const t0 = int64(1_790_000_000_000_000_000)

func sec(s float64) int64 { return t0 + int64(s*1e9) }

// The fixture: two hosts' chains of sealed records, as the indexer derives
// their rows.
//
//	vm (ProviderMSP, manager): start; heartbeats every 2 s (interval 2 s);
//	    container web-1 (c1) created at 3, started at 4, paused 5-6,
//	    died at 8; the collector down from 9 to 29, reported by a
//	    collector-down gap at 30; heartbeats again.
//	node2 (DeveloperMSP, worker): service api (s1) created at 2, scaled
//	    1→2 at 5; its task api.1 (c2) created at 3, started at 3.5, still
//	    running at node2's last record (12).
type fxRecord struct {
	at  float64
	set func(*record.Record)
}

func event(typ, action, actor, name, service string) func(*record.Record) {
	return func(r *record.Record) {
		r.Kind = record.KindEvent
		scope := record.ScopeLocal
		if typ == "service" {
			scope = record.ScopeSwarm
		}
		r.Event = &record.Event{Type: typ, Action: action, Actor: actor, Scope: scope, TimeNano: r.Time,
			Attrs: record.Attributes{Name: name, ServiceName: service, Image: "e2l-testbox:test"}}
	}
}

func heartbeat(r *record.Record) {
	r.Kind, r.Heartbeat = record.KindHeartbeat, &record.Heartbeat{IntervalMs: 2000}
}

var (
	c1 = "c1" + fmt.Sprintf("%062d", 1)
	c2 = "c2" + fmt.Sprintf("%062d", 2)
	s1 = "s1" + fmt.Sprintf("%062d", 3)
)

func fixtureChains() map[string][]fxRecord {
	vm := []fxRecord{
		{0, func(r *record.Record) {
			r.Kind, r.Lifecycle = record.KindStart, &record.Lifecycle{Version: "test", Reason: "first start"}
		}},
		{1, heartbeat}, {3, event("container", "create", c1, "web-1", "")}, {4, event("container", "start", c1, "web-1", "")},
		{5, event("container", "pause", c1, "web-1", "")}, {6, event("container", "unpause", c1, "web-1", "")},
		{7, heartbeat}, {8, event("container", "die", c1, "web-1", "")},
		{30, func(r *record.Record) {
			r.Kind, r.Gap = record.KindGap, &record.Gap{From: sec(9), To: sec(29), Reason: record.GapCollectorDown,
				Detail: "the collector was not running"}
		}},
		{31, heartbeat}, {33, heartbeat}, {35, heartbeat},
	}
	node2 := []fxRecord{
		{0, heartbeat}, {2, event("service", "create", s1, "api", "")}, {3, event("container", "create", c2, "api.1", "api")},
		{3.5, event("container", "start", c2, "api.1", "api")},
		{5, func(r *record.Record) {
			event("service", "update", s1, "api", "")(r)
			r.Event.Attrs.ReplicasOld, r.Event.Attrs.ReplicasNew = "1", "2"
		}},
		{10, heartbeat}, {12, heartbeat},
	}
	return map[string][]fxRecord{"vm": vm, "node2": node2}
}

// fixtureUpdates seals the chains into one block per host after a
// configuration block that registers them.
func fixtureUpdates(t testing.TB) []index.Update {
	t.Helper()
	msps := map[string]string{"vm": "ProviderMSP", "node2": "DeveloperMSP"}
	roles := map[string]string{"vm": "manager", "node2": "worker"}
	u0 := index.Update{Block: index.Block{Number: 0, Config: true, Txs: 1, Raw: []byte("config")}, State: []byte("0")}
	for _, h := range []string{"node2", "vm"} {
		u0.Hosts = append(u0.Hosts, index.Host{Host: h, MSP: msps[h], SwarmRole: roles[h], TxID: "reg-" + h, Entry: []byte(`{}`)})
	}
	updates := []index.Update{u0}
	chains := fixtureChains()
	for bi, h := range []string{"node2", "vm"} {
		n := uint64(bi + 1)
		u := index.Update{Block: index.Block{Number: n, Txs: 1}, State: []byte(fmt.Sprint(n))}
		prev := record.GenesisPrev
		for i, fx := range chains[h] {
			r := record.Record{V: record.SchemaVersion, Host: h, Seq: uint64(i + 1), Prev: prev, Time: sec(fx.at)}
			fx.set(&r)
			s, err := record.Seal(r)
			if err != nil {
				t.Fatalf("seal %s seq %d: %v", h, r.Seq, err)
			}
			prev = s.Hash
			st := wire.Stored{ID: s.ID, Hash: s.Hash, Record: r.Canonical(), MSP: msps[h], CertSHA256: fmt.Sprintf("%064x", bi+7),
				TxID: fmt.Sprintf("tx-%s", h), TxTime: sec(40)}
			raw, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			row := index.Record{ID: s.ID, Hash: s.Hash, Host: h, Seq: r.Seq, PrevHash: r.Prev, Kind: string(r.Kind), Time: r.Time,
				MSP: st.MSP, CertSHA256: st.CertSHA256, TxID: st.TxID, TxTime: st.TxTime, Block: n, Stored: raw}
			if e := r.Event; e != nil {
				row.EventID, row.Scope, row.Type, row.Action, row.Actor, row.Name = r.EventID(), e.Scope, e.Type, e.Action, e.Actor, e.Attrs.Name
				row.Service = e.Attrs.ServiceName
				if e.Type == "service" {
					row.Service = e.Attrs.Name
				}
				row.Actors = []string{e.Actor}
			}
			u.Records = append(u.Records, row)
		}
		u.Block.Records = len(u.Records)
		updates = append(updates, u)
	}
	updates[2].Findings = []index.Finding{{Block: 2, TxID: "tx-vm", Host: "vm", Severity: "warning", Problem: "a fixture's warning"}}
	var root []byte
	for i := range updates {
		b := &updates[i].Block
		b.HeaderHash = []byte(fmt.Sprintf("header-%d", b.Number))
		b.DataHash = []byte("data")
		if i > 0 {
			b.PrevHash = updates[i-1].Block.HeaderHash
		}
		b.Digest = index.RowsDigest(updates[i].Records, updates[i].Hosts, updates[i].Findings)
		b.Root = index.ChainRoot(root, b.HeaderHash, b.Digest)
		root = b.Root
	}
	return updates
}

// fixtureStore is a SQLite index holding the fixture.
func fixtureStore(t testing.TB) *index.Store {
	t.Helper()
	st, err := index.Open(context.Background(), filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Apply(context.Background(), fixtureUpdates(t)); err != nil {
		t.Fatal(err)
	}
	return st
}

// newTestServer is a view of the fixture at "now" = 40 s after t0, its
// chains checked.
func newTestServer(t testing.TB, st Store, opt Options) *Server {
	t.Helper()
	opt.Store = st
	if opt.Clock == nil {
		opt.Clock = func() time.Time { return time.Unix(0, sec(40)) }
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
