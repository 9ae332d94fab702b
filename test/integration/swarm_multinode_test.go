//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
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
	eventually(t, 2*time.Minute, 250*time.Millisecond, func() error {
		for _, n := range nodes {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			out, err := docker(ctx, n.d.host, "ps", "-aq", "--filter", "label=com.docker.swarm.service.id="+sid)
			cancel()
			if err != nil || out != "" {
				return fmt.Errorf("%s still has the service's containers: %q %v", n.name, out, err)
			}
		}
		return nil
	})

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

// mswSubnet is the /24 the nodes' addresses come from. They exist only
// inside the nodes' namespaces and the bridge has no address, so they cannot
// clash with the machine's routes, and two runs at once are on different
// bridges.
const mswSubnet = "10.231.77"

type swarmNodeSpec struct {
	name    string
	manager bool
	org     network.Org
}

// swarmNode is one node of the test's Swarm and what watches it.
type swarmNode struct {
	swarmNodeSpec
	d      *privateDockerd
	ip     string
	nodeID string // docker info's Swarm.NodeID: every node has the machine's hostname

	id    network.HostIdentity
	gt    *groundTruth
	chain *ledgerChain
	until int64 // the ground truth's last marker
}

// startMultiNodeSwarm starts a private daemon per spec, links them on a
// bridge of their own, initialises a Swarm on the first (a manager) and
// joins the others. Everything is undone when the test ends, in reverse
// order: leave the Swarm, remove the links, stop the daemons, delete their
// namespaces, the bridge and the firewall rule.
func startMultiNodeSwarm(t *testing.T, specs []swarmNodeSpec) []*swarmNode {
	t.Helper()
	if !specs[0].manager {
		t.Fatal("the first node initialises the Swarm: it must be a manager")
	}
	// Interface names are at most 15 bytes.
	bridge := "e2lsw" + randomSuffix()[:6]
	if err := mswIP("link", "add", bridge, "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	// The machine's dockerd sets the FORWARD policy to DROP, and bridged
	// frames go through iptables (br_netfilter): let the nodes talk.
	t.Cleanup(func() {
		if err := mswRun("iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"); err != nil {
			t.Errorf("remove the firewall rule: %v", err)
		}
	})
	if err := mswRun("iptables", "-I", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mswIP("link", "delete", bridge); err != nil {
			t.Errorf("delete the bridge: %v", err)
		}
	})
	if err := mswIP("link", "set", bridge, "up"); err != nil {
		t.Fatal(err)
	}

	var nodes []*swarmNode
	for i, spec := range specs {
		n := &swarmNode{swarmNodeSpec: spec, d: startPrivateDockerd(t), ip: fmt.Sprintf("%s.%d", mswSubnet, i+1)}
		// The daemon is already running; Swarm binds its addresses when it
		// is initialised or joined, so the link can come after it.
		veth := fmt.Sprintf("%sv%d", bridge, i+1)
		if err := mswIP("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", n.d.ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			// Deleting one end deletes the pair; it may be gone already.
			_ = mswIP("link", "delete", veth)
		})
		for _, args := range [][]string{
			{"link", "set", veth, "master", bridge, "up"},
			{"-n", n.d.ns, "addr", "add", n.ip + "/24", "dev", "eth0"},
			{"-n", n.d.ns, "link", "set", "eth0", "up"},
		} {
			if err := mswIP(args...); err != nil {
				t.Fatal(err)
			}
		}
		nodes = append(nodes, n)
	}

	var joined []*swarmNode
	t.Cleanup(func() {
		for _, n := range slices.Backward(joined) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if _, err := docker(ctx, n.d.host, "swarm", "leave", "--force"); err != nil {
				t.Errorf("%s: leave the Swarm: %v", n.name, err)
			}
			cancel()
		}
	})
	first := nodes[0]
	mustDocker(t, first.d.host, "swarm", "init", "--advertise-addr", first.ip)
	joined = append(joined, first)
	tokens := map[bool]string{
		true:  mustDocker(t, first.d.host, "swarm", "join-token", "-q", "manager"),
		false: mustDocker(t, first.d.host, "swarm", "join-token", "-q", "worker"),
	}
	for _, n := range nodes[1:] {
		mustDocker(t, n.d.host, "swarm", "join", "--token", tokens[n.manager], "--advertise-addr", n.ip, first.ip+":2377")
		joined = append(joined, n)
	}
	for _, n := range nodes {
		n.nodeID = mustDocker(t, n.d.host, "info", "--format", "{{.Swarm.NodeID}}")
	}
	// Ready for tasks: every node Ready in the managers' view, each manager
	// reachable.
	eventually(t, time.Minute, 250*time.Millisecond, func() error {
		out, err := docker(t.Context(), first.d.host, "node", "ls", "--format", "{{.ID}}|{{.Status}}|{{.ManagerStatus}}")
		if err != nil {
			return err
		}
		state := map[string][2]string{} // node ID → status, manager status
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Split(line, "|"); len(f) == 3 {
				state[f[0]] = [2]string{f[1], f[2]}
			}
		}
		for _, n := range nodes {
			s := state[n.nodeID]
			reachable := s[1] == "Leader" || s[1] == "Reachable"
			if s[0] != "Ready" || reachable != n.manager || (!n.manager && s[1] != "") {
				return fmt.Errorf("node %s (%.12s): status %q, manager status %q (manager %t); docker node ls:\n%s", n.name, n.nodeID, s[0], s[1], n.manager, out)
			}
		}
		return nil
	})
	return nodes
}

// awaitRunningTasks waits until the service has n tasks meant to run, all
// running, and returns their containers by Swarm node ID, as the managers
// (docker service ps, docker inspect of the tasks) record them.
func awaitSwarmTasksRunning(t *testing.T, manager, serviceID string, n int) map[string][]string {
	t.Helper()
	var placement map[string][]string
	eventually(t, 2*time.Minute, 250*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := docker(ctx, manager, "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", serviceID)
		if err != nil {
			return err
		}
		tasks := strings.Fields(out)
		if len(tasks) != n {
			return fmt.Errorf("%d tasks meant to run, want %d", len(tasks), n)
		}
		out, err = docker(ctx, manager, append([]string{"inspect", "--format",
			"{{.NodeID}} {{.Status.State}} {{.Status.ContainerStatus.ContainerID}}"}, tasks...)...)
		if err != nil {
			return err
		}
		placement = map[string][]string{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || f[1] != "running" {
				return fmt.Errorf("task state %q, want running with a container", line)
			}
			placement[f[0]] = append(placement[f[0]], f[2])
		}
		return nil
	})
	return placement
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

// mapKeys returns a map's keys, sorted.
func mswKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sameSet says whether a and b hold the same strings, ignoring order.
func mswSameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func mswShortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id[:min(12, len(id))]
	}
	return out
}

func mswIP(args ...string) error { return mswRun("ip", args...) }

// run runs a command and returns its output in the error when it fails.
func mswRun(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
