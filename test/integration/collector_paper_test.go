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

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
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
	// A few seconds in each state, so that usage has something to measure
	// (the durations are what is checked, not how long the steps took).
	mustDocker(t, "", "start", cid)
	time.Sleep(2 * time.Second)
	mustDocker(t, "", "pause", cid)
	pausedAt := time.Now()
	time.Sleep(2 * time.Second)
	unpauseCalled := time.Now()
	mustDocker(t, "", "unpause", cid)
	time.Sleep(2 * time.Second)
	mustDocker(t, "", "stop", "-t", "1", cid)
	inspected := inspectState(t, cid)
	mustDocker(t, "", "rm", cid)
	until := gt.sync()

	c, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, false)

	t.Run("the container's timeline holds its lifecycle in order, with its name, image and exit code", func(t *testing.T) {
		var actions []string
		var exitCode string
		for _, s := range sealedTimeline(t, cid) {
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

	// The auditor's view of the same ledger, through the e2l CLI.
	cli := auditorCLI(t)
	t.Run("e2l usage gives the running time docker inspect reported, to within a second", func(t *testing.T) {
		out := cli.mustRun(t, "usage", "--from", strconv.FormatInt(gt.start, 10), "--to", "now", "-o", "json")
		var rows []audit.UsageRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("usage json: %v\n%s", err, out)
		}
		i := slices.IndexFunc(rows, func(r audit.UsageRow) bool { return r.Group == name+" ("+cid[:12]+")" })
		if i < 0 {
			t.Fatalf("usage has no row for %s:\n%s", name, out)
		}
		r := rows[i]
		// docker inspect: StartedAt … FinishedAt spans the run, pause included.
		span := inspected.FinishedAt.Sub(inspected.StartedAt)
		// The pause lasted at least from the pause's return to the
		// unpause's call, as seen from here.
		minPause := unpauseCalled.Sub(pausedAt)
		t.Logf("docker inspect: started %s finished %s (span %s); e2l usage: running %s paused %s uncertain %s",
			inspected.StartedAt.Format(time.RFC3339Nano), inspected.FinishedAt.Format(time.RFC3339Nano), span, r.Running, r.Paused, r.Uncertain)
		if r.Uncertain != 0 || r.PausedUncertain != 0 || r.Containers != 1 || r.Intervals != 2 {
			t.Errorf("usage row %+v: want 1 container, 2 certain running intervals, nothing uncertain", r)
		}
		if d := (r.Running + r.Paused - span).Abs(); d > time.Second {
			t.Errorf("running %s + paused %s = %s, docker inspect's StartedAt…FinishedAt = %s: off by %s (> 1s)", r.Running, r.Paused, r.Running+r.Paused, span, d)
		}
		if d := (r.Running - (span - minPause)).Abs(); r.Paused < minPause || d > time.Second {
			t.Errorf("running %s, paused %s: want paused ≥ %s and running within 1s of inspect's span less the pause (%s)", r.Running, r.Paused, minPause, span-minPause)
		}
	})
	t.Run("e2l verify passes on the collector's chain", func(t *testing.T) {
		requireVerified(t, cli, id.Host)
	})
	col.Stop()
}

// requireVerified runs e2l verify on a host's chain: hashes, chain, and
// from the blocks the transactions' validity, signer and endorsements.
func requireVerified(t *testing.T, cli e2lCLI, host string) {
	t.Helper()
	out := cli.mustRun(t, "verify", "--host", host, "--quiet")
	if !strings.HasPrefix(out, "OK: ") || !strings.Contains(out, " of 1 hosts ") || !strings.Contains(out, "; 0 errors, 0 warnings") {
		t.Errorf("e2l verify --host %s:\n%s", host, out)
	}
}

// containerState is what docker inspect reports of a container's run.
type containerState struct {
	StartedAt, FinishedAt time.Time
	ExitCode              int
}

func inspectState(t *testing.T, cid string) containerState {
	t.Helper()
	out := mustDocker(t, "", "inspect", "--format", "{{json .State}}", cid)
	var st containerState
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("docker inspect %s: %v: %s", cid, err, out)
	}
	if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		t.Fatalf("docker inspect %s: state %+v", cid, st)
	}
	return st
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

	// The auditor's view of the same ledger, through the e2l CLI.
	cli := auditorCLI(t)
	t.Run("e2l timeline of the service by name: create, update replicas 1→3, remove", func(t *testing.T) {
		out := cli.mustRun(t, "timeline", svc, "-o", "json")
		var steps []struct {
			Actor  string          `json:"actor"`
			Step   int             `json:"step"`
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal([]byte(out), &steps); err != nil {
			t.Fatalf("timeline json: %v\n%s", err, out)
		}
		var actions []string
		for _, st := range steps {
			var r record.Record
			if err := json.Unmarshal(st.Record, &r); err != nil || r.Event == nil {
				t.Fatalf("timeline step %d: %v: %s", st.Step, err, st.Record)
			}
			if st.Actor != sid || r.Host != id.Host {
				t.Errorf("timeline step %d: actor %s host %s, want %s %s", st.Step, st.Actor, r.Host, sid, id.Host)
			}
			a := r.Event.Action
			if a == "update" && r.Event.Attrs.ReplicasOld == "1" && r.Event.Attrs.ReplicasNew == "3" {
				a = "update 1→3"
			}
			if len(actions) == 0 || actions[len(actions)-1] != a {
				actions = append(actions, a)
			}
		}
		// Docker emits one update per change of the service's spec or
		// update state; the scale is the one with replicas 1→3.
		var scaled []string
		for _, a := range actions {
			if a != "update" {
				scaled = append(scaled, a)
			}
		}
		if want := []string{"create", "update 1→3", "remove"}; !slices.Equal(scaled, want) {
			t.Errorf("timeline of %s: %v, want %v (other updates aside)\n%s", svc, actions, want, cli.mustRun(t, "timeline", svc))
		}
		table := cli.mustRun(t, "timeline", svc)
		t.Logf("e2l timeline %s:\n%s", svc, table)
		if !strings.Contains(table, "replicas 1→3") {
			t.Errorf("the timeline table does not show the scale:\n%s", table)
		}
	})
	t.Run("e2l verify passes on the collector's chain", func(t *testing.T) {
		requireVerified(t, cli, id.Host)
	})
	col.Stop()
}

// The collector SIGKILLed in the middle of a burst of 30 `docker run --rm`,
// down while a third of the burst happens, then restarted: it resumes from
// its spool and Docker's replay. Nothing lost, nothing twice, one chain —
// or, if Docker's 256-event buffer rolled over meanwhile (other activity
// on the machine), a collector-down gap within the outage covering exactly
// what is missing (groundtruth.GapRule Exact); no other gap.
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
	killed := time.Now()
	burst.waitRuns(t, 20, 5*time.Minute)
	col.Restart()
	chain.expectGaps(collectorDownGaps([]groundtruth.Window{collectorOutage(killed, time.Now())}))
	burst.waitRuns(t, 30, 5*time.Minute)
	burst.stop()
	until := gt.sync()

	c, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 3*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, c, true)
	if len(c.Gaps) > 0 {
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

// sealedTimeline is an actor's records from the test binary's audit index,
// each re-verified.
func sealedTimeline(t *testing.T, actor string) []record.Sealed {
	t.Helper()
	var out []record.Sealed
	for _, st := range indexTimeline(t, actor) {
		s, err := st.Sealed()
		if err != nil {
			t.Fatalf("record %s does not re-verify: %v", st.ID, err)
		}
		out = append(out, s)
	}
	return out
}
