//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// A real multi-node Docker Swarm on this machine: three private daemons
// (two managers and a worker), each in its own network namespace, joined by
// veth pairs to a bridge of their own (docs: /work/shared/notes/docker.md,
// "A multi-node Swarm on one machine"). Each node runs its own collector
// under its own host identity, as a Swarm deployment would. A service's
// tasks run on every node; the ledger must hold
//   - each node's task containers on that node's chain only, matching its
//     daemon's events and where docker service ps put them;
//   - each of the service's swarm events (create, update, remove) once,
//     with a witness from each manager, none divergent (workers see none);
//   - per host, e2l usage equal to its daemon's start…die times, and a
//     chain e2l verify passes.
func TestCollectorsOnAMultiNodeSwarm(t *testing.T) {
	nodes := startMultiNodeSwarm(t, []swarmNodeSpec{
		{name: "manager1", manager: true, org: network.Provider},
		{name: "manager2", manager: true, org: network.Developer},
		{name: "worker", manager: false, org: network.User},
	})
	managers := slices.DeleteFunc(slices.Clone(nodes), func(n *swarmNode) bool { return !n.manager })
	suffix := randomSuffix()
	for _, n := range nodes {
		// Each org's admin registers its node with its Swarm role: only
		// the managers' collectors may report swarm-scope events.
		swarmRole := wire.SwarmWorker
		if n.manager {
			swarmRole = wire.SwarmManager
		}
		n.id = enrollHost(t, n.org, "it-msw-"+n.name+"-"+suffix, network.EnrollOptions{SwarmRole: swarmRole})
		startCollector(t, n.id, collectorOptions{DockerHost: n.d.host})
		n.gt = watchGroundTruth(t, n.d.host)
		n.chain = newLedgerChain(t, n.id, 50)
	}
	from := nodes[0].gt.start
	for _, n := range nodes {
		from = min(from, n.gt.start)
	}

	// A replicated service: three replicas, which the spread strategy puts
	// one on each node, then scaled to four (a swarm update with
	// replicas 3→4), then removed. The tasks publish no port and join no
	// network: only the Swarm's control plane crosses the bridge.
	mgr := nodes[0].d.host
	svc := "e2l-it-msw-" + suffix
	sid := mustDocker(t, mgr, "service", "create", "--quiet", "--detach", "--no-resolve-image", "--name", svc,
		"--replicas", "3", "--stop-grace-period", "1s", testImage, "sleep", "1000")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = docker(ctx, mgr, "service", "rm", sid)
	})
	awaitSwarmTasksRunning(t, mgr, sid, 3)
	mustDocker(t, mgr, "service", "scale", "--detach", svc+"=4")
	// Swarm's own record of where each task runs, while they run.
	placement := awaitSwarmTasksRunning(t, mgr, sid, 4)
	for _, n := range nodes {
		t.Logf("node %s (%s, %.12s): tasks' containers %s", n.name, n.id.Host, n.nodeID, mswShortIDs(placement[n.nodeID]))
		if len(placement[n.nodeID]) == 0 {
			t.Fatalf("Swarm placed no task on %s (placement %v): the scenario needs a task on every node", n.name, placement)
		}
		// The node's own daemon agrees with the manager's view.
		out := mustDocker(t, n.d.host, "ps", "-q", "--no-trunc", "--filter", "label=com.docker.swarm.service.id="+sid)
		if got := strings.Fields(out); !mswSameSet(got, placement[n.nodeID]) {
			t.Fatalf("docker ps on %s lists the service's containers %v, docker service ps says %v", n.name, got, placement[n.nodeID])
		}
	}
	if len(placement) != len(nodes) {
		t.Fatalf("tasks on nodes %v, want exactly the swarm's %d nodes", placement, len(nodes))
	}
	mustDocker(t, mgr, "service", "rm", sid)
	// Each node stops and removes its tasks' containers after the service.
	awaitServiceGone(t, nodes, sid)

	// Every node's chain against its own daemon's events.
	for _, n := range nodes {
		n.until = n.gt.sync()
	}
	for _, n := range nodes {
		c, err := n.chain.awaitLedger(n.id, n.gt.recorded(n.until), n.gt.start, n.until, 3*time.Minute)
		if err != nil {
			t.Errorf("%s: %v", n.name, err)
		}
		t.Logf("%s (%s):", n.name, n.id.Host)
		requireFaithful(t, c, false)
	}

	t.Run("each node's task containers are on its own host's chain only", func(t *testing.T) {
		onChains := map[string][]string{} // container → hosts whose chain has it
		for _, n := range nodes {
			actions := map[string][]string{}
			for _, s := range n.chain.sealed {
				e := s.Record.Event
				if e == nil || e.Type != "container" || e.Attrs.ServiceID != sid {
					continue
				}
				if e.Attrs.NodeID != n.nodeID {
					t.Errorf("%s's chain: container %.12s %s on Swarm node %.12s, want this node %.12s", n.id.Host, e.Actor, e.Action, e.Attrs.NodeID, n.nodeID)
				}
				if len(actions[e.Actor]) == 0 {
					onChains[e.Actor] = append(onChains[e.Actor], n.id.Host)
				}
				actions[e.Actor] = append(actions[e.Actor], e.Action)
			}
			t.Logf("%s: %d records, %d task containers: %v", n.id.Host, len(n.chain.sealed), len(actions), actions)
			if got := mswKeys(actions); !mswSameSet(got, placement[n.nodeID]) {
				t.Errorf("%s's chain has the task containers %v, docker service ps put %v on its node", n.id.Host, mswShortIDs(got), mswShortIDs(placement[n.nodeID]))
			}
			for ctr, acts := range actions {
				for _, a := range []string{"create", "start", "die", "destroy"} {
					if !slices.Contains(acts, a) {
						t.Errorf("%s: task container %.12s: actions %v lack %s", n.id.Host, ctr, acts, a)
					}
				}
			}
		}
		for ctr, hosts := range onChains {
			if len(hosts) != 1 {
				t.Errorf("task container %.12s is on the chains of %v, want one host's", ctr, hosts)
			}
		}
	})

	t.Run("the service's create, update 3→4 and remove are one event each, reported by both managers", func(t *testing.T) {
		wants := []struct {
			what  string
			match func(*record.Event) bool
		}{
			{"create", func(e *record.Event) bool { return e.Action == "create" }},
			{"update replicas 3→4", func(e *record.Event) bool {
				return e.Action == "update" && e.Attrs.ReplicasOld == "3" && e.Attrs.ReplicasNew == "4"
			}},
			{"remove", func(e *record.Event) bool { return e.Action == "remove" }},
		}
		for _, w := range wants {
			// Each manager's own record of the event.
			recs := map[string]record.Sealed{} // host → record
			eventIDs := map[string]bool{}
			for _, n := range managers {
				var found []record.Sealed
				for _, s := range n.chain.sealed {
					if e := s.Record.Event; e != nil && e.Type == "service" && e.Actor == sid && w.match(e) {
						found = append(found, s)
					}
				}
				if len(found) != 1 {
					t.Errorf("%s: %d records of the service's %s on %s's chain, want 1", w.what, len(found), n.name, n.id.Host)
					continue
				}
				s := found[0]
				if s.Record.Event.Scope != record.ScopeSwarm || s.Record.Event.Attrs.Name != svc {
					t.Errorf("%s on %s: scope %q name %q, want swarm %q", w.what, n.name, s.Record.Event.Scope, s.Record.Event.Attrs.Name, svc)
				}
				recs[n.id.Host] = s
				eventIDs[s.Record.EventID()] = true
			}
			if len(recs) != len(managers) {
				continue
			}
			// The event ID of a swarm event leaves the host out (and the
			// time of a remove, which each manager stamps itself).
			if len(eventIDs) != 1 {
				t.Errorf("%s: the managers' records have the event IDs %v, want one", w.what, mswKeys(eventIDs))
				continue
			}
			eventID := mswKeys(eventIDs)[0]
			// Each manager's report stands in its own chain (no key shared
			// by managers on the ledger); the index gathers them by event ID.
			reports := indexWitnesses(t, eventID)
			var times []string
			for h, s := range recs {
				times = append(times, fmt.Sprintf("%s @%d", h, s.Record.Event.TimeNano))
			}
			slices.Sort(times)
			var hosts []string
			var canon []string
			for _, rep := range reports {
				hosts = append(hosts, rep.Host)
				s, ok := recs[rep.Host]
				if !ok {
					t.Errorf("%s: a report from %s, which is not one of the managers", w.what, rep.Host)
					continue
				}
				if rep.ID != s.ID {
					t.Errorf("%s: %s's report in the index is record %s, want %s", w.what, rep.Host, rep.ID, s.ID)
				}
				e := *s.Record.Event
				if w.what == "remove" {
					e.TimeNano = 0 // each manager stamps a remove with its own clock
				}
				canon = append(canon, string(e.CanonicalEvent()))
			}
			t.Logf("%s: event %.16s, %d reports in the index: %v; Docker's times %v", w.what, eventID, len(reports), hosts, times)
			slices.Sort(hosts)
			if want := mswKeys(recs); !slices.Equal(hosts, want) {
				t.Errorf("%s: reports from %v, want one per manager %v", w.what, hosts, want)
			}
			// Create and update carry the object's store time, the same on
			// every manager: the reports are identical.
			if u := slices.Compact(slices.Sorted(slices.Values(canon))); len(u) > 1 {
				t.Errorf("%s: the managers' reports differ: %v", w.what, canon)
			}
		}
		// Swarm-scope events reach managers only.
		for _, n := range nodes {
			if n.manager {
				continue
			}
			for _, s := range n.chain.sealed {
				if e := s.Record.Event; e != nil && e.Scope == record.ScopeSwarm {
					t.Errorf("worker %s recorded the swarm event %s %s %.12s", n.id.Host, e.Type, e.Action, e.Actor)
				}
			}
		}
	})

	cli := auditorCLI(t)
	t.Run("e2l usage --by host gives each node's tasks' running time, nothing uncertain", func(t *testing.T) {
		out := cli.mustRun(t, "usage", "--from", strconv.FormatInt(from, 10), "--to", "now", "--by", "host", "-o", "json")
		var rows []audit.UsageRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("usage json: %v\n%s", err, out)
		}
		for _, n := range nodes {
			// What the node's daemon said: each task container's start to die.
			want, containers := mswRunningTime(t, n.gt.recorded(n.until), sid)
			if !mswSameSet(containers, placement[n.nodeID]) {
				t.Errorf("%s's daemon started and stopped %v, docker service ps put %v on it", n.name, mswShortIDs(containers), mswShortIDs(placement[n.nodeID]))
			}
			i := slices.IndexFunc(rows, func(r audit.UsageRow) bool { return r.Group == n.id.Host })
			if i < 0 {
				t.Errorf("usage has no row for %s:\n%s", n.id.Host, out)
				continue
			}
			r := rows[i]
			t.Logf("%s (%s): e2l usage running %s in %d intervals of %d containers, uncertain %s; its daemon's start…die: %s",
				n.id.Host, n.name, r.Running, r.Intervals, r.Containers, r.Uncertain, want)
			// The ledger holds Docker's own timestamps: the sums agree to the
			// nanosecond.
			if r.Running != want || r.Uncertain != 0 || r.Paused != 0 || r.PausedUncertain != 0 ||
				r.Containers != len(containers) || r.Intervals != len(containers) {
				t.Errorf("usage of %s: %+v, want %d containers in as many intervals running %s, nothing uncertain or paused",
					n.id.Host, r, len(containers), want)
			}
		}
	})
	t.Run("the host registry holds each node with its org and Swarm role", func(t *testing.T) {
		for _, n := range nodes {
			reg, err := testNet.GetHost(t.Context(), network.User, n.id.Host)
			if err != nil {
				t.Fatal(err)
			}
			want := wire.SwarmWorker
			if n.manager {
				want = wire.SwarmManager
			}
			if reg.MSP != n.org.MSPID() || reg.SwarmRole != want {
				t.Errorf("%s: registered to %s as %s, want %s as %s", n.name, reg.MSP, reg.SwarmRole, n.org.MSPID(), want)
			}
		}
	})

	t.Run("e2l verify passes on every node's chain", func(t *testing.T) {
		for _, n := range nodes {
			requireVerified(t, cli, n.id.Host)
		}
	})
}

// runningTime sums, over the service's containers in a daemon's events,
// the time from start to die, and returns it with the containers.
func mswRunningTime(t *testing.T, gt []events.Message, serviceID string) (time.Duration, []string) {
	t.Helper()
	starts, dies := map[string][]int64{}, map[string][]int64{}
	for _, m := range gt {
		if m.Type != events.ContainerEventType || m.Actor.Attributes["com.docker.swarm.service.id"] != serviceID {
			continue
		}
		k := keyOfMessage(m)
		switch k.Action {
		case "start":
			starts[m.Actor.ID] = append(starts[m.Actor.ID], k.TimeNano)
		case "die":
			dies[m.Actor.ID] = append(dies[m.Actor.ID], k.TimeNano)
		}
	}
	var total time.Duration
	for ctr, s := range starts {
		d := dies[ctr]
		if len(s) != 1 || len(d) != 1 || d[0] < s[0] {
			t.Errorf("container %.12s: starts %v dies %v in its daemon's events, want one start then one die", ctr, s, d)
			continue
		}
		total += time.Duration(d[0] - s[0])
	}
	for ctr := range dies {
		if _, ok := starts[ctr]; !ok {
			t.Errorf("container %.12s died without a start in its daemon's events", ctr)
		}
	}
	return total, mswKeys(starts)
}
