//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

// stackMemoryLimit is deploy/swarm/stack.yml's memory limit of the
// collector, which equals the default spool bound (256 MiB).
const stackMemoryLimit = "256m"

// TestTheCollectorKeepsUpWithAFullSpoolUnderTheStacksMemoryLimit runs the
// collector binary in a container limited like the Swarm stack's task
// (--memory 256m, no swap) with the default spool bound (256 MiB of pending
// records), the ledger unreachable (its only peer endpoint is a relay not
// listening yet) and the benchmarks' synthetic event source faster than the
// spool can take. The spool fills to its bound (events beyond it become a
// spool-full gap), then the relay opens and the collector submits its
// backlog. It must not be OOM-killed and must keep committing: bbolt's
// mapped spool file is page cache the kernel reclaims under the cgroup's
// limit, and the anonymous memory (the heap) stays well below it.
func TestTheCollectorKeepsUpWithAFullSpoolUnderTheStacksMemoryLimit(t *testing.T) {
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	id := enrollHost(t, network.Provider, "it-mem", network.EnrollOptions{})
	bin := staticCollectorBin(t, "")
	spool := t.TempDir()
	listen := freeListenAddr(t)
	relayAddr := closedPort(t) // nothing listens: the ledger is unreachable
	peer := testNet.Peer(network.Provider)

	name := "e2l-it-mem-" + randomSuffix()
	netDir := testNet.Dir()
	args := []string{"run", "-d", "--name", name, "--network", "host",
		"--memory", stackMemoryLimit, "--memory-swap", stackMemoryLimit,
		"-v", bin + ":/e2l-collector:ro", "-v", netDir + ":" + netDir + ":ro", "-v", spool + ":/spool",
		"--entrypoint", "/e2l-collector"}
	for _, kv := range id.Env {
		switch kv.Key {
		case "E2L_PEER_ENDPOINTS", "E2L_CLOCK_URLS", "E2L_ORG_CA":
		default:
			args = append(args, "-e", kv.Key+"="+kv.Value)
		}
	}
	args = append(args, "-e", "E2L_PEER_ENDPOINTS="+relayAddr, "-e", "E2L_PEER_TLS_SERVER_NAME="+peer.Name,
		"-e", "E2L_SPOOL_DIR=/spool", "-e", "E2L_LISTEN="+listen,
		// Faster than the spool takes them, and enough to pass its bound
		// (about a million records of this size).
		"-e", "E2L_DOCKER_HOST=synthetic://?rate=50000&count=1400000",
		"e2l-testbox:test")
	mustDocker(t, "", args...)
	t.Cleanup(func() {
		ctx := context.WithoutCancel(t.Context())
		if t.Failed() {
			logs, _ := docker(ctx, "", "logs", "--tail", "30", name)
			t.Logf("collector log (last lines):\n%s", logs)
		}
		_, _ = docker(ctx, "", "rm", "-f", name)
	})
	c := &collectorProc{t: t, listen: listen}
	mem := newCgroupMemory(t, name)

	start := time.Now()
	var peak memorySample
	sample := func() {
		s := mem.sample()
		peak = peak.max(s)
		if oom, _ := docker(t.Context(), "", "inspect", "-f", "{{.State.OOMKilled}} {{.State.Running}}", name); oom != "false true" {
			t.Fatalf("the collector's container: OOMKilled Running = %s after %s; memory %s", oom, time.Since(start).Round(time.Second), s)
		}
	}
	eventually(t, 6*time.Minute, 2*time.Second, func() error {
		sample()
		m, err := c.Metrics()
		if err != nil {
			return err
		}
		full := m["e2l_collector_spool_refused_records_total"]
		if full == 0 || m["e2l_collector_spool_pending_bytes"] < 0.95*m["e2l_collector_spool_max_bytes"] {
			return fmt.Errorf("spool not full yet: %.0f of %.0f bytes pending, %.0f records refused", m["e2l_collector_spool_pending_bytes"], m["e2l_collector_spool_max_bytes"], full)
		}
		return nil
	})
	full, _ := c.Metrics()
	fillTime := time.Since(start)
	atFull := mem.sample()
	t.Logf("spool full after %s: %.0f records, %.0f MiB pending (bound %.0f MiB), %.0f records refused; cgroup memory %s; peak %s",
		fillTime.Round(time.Second), full["e2l_collector_spool_pending_records"], full["e2l_collector_spool_pending_bytes"]/(1<<20),
		full["e2l_collector_spool_max_bytes"]/(1<<20), full["e2l_collector_spool_refused_records_total"], atFull, peak)

	// The ledger comes back: the backlog drains under the same limit. The
	// rate is measured from the first commit (gRPC's reconnection backoff
	// after a long outage comes first).
	tcpRelay(t, relayAddr, peer.Endpoint)
	back := time.Now()
	committed0 := full["e2l_collector_ledger_committed_records_total"]
	var first time.Time
	var atFirst float64
	const want = 5000
	var last map[string]float64
	eventually(t, 4*time.Minute, time.Second, func() error {
		sample()
		m, err := c.Metrics()
		if err != nil {
			return err
		}
		last = m
		got := m["e2l_collector_ledger_committed_records_total"]
		if first.IsZero() && got > committed0 {
			first, atFirst = time.Now(), got
		}
		if first.IsZero() || got-atFirst < want {
			return fmt.Errorf("%.0f records committed since the ledger came back, waiting for %d after the first commit", got-committed0, want)
		}
		return nil
	})
	drained := last["e2l_collector_ledger_committed_records_total"] - atFirst
	rate := drained / time.Since(first).Seconds()
	t.Logf("ledger back: first commit after %s, then %.0f records in %s (%.0f records/s; the %.0f pending would take about %s); cgroup memory now %s; peak over the run %s",
		first.Sub(back).Round(time.Second), drained, time.Since(first).Round(time.Second), rate, last["e2l_collector_spool_pending_records"],
		(time.Duration(last["e2l_collector_spool_pending_records"]/rate) * time.Second).Round(time.Minute), mem.sample(), peak)
	if last["e2l_collector_spool_dead_lettered_records_total"] != 0 {
		t.Errorf("%.0f records dead-lettered", last["e2l_collector_spool_dead_lettered_records_total"])
	}
	if peak.anon >= 200<<20 {
		t.Errorf("the collector's anonymous memory peaked at %d MiB: too close to the %s limit for the page cache to absorb the spool", peak.anon>>20, stackMemoryLimit)
	}
}

// staticCollectorBin builds the collector statically (a FROM scratch
// container has no libc), stamped with version when it is not empty.
func staticCollectorBin(t *testing.T, version string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "e2l-collector")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	ldflags := "-s -w"
	if version != "" {
		ldflags += " -X github.com/e2l-project/e2l/internal/buildinfo.Version=" + version
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/e2l-collector")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the collector: %v\n%s", err, b)
	}
	return out
}

// memorySample is a container's memory as its cgroup accounts it.
type memorySample struct {
	usage, anon, cache, mappedFile int64
	failcnt                        int64 // times the limit was hit (cgroup v1)
}

func (s memorySample) String() string {
	return fmt.Sprintf("usage %d MiB (anon %d, page cache %d of which mapped %d; failcnt %d)",
		s.usage>>20, s.anon>>20, s.cache>>20, s.mappedFile>>20, s.failcnt)
}

func (s memorySample) max(o memorySample) memorySample {
	return memorySample{usage: max(s.usage, o.usage), anon: max(s.anon, o.anon), cache: max(s.cache, o.cache),
		mappedFile: max(s.mappedFile, o.mappedFile), failcnt: max(s.failcnt, o.failcnt)}
}

// cgroupMemory reads a container's memory cgroup (v1 or v2).
type cgroupMemory struct {
	t   *testing.T
	dir string
	v2  bool
}

func newCgroupMemory(t *testing.T, container string) *cgroupMemory {
	t.Helper()
	full := mustDocker(t, "", "inspect", "-f", "{{.Id}}", container)
	for _, c := range []cgroupMemory{
		{dir: "/sys/fs/cgroup/memory/docker/" + full},
		{dir: "/sys/fs/cgroup/system.slice/docker-" + full + ".scope", v2: true},
		{dir: "/sys/fs/cgroup/docker/" + full, v2: true},
	} {
		if _, err := os.Stat(c.dir); err == nil {
			c.t = t
			return &c
		}
	}
	t.Fatalf("no memory cgroup found for container %s", full)
	return nil
}

func (c *cgroupMemory) sample() memorySample {
	c.t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(c.dir, name))
		if err != nil {
			c.t.Fatalf("cgroup: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	stat := map[string]int64{}
	for line := range strings.SplitSeq(read("memory.stat"), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			stat[k] = num(v)
		}
	}
	if c.v2 {
		return memorySample{usage: num(read("memory.current")), anon: stat["anon"], cache: stat["file"], mappedFile: stat["file_mapped"]}
	}
	return memorySample{usage: num(read("memory.usage_in_bytes")), anon: stat["rss"], cache: stat["cache"],
		mappedFile: stat["mapped_file"], failcnt: num(read("memory.failcnt"))}
}
