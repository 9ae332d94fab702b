//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// Attacks on the chaincode through the real Gateway: each is refused at
// endorsement with a typed refusal, writes nothing, and the honest party
// keeps committing.

// 1. The Developer org's own CA enrolls a collector named after a Provider
// host; it submits a well-formed next record of that host's chain.
func attackCrossOrgHostClaim(t *testing.T, f *attackFixture, ev *evidence) {
	const host = "atk-xorg"
	honestID := keepIdentity(t, enrollHost(t, network.Provider, host, network.EnrollOptions{}))
	ensureRegistered(t, network.Provider, host)
	honest := e2lContract(connectGateway(t, honestID))
	chain := newRecordChain(host)
	first := chain.next(t, 2)
	submitRecords(t, honest, first)
	ids := badIDs(first)

	intruderID := enrollHost(t, network.Developer, host, network.EnrollOptions{NoRegister: true})
	if intruderID.MSPID != "DeveloperMSP" {
		t.Fatalf("the intruder is of %s", intruderID.MSPID)
	}
	intruder := e2lContract(connectGateway(t, intruderID))
	fork := *chain // right seq, right prev
	forged := fork.next(t, 1)
	forged.Records[0].Record.Kind, forged.Records[0].Record.Heartbeat = record.KindEvent, nil
	forged.Records[0].Record.Event = &record.Event{Type: "container", Action: "die", Actor: strings.Repeat("f0e1", 16),
		Scope: record.ScopeLocal, TimeNano: forged.Records[0].Record.Time, Attrs: record.Attributes{Name: "billing-db", ExitCode: "137"}}
	s, err := record.Seal(forged.Records[0].Record)
	if err != nil {
		t.Fatal(err)
	}
	forged.Records[0] = s
	msg := requireRefused(t, intruder, []string{"host-owned"}, "RecordEvents", batchJSON(t, forged))
	requireChain(t, honest, host, "ProviderMSP", ids)

	// The honest collector's record of that slot commits.
	next := chain.next(t, 1)
	if res := submitRecords(t, honest, next); res.Written != 1 {
		t.Fatalf("the honest next record: %+v, want 1 written", res)
	}
	requireChain(t, honest, host, "ProviderMSP", append(ids, next.Records[0].ID))
	ev.set("%s; chain unchanged, honest seq 3 committed", firstLine(msg, "e2l-refusal"))
}

// 2. A Provider collector of host A submits records of host B, also a
// Provider host.
func attackSameOrgOtherHost(t *testing.T, f *attackFixture, ev *evidence) {
	a := enrollHost(t, network.Provider, "atk-same-a", network.EnrollOptions{})
	b := enrollHost(t, network.Provider, "atk-same-b", network.EnrollOptions{})
	ensureRegistered(t, network.Provider, a.Host)
	ensureRegistered(t, network.Provider, b.Host)
	ca, cb := e2lContract(connectGateway(t, a)), e2lContract(connectGateway(t, b))
	chainB := newRecordChain(b.Host)
	fake := *chainB
	msg := requireRefused(t, ca, []string{"access-denied"}, "RecordEvents", batchJSON(t, fake.next(t, 1)))
	requireChain(t, cb, b.Host, "ProviderMSP", nil)

	real := chainB.next(t, 1)
	submitRecords(t, cb, real)
	requireChain(t, cb, b.Host, "ProviderMSP", badIDs(real))
	own := newRecordChain(a.Host).next(t, 1)
	submitRecords(t, ca, own)
	ev.set("%s; B's and A's own records commit", firstLine(msg, "e2l-refusal"))
}

// 3. Org admins: the Provider admin (no e2l.role) writes records of its own
// host; the Developer admin registers and releases a Provider host; a
// Provider collector registers a host.
func attackAdmins(t *testing.T, f *attackFixture, ev *evidence) {
	const host = "atk-admin-target"
	id := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	ensureRegistered(t, network.Provider, host)
	collector := e2lContract(connectGateway(t, id))
	provAdmin := e2lContract(connectGateway(t, adminIdentity(testNet, network.Provider)))
	devAdmin := e2lContract(connectGateway(t, adminIdentity(testNet, network.Developer)))
	before := hostRegistration(t, collector, host)

	var msgs []string
	msgs = append(msgs, "Provider admin RecordEvents: "+requireRefused(t, provAdmin, []string{"access-denied"}, "RecordEvents",
		batchJSON(t, newRecordChain(host).next(t, 1))))
	msgs = append(msgs, "Developer admin RegisterHost: "+headOf(requireRefused(t, devAdmin, []string{"host-owned"}, "RegisterHost",
		host, wire.SwarmManager)))
	msgs = append(msgs, "Developer admin ReleaseHost: "+headOf(requireRefused(t, devAdmin, []string{"host-owned", "not-admin"}, "ReleaseHost",
		host, "DeveloperMSP")))
	msgs = append(msgs, "Provider collector RegisterHost: "+headOf(requireRefused(t, collector, []string{"not-admin"}, "RegisterHost",
		"atk-admin-squat", wire.SwarmManager)))

	after := hostRegistration(t, collector, host)
	if after.MSP != "ProviderMSP" || after.TxID != before.TxID || after.ReleasedTo != "" || len(after.History) != len(before.History) {
		t.Fatalf("registry entry of %s changed: before %+v, after %+v", host, before, after)
	}
	requireChain(t, collector, host, "ProviderMSP", nil)
	real := newRecordChain(host).next(t, 1)
	submitRecords(t, collector, real)
	ev.set("%s; registry unchanged, the host's collector commits", strings.Join(msgs, "; "))
}

// 4. A host registered as a Swarm worker reports a swarm-scope event.
func attackWorkerSwarmEvent(t *testing.T, f *attackFixture, ev *evidence) {
	worker := enrollHost(t, network.Provider, "atk-worker", network.EnrollOptions{SwarmRole: wire.SwarmWorker})
	manager := enrollHost(t, network.Provider, "atk-manager", network.EnrollOptions{})
	ensureRegistered(t, network.Provider, manager.Host)
	cw, cm := e2lContract(connectGateway(t, worker)), e2lContract(connectGateway(t, manager))
	if reg := hostRegistration(t, cw, worker.Host); reg.SwarmRole != wire.SwarmWorker || reg.MSP != "ProviderMSP" {
		t.Fatalf("registry entry of the worker: %+v", reg)
	}
	at := time.Now().Add(-time.Second)
	svc := "atkservice000000000000001"
	attrs := record.Attributes{Name: "atk-svc", ReplicasOld: "1", ReplicasNew: "0"}
	wc := &eventChain{host: worker.Host}
	fake := wc.event(t, at, "service", "update", svc, attrs)
	msg := requireRefused(t, cw, []string{"not-a-manager"}, "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{fake}}))
	if reps := indexWitnesses(t, fake.Record.EventID()); len(reps) != 0 {
		t.Fatalf("the worker's report is stored: %+v", reps)
	}
	requireChain(t, cw, worker.Host, "ProviderMSP", nil)

	// The manager's report of the same event is stored; the worker's own
	// container events commit.
	mc := &eventChain{host: manager.Host}
	real := mc.event(t, at, "service", "update", svc, attrs)
	submitRecords(t, cm, record.Batch{Records: []record.Sealed{real}})
	if reps := indexWitnesses(t, real.Record.EventID()); len(reps) != 1 || reps[0].Host != manager.Host || reps[0].ID != real.ID {
		t.Fatalf("the event's reports in the index: %+v, want the manager's record %s", reps, real.ID)
	}
	wc = &eventChain{host: worker.Host}
	local := wc.event(t, at, "container", "start", strings.Repeat("0a1b", 16), record.Attributes{Name: "task.1"})
	submitRecords(t, cw, record.Batch{Records: []record.Sealed{local}})
	ev.set("%s; the manager's report stored, the worker's container event commits", firstLine(msg, "e2l-refusal"))
}

// A collector dates a record an hour ahead (to cover a container's time).
func attackFutureDated(t *testing.T, f *attackFixture, ev *evidence) {
	id := enrollHost(t, network.Provider, "atk-future", network.EnrollOptions{})
	ensureRegistered(t, network.Provider, id.Host)
	c := e2lContract(connectGateway(t, id))
	ch := &eventChain{host: id.Host}
	fake := ch.event(t, time.Now().Add(time.Hour), "container", "die", strings.Repeat("fade", 16), record.Attributes{Name: "web", ExitCode: "0"})
	msg := requireRefused(t, c, []string{"future-dated"}, "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{fake}}))
	requireChain(t, c, id.Host, "ProviderMSP", nil)
	real := newRecordChain(id.Host).next(t, 1)
	submitRecords(t, c, real)
	ev.set("%s; nothing written, the host's next record commits", firstLine(msg, "e2l-refusal"))
}
