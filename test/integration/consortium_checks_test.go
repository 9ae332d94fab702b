//go:build integration

package integration

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

// runProvision installs an enrolled host directory as a node's identity
// with deploy/swarm/provision-node.sh.
func runProvision(t *testing.T, root, from, to, host string) (string, error) {
	cmd := exec.CommandContext(t.Context(), filepath.Join(root, "deploy", "swarm", "provision-node.sh"),
		"--from", from, "--to", to, "--host", host)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// fileGID is the group owning a file, as a decimal string.
func fileGID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("no owner information for " + path)
	}
	return strconv.FormatUint(uint64(st.Gid), 10), nil
}

// consortiumPrometheusConfig is the shipped deploy/prometheus/prometheus.yml
// (and its alert rules) with Swarm discovery through the manager's socket
// and short intervals.
func consortiumPrometheusConfig(t *testing.T, root string, mgr *swarmNode) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for _, r := range [][2]string{
		{"host: unix:///var/run/docker.sock", "host: " + mgr.d.host},
		{"refresh_interval: 30s", "refresh_interval: 3s"},
		{"scrape_interval: 15s", "scrape_interval: 2s"},
		{"scrape_timeout: 10s", "scrape_timeout: 2s"},
	} {
		if !strings.Contains(cfg, r[0]) {
			t.Fatalf("deploy/prometheus/prometheus.yml no longer has %q", r[0])
		}
		cfg = strings.ReplaceAll(cfg, r[0], r[1])
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	alerts, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), alerts, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "prometheus.yml")
}

// consortiumPrometheusChecks: every node's collector, and every
// organisation's peer, orderer and CA, is a target found through Swarm
// discovery and up; the peers agree on the chain's height (the restarted
// one caught up), the orderers on one Raft leader with three active nodes.
func consortiumPrometheusChecks(t *testing.T, promURL string, nodes []*swarmNode) {
	t.Helper()
	var hosts []string
	for _, n := range nodes {
		hosts = append(hosts, n.hostname)
	}
	slices.Sort(hosts)
	eventually(t, 2*time.Minute, 2*time.Second, func() error {
		targets, err := promActiveTargets(promURL)
		if err != nil {
			return err
		}
		up := map[string][]string{} // job → nodes of its targets that are up
		for _, tg := range targets {
			if tg.Health == "up" {
				up[tg.Labels["job"]] = append(up[tg.Labels["job"]], tg.Labels["node"])
			}
		}
		for _, job := range []string{"e2l-collector", "fabric-peer", "fabric-orderer", "fabric-ca"} {
			slices.Sort(up[job])
			if !slices.Equal(up[job], hosts) {
				return fmt.Errorf("job %s: targets up on %v, want one on each of %v", job, up[job], hosts)
			}
		}
		return nil
	})
	eventually(t, 2*time.Minute, 2*time.Second, func() error {
		for _, q := range []struct {
			query string
			ok    func(float64) bool
			want  string
		}{
			{`count(e2l_collector_docker_stream_up{job="e2l-collector"} == 1)`, func(v float64) bool { return v == 3 }, "3 collectors streaming"},
			{`max(ledger_blockchain_height{job="fabric-peer",channel="e2l"}) - min(ledger_blockchain_height{job="fabric-peer",channel="e2l"})`,
				func(v float64) bool { return v <= 2 }, "the peers' heights within 2 blocks"},
			{`sum(consensus_etcdraft_is_leader{job="fabric-orderer",channel="e2l"})`, func(v float64) bool { return v == 1 }, "one Raft leader"},
			{`min(consensus_etcdraft_active_nodes{job="fabric-orderer",channel="e2l"})`, func(v float64) bool { return v == 3 }, "3 active Raft nodes on every orderer"},
		} {
			v, err := swarmQueryScalar(promURL, q.query)
			if err != nil {
				return err
			}
			if !q.ok(v) {
				return fmt.Errorf("%s = %v, want %s", q.query, v, q.want)
			}
		}
		return nil
	})
	for _, q := range []string{`ledger_blockchain_height{job="fabric-peer",channel="e2l"}`, `count(up{job=~"fabric-.+|e2l-collector"} == 1)`} {
		if v, err := swarmQueryScalar(promURL, "max("+q+")"); err == nil {
			t.Logf("Prometheus: max(%s) = %v", q, v)
		}
	}
}

// lostTask is one Swarm task killed and replaced.
type lostTask struct {
	killed, replacement string
	down                time.Duration // from the kill to the replacement running and healthy
}

// consortiumLoseNodes kills the running container of each service on its
// node (a node of the consortium lost) and waits until Swarm has replaced
// each by a running, healthy one.
func consortiumLoseNodes(t *testing.T, mgr *swarmNode, nodes []*swarmNode, services map[*swarmNode]string) map[string]lostTask {
	t.Helper()
	out := map[string]lostTask{}
	killedAt := map[string]time.Time{}
	for n, svc := range services {
		cid := mustDocker(t, n.d.host, "ps", "-q", "--no-trunc", "--filter", "label=com.docker.swarm.service.name="+svc)
		if cid == "" || strings.Contains(cid, "\n") {
			t.Fatalf("%s: want one running container of %s, have %q", n.hostname, svc, cid)
		}
		mustDocker(t, n.d.host, "kill", cid)
		killedAt[svc] = time.Now()
		out[svc] = lostTask{killed: cid}
	}
	for n, svc := range services {
		eventually(t, 3*time.Minute, 500*time.Millisecond, func() error {
			got, err := serviceContainers(t.Context(), mgr, nodes, svc, 1, true)
			if err != nil {
				return err
			}
			if got[n] == "" || got[n] == out[svc].killed {
				return fmt.Errorf("%s: not replaced on %s yet", svc, n.hostname)
			}
			out[svc] = lostTask{killed: out[svc].killed, replacement: got[n], down: time.Since(killedAt[svc])}
			return nil
		})
	}
	return out
}

// consortiumCLI is the e2l CLI as org's admin, through org's peer, with a
// trust file of its own holding the consortium's genesis ("e2l trust").
func consortiumCLI(t *testing.T, env consortiumEnv, o *consortiumOrg) e2lCLI {
	t.Helper()
	settings := readOrgEnv(t, filepath.Join(o.dir, "org.env"))
	trustFile := filepath.Join(t.TempDir(), "trust")
	cli := e2lCLI{bin: env.e2l, trustFile: trustFile, conn: []string{
		"--msp-id", o.org.MSPID(), "--cert", settings["E2L_ADMIN_CERT"], "--key", settings["E2L_ADMIN_KEY"],
		"--peer-endpoints", o.relay[network.SwarmPeerPort], "--peer-tls-ca", filepath.Join(o.dir, "consortium", "peers-tlsca.pem"),
		"--trust-file", trustFile,
	}}
	out := cli.mustRun(t, "trust")
	if !strings.Contains(out, "recorded e2l genesis sha256:") {
		t.Fatalf("e2l trust:\n%s", out)
	}
	return cli
}

// readOrgEnv reads the KEY=value lines of an organisation's org.env.
func readOrgEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
