//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// The paper's scenarios with the real collector binary on the machine's
// Docker Engine, checked against an independent subscription to the
// daemon's events (the ground truth) and the ledger read back through the
// chaincode's queries.

// Paper scenario 2: a container created, started, paused, unpaused,
// stopped and removed with the Docker CLI.
func TestCollectorRecordsAContainerLifecycle(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	id := enrollHost(t, network.Provider, "it-col-lifecycle", network.EnrollOptions{})
	col := startCollector(t, id, collectorOptions{})
	gt := watchGroundTruth(t, "")
	chain := newLedgerChain(t, id, 50)

	name := "e2l-it-lifecycle-" + randomSuffix()
	cid := mustDocker(t, "", "create", "--name", name, "--network", "none", testImage, "sleep", "1000")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = docker(ctx, "", "rm", "-f", cid)
	})
	for _, args := range [][]string{{"start", cid}, {"pause", cid}, {"unpause", cid}, {"stop", "-t", "1", cid}, {"rm", cid}} {
		mustDocker(t, "", args...)
	}
	until := gt.sync()

	c, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, false)

	t.Run("the container's timeline holds its lifecycle in order, with its name, image and exit code", func(t *testing.T) {
		var actions []string
		var exitCode string
		for _, s := range queryTimeline(t, e2lContract(connectGateway(t, id)), cid) {
			e := s.Record.Event
			if s.Record.Kind != record.KindEvent || s.Record.Host != id.Host {
				continue
			}
			if e.Attrs.Name != name || e.Attrs.Image != testImage {
				t.Errorf("%s event: name %q image %q, want %q %q", e.Action, e.Attrs.Name, e.Attrs.Image, name, testImage)
			}
			actions = append(actions, e.Action)
			if e.Action == "die" {
				exitCode = e.Attrs.ExitCode
			}
		}
		// stop -t 1 of a PID 1 that ignores SIGTERM: kill (15), kill (9), die 137, stop.
		want := []string{"create", "start", "pause", "unpause", "kill", "kill", "die", "stop", "destroy"}
		if !slices.Equal(actions, want) {
			t.Errorf("timeline actions %v, want %v", actions, want)
		}
		if exitCode != "137" {
			t.Errorf("die exitCode %q, want 137", exitCode)
		}
	})
	col.Stop()
}

// Paper scenario 1: a Swarm service created with one replica, scaled to
// three and removed. Service events are swarm scope; the tasks' containers
// are recorded too.
func TestCollectorRecordsASwarmService(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	acquireSwarm(t, "")
	id := enrollHost(t, network.Provider, "it-col-swarm", network.EnrollOptions{})
	col := startCollector(t, id, collectorOptions{})
	gt := watchGroundTruth(t, "")
	chain := newLedgerChain(t, id, 50)

	svc := "e2l-it-svc-" + randomSuffix()
	sid := mustDocker(t, "", "service", "create", "--quiet", "--detach=false", "--no-resolve-image", "--name", svc,
		"--replicas", "1", "--stop-grace-period", "1s", testImage, "sleep", "1000")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = docker(ctx, "", "service", "rm", sid)
	})
	mustDocker(t, "", "service", "scale", "--detach=false", svc+"=3")
	mustDocker(t, "", "service", "rm", sid)
	// The tasks' containers are stopped and removed after the service.
	eventually(t, 2*time.Minute, 250*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		out, err := docker(ctx, "", "ps", "-aq", "--filter", "label=com.docker.swarm.service.id="+sid)
		if err != nil || out != "" {
			return fmt.Errorf("the service's containers are still there: %q %v", out, err)
		}
		return nil
	})
	until := gt.sync()

	c, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, false)

	t.Run("the service's create, scale to three and remove are on the ledger as swarm events", func(t *testing.T) {
		var actions []string
		scaled := false
		for _, e := range chain.eventsOf(sid) {
			if e.Scope != record.ScopeSwarm || e.Type != "service" || e.Attrs.Name != svc {
				t.Errorf("service event %+v", e)
			}
			actions = append(actions, e.Action)
			if e.Action == "update" && e.Attrs.ReplicasOld == "1" && e.Attrs.ReplicasNew == "3" {
				scaled = true
			}
		}
		if len(actions) < 3 || actions[0] != "create" || actions[len(actions)-1] != "remove" || !scaled {
			t.Errorf("service actions %v (a 1→3 update: %t), want create, update 1→3, remove", actions, scaled)
		}
	})
	t.Run("three task containers were created, started and destroyed", func(t *testing.T) {
		tasks := map[string][]string{}
		for _, s := range chain.sealed {
			if e := s.Record.Event; e != nil && e.Type == "container" && e.Attrs.ServiceID == sid {
				tasks[e.Actor] = append(tasks[e.Actor], e.Action)
			}
		}
		if len(tasks) != 3 {
			t.Errorf("%d task containers on the ledger, want 3: %v", len(tasks), tasks)
		}
		for ctr, acts := range tasks {
			for _, a := range []string{"create", "start", "die", "destroy"} {
				if !slices.Contains(acts, a) {
					t.Errorf("task container %.12s: actions %v lack %s", ctr, acts, a)
				}
			}
		}
	})
	col.Stop()
}

// The collector SIGKILLed in the middle of a burst of 30 `docker run --rm`,
// down while a third of the burst happens, then restarted: it resumes from
// its spool and Docker's replay. Nothing lost, nothing twice, one chain —
// or, if Docker's 256-event buffer rolled over meanwhile (other activity
// on the machine), an honest gap covering exactly what is missing.
func TestCollectorSurvivesSIGKILLMidBurst(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	id := enrollHost(t, network.Provider, "it-col-sigkill", network.EnrollOptions{})
	col := startCollector(t, id, collectorOptions{})
	gt := watchGroundTruth(t, "")
	chain := newLedgerChain(t, id, 50)

	burst := startChurn(t, "", "e2l-it-sigkill", 30)
	burst.waitRuns(t, 10, 5*time.Minute)
	col.Kill()
	burst.waitRuns(t, 20, 5*time.Minute)
	col.Restart()
	burst.waitRuns(t, 30, 5*time.Minute)
	burst.stop()
	until := gt.sync()

	c, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, true)
	if c.Missing > 0 {
		t.Logf("Docker's replay did not cover the outage: %d events reported by gaps (%s)", c.Covered, c.gapSummary())
	}
	var reasons []string
	for _, s := range chain.sealed {
		if s.Record.Kind == record.KindStart {
			reasons = append(reasons, s.Record.Lifecycle.Reason)
		}
	}
	if len(reasons) != 2 || reasons[1] != "restart after an unclean stop" {
		t.Errorf("start records %q, want a first start then a restart after an unclean stop", reasons)
	}
	col.Stop()
}

// queryTimeline reads an actor's records with QueryTimeline, every page.
func queryTimeline(t *testing.T, contract *client.Contract, actor string) []record.Sealed {
	t.Helper()
	var out []record.Sealed
	for bookmark, n := "", 0; n < 1000; n++ {
		var p storedPage
		raw, err := contract.EvaluateWithContext(t.Context(), "QueryTimeline", client.WithArguments(actor, "50", bookmark))
		if err != nil {
			t.Fatalf("QueryTimeline %s: %v", actor, describeGatewayError(err))
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		for _, st := range p.Records {
			s, err := st.Sealed()
			if err != nil {
				t.Fatalf("record %s does not re-verify: %v", st.ID, err)
			}
			out = append(out, s)
		}
		if bookmark = p.Bookmark; bookmark == "" || p.Count == 0 {
			return out
		}
	}
	t.Fatalf("QueryTimeline %s: too many pages", actor)
	return nil
}
