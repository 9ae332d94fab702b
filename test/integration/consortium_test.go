//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// The paper's deployment (its Figure 3 and Table 1): the consortium's
// Fabric nodes run as services on the Swarm whose events they record. A
// Swarm of three private daemons (a manager and two workers, their own host
// names, in network namespaces e2lc-*), one node per organisation. Each
// organisation's admin stands up its CA, peer, orderer and chaincode server
// with deploy/consortium/org.sh, as docs/consortium.md says, exchanging only
// its share, the genesis block and the package ID; the orderers join the
// channel through the channel participation API, the peers with peer
// channel join; the chaincode is a service, deployed and then upgraded.
// Each organisation enrolls and registers its node; the collector runs as a
// global service on the three nodes. Then the paper's scenarios 1 and 2,
// and a peer task and an orderer task lost and restarted by Swarm: every
// event of each daemon on its node's chain exactly once, e2l verify OK per
// host, Prometheus scraping peers, orderers, CAs and collectors through
// Swarm service discovery.
func TestConsortiumOnAThreeNodeSwarm(t *testing.T) {
	prometheusBin := swarmLookTool(t, "prometheus")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	images := startImageBuild(t, root)
	env := consortiumEnv{root: root, fabricBin: envString("E2L_FABRIC_BIN", filepath.Join(root, ".bin", "fabric")), e2l: e2lBin(t)}
	env.e2lnet = filepath.Join(t.TempDir(), "e2lnet")
	if err := goBuild(t.Context(), root, env.e2lnet, "./network/cmd/e2lnet"); err != nil {
		t.Fatal(err)
	}
	nodes := startSwarmCluster(t, swarmClusterOptions{prefix: "e2lc", nsPrefix: "e2lc-", subnet: "10.231.78", hostnames: true},
		[]swarmNodeSpec{
			{name: "manager", manager: true, org: network.Provider},
			{name: "worker1", org: network.Developer},
			{name: "worker2", org: network.User},
		})
	mgr := nodes[0]
	env.manager, env.images = mgr, images.images
	t.Logf("[%4.0fs] 3-node Swarm up: %s, %s, %s", time.Since(start).Seconds(), nodes[0].hostname, nodes[1].hostname, nodes[2].hostname)

	// ---- each organisation on its own node ----
	var orgs []*consortiumOrg
	exchange := t.TempDir() // what the organisations give each other
	var shares []string
	for _, n := range nodes {
		o := &consortiumOrg{org: n.org, dir: filepath.Join(t.TempDir(), string(n.org)), node: n}
		orgs = append(orgs, o)
		mustDocker(t, mgr.d.host, "node", "update", "--label-add", "e2l.org."+strings.ToLower(string(n.org))+"=true", n.nodeID)
		env.orgSh(t, o, "init", string(n.org), "--san", "localhost", "--san", "127.0.0.1")
		share := filepath.Join(exchange, string(n.org))
		if err := os.CopyFS(share, os.DirFS(filepath.Join(o.dir, "share"))); err != nil {
			t.Fatal(err)
		}
		shares = append(shares, share)
	}
	provider := orgs[0]
	env.orgSh(t, provider, append([]string{"channel", "--genesis", "--batch-timeout", "250ms"}, shares...)...)
	block := filepath.Join(exchange, "e2l.block")
	if b, err := os.ReadFile(filepath.Join(provider.dir, "consortium", "e2l.block")); err != nil || os.WriteFile(block, b, 0o644) != nil {
		t.Fatalf("hand the genesis block over: %v", err)
	}
	for _, o := range orgs[1:] {
		env.orgSh(t, o, append([]string{"channel"}, shares...)...)
		t.Logf("%s: %s", o.org, env.orgSh(t, o, append([]string{"check-block", block}, shares...)...))
	}
	t.Run("a genesis block naming another Developer than the one whose share Developer gave is refused", func(t *testing.T) {
		impostor := &consortiumOrg{org: network.Developer, dir: filepath.Join(t.TempDir(), "impostor")}
		env.orgSh(t, impostor, "init", "Developer")
		env.orgSh(t, impostor, "channel", "--genesis", shares[0], filepath.Join(impostor.dir, "share"), shares[2])
		out, err := env.orgShErr(t, orgs[1], "", "check-block", filepath.Join(impostor.dir, "consortium", "e2l.block"), shares[0], shares[1], shares[2])
		if err == nil || !strings.Contains(out, "DeveloperMSP: root certificates are not those of its share") {
			t.Errorf("check-block of the impostor's block: %v\n%s", err, out)
		}
	})
	images.wait(t)
	loadImages(t, nodes, images.archive)
	t.Logf("[%4.0fs] images built (%s) and loaded on the nodes", time.Since(start).Seconds(), images.took.Round(time.Second))
	// Each organisation makes the package from the image on its own node:
	// equal package IDs say that the three run the same chaincode image.
	pkg1 := consortiumPackage(t, env, orgs, 1)
	eachConsortiumOrg(t, orgs, func(o *consortiumOrg) error {
		_, err := env.orgShErr(t, o, "", "deploy", pkg1)
		return err
	})
	for _, o := range orgs {
		relayOrgPorts(t, o, mgr)
	}
	t.Cleanup(func() { removeStacks(t, mgr, nodes, []string{"e2lc"}, []string{"provider", "developer", "user"}) })
	t.Logf("[%4.0fs] 3 organisations' stacks deployed (CA, orderer, peer, chaincode), each pinned to its node", time.Since(start).Seconds())

	// org.sh waits for the nodes it talks to (until E2L_TIMEOUT).
	eachConsortiumOrg(t, orgs, func(o *consortiumOrg) error {
		_, err := env.orgShErr(t, o, "", "join-orderer")
		return err
	})
	env.orgSh(t, provider, "await-channel")
	eachConsortiumOrg(t, orgs, func(o *consortiumOrg) error {
		if _, err := env.orgShErr(t, o, "", "join-peer"); err != nil {
			return err
		}
		if _, err := env.orgShErr(t, o, "", "install-cc", "1"); err != nil {
			return err
		}
		_, err := env.orgShErr(t, o, "", "approve-cc", "1", pkg1)
		return err
	})
	t.Logf("commit:\n%s", env.orgSh(t, provider, "commit-cc", "1", orgs[1].relay[network.SwarmPeerPort]))
	t.Logf("[%4.0fs] channel e2l created and joined (osnadmin, peer channel join), chaincode %s committed", time.Since(start).Seconds(), pkg1)

	// ---- every node enrolled by its organisation, registered, provisioned ----
	nodeDirs, err := os.MkdirTemp("", "e2lc-nodes-") // <dir>/<host>/{identity,run}, read by uid 65532
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(nodeDirs) })
	if err := os.Chmod(nodeDirs, 0o755); err != nil {
		t.Fatal(err)
	}
	ids := map[*swarmNode]network.HostIdentity{}
	for _, o := range orgs {
		n := o.node
		role := wire.SwarmWorker
		if n.manager {
			role = wire.SwarmManager
		}
		env.orgSh(t, o, "enroll-host", n.hostname)
		t.Logf("%s", env.orgSh(t, o, "register-host", n.hostname, role))
		// The node's own directories: its identity (provision-node.sh) and
		// its Docker runtime directory, as /etc/e2l/identity and /var/run
		// would be on a real host.
		hostDir := filepath.Join(o.dir, "hosts", n.hostname)
		if err := os.MkdirAll(filepath.Join(nodeDirs, n.hostname), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(n.d.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(n.d.dir, filepath.Join(nodeDirs, n.hostname, "run")); err != nil {
			t.Fatal(err)
		}
		if out, err := runProvision(t, root, hostDir, filepath.Join(nodeDirs, n.hostname, "identity"), n.hostname); err != nil {
			t.Fatalf("provision-node.sh: %v\n%s", err, out)
		}
		ids[n] = network.HostIdentity{
			Org: o.org, MSPID: o.org.MSPID(), Host: n.hostname, Role: network.RoleCollector, SwarmRole: role,
			CertPath: filepath.Join(hostDir, "cert.pem"), KeyPath: filepath.Join(hostDir, "key.pem"),
			Env: []network.EnvVar{
				{Key: "E2L_PEER_ENDPOINTS", Value: o.relay[network.SwarmPeerPort]},
				{Key: "E2L_PEER_TLS_CA", Value: filepath.Join(o.dir, "consortium", "peers-tlsca.pem")},
			},
		}
	}
	t.Logf("[%4.0fs] each node enrolled by its organisation's CA, registered by its admin, its identity provisioned", time.Since(start).Seconds())
	gid, err := fileGID(filepath.Join(mgr.d.dir, "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	deploy := dockerCmd(t.Context(), mgr.d.host, "stack", "deploy", "--resolve-image", "never",
		"-c", filepath.Join(root, "deploy", "swarm", "stack.yml"), "-c", filepath.Join(root, "deploy", "consortium", "collector.yml"), "e2lc")
	repo, tag, _ := strings.Cut(env.images.collector, ":")
	deploy.Env = append(deploy.Env, "E2L_DOCKER_GID="+gid, "E2L_COLLECTOR_IMAGE="+repo, "E2L_VERSION="+tag, "E2L_HEARTBEAT_INTERVAL=5s",
		"E2L_IDENTITY_DIR="+nodeDirs+"/{{.Node.Hostname}}/identity", "E2L_DOCKER_RUN_DIR="+nodeDirs+"/{{.Node.Hostname}}/run")
	if out, err := deploy.CombinedOutput(); err != nil {
		t.Fatalf("deploy the collector stack: %v\n%s", err, out)
	}
	// Their health checks start after 30 s: the chains show them working.
	awaitServiceRunning(t, mgr, nodes, "e2lc_collector", len(nodes), false, 3*time.Minute)
	for _, n := range nodes {
		n.id = ids[n]
		n.chain = newLedgerChain(t, n.id, 100)
		eventually(t, 2*time.Minute, time.Second, func() error {
			if err := n.chain.refresh(); err != nil {
				return err
			}
			if len(n.chain.sealed) == 0 {
				return fmt.Errorf("%s: nothing on its chain yet", n.hostname)
			}
			return nil
		})
		n.gt = watchGroundTruth(t, n.d.host)
	}
	promConfig := consortiumPrometheusConfig(t, root, mgr)
	promURL := startPrometheusIn(t, prometheusBin, promConfig, mgr.d.ns)
	t.Logf("[%4.0fs] collectors committing on the 3 nodes (global service), Prometheus started in the manager's namespace", time.Since(start).Seconds())

	// ---- the paper's scenario 1 on the manager, scenario 2 on every node ----
	svc := "e2lc-paper-" + randomSuffix()
	sid := mustDocker(t, mgr.d.host, "service", "create", "--quiet", "--detach", "--no-resolve-image", "--name", svc,
		"--replicas", "1", "--stop-grace-period", "1s", testImage, "sleep", "1000")
	awaitSwarmTasksRunning(t, mgr.d.host, sid, 1)
	mustDocker(t, mgr.d.host, "service", "scale", "--detach", svc+"=3")
	awaitSwarmTasksRunning(t, mgr.d.host, sid, 3)
	mustDocker(t, mgr.d.host, "service", "rm", sid)
	containerLifecycles(t, nodes, "paper")
	awaitServiceGone(t, nodes, sid)
	t.Logf("[%4.0fs] scenario 1 (service %s created, scaled 1→3, removed) and scenario 2 (a container's lifecycle on each node) done", time.Since(start).Seconds(), svc)

	// ---- the chaincode upgraded while the collectors write (docs: upgrade) ----
	pkg2 := consortiumPackage(t, env, orgs, 2)
	eachConsortiumOrg(t, orgs, func(o *consortiumOrg) error {
		if _, err := env.orgShErr(t, o, "", "install-cc", "2"); err != nil {
			return err
		}
		_, err := env.orgShErr(t, o, "", "approve-cc", "2", pkg2)
		return err
	})
	eachConsortiumOrg(t, orgs, func(o *consortiumOrg) error { _, err := env.orgShErr(t, o, "", "stop-cc"); return err })
	env.orgSh(t, provider, "commit-cc", "2", orgs[2].relay[network.SwarmPeerPort])
	eachConsortiumOrg(t, orgs, func(o *consortiumOrg) error { _, err := env.orgShErr(t, o, "", "start-cc", pkg2); return err })
	t.Logf("[%4.0fs] chaincode upgraded to sequence 2 (%s)", time.Since(start).Seconds(), pkg2)

	// ---- a peer task and an orderer task lost: Swarm restarts them ----
	lost := consortiumLoseNodes(t, mgr, nodes, map[*swarmNode]string{nodes[1]: "developer_peer", nodes[2]: "user_orderer"})
	containerLifecycles(t, nodes, "outage")
	for svcName, c := range lost {
		t.Logf("%s: container %.12s killed; Swarm's replacement %.12s running and healthy after %s", svcName, c.killed, c.replacement, c.down.Round(100*time.Millisecond))
	}
	t.Logf("[%4.0fs] nodes lost and restarted", time.Since(start).Seconds())

	// ---- every event of every daemon on its node's chain, once ----
	type figure struct {
		events, once, lost, duplicated, records int
		verify                                  string
	}
	figures := map[*swarmNode]*figure{}
	for _, n := range nodes {
		n.until = n.gt.sync()
	}
	for _, n := range nodes {
		c, err := n.chain.awaitLedger(n.id, n.gt.recorded(n.until), n.gt.start, n.until, 3*time.Minute)
		if err != nil {
			t.Errorf("%s: %v", n.hostname, err)
		}
		t.Logf("%s (%s, %s):", n.hostname, n.org, n.id.SwarmRole)
		requireFaithful(t, c, false)
		figures[n] = &figure{events: c.GroundTruth, once: c.Once, lost: c.Lost, duplicated: c.Duplicated, records: c.Records}
	}
	t.Logf("[%4.0fs] every node's chain read back and compared with its daemon's events", time.Since(start).Seconds())
	t.Run("the service's events are on the manager's chain, and its tasks ran on every node", func(t *testing.T) {
		var actions []string
		for _, e := range mgr.chain.eventsOf(sid) {
			actions = append(actions, e.Action)
		}
		if len(actions) < 3 || actions[0] != "create" || actions[len(actions)-1] != "remove" {
			t.Errorf("the manager's chain has the service's actions %v, want create … remove", actions)
		}
		for _, n := range nodes {
			tasks := 0
			for _, s := range n.chain.sealed {
				if e := s.Record.Event; e != nil && e.Type == "container" && e.Action == "start" && e.Attrs.ServiceID == sid {
					tasks++
				}
			}
			if tasks == 0 {
				t.Errorf("%s's chain has no task container of the service", n.hostname)
			}
		}
	})

	t.Run("every service's tasks run where they belong, healthy", func(t *testing.T) {
		placed := map[string]*swarmNode{}
		for _, o := range orgs {
			for _, svc := range []string{"ca", "orderer", "peer", "chaincode"} {
				placed[strings.ToLower(string(o.org))+"_"+svc] = o.node
			}
		}
		for svc, n := range placed {
			if got := awaitServiceRunning(t, mgr, nodes, svc, 1, true, 2*time.Minute); got[n] == "" {
				t.Errorf("%s runs on %v, want on %s (%s's node)", svc, got, n.hostname, n.org)
			}
		}
		if got := awaitServiceRunning(t, mgr, nodes, "e2lc_collector", len(nodes), true, 2*time.Minute); len(got) != len(nodes) {
			t.Errorf("the collector runs on %d nodes, want %d", len(got), len(nodes))
		}
	})

	cli := consortiumCLI(t, env, orgs[1])
	t.Run("e2l verify passes on every node's chain", func(t *testing.T) {
		for _, n := range nodes {
			out := cli.mustRun(t, "verify", "--host", n.hostname, "--quiet")
			figures[n].verify = strings.SplitN(out, ":", 2)[0]
			if !strings.HasPrefix(out, "OK: ") || !strings.Contains(out, "; 0 errors, 0 warnings") {
				t.Errorf("e2l verify --host %s:\n%s", n.hostname, out)
			}
		}
	})
	t.Run("Prometheus scrapes peers, orderers, CAs and collectors through Swarm service discovery", func(t *testing.T) {
		consortiumPrometheusChecks(t, promURL, nodes)
	})

	t.Logf("the consortium on a 3-node Swarm, in %s:", time.Since(start).Round(time.Second))
	t.Logf("  %-22s %-10s %-8s %8s %6s %5s %11s %8s %7s", "node", "org", "role", "events", "once", "lost", "duplicated", "records", "verify")
	for _, n := range nodes {
		f := figures[n]
		t.Logf("  %-22s %-10s %-8s %8d %6d %5d %11d %8d %7s", n.hostname, n.org, n.id.SwarmRole, f.events, f.once, f.lost, f.duplicated, f.records, f.verify)
	}
	if t.Failed() {
		consortiumLogs(t, mgr)
	}
}

// consortiumPackage has every organisation make the chaincode package of
// sequence seq from the chaincode image on its own node, and returns the
// package ID, which must be the same for all.
func consortiumPackage(t *testing.T, env consortiumEnv, orgs []*consortiumOrg, seq int) string {
	t.Helper()
	var ids []string
	for _, o := range orgs {
		id, err := env.orgShErr(t, o, o.node.d.host, "package-cc", fmt.Sprint(seq), env.images.chaincode)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(slices.Compact(slices.Clone(ids))) != 1 || !strings.HasPrefix(ids[0], fmt.Sprintf("e2l_%d:", seq)) {
		t.Fatalf("the organisations' packages of sequence %d have the IDs %v, want one", seq, ids)
	}
	return ids[0]
}

// containerLifecycles runs the paper's scenario 2 on every node: a
// container created, started, paused, unpaused, stopped and removed with
// the Docker CLI.
func containerLifecycles(t *testing.T, nodes []*swarmNode, what string) {
	t.Helper()
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		cid, err := docker(ctx, n.d.host, "create", "--name", "e2lc-"+what+"-"+randomSuffix(), "--network", "none", testImage, "sleep", "1000")
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		for _, step := range [][]string{{"start", cid}, {"pause", cid}, {"unpause", cid}, {"stop", "-t", "1", cid}, {"rm", cid}} {
			if _, err := docker(ctx, n.d.host, step...); err != nil {
				cancel()
				t.Fatalf("%s: docker %v: %v", n.hostname, step, err)
			}
		}
		cancel()
	}
}
