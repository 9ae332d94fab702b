package bench

import (
	"github.com/e2l-project/e2l/internal/testimage"

	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// churnResult compares Docker's own event stream with the ledger.
type churnResult struct {
	Containers int     // docker run --rm that succeeded
	Emitted    int     // distinct recordable events Docker emitted in the window (ground truth)
	Committed  int     // of those, on the ledger exactly once
	Missing    int     // of those, not on the ledger
	Duplicated int     // extra copies on the ledger of ground-truth events
	Phantom    int     // event records in the window that Docker did not emit
	GapRecords int     // gap records the collector wrote during the run
	Dropped    float64 // the collector's own drop counter
	EventsPerS float64 // ground-truth events per second of churn
	P50, P99   float64 // event time to commit, ms, over every ground-truth event (+Inf: not committed)
	CPUPer1k   float64
	HWMMiB     float64
}

// Exact reports whether the ledger holds every ground-truth event exactly
// once and nothing else, with no gap.
func (c churnResult) Exact() bool {
	return c.Emitted > 0 && c.Committed == c.Emitted && c.Missing == 0 && c.Duplicated == 0 && c.Phantom == 0 && c.GapRecords == 0
}

// churnTruth is an unfiltered `docker events` subscription: every event,
// kept by key; the documented default filter (a copy of its rules in
// groundtruth, not the collector's code) is applied when it is read.
type churnTruth struct {
	mu     sync.Mutex
	events map[groundtruth.Key]bool
	marker map[string]int64 // volume name → its create event's time
	notify chan struct{}
}

func (c *churnTruth) add(ev dockerEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events[groundtruth.NewKey(ev.Type, ev.Action, ev.Actor.ID, ev.TimeNano)] = true
	if ev.Type == "volume" && ev.Action == "create" {
		c.marker[ev.Actor.ID] = ev.TimeNano
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// recorded returns the events the documented filter records, in [from, to].
func (c *churnTruth) recorded(from, to int64) []groundtruth.Key {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []groundtruth.Key
	for k := range c.events {
		if k.TimeNano >= from && k.TimeNano <= to && groundtruth.RecordedByDefault(k.Type, k.Action) {
			out = append(out, k)
		}
	}
	return out
}

// sync creates a volume (an event type the collector does not record) and
// waits until the subscription delivered it: every event before it is in.
// It returns the marker's time.
func (c *churnTruth) sync(ctx context.Context) (int64, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "e2l-bench-marker-" + hex.EncodeToString(b)
	if out, err := exec.CommandContext(ctx, "docker", "volume", "create", name).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("docker volume create: %w: %s", err, out)
	}
	defer func() { _ = exec.Command("docker", "volume", "rm", name).Run() }()
	deadline := time.After(time.Minute)
	for {
		c.mu.Lock()
		t, ok := c.marker[name]
		c.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-c.notify:
		case <-deadline:
			return 0, errors.New("the ground-truth subscription did not deliver its marker within a minute")
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// runChurn runs the real collector against the machine's Docker Engine
// while workers loop `docker run --rm` for duration, with a separate,
// unfiltered `docker events` subscription as ground truth, and compares the
// distinct events exactly (groundtruth.Compare, no gap excused).
func runChurn(ctx context.Context, w *ledgerWatch, bin string, id network.HostIdentity, dir string, duration time.Duration, workers int) (churnResult, error) {
	var res churnResult
	env := map[string]string{}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		env["E2L_DOCKER_HOST"] = h
	}
	p, err := startCollector(ctx, bin, id, dir, env)
	if err != nil {
		return res, err
	}
	defer func() { _ = p.stop(30 * time.Second) }()
	cpu0, err := procCPU(p.pid())
	if err != nil {
		return res, err
	}

	// Ground truth: a live subscription from now (since replays the
	// daemon's buffer, so nothing is missed while the CLI connects).
	start := time.Now()
	gctx, stopTruth := context.WithCancel(ctx)
	defer stopTruth()
	sub := exec.CommandContext(gctx, "docker", "events", "--since", fmt.Sprintf("%d.%09d", start.Unix(), start.Nanosecond()),
		"--format", "{{json .}}")
	out, err := sub.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := sub.Start(); err != nil {
		return res, fmt.Errorf("docker events: %w", err)
	}
	truth := &churnTruth{events: map[groundtruth.Key]bool{}, marker: map[string]int64{}, notify: make(chan struct{}, 1)}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev dockerEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				truth.add(ev)
			}
		}
	}()

	cctx, stopChurn := context.WithTimeout(ctx, duration)
	defer stopChurn()
	var runs atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for cctx.Err() == nil {
				if exec.CommandContext(cctx, "docker", "run", "--rm", "--network", "none", testimage.Name, "true").Run() == nil {
					runs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	churned := time.Since(start)
	end, err := truth.sync(ctx)
	stopTruth()
	_ = sub.Wait()
	<-readDone
	if err != nil {
		return res, err
	}
	want := truth.recorded(start.UnixNano(), end)
	res.Containers = int(runs.Load())
	res.EventsPerS = float64(len(want)) / churned.Seconds()

	compare := func() groundtruth.Comparison {
		var ledger []groundtruth.Key
		for _, c := range w.host(id.Host) {
			if c.Kind == record.KindEvent {
				ledger = append(ledger, groundtruth.NewKey(c.Type, c.Action, c.Actor, c.TimeNano))
			}
		}
		// No gap excuses anything here: a gap record fails the row by itself.
		return groundtruth.Compare(want, ledger, nil, groundtruth.Window{From: start.UnixNano(), To: end}, nil)
	}
	w.waitFor(ctx, 90*time.Second, func() bool { return compare().Complete() })
	cmp := compare()
	res.Emitted, res.Committed, res.Missing, res.Duplicated, res.Phantom =
		cmp.GroundTruth, cmp.Once, cmp.Missing, cmp.Duplicated, cmp.Phantom
	res.GapRecords = w.count(id.Host, record.KindGap)

	seen := map[groundtruth.Key]time.Time{}
	for _, c := range w.host(id.Host) {
		k := groundtruth.NewKey(c.Type, c.Action, c.Actor, c.TimeNano)
		if _, dup := seen[k]; c.Kind == record.KindEvent && !dup {
			seen[k] = c.Seen
		}
	}
	offers := make([]groundtruth.Offer, 0, len(want))
	for _, k := range want {
		offers = append(offers, groundtruth.Offer{At: time.Unix(0, k.TimeNano), Committed: seen[k]})
	}
	lat := groundtruth.Account(offers, start, time.Unix(0, end))
	res.P50, res.P99 = lat.P50, lat.P99
	cpu1, err := procCPU(p.pid())
	if err != nil {
		return res, err
	}
	if res.Committed > 0 {
		res.CPUPer1k = (cpu1 - cpu0).Seconds() / float64(res.Committed) * 1000
	}
	m, err := procMem(p.pid())
	if err != nil {
		return res, err
	}
	res.HWMMiB = m.HWM
	metrics, err := p.metrics()
	if err != nil {
		return res, fmt.Errorf("scrape the collector's metrics: %w", err)
	}
	res.Dropped = metrics["e2l_collector_watcher_events_dropped_total"]
	return res, nil
}
