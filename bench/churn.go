package bench

import (
	"github.com/e2l-project/e2l/internal/testimage"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// churnResult compares Docker's own event stream with the ledger.
type churnResult struct {
	Containers int     // docker run --rm that succeeded
	Emitted    int     // recordable events Docker emitted in the window (ground truth)
	Committed  int     // of those, found on the ledger
	Missing    int     // Emitted - Committed: dropped somewhere
	Dropped    float64 // the collector's own drop counter
	Gaps       float64 // gap records the collector wrote
	EventsPerS float64 // ground-truth events per second of churn
	P50, P99   float64 // event time to commit, ms
	CPUPer1k   float64
	HWMMiB     float64
}

// runChurn runs the real collector against the machine's Docker Engine
// while workers loop `docker run --rm` for duration, with a separate
// `docker events` subscription as ground truth.
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
	cpu0, _ := procCPU(p.pid())

	// Ground truth: a live subscription from now (since replays the
	// daemon's buffer, so nothing is missed while the CLI connects).
	start := time.Now()
	gctx, stopTruth := context.WithCancel(ctx)
	defer stopTruth()
	truth := exec.CommandContext(gctx, "docker", "events", "--since", fmt.Sprintf("%d.%09d", start.Unix(), start.Nanosecond()),
		"--format", "{{json .}}")
	out, err := truth.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := truth.Start(); err != nil {
		return res, fmt.Errorf("docker events: %w", err)
	}
	filter := dockerwatch.DefaultFilter()
	var mu sync.Mutex
	want := map[string]int64{} // actor\x00action\x00timeNano → timeNano
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var ev dockerEvent
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			base, _, _ := strings.Cut(ev.Action, ":")
			if ev.TimeNano < start.UnixNano() || !filter.Match(ev.Type, strings.TrimSpace(base)) {
				continue
			}
			mu.Lock()
			want[ev.Actor.ID+"\x00"+strings.TrimSpace(base)+"\x00"+strconv.FormatInt(ev.TimeNano, 10)] = ev.TimeNano
			mu.Unlock()
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
	// Let the ground-truth subscription deliver the last events.
	sleep(ctx, 2*time.Second)
	stopTruth()
	_ = truth.Wait()
	<-readDone
	res.Containers = int(runs.Load())
	res.Emitted = len(want)
	res.EventsPerS = float64(res.Emitted) / churned.Seconds()

	key := func(c committed) string {
		return c.Actor + "\x00" + c.Action + "\x00" + strconv.FormatInt(c.Time, 10)
	}
	found := func() (int, []time.Duration) {
		n := 0
		var lat []time.Duration
		for _, c := range w.host(id.Host) {
			if c.Kind != record.KindEvent {
				continue
			}
			if _, ok := want[key(c)]; ok {
				n++
				lat = append(lat, c.Seen.Sub(time.Unix(0, c.Time)))
			}
		}
		return n, lat
	}
	w.waitFor(ctx, 90*time.Second, func() bool { n, _ := found(); return n >= len(want) })
	n, lat := found()
	res.Committed, res.Missing = n, len(want)-n
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)
	if cpu1, err := procCPU(p.pid()); err == nil && n > 0 {
		res.CPUPer1k = (cpu1 - cpu0).Seconds() / float64(n) * 1000
	}
	if m, err := procMem(p.pid()); err == nil {
		res.HWMMiB = m.HWM
	}
	if m, err := p.metrics(); err == nil {
		res.Dropped = sumPrefix(m, "e2l_collector_watcher_events_dropped_total")
		res.Gaps = sumPrefix(m, "e2l_collector_watcher_gaps_total")
	}
	return res, nil
}
