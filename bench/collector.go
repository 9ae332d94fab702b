package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/e2l-project/e2l/internal/promtext"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
	"github.com/e2l-project/e2l/network"
)

// collectorProc is a running e2l-collector binary.
type collectorProc struct {
	cmd    *exec.Cmd
	listen string
	log    string
	done   chan error
}

// startCollector runs the collector binary as host id with its
// collector.env plus env (E2L_* overrides); its log goes to dir/collector.log.
// It returns once the collector's Docker event stream is up.
func startCollector(ctx context.Context, bin string, id network.HostIdentity, dir string, env map[string]string) (*collectorProc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, e := range id.Env {
		vars[e.Key] = e.Value
	}
	vars["E2L_SPOOL_DIR"] = filepath.Join(dir, "spool")
	vars["E2L_LISTEN"] = listen
	vars["E2L_LOG_LEVEL"] = "warn"
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(dir, "collector.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &collectorProc{cmd: cmd, listen: listen, log: logPath, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logf.Close()
	}()
	if err := p.waitMetric(ctx, time.Minute, func(m map[string]float64) bool {
		return m["e2l_collector_docker_stream_up"] == 1
	}); err != nil {
		_ = p.stop(30 * time.Second)
		return nil, err
	}
	return p, nil
}

func (p *collectorProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits up to timeout, then kills.
func (p *collectorProc) stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("collector did not stop in time: killed")
	}
}

// logTail returns the last lines of the collector's log.
func (p *collectorProc) logTail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-8):], "\n")
}

// metrics scrapes /metrics into series (name{labels} as printed) → value.
func (p *collectorProc) metrics() (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + p.listen + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return promtext.Parse(resp.Body)
}

// waitMetric polls the collector's metrics until cond holds.
func (p *collectorProc) waitMetric(ctx context.Context, timeout time.Duration, cond func(map[string]float64) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		m, err := p.metrics()
		if err == nil && cond(m) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector: condition not met after %s (last error %v); log:\n%s", timeout, err, p.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("collector exited: %v; log:\n%s", err, p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// loadResult is one collector run under a synthetic load.
type loadResult struct {
	Offered      float64 // events/s asked of the synthetic source
	EventsPerS   float64 // events committed per second in the measuring window
	P50, P99     float64 // ms from each event's due time to its commit seen by the listener, over every event due in the window (+Inf: not committed)
	LatencyN     int     // events due in the window (the latency's population)
	Late         int     // of those, committed after the window
	NotCommitted int     // of those, not committed when the run ended
	SourceLagMs  float64 // the most an event's timeNano lagged its due time (the source held back)
	CPUPer1k     float64 // collector CPU seconds per 1,000 events committed in the window
	RSSMiB       float64 // at the end of the window
	HWMMiB       float64 // peak RSS (VmHWM)
	Committed    int     // events committed (all of them when drained)
	Emitted      int     // events the source generated
	Dropped      float64 // events_dropped_total of the watcher
	DrainedAll   bool
	RefusedSpool float64
}

// loadSpec says how to run the collector.
type loadSpec struct {
	bin      string
	id       network.HostIdentity
	dir      string
	env      map[string]string // e.g. E2L_BATCH_MAX
	rate     float64
	duration time.Duration
	warmup   time.Duration
	// drain: how long to wait after the window for the events due in it to
	// commit (counted late); those still pending then are not committed.
	drain time.Duration
}

// runLoad runs the collector against a synthetic source at spec.rate for
// spec.duration and measures in [warmup, duration] (measureWindow, as the
// Gateway ceiling).
//
// Latency is taken from each event's due time, not from its timeNano: the
// source generates event n when n/rate seconds of its stream have passed,
// so its due time is the stream's start + n/rate, and an event generated
// late (the source held back by a blocking send) or never (dropped on the
// way) still counts from when it was due: no coordinated omission. The
// stream's start is estimated as the smallest timeNano - n/rate over the
// committed events (a timeNano is never earlier than its due time).
func runLoad(ctx context.Context, w *ledgerWatch, spec loadSpec) (loadResult, error) {
	count := int(spec.rate * spec.duration.Seconds())
	env := map[string]string{"E2L_DOCKER_HOST": fmt.Sprintf("synthetic://?rate=%g&count=%d", spec.rate, count)}
	for k, v := range spec.env {
		env[k] = v
	}
	p, err := startCollector(ctx, spec.bin, spec.id, spec.dir, env)
	if err != nil {
		return loadResult{}, err
	}
	defer func() { _ = p.stop(30 * time.Second) }()
	host := spec.id.Host
	t0 := time.Now()
	from, to := t0.Add(spec.warmup), t0.Add(spec.duration)
	sleep(ctx, spec.warmup)
	cpu0, err := procCPU(p.pid())
	if err != nil {
		return loadResult{}, err
	}
	sleep(ctx, time.Until(to))
	cpu1, err := procCPU(p.pid())
	if err != nil {
		return loadResult{}, err
	}
	mem, err := procMem(p.pid())
	if err != nil {
		return loadResult{}, err
	}
	res := loadResult{Offered: spec.rate, RSSMiB: mem.RSS, HWMMiB: mem.HWM, Emitted: count}
	res.DrainedAll = w.waitFor(ctx, spec.drain, func() bool { return w.count(host, record.KindEvent) >= count })
	if mem, err := procMem(p.pid()); err == nil {
		res.HWMMiB = mem.HWM
	}
	m, err := p.metrics()
	if err != nil {
		return res, fmt.Errorf("scrape the collector's metrics: %w", err)
	}
	res.Dropped = m["e2l_collector_watcher_events_dropped_total"]
	res.RefusedSpool = m["e2l_collector_spool_refused_records_total"]
	res.Emitted = int(m["e2l_collector_docker_events_received_total"])

	recs := w.host(host)
	res.Committed = w.count(host, record.KindEvent)
	offers, lag := syntheticOffers(recs, spec.rate, count, t0)
	win := measureWindow(recs, offers, from, to)
	res.EventsPerS = win.PerS
	res.P50, res.P99 = win.Latency.P50, win.Latency.P99
	res.LatencyN, res.Late, res.NotCommitted = win.Latency.Offered, win.Latency.Late, win.Latency.NotCommitted
	res.SourceLagMs = float64(lag) / float64(time.Millisecond)
	if win.Committed > 0 {
		res.CPUPer1k = (cpu1 - cpu0).Seconds() / float64(win.Committed) * 1000
	}
	return res, nil
}

// syntheticIndex is the number n of a dockerwatch.Synthetic event: the
// source makes container n/4 (its ID the hex of n/4) go through create,
// start, die, destroy.
func syntheticIndex(actor, action string) (int64, bool) {
	c, err := strconv.ParseInt(actor, 16, 64) // leading zeros are fine
	if err != nil || len(actor) != 64 {
		return 0, false
	}
	i := slices.Index([]string{"create", "start", "die", "destroy"}, action)
	if i < 0 {
		return 0, false
	}
	return 4*c + int64(i), true
}

// syntheticOffers returns the count events a synthetic source of rate
// offers, each due at start + n/rate and committed when the listener saw it
// (recs: the host's records), with start estimated from the committed events
// (fallback: t0, the time the stream was open); and the largest lag of an
// event's timeNano behind its due time.
func syntheticOffers(recs []committed, rate float64, count int, t0 time.Time) ([]groundtruth.Offer, time.Duration) {
	due := func(n int64) time.Duration { return time.Duration(float64(n) / rate * float64(time.Second)) }
	seen := map[int64]committed{}
	var start int64
	for _, c := range recs {
		n, ok := syntheticIndex(c.Actor, c.Action)
		if c.Kind != record.KindEvent || !ok {
			continue
		}
		if _, dup := seen[n]; !dup {
			seen[n] = c
		}
		if s := c.TimeNano - int64(due(n)); start == 0 || s < start {
			start = s
		}
	}
	if start == 0 {
		start = t0.UnixNano()
	}
	var lag time.Duration
	offers := make([]groundtruth.Offer, count)
	for n := range int64(count) {
		at := time.Unix(0, start).Add(due(n))
		offers[n] = groundtruth.Offer{At: at}
		if c, ok := seen[n]; ok {
			offers[n].Committed = c.Seen
			lag = max(lag, time.Unix(0, c.TimeNano).Sub(at))
		}
	}
	return offers, lag
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
