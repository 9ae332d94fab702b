package chaincode_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// t0 is the time of the generated records; transactions run at t0 too
// unless a test says otherwise.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// chainGen seals successive records of one host.
type chainGen struct {
	host string
	seq  uint64
	prev string
	time int64
}

func newChain(host string) *chainGen {
	return &chainGen{host: host, prev: record.GenesisPrev, time: t0.UnixNano()}
}

// next seals r as the host's next record. A zero r.Time is one second after
// the previous record's.
func (g *chainGen) next(t testing.TB, r record.Record) record.Sealed {
	t.Helper()
	g.seq++
	r.V, r.Host, r.Seq, r.Prev = record.SchemaVersion, g.host, g.seq, g.prev
	if r.Time == 0 {
		g.time += int64(time.Second)
		r.Time = g.time
	}
	if r.Event != nil {
		e := *r.Event
		e.TimeNano = r.Time
		r.Event = &e
	}
	s, err := record.Seal(r)
	if err != nil {
		t.Fatalf("seal %s seq %d: %v", g.host, g.seq, err)
	}
	g.prev = s.Hash
	return s
}

// batch seals one record per argument.
func (g *chainGen) batch(t testing.TB, rs ...record.Record) []record.Sealed {
	t.Helper()
	out := make([]record.Sealed, len(rs))
	for i, r := range rs {
		out[i] = g.next(t, r)
	}
	return out
}

func containerEvent(action, actor string) record.Record {
	return record.Record{Kind: record.KindEvent, Event: &record.Event{
		Type: "container", Action: action, Actor: actor, Scope: record.ScopeLocal,
		Attrs: record.Attributes{Name: "web-1", Image: "nginx:1.27", Labels: map[string]string{"app": "web", "tier": "<front>"}},
	}}
}

func serviceEvent(action, actor string, at int64, replicas string) record.Record {
	return record.Record{Kind: record.KindEvent, Time: at, Event: &record.Event{
		Type: "service", Action: action, Actor: actor, Scope: record.ScopeSwarm,
		Attrs: record.Attributes{Name: "api", ReplicasNew: replicas},
	}}
}

func heartbeat() record.Record {
	return record.Record{Kind: record.KindHeartbeat, Heartbeat: &record.Heartbeat{IntervalMs: 30000}}
}

func start() record.Record {
	return record.Record{Kind: record.KindStart, Lifecycle: &record.Lifecycle{Version: "0.1.0"}}
}

func stop() record.Record {
	return record.Record{Kind: record.KindStop, Lifecycle: &record.Lifecycle{Version: "0.1.0", Reason: "signal"}}
}

func gap() record.Record {
	return record.Record{Kind: record.KindGap, Gap: &record.Gap{From: t0.UnixNano(), To: t0.UnixNano() + 1, Reason: record.GapDockerRestart}}
}

func snapshot(ids ...string) record.Record {
	s := &record.Snapshot{Part: 1, Parts: 1, Containers: []record.SnapshotContainer{}}
	for _, id := range ids {
		s.Containers = append(s.Containers, record.SnapshotContainer{ID: id, State: "running"})
	}
	return record.Record{Kind: record.KindSnapshot, Snapshot: s}
}

func batchJSON(t testing.TB, rs []record.Sealed) string {
	t.Helper()
	b, err := json.Marshal(record.Batch{Records: rs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// invoke runs RecordEvents as id in a transaction at now and commits it
// when it succeeds.
func invoke(t testing.TB, l *fakeLedger, id *fakeIdentity, now time.Time, batch string) (chaincode.Result, *fakeStub, error) {
	t.Helper()
	stub := l.tx(now)
	out, err := chaincode.New().RecordEvents(txContext(stub, id), batch)
	if err != nil {
		return chaincode.Result{}, stub, err
	}
	stub.commit()
	var res chaincode.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("result %s: %v", out, err)
	}
	return res, stub, nil
}

// mustInvoke is invoke at t0 that must succeed.
func mustInvoke(t testing.TB, l *fakeLedger, id *fakeIdentity, rs []record.Sealed) chaincode.Result {
	t.Helper()
	res, _, err := invoke(t, l, id, t0, batchJSON(t, rs))
	if err != nil {
		t.Fatalf("RecordEvents: %v", err)
	}
	return res
}

// query runs an evaluate function on a fresh read-only transaction.
func query(t testing.TB, l *fakeLedger, fn func(*chaincode.Contract, *fakeStub) (string, error), into any) error {
	t.Helper()
	stub := l.tx(t0)
	out, err := fn(chaincode.New(), stub)
	if err != nil {
		return err
	}
	if len(stub.writes) > 0 {
		t.Fatalf("a query wrote %d keys", len(stub.writes))
	}
	if err := json.Unmarshal([]byte(out), into); err != nil {
		t.Fatalf("query result %s: %v", out, err)
	}
	return nil
}

// page decodes a Page's records.
type page struct {
	Records  []chaincode.Stored `json:"records"`
	Bookmark string             `json:"bookmark"`
	Count    int                `json:"count"`
}

func (p page) seqs(t testing.TB) []uint64 {
	t.Helper()
	var out []uint64
	for _, st := range p.Records {
		s, err := st.Sealed()
		if err != nil {
			t.Fatalf("stored record %s does not re-verify: %v", st.ID, err)
		}
		out = append(out, s.Record.Seq)
	}
	return out
}

// testHosts are the hosts newWorld registers: host → MSP and Swarm role.
var testHosts = []struct{ host, msp, role string }{
	{"node0", "UserMSP", wire.SwarmManager},
	{"node1", "ProviderMSP", wire.SwarmManager},
	{"node2", "DeveloperMSP", wire.SwarmManager},
	{"mgr1", "ProviderMSP", wire.SwarmManager},
	{"mgr2", "DeveloperMSP", wire.SwarmManager},
	{"mgr3", "UserMSP", wire.SwarmManager},
	{"wkr1", "ProviderMSP", wire.SwarmWorker},
}

// newWorld returns a ledger on which the admins of their organisations
// registered testHosts.
func newWorld(t testing.TB) *fakeLedger {
	t.Helper()
	l := newLedger()
	for _, h := range testHosts {
		mustRegister(t, l, orgAdmin(h.msp), h.host, h.role)
	}
	return l
}

// register runs RegisterHost as id and commits it when it succeeds.
func register(t testing.TB, l *fakeLedger, id *fakeIdentity, host, role string) (wire.HostRegistration, *fakeStub, error) {
	t.Helper()
	return registryCall(t, l, id, func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.RegisterHost(ctx, host, role)
	})
}

// release runs ReleaseHost as id and commits it when it succeeds.
func release(t testing.TB, l *fakeLedger, id *fakeIdentity, host, toMSP string) (wire.HostRegistration, *fakeStub, error) {
	t.Helper()
	return registryCall(t, l, id, func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
		return c.ReleaseHost(ctx, host, toMSP)
	})
}

func registryCall(t testing.TB, l *fakeLedger, id *fakeIdentity, fn func(*chaincode.Contract, contractapi.TransactionContextInterface) (string, error)) (wire.HostRegistration, *fakeStub, error) {
	t.Helper()
	stub := l.tx(t0)
	out, err := fn(chaincode.New(), txContext(stub, id))
	if err != nil {
		return wire.HostRegistration{}, stub, err
	}
	stub.commit()
	var reg wire.HostRegistration
	if err := json.Unmarshal([]byte(out), &reg); err != nil {
		t.Fatalf("registry answer %s: %v", out, err)
	}
	return reg, stub, nil
}

func mustRegister(t testing.TB, l *fakeLedger, id *fakeIdentity, host, role string) wire.HostRegistration {
	t.Helper()
	reg, _, err := register(t, l, id, host, role)
	if err != nil {
		t.Fatalf("RegisterHost(%s, %s) as %s: %v", host, role, id.readable(), err)
	}
	return reg
}

// refusal requires err to be a wire.Refusal with this code and index, and
// returns it.
func refusal(t testing.TB, err error, code wire.Code, index int) *wire.Refusal {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want refusal %s", code)
	}
	r, ok := wire.ParseRefusal(err.Error())
	if !ok {
		t.Fatalf("error %q is not a refusal", err)
	}
	if r.Code != code || r.Index != index {
		t.Fatalf("refusal %s at record %d, want %s at %d: %v", r.Code, r.Index, code, index, err)
	}
	if !errors.Is(err, code) {
		t.Errorf("errors.Is(err, %s) = false", code)
	}
	return r
}

func mustKey(t testing.TB, objectType string, attrs ...string) string {
	t.Helper()
	k, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// padSeq is the 20-digit seq of the documented key layout.
func padSeq(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// chainKey is the chain slot "chain <host> <seq20>", a simple key: it
// holds the stored record.
func chainKey(t testing.TB, host string, seq uint64) string {
	t.Helper()
	return "chain " + host + " " + padSeq(seq)
}

// rangeRead is how the fake stub logs a range query [start, end).
func rangeRead(start, end string) string { return "[" + start + ", " + end + ")" }

// recKey is the record's ID key rec[recordID, host, seq20]: it holds the
// record's hash.
func recKey(t testing.TB, s record.Sealed) string {
	t.Helper()
	return mustKey(t, "rec", s.ID, s.Record.Host, padSeq(s.Record.Seq))
}

// layoutWrites is what StateLayout 3 puts for new records, in order: each
// record's chain slot, then its ID key.
func layoutWrites(t testing.TB, rs ...record.Sealed) []string {
	t.Helper()
	var out []string
	for _, s := range rs {
		out = append(out, chainKey(t, s.Record.Host, s.Record.Seq), recKey(t, s))
	}
	return out
}

// layoutReads is what StateLayout 3 reads for a batch, in order: the host's
// registry entry once, then the record's chain slot for a batch of one, or
// the range of the batch's chain slots for more.
func layoutReads(t testing.TB, host string, rs ...record.Sealed) []string {
	t.Helper()
	out := []string{mustKey(t, "hostreg", host)}
	switch first := rs[0].Record; len(rs) {
	case 1:
		out = append(out, chainKey(t, first.Host, first.Seq))
	default:
		out = append(out, rangeRead(chainKey(t, first.Host, first.Seq), chainKey(t, first.Host, rs[len(rs)-1].Record.Seq+1)))
	}
	return out
}

// storedAt decodes the chain slot of s from the ledger.
func storedAt(t testing.TB, l *fakeLedger, s record.Sealed) chaincode.Stored {
	t.Helper()
	v, ok := l.state[chainKey(t, s.Record.Host, s.Record.Seq)]
	if !ok {
		t.Fatalf("no chain slot for %s seq %d", s.Record.Host, s.Record.Seq)
	}
	var st chaincode.Stored
	if err := json.Unmarshal(v, &st); err != nil {
		t.Fatalf("chain slot of %s seq %d: %v", s.Record.Host, s.Record.Seq, err)
	}
	return st
}
