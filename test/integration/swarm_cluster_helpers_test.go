//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/e2l-project/e2l/network"
)

// A multi-node Docker Swarm on this machine (docs: /work/shared/notes/docker.md,
// "A multi-node Swarm on one machine"): private daemons, each in its own
// network namespace, joined by veth pairs to a bridge of their own.

// mswSubnet is the /24 the nodes' addresses come from. They exist only
// inside the nodes' namespaces and the bridge has no address, so they cannot
// clash with the machine's routes, and two runs at once are on different
// bridges.
const mswSubnet = "10.231.77"

// swarmClusterOptions tell one test's Swarm from another's running beside it.
type swarmClusterOptions struct {
	// prefix names the bridge: prefix + 6 random hex digits, at most 15
	// bytes with the veths' suffix.
	prefix string
	// nsPrefix names the nodes' network namespaces (dockerdOptions).
	nsPrefix string
	// subnet is the /24 (three octets) of the nodes' addresses.
	subnet string
	// hostnames gives each node's daemon a host name of its own,
	// <prefix>-<spec name>-<random>, which Swarm templates see as
	// {{.Node.Hostname}}; otherwise every node has the machine's.
	hostnames bool
}

type swarmNodeSpec struct {
	name    string
	manager bool
	org     network.Org
}

// swarmNode is one node of the test's Swarm and what watches it.
type swarmNode struct {
	swarmNodeSpec
	d        *privateDockerd
	ip       string
	nodeID   string // docker info's Swarm.NodeID: without hostnames, every node has the machine's hostname
	hostname string // docker info's Name

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
	return startSwarmCluster(t, swarmClusterOptions{prefix: "e2lsw", subnet: mswSubnet}, specs)
}

// startSwarmCluster is startMultiNodeSwarm with its names and addresses.
func startSwarmCluster(t *testing.T, opts swarmClusterOptions, specs []swarmNodeSpec) []*swarmNode {
	t.Helper()
	if !specs[0].manager {
		t.Fatal("the first node initialises the Swarm: it must be a manager")
	}
	// Interface names are at most 15 bytes.
	suffix := randomSuffix()
	bridge := opts.prefix + suffix[:6]
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
		dopts := dockerdOptions{nsPrefix: opts.nsPrefix}
		if opts.hostnames {
			dopts.hostname = fmt.Sprintf("%s-%s-%s", opts.prefix, spec.name, suffix[:4])
		}
		n := &swarmNode{swarmNodeSpec: spec, d: startPrivateDockerdWith(t, dopts), ip: fmt.Sprintf("%s.%d", opts.subnet, i+1)}
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
		n.hostname = mustDocker(t, n.d.host, "info", "--format", "{{.Name}}")
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

// netnsDialer dials from inside the network namespace ns (ip netns): the
// test reaches the nodes' addresses, which exist only there and on their
// bridge, without giving the machine a route to them. A socket belongs to
// the namespace of the thread that creates it: the dialing goroutine locks
// its thread, enters ns, dials, and moves the thread back before unlocking
// it. The thread must not end in ns (an unlocked goroutine exiting locked
// ends its thread): a process started from that thread with Pdeathsig, as
// the private dockerds are, would be signalled.
func netnsDialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			c, restored, err := dialInNetns(ctx, ns, network, addr)
			if restored {
				runtime.UnlockOSThread()
			} // else the thread stays locked and ends with the goroutine
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// dialInNetns dials from ns on the calling, locked thread and moves the
// thread back to its own namespace; restored says whether it did.
func dialInNetns(ctx context.Context, ns, network, addr string) (c net.Conn, restored bool, err error) {
	own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, true, err
	}
	defer own.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		return nil, true, err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter network namespace %s: %w", ns, err)
	}
	var d net.Dialer
	c, err = d.DialContext(ctx, network, addr)
	return c, unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil, err
}

// awaitServiceGone waits until no node has a container of the service.
func awaitServiceGone(t *testing.T, nodes []*swarmNode, sid string) {
	t.Helper()
	eventually(t, 2*time.Minute, 250*time.Millisecond, func() error {
		for _, n := range nodes {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			out, err := docker(ctx, n.d.host, "ps", "-aq", "--filter", "label=com.docker.swarm.service.id="+sid)
			cancel()
			if err != nil || out != "" {
				return fmt.Errorf("%s still has the service's containers: %q %v", n.hostname, out, err)
			}
		}
		return nil
	})
}
