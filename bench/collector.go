package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/e2l-project/e2l/internal/record"
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
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sumPrefix adds the series whose name{labels} starts with prefix.
func sumPrefix(m map[string]float64, prefix string) float64 {
	var s float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			s += v
		}
	}
	return s
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
	P50, P99     float64 // event time to commit seen by the block listener, ms
	CPUPer1k     float64 // collector CPU seconds per 1,000 events committed in the window
	RSSMiB       float64 // at the end of the window
	HWMMiB       float64 // peak RSS (VmHWM)
	Committed    int     // events committed (all of them when drained)
	Emitted      int     // events the source generated
	Dropped      float64 // events_dropped_total of the watcher
	Samples      int     // latency samples
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
	drain    time.Duration // > 0: wait this long for every event to commit
}

// runLoad runs the collector against a synthetic source at spec.rate for
// spec.duration and measures in [warmup, duration].
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
	sleep(ctx, spec.warmup)
	cpu0, err := procCPU(p.pid())
	if err != nil {
		return loadResult{}, err
	}
	c0 := w.count(host, record.KindEvent)
	tw := time.Now()
	sleep(ctx, spec.duration-spec.warmup)
	cpu1, err := procCPU(p.pid())
	if err != nil {
		return loadResult{}, err
	}
	c1 := w.count(host, record.KindEvent)
	window := time.Since(tw)
	mem, _ := procMem(p.pid())
	res := loadResult{Offered: spec.rate, RSSMiB: mem.RSS, HWMMiB: mem.HWM, Emitted: count}
	res.EventsPerS = float64(c1-c0) / window.Seconds()
	if c1 > c0 {
		res.CPUPer1k = (cpu1 - cpu0).Seconds() / float64(c1-c0) * 1000
	}
	var lat []time.Duration
	for _, c := range w.host(host) {
		if c.Kind == record.KindEvent && c.Seen.After(t0.Add(spec.warmup)) && !c.Seen.After(t0.Add(spec.duration)) {
			lat = append(lat, c.Seen.Sub(time.Unix(0, c.Time)))
		}
	}
	res.P50, res.P99, res.Samples = percentile(lat, 50), percentile(lat, 99), len(lat)
	if spec.drain > 0 {
		res.DrainedAll = w.waitFor(ctx, spec.drain, func() bool { return w.count(host, record.KindEvent) >= count })
		if mem, err := procMem(p.pid()); err == nil {
			res.HWMMiB = mem.HWM
		}
	}
	res.Committed = w.count(host, record.KindEvent)
	if m, err := p.metrics(); err == nil {
		res.Dropped = sumPrefix(m, "e2l_collector_watcher_events_dropped_total")
		res.RefusedSpool = sumPrefix(m, "e2l_collector_spool_refused_records_total")
		res.Emitted = int(sumPrefix(m, "e2l_collector_docker_events_received_total"))
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
