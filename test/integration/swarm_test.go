//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/promtext"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// swarmStack is the stack name the test deploys deploy/swarm/stack.yml as.
const swarmStack = "e2lit"

// The shipped Swarm deployment end to end on this machine: the images built
// without a registry, the collector stack deployed as a global service with
// the node's own enrolled identity, its health check, its metrics scraped by
// a real Prometheus through Swarm service discovery with the shipped
// configuration and alert rules, events recorded on the ledger under the
// node's identity, and JSON logs. The node's collector first runs as `make
// up` runs it, then moves to the stack (docs/operations.md, "Move a host's
// collector"): the stack's collector continues the node's chain, and the
// script's, started again meanwhile, refuses to.
func TestSwarmStack(t *testing.T) {
	prometheusBin := swarmLookTool(t, "prometheus")
	promtoolBin := swarmLookTool(t, "promtool")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	swarmEnsureManager(t)
	nodeName, err := docker(ctx, "", "node", "inspect", "self", "--format", "{{.Description.Hostname}}")
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureTestImage(ctx, ""); err != nil {
		t.Fatal(err)
	}

	collectorImage := swarmBuildImages(t, root)

	// The node's own identity: enrolled for the node's Swarm host name, the
	// E2L_HOST the stack gives the collector.
	id := enrollHost(t, network.Provider, nodeName, network.EnrollOptions{})
	certSum := certSHA256(t, id.CertPath)

	// The peers listen on 127.0.0.1 of this machine; in production they are
	// remote. The collector stays on the stack's overlay network (so Swarm
	// service discovery sees its host-mode port) and reaches the peers
	// through relays on the docker_gwbridge address, verifying the peers'
	// TLS certificates for "localhost".
	gwIP, err := docker(ctx, "", "network", "inspect", "docker_gwbridge", "--format", "{{(index .IPAM.Config 0).Gateway}}")
	if err != nil {
		t.Fatal(err)
	}
	var relayed []string
	for _, ep := range strings.Split(id.Lookup("E2L_PEER_ENDPOINTS"), ",") {
		relayed = append(relayed, swarmRelay(t, gwIP, ep))
	}

	identityDir := swarmProvision(t, root, id, nodeName, []string{
		"E2L_HOST=" + nodeName,
		"E2L_MSP_ID=" + id.MSPID,
		"E2L_PEER_ENDPOINTS=" + strings.Join(relayed, ","),
		"E2L_PEER_TLS_CA=" + id.Lookup("E2L_PEER_TLS_CA"),
		"E2L_PEER_TLS_SERVER_NAME=localhost",
		"E2L_ORG_CA=" + id.Lookup("E2L_ORG_CA"),
	})

	metricsPort := swarmFreePort(t)
	sockGID, err := swarmSocketGID()
	if err != nil {
		t.Fatal(err)
	}
	move := moveToStack(t, root, id, metricsPort, func() {
		swarmDeploy(t, root, []string{
			"E2L_DOCKER_GID=" + sockGID,
			// The stack selects the image's version: repository and tag apart.
			"E2L_COLLECTOR_IMAGE=" + strings.Split(collectorImage, ":")[0],
			"E2L_VERSION=" + strings.Split(collectorImage, ":")[1],
			"E2L_IDENTITY_DIR=" + identityDir,
			"E2L_METRICS_PORT=" + strconv.Itoa(metricsPort),
			"E2L_HEARTBEAT_INTERVAL=5s",
		})
	})
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	metricsURL := "http://" + metricsAddr

	t.Run("the collector task runs and its health check passes", func(t *testing.T) {
		eventually(t, 3*time.Minute, time.Second, func() error {
			ps, err := docker(ctx, "", "service", "ps", swarmStack+"_collector", "--filter", "desired-state=running",
				"--format", "{{.Node}} {{.CurrentState}} {{.Error}}")
			if err != nil {
				return err
			}
			if !strings.HasPrefix(ps, nodeName+" Running") {
				return fmt.Errorf("task: %q", ps)
			}
			cid, err := swarmCollectorContainer(t)
			if err != nil {
				return err
			}
			health, err := docker(ctx, "", "inspect", cid, "--format", "{{.State.Health.Status}}")
			if err != nil {
				return err
			}
			if health != "healthy" {
				return fmt.Errorf("container %s health %q", cid, health)
			}
			return nil
		})
	})
	if t.Failed() {
		swarmDumpLogs(t)
		t.FailNow()
	}

	t.Run("the collector is ready: event stream open and a ledger commit", func(t *testing.T) {
		eventually(t, 2*time.Minute, time.Second, func() error {
			code, body, err := swarmGet(metricsURL + "/readyz")
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("/readyz %d: %s", code, body)
			}
			return nil
		})
	})
	if t.Failed() {
		swarmDumpLogs(t)
		t.FailNow()
	}

	t.Run("the script's collector, started again while the stack's runs, refuses to start", func(t *testing.T) {
		move.secondRefused(t, metricsAddr)
	})

	t.Run("a service's and a container's whole lifecycles after the deploy are on the ledger under the node's identity", func(t *testing.T) {
		svcName := fmt.Sprintf("e2lit-probe-svc-%d", time.Now().UnixNano())
		svcID, err := docker(ctx, "", "service", "create", "--detach", "--no-resolve-image", "--quiet",
			"--name", svcName, "--replicas", "0", testImage, "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = docker(context.WithoutCancel(ctx), "", "service", "rm", svcID) })
		ctrID, err := docker(ctx, "", "run", "-d", "--name", fmt.Sprintf("e2lit-probe-ctr-%d", time.Now().UnixNano()),
			"--network", "none", testImage, "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = docker(context.WithoutCancel(ctx), "", "rm", "-f", ctrID) })
		// Every kind of event the collector records of them, not only creates:
		// a service update and remove; the container stopped (sleep ignores
		// SIGTERM: kill, kill, die, stop) and removed.
		for _, args := range [][]string{
			{"service", "update", "--detach", "--label-add", "e2l.it=1", svcID},
			{"service", "rm", svcID},
			{"stop", "-t", "1", ctrID},
			{"rm", ctrID},
		} {
			if _, err := docker(ctx, "", args...); err != nil {
				t.Fatal(err)
			}
		}

		want := map[string][]string{
			"service":   {"create", "update", "remove"},
			"container": {"create", "start", "kill", "die", "stop", "destroy"},
		}
		var problems []string
		eventually(t, 90*time.Second, time.Second, func() error {
			have := map[string][]string{}
			problems = nil
			for _, actor := range []string{svcID, ctrID} {
				for _, rec := range indexTimeline(t, actor) {
					sealed, err := rec.Sealed()
					if err != nil {
						problems = append(problems, fmt.Sprintf("record %s does not re-verify: %v", rec.ID, err))
						continue
					}
					e := sealed.Record.Event
					if e == nil {
						continue
					}
					have[e.Type] = append(have[e.Type], e.Action)
					if sealed.Record.Host != nodeName || rec.MSP != id.MSPID || rec.CertSHA256 != certSum {
						problems = append(problems, fmt.Sprintf("%s %s recorded by host %q signed by %s %.12s, want the node's own %q %s %.12s",
							e.Type, e.Action, sealed.Record.Host, rec.MSP, rec.CertSHA256, nodeName, id.MSPID, certSum))
					}
				}
			}
			if missing := groundtruth.MissingActions(have, want); len(missing) > 0 {
				return fmt.Errorf("not on the ledger yet: %v (have %v)", missing, have)
			}
			return nil
		})
		for _, p := range problems {
			t.Error(p)
		}
	})

	t.Run("the node's chain continues from the script's collector's behind one collector-replaced gap, nothing refused, dead-lettered or twice", func(t *testing.T) {
		move.chainContinues(t, metricsAddr)
	})

	t.Run("Prometheus discovers the task through Swarm service discovery and ingests its metrics", func(t *testing.T) {
		promURL := swarmStartPrometheus(t, prometheusBin, filepath.Join(root, "deploy", "prometheus", "prometheus.yml"))
		eventually(t, 2*time.Minute, 2*time.Second, func() error {
			targets, err := promActiveTargets(promURL)
			if err != nil {
				return err
			}
			for _, tg := range targets {
				if tg.Labels["job"] == "e2l-collector" && tg.Labels["instance"] == nodeName {
					if !strings.HasSuffix(tg.ScrapeURL, fmt.Sprintf(":%d/metrics", metricsPort)) {
						return fmt.Errorf("target %s is not the host-mode published port %d", tg.ScrapeURL, metricsPort)
					}
					if tg.Health != "up" {
						return fmt.Errorf("target %s health %s %s", tg.ScrapeURL, tg.Health, tg.LastError)
					}
					return nil
				}
			}
			return fmt.Errorf("no e2l-collector target for %s among %+v", nodeName, targets)
		})
		eventually(t, time.Minute, 2*time.Second, func() error {
			n, err := swarmQueryScalar(promURL, fmt.Sprintf(`count({__name__=~"e2l_collector_.+", job="e2l-collector", instance=%q})`, nodeName))
			if err != nil {
				return err
			}
			if n < 20 {
				return fmt.Errorf("%v e2l_collector_ series ingested", n)
			}
			up, err := swarmQueryScalar(promURL, fmt.Sprintf(`e2l_collector_docker_stream_up{instance=%q}`, nodeName))
			if err != nil {
				return err
			}
			if up != 1 {
				return fmt.Errorf("e2l_collector_docker_stream_up = %v", up)
			}
			return nil
		})
		// Every alert rule of alerts.yml is loaded and evaluates without
		// error against the collector's real series (health "ok"; "unknown"
		// until its first evaluation, every 15 s).
		alerts, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, m := range regexp.MustCompile(`(?m)^\s*-\s*alert:\s*(\S+)`).FindAllStringSubmatch(string(alerts), -1) {
			want = append(want, m[1])
		}
		if len(want) == 0 {
			t.Fatal("alerts.yml names no alert")
		}
		eventually(t, 2*time.Minute, 2*time.Second, func() error {
			var rules struct {
				Data struct {
					Groups []struct {
						Name  string `json:"name"`
						Rules []struct {
							Name      string `json:"name"`
							Health    string `json:"health"`
							LastError string `json:"lastError"`
						} `json:"rules"`
					} `json:"groups"`
				} `json:"data"`
			}
			if err := swarmGetJSON(promURL+"/api/v1/rules", &rules); err != nil {
				return err
			}
			var loaded []groundtruth.Rule
			for _, g := range rules.Data.Groups {
				for _, r := range g.Rules {
					loaded = append(loaded, groundtruth.Rule{Group: g.Name, Name: r.Name, Health: r.Health, LastError: r.LastError})
				}
			}
			if p := groundtruth.RuleProblems(loaded, want); len(p) > 0 {
				return fmt.Errorf("alert rules: %s", strings.Join(p, "; "))
			}
			return nil
		})
	})

	t.Run("the scrape passes promtool check metrics and serves every metric the alerts read", func(t *testing.T) {
		code, body, err := swarmGet(metricsURL + "/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("scrape: %d %v", code, err)
		}
		check := exec.CommandContext(ctx, promtoolBin, "check", "metrics")
		check.Stdin = strings.NewReader(body)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
		names, err := promtext.Names(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		exported := map[string]bool{}
		for _, n := range names {
			exported[n] = true
		}
		alerts, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range slices.Compact(slices.Sorted(slices.Values(regexp.MustCompile(`\be2l_collector_[a-z0-9_]+`).FindAllString(string(alerts), -1)))) {
			if !exported[m] {
				t.Errorf("alerts.yml reads %s, which the collector does not export", m)
			}
		}
	})

	t.Run("the collector's service logs are JSON lines", func(t *testing.T) {
		out, err := dockerCmd(ctx, "", "service", "logs", "--raw", "--no-trunc", swarmStack+"_collector").CombinedOutput()
		if err != nil {
			t.Fatalf("docker service logs: %v\n%s", err, out)
		}
		lines := 0
		preflight := map[string]any{} // check → status, from the task's preflight (E2L_PREFLIGHT)
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			lines++
			var entry map[string]any
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				t.Errorf("not a JSON line: %q: %v", line, err)
				continue
			}
			if entry["level"] == nil || entry["msg"] == nil || entry["ts"] == nil {
				t.Errorf("log line without level, msg or ts: %s", line)
			}
			if check, ok := entry["check"].(string); ok && strings.HasPrefix(fmt.Sprint(entry["msg"]), "preflight check") {
				preflight[check] = entry["status"]
			}
		}
		if lines == 0 {
			t.Error("the collector logged nothing")
		}
		// The stack runs the preflight before the collector: the identity
		// provision-node.sh installed passes, its chain to org-ca.pem too.
		for _, check := range []string{"certificate", "certificate host", "certificate role", "certificate chain", "docker", "spool", "chaincode", "host registry"} {
			if preflight[check] != "ok" {
				t.Errorf("preflight check %q: status %v in the task's log, want ok (all: %v)", check, preflight[check], preflight)
			}
		}
	})
}
