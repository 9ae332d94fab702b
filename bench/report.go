package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/testkit/groundtruth"
)

// Part names: the four configurations, then the other measurements.
const (
	PaperCLI          = "paper-cli"
	GatewayCeiling    = "gateway-ceiling"
	GatewayCeilingEnd = "gateway-ceiling-end" // the ceiling again after the collector runs
	CollectorOnePerTx = "collector-1-per-tx"
	CollectorBatched  = "collector-batched"
	SpoolPart         = "spool"
	ChurnPart         = "real-docker"
)

// Result is one configuration in docs/benchmarks.json.
type Result struct {
	Name            string  `json:"name"`
	EventsPerS      float64 `json:"events_per_s"`
	P50ms           ms      `json:"p50_ms"` // null: the rank falls on an event not committed
	P99ms           ms      `json:"p99_ms"`
	LatencyEvents   int     `json:"latency_events,omitempty"` // events (transactions) due in the window: the latency's population
	Late            int     `json:"committed_late,omitempty"` // of those, committed after the window
	NotCommitted    int     `json:"not_committed,omitempty"`  // of those, not committed when the run ended (+Inf in the percentiles)
	CPUPer1k        float64 `json:"cpu_s_per_1k_events"`
	CPUBasis        string  `json:"cpu_basis"`
	PeakRSSMiB      float64 `json:"peak_rss_mib"`
	RSSBasis        string  `json:"rss_basis"`
	Cores           int     `json:"cores"`
	LoadAvg         string  `json:"load_avg"`
	BatchTimeoutMs  int64   `json:"batch_timeout_ms"`
	Method          string  `json:"method"`
	Events          int     `json:"events"`           // events (or transactions) measured
	Failed          int     `json:"failed,omitempty"` // invokes or transactions that failed
	OfferedPerS     float64 `json:"offered_per_s,omitempty"`
	InFlight        int     `json:"in_flight,omitempty"`
	MaxBatch        int     `json:"max_batch,omitempty"`
	HalfOfferedPerS float64 `json:"half_load_offered_per_s,omitempty"`
	HalfEventsPerS  float64 `json:"half_load_events_per_s,omitempty"`
	HalfP50ms       ms      `json:"half_load_p50_ms,omitempty"`
	HalfP99ms       ms      `json:"half_load_p99_ms,omitempty"`
	HalfNotCommit   *int    `json:"half_load_not_committed,omitempty"`
	SourceLagMs     float64 `json:"synthetic_source_max_lag_ms,omitempty"` // the most an event's timeNano lagged its due time
	HalfAllCommit   *bool   `json:"half_load_all_committed,omitempty"`
	HalfDropped     *int    `json:"half_load_dropped,omitempty"`
	FullCPUPer1k    float64 `json:"full_load_cpu_s_per_1k_events,omitempty"`
	Saturated       *bool   `json:"full_load_saturated,omitempty"` // committed < 90 % of offered
	SteadyRSSMiB    float64 `json:"steady_rss_mib,omitempty"`

	// collector-batched only: spool and real Docker.
	SpoolIngestPerS      float64 `json:"spool_ingest_events_per_s,omitempty"`
	SpooledRecords       float64 `json:"spooled_records,omitempty"`
	SpooledIngestPerS    float64 `json:"spooled_binary_ingest_events_per_s,omitempty"`
	SpooledRSSMiB        float64 `json:"spooled_rss_mib,omitempty"`
	SpooledRSSAnonMiB    float64 `json:"spooled_rss_anon_mib,omitempty"`
	SpooledRSSFileMiB    float64 `json:"spooled_rss_file_mib,omitempty"`
	SpooledHWMMiB        float64 `json:"spooled_peak_rss_mib,omitempty"`
	SpoolFileMiB         float64 `json:"spooled_file_mib,omitempty"`
	DockerContainers     int     `json:"real_docker_containers,omitempty"`
	DockerEmitted        int     `json:"real_docker_events_emitted,omitempty"`
	DockerCommitted      int     `json:"real_docker_events_committed,omitempty"`
	DockerMissing        *int    `json:"real_docker_events_dropped,omitempty"`
	DockerDuplicated     *int    `json:"real_docker_events_duplicated,omitempty"`
	DockerPhantom        *int    `json:"real_docker_events_phantom,omitempty"`
	DockerGapRecords     *int    `json:"real_docker_gap_records,omitempty"`
	DockerCollectorDrops *int    `json:"real_docker_collector_drop_counter,omitempty"`
	DockerEventsPerS     float64 `json:"real_docker_events_per_s,omitempty"`
	DockerP50ms          ms      `json:"real_docker_p50_ms,omitempty"`
	DockerP99ms          ms      `json:"real_docker_p99_ms,omitempty"`
	DockerLoadAvg        string  `json:"real_docker_load_avg,omitempty"`

	RunAt   string `json:"run_at"`
	Machine string `json:"machine"`
}

// Report is a whole run.
type Report struct {
	cfg              Config
	Results          map[string]*Result
	Spool            struct{ IngestEventsPerS float64 }
	spooledRes       *spooledResult
	churnRes         *churnResult
	churnLoad        string
	Index            *indexResult
	NetworkUpSeconds float64
	StartLoad        string
	EndLoad          string
	Machine          string
	RunAt            time.Time
}

func newReport(cfg Config) *Report {
	return &Report{cfg: cfg, Results: map[string]*Result{}, StartLoad: loadAvg(), Machine: machine(), RunAt: time.Now().UTC()}
}

func (r *Report) result(name string) *Result {
	res, ok := r.Results[name]
	if !ok {
		res = &Result{Name: name, Cores: runtime.NumCPU(), BatchTimeoutMs: r.cfg.BatchTimeout.Milliseconds(),
			RunAt: r.RunAt.Format(time.RFC3339), Machine: r.Machine}
		r.Results[name] = res
	}
	return res
}

func (r *Report) paper(p paperResult, load string) {
	res := r.result(PaperCLI)
	res.Method = "docker events piped into one `peer chaincode invoke --waitForEvent` per event (host identity, --peerAddresses of 2 orgs), sequential; " +
		"latency = Docker's event time to the invoke's return: an event waits in the pipe for every earlier invoke, so it is mostly queueing and grows with the number of events"
	res.LoadAvg = load
	res.Events, res.Failed = p.Events, p.Failed
	if p.Elapsed > 0 {
		res.EventsPerS = round(float64(p.Committed)/p.Elapsed.Seconds(), 2)
	}
	res.P50ms, res.P99ms = ms(round(groundtruth.Percentile(p.Latencies, p.Events, 50), 0)), ms(round(groundtruth.Percentile(p.Latencies, p.Events, 99), 0))
	res.LatencyEvents, res.NotCommitted = p.Events, p.Events-p.Committed
	if p.Events > 0 {
		res.CPUPer1k = round(p.CPU.Seconds()/float64(p.Events)*1000, 1)
	}
	res.CPUBasis = "peer CLI processes (rusage of the children), per event invoked"
	res.PeakRSSMiB, res.RSSBasis = round(p.MaxRSSMiB, 1), "largest peer CLI process (ru_maxrss)"
}

func (r *Report) ceiling(name string, c ceilingResult, inFlight int, load string) {
	res := r.result(name)
	res.Method = "fabric-gateway SubmitAsync + commit Status, one record per transaction, one host, closed loop; " +
		"window, counting and latency as the collector rows (commits seen by the block listener after the warm-up; every transaction submitted in the window)"
	if name == GatewayCeilingEnd {
		res.Method += "; measured again after the collector runs, on the ledger they grew (the targets compare with the first ceiling)"
	}
	res.LoadAvg, res.InFlight, res.MaxBatch = load, inFlight, 1
	win := c.window
	res.Events, res.Failed = win.Committed, c.failed
	res.EventsPerS = round(win.PerS, 1)
	res.P50ms, res.P99ms = ms(round(win.Latency.P50, 0)), ms(round(win.Latency.P99, 0))
	res.LatencyEvents, res.Late, res.NotCommitted = win.Latency.Offered, win.Latency.Late, win.Latency.NotCommitted
	if win.Committed > 0 {
		res.CPUPer1k = round(c.cpu.Seconds()/float64(win.Committed)*1000, 2)
	}
	res.CPUBasis = "bench process (load generator and block listener, rusage) from the warm-up's end, per transaction committed in the window"
	if m, err := procMem(os.Getpid()); err == nil {
		res.PeakRSSMiB = round(m.HWM, 1)
	}
	res.RSSBasis = "bench process VmHWM (load generator and block listener)"
}

func (r *Report) collector(name string, env map[string]string, full, half loadResult, load string) {
	res := r.result(name)
	res.Method = "e2l-collector binary, synthetic:// Docker source (the real watcher, spool, submitter, gateway); latency from the block listener"
	res.LoadAvg = load
	def := config.Defaults(func(string) string { return "" })
	res.MaxBatch, res.InFlight = def.BatchMax, def.MaxInFlight
	if v, ok := env["E2L_BATCH_MAX"]; ok {
		fmt.Sscan(v, &res.MaxBatch)
	}
	if v, ok := env["E2L_MAX_IN_FLIGHT"]; ok {
		fmt.Sscan(v, &res.InFlight)
	}
	res.OfferedPerS = full.Offered
	res.Events = full.Committed
	res.EventsPerS = round(full.EventsPerS, 1)
	res.P50ms, res.P99ms = ms(round(full.P50, 0)), ms(round(full.P99, 0))
	res.LatencyEvents, res.Late, res.NotCommitted = full.LatencyN, full.Late, full.NotCommitted
	res.SourceLagMs = round(max(full.SourceLagMs, half.SourceLagMs), 0)
	res.FullCPUPer1k = round(full.CPUPer1k, 3)
	sat := full.EventsPerS < 0.9*full.Offered
	res.Saturated = &sat
	res.HalfOfferedPerS = round(half.Offered, 1)
	res.HalfEventsPerS = round(half.EventsPerS, 1)
	res.HalfP50ms, res.HalfP99ms = ms(round(half.P50, 0)), ms(round(half.P99, 0))
	halfNot := half.NotCommitted
	res.HalfNotCommit = &halfNot
	all := half.DrainedAll
	res.HalfAllCommit = &all
	dropped := half.Emitted - half.Committed
	res.HalfDropped = &dropped
	res.CPUPer1k = round(half.CPUPer1k, 3)
	res.CPUBasis = "collector process /proc utime+stime over the half-load window, per event committed (full-load figure in full_load_cpu_s_per_1k_events)"
	res.PeakRSSMiB = round(max(full.HWMMiB, half.HWMMiB), 1)
	res.SteadyRSSMiB = round(half.RSSMiB, 1)
	res.RSSBasis = "collector process VmHWM over both runs; steady_rss_mib: VmRSS at the end of the half-load window"
}

func (r *Report) spooled(s spooledResult) {
	r.spooledRes = &s
}

func (r *Report) churn(c churnResult, load string) {
	r.churnRes, r.churnLoad = &c, load
}

func (r *Report) finish(int) {
	r.EndLoad = loadAvg()
	res := r.result(CollectorBatched)
	res.SpoolIngestPerS = round(r.Spool.IngestEventsPerS, 0)
	if s := r.spooledRes; s != nil {
		res.SpooledRecords, res.SpooledIngestPerS = s.Records, round(s.EventsPerS, 0)
		res.SpooledRSSMiB, res.SpooledRSSAnonMiB, res.SpooledRSSFileMiB = round(s.RSS, 1), round(s.Anon, 1), round(s.File, 1)
		res.SpooledHWMMiB, res.SpoolFileMiB = round(s.HWM, 1), round(s.SpoolFileMiB, 0)
	}
	if c := r.churnRes; c != nil {
		res.DockerContainers, res.DockerEmitted, res.DockerCommitted = c.Containers, c.Emitted, c.Committed
		missing, drops, dup, phantom, gaps := c.Missing, int(c.Dropped), c.Duplicated, c.Phantom, c.GapRecords
		res.DockerMissing, res.DockerCollectorDrops = &missing, &drops
		res.DockerDuplicated, res.DockerPhantom, res.DockerGapRecords = &dup, &phantom, &gaps
		res.DockerEventsPerS = round(c.EventsPerS, 1)
		res.DockerP50ms, res.DockerP99ms = ms(round(c.P50, 0)), ms(round(c.P99, 0))
		res.DockerLoadAvg = r.churnLoad
	}
}

// List returns the configurations in their fixed order (those measured).
func (r *Report) List() []*Result {
	var out []*Result
	for _, n := range []string{PaperCLI, GatewayCeiling, CollectorOnePerTx, CollectorBatched, GatewayCeilingEnd} {
		if res, ok := r.Results[n]; ok && (res.Method != "" || n == CollectorBatched && (res.SpoolIngestPerS > 0 || res.DockerEmitted > 0)) {
			out = append(out, res)
		}
	}
	return out
}

// WriteJSON writes the list of configurations.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r.List(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func (r *Report) ratio(a, b string) (float64, bool) {
	ra, ok1 := r.Results[a]
	rb, ok2 := r.Results[b]
	if !ok1 || !ok2 || rb.EventsPerS == 0 || ra.Method == "" || rb.Method == "" {
		return 0, false
	}
	return ra.EventsPerS / rb.EventsPerS, true
}

func f[T ~float64](x T, d int) string {
	v := float64(x)
	switch {
	case v == 0:
		return "-"
	case math.IsInf(v, 1):
		return "∞" // the rank falls on an event not committed
	}
	return fmt.Sprintf("%.*f", d, v)
}

// ms is a latency in milliseconds; +Inf (a percentile whose rank falls on
// an event not committed) is written to JSON as null.
type ms float64

func (m ms) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(m), 0) || math.IsNaN(float64(m)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(m))
}

// Table writes the results table and the ratios.
func (r *Report) Table(w io.Writer) {
	fmt.Fprintf(w, "e2l benchmarks %s  (%d cores; batch timeout %s; load average at start %s, at end %s)\n\n",
		r.RunAt.Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), r.cfg.BatchTimeout, r.StartLoad, r.EndLoad)
	fmt.Fprintf(w, "| %-19s | %9s | %8s | %8s | %11s | %11s | %10s | %9s | %14s |\n",
		"configuration", "events/s", "p50 ms", "p99 ms", "half p50 ms", "half p99 ms", "CPU s/1k", "peak RSS", "load avg")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|%s|\n", strings.Repeat("-", 21), strings.Repeat("-", 10), strings.Repeat("-", 9),
		strings.Repeat("-", 9), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 11), strings.Repeat("-", 10), strings.Repeat("-", 16))
	for _, res := range r.List() {
		if res.Method == "" {
			continue
		}
		fmt.Fprintf(w, "| %-19s | %9s | %8s | %8s | %11s | %11s | %10s | %9s | %14s |\n", res.Name,
			f(res.EventsPerS, 1), f(res.P50ms, 0), f(res.P99ms, 0), f(res.HalfP50ms, 0), f(res.HalfP99ms, 0),
			f(res.CPUPer1k, 3), f(res.PeakRSSMiB, 1)+" MiB", res.LoadAvg)
	}
	fmt.Fprintln(w)
	for _, res := range r.List() {
		if res.LatencyEvents > 0 {
			fmt.Fprintf(w, "latency population %s: %d due in the window, %d committed after it, %d not committed (∞)%s\n",
				res.Name, res.LatencyEvents, res.Late, res.NotCommitted, halfNotCommitted(res))
		}
	}
	fmt.Fprintln(w)
	for _, p := range [][2]string{{CollectorOnePerTx, GatewayCeiling}, {CollectorBatched, GatewayCeiling}, {CollectorBatched, PaperCLI}, {CollectorOnePerTx, PaperCLI},
		{GatewayCeilingEnd, GatewayCeiling}, {CollectorOnePerTx, GatewayCeilingEnd}, {CollectorBatched, GatewayCeilingEnd}} {
		if v, ok := r.ratio(p[0], p[1]); ok {
			fmt.Fprintf(w, "ratio %s / %s = %.2f\n", p[0], p[1], v)
		}
	}
	if res, ok := r.Results[CollectorBatched]; ok {
		if res.SpoolIngestPerS > 0 {
			fmt.Fprintf(w, "spool ingest (spool.Append, batches of 256, in-process): %.0f events/s\n", res.SpoolIngestPerS)
		}
		if res.SpooledRecords > 0 {
			fmt.Fprintf(w, "collector with %.0f records spooled, ledger unreachable: VmRSS %.1f MiB (anon %.1f, file-backed bbolt mmap %.1f), VmHWM %.1f MiB; spool file %.0f MiB; binary ingest %.0f events/s\n",
				res.SpooledRecords, res.SpooledRSSMiB, res.SpooledRSSAnonMiB, res.SpooledRSSFileMiB, res.SpooledHWMMiB, res.SpoolFileMiB, res.SpooledIngestPerS)
		}
		if res.DockerMissing != nil {
			fmt.Fprintf(w, "real Docker churn (%s, load %s): %d containers, %d distinct events emitted (%.1f/s), %d on the ledger once, %d missing, %d duplicated, %d phantom, %d gap records (collector drop counter %d), p50 %s ms, p99 %s ms\n",
				r.cfg.ChurnDuration, res.DockerLoadAvg, res.DockerContainers, res.DockerEmitted, res.DockerEventsPerS, res.DockerCommitted,
				*res.DockerMissing, deref(res.DockerDuplicated), deref(res.DockerPhantom), deref(res.DockerGapRecords), *res.DockerCollectorDrops,
				f(res.DockerP50ms, 0), f(res.DockerP99ms, 0))
		}
	}
	r.indexTable(w)
	fmt.Fprintln(w)
	for _, t := range r.Targets() {
		fmt.Fprintf(w, "target %-48s %-7s %s\n", t.Name, t.Verdict, t.Value)
	}
}

// Target is one goal of issue 7 and whether the run met it.
type Target struct {
	Name, Value, Verdict string
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

// ceilingName is the Gateway ceiling the targets compare with: the higher
// of the two measured (gateway-ceiling, gateway-ceiling-end), so that a
// ceiling run slowed down by what else ran on the machine never makes a
// collector's ratio look better than it is.
func (r *Report) ceilingName() string {
	best, name := 0.0, GatewayCeiling
	for _, n := range []string{GatewayCeiling, GatewayCeilingEnd} {
		if res, ok := r.Results[n]; ok && res.Method != "" && res.EventsPerS > best {
			best, name = res.EventsPerS, n
		}
	}
	return name
}

// Targets evaluates the targets on what was measured.
func (r *Report) Targets() []Target {
	var ts []Target
	ceil := r.ceilingName()
	if v, ok := r.ratio(CollectorOnePerTx, ceil); ok {
		ts = append(ts, Target{"(3) collector-1-per-tx >= 90% of the higher Gateway ceiling", fmt.Sprintf("%.0f %% of %s", v*100, ceil), verdict(v >= 0.9)})
	}
	if v, ok := r.ratio(CollectorBatched, ceil); ok {
		ts = append(ts, Target{"(4) collector-batched >= 7x the higher Gateway ceiling", fmt.Sprintf("%.2fx %s", v, ceil), verdict(v >= 7)})
	}
	if res, ok := r.Results[CollectorBatched]; ok && res.Method != "" {
		ts = append(ts, Target{"collector-batched >= 1,000 records/s", fmt.Sprintf("%.0f records/s", res.EventsPerS), verdict(res.EventsPerS >= 1000)})
	}
	limit := float64(r.cfg.BatchTimeout.Milliseconds() + 250)
	for _, n := range []string{CollectorOnePerTx, CollectorBatched} {
		if res, ok := r.Results[n]; ok && res.Method != "" {
			ts = append(ts, Target{fmt.Sprintf("%s half-load p99 <= %.0f ms", n, limit), fmt.Sprintf("%.0f ms", res.HalfP99ms), verdict(res.HalfP99ms > 0 && float64(res.HalfP99ms) <= limit)})
		}
	}
	ts = append(ts, r.indexTargets()...)
	for _, n := range []string{CollectorOnePerTx, CollectorBatched} {
		if res, ok := r.Results[n]; ok && res.Method != "" {
			ts = append(ts, Target{fmt.Sprintf("%s RSS <= 40 MiB steady", n), fmt.Sprintf("%.1f MiB (peak %.1f)", res.SteadyRSSMiB, res.PeakRSSMiB), verdict(res.SteadyRSSMiB <= 40)})
		}
	}
	if res, ok := r.Results[CollectorBatched]; ok {
		if res.SpooledRecords > 0 {
			ts = append(ts, Target{"RSS <= 80 MiB with 1M records spooled", fmt.Sprintf("%.1f MiB (%.0f records)", res.SpooledRSSMiB, res.SpooledRecords),
				verdict(res.SpooledRSSMiB <= 80 && res.SpooledRecords >= 999_000)})
		}
		if res.SpoolIngestPerS > 0 {
			ts = append(ts, Target{"spool ingest >= 20,000 events/s", fmt.Sprintf("%.0f events/s", res.SpoolIngestPerS), verdict(res.SpoolIngestPerS >= 20_000)})
		}
		if res.DockerMissing != nil {
			ts = append(ts, Target{"real Docker: every event exactly once", fmt.Sprintf("%d of %d once, %d missing, %d duplicated, %d phantom, %d gaps",
				res.DockerCommitted, res.DockerEmitted, *res.DockerMissing, deref(res.DockerDuplicated), deref(res.DockerPhantom), deref(res.DockerGapRecords)),
				verdict(res.dockerExact())})
		}
	}
	return ts
}

// machine describes the CPU, memory and kernel.
func machine() string {
	model, mem := "", ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		var kb float64
		fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(first, "MemTotal:")), "%f", &kb)
		mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d x %s, %s RAM, Linux %s, %s", runtime.NumCPU(), model, mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

// WriteMarkdown writes docs/benchmarks.md: the table, the command, the
// machine and the reading of each target.
func (r *Report) WriteMarkdown(path, command string) error {
	var b strings.Builder
	b.WriteString("# e2l benchmarks\n\n")
	b.WriteString("Generated by `make bench` (" + "`" + strings.TrimSpace(command) + "`" + "); do not edit by hand: the next run rewrites it.\n\n")
	fmt.Fprintf(&b, "- Run: %s, network up (fresh, 3 orgs, 3 Raft orderers) in %.0f s\n", r.RunAt.Format("2006-01-02 15:04 UTC"), r.NetworkUpSeconds)
	fmt.Fprintf(&b, "- Machine: %s\n", r.Machine)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min) at start: %s; at end: %s. The machine is shared with other engineers' builds and tests: figures are noisy, compare ratios within one run.\n", r.StartLoad, r.EndLoad)
	fmt.Fprintf(&b, "- Orderer batch timeout: %s for every configuration (MaxMessageCount 50); measuring windows: %s per run after %s of warm-up.\n\n",
		r.cfg.BatchTimeout, r.cfg.Duration-r.cfg.Warmup, r.cfg.Warmup)
	b.WriteString("```\n")
	r.Table(&b)
	b.WriteString("```\n\n")
	b.WriteString(r.reading())
	b.WriteString(methodNotes)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// dockerExact: the real-Docker churn found every distinct ground-truth
// event on the ledger exactly once, nothing else, and no gap.
func (res *Result) dockerExact() bool {
	return res.DockerMissing != nil && res.DockerEmitted > 0 && res.DockerCommitted == res.DockerEmitted && *res.DockerMissing == 0 &&
		deref(res.DockerDuplicated) == 0 && deref(res.DockerPhantom) == 0 && deref(res.DockerGapRecords) == 0
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func halfNotCommitted(res *Result) string {
	if res.HalfNotCommit == nil {
		return ""
	}
	return fmt.Sprintf("; half load: %d not committed", *res.HalfNotCommit)
}
