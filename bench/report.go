package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Part names: the four configurations, then the other measurements.
const (
	PaperCLI          = "paper-cli"
	GatewayCeiling    = "gateway-ceiling"
	CollectorOnePerTx = "collector-1-per-tx"
	CollectorBatched  = "collector-batched"
	SpoolPart         = "spool"
	ChurnPart         = "real-docker"
)

// Result is one configuration in docs/benchmarks.json.
type Result struct {
	Name            string  `json:"name"`
	EventsPerS      float64 `json:"events_per_s"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
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
	HalfP50ms       float64 `json:"half_load_p50_ms,omitempty"`
	HalfP99ms       float64 `json:"half_load_p99_ms,omitempty"`
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
	DockerCollectorDrops *int    `json:"real_docker_collector_drop_counter,omitempty"`
	DockerEventsPerS     float64 `json:"real_docker_events_per_s,omitempty"`
	DockerP50ms          float64 `json:"real_docker_p50_ms,omitempty"`
	DockerP99ms          float64 `json:"real_docker_p99_ms,omitempty"`
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
	res.Method = "docker events piped into one `peer chaincode invoke --waitForEvent` per event (host identity, --peerAddresses of 2 orgs), sequential"
	res.LoadAvg = load
	res.Events, res.Failed = p.Events, p.Failed
	if p.Elapsed > 0 {
		res.EventsPerS = round(float64(p.Committed)/p.Elapsed.Seconds(), 2)
	}
	res.P50ms, res.P99ms = round(percentile(p.Latencies, 50), 0), round(percentile(p.Latencies, 99), 0)
	if p.Events > 0 {
		res.CPUPer1k = round(p.CPU.Seconds()/float64(p.Events)*1000, 1)
	}
	res.CPUBasis = "peer CLI processes (rusage of the children), per event invoked"
	res.PeakRSSMiB, res.RSSBasis = round(p.MaxRSSMiB, 1), "largest peer CLI process (ru_maxrss)"
}

func (r *Report) ceiling(c ceilingResult, inFlight int, load string) {
	res := r.result(GatewayCeiling)
	res.Method = "fabric-gateway SubmitAsync + commit Status, one record per transaction, one host, closed loop"
	res.LoadAvg, res.InFlight, res.MaxBatch = load, inFlight, 1
	res.Events, res.Failed = c.committed, c.failed
	res.EventsPerS = round(float64(c.committed)/c.elapsed.Seconds(), 1)
	res.P50ms, res.P99ms = round(percentile(c.latencies, 50), 0), round(percentile(c.latencies, 99), 0)
	if c.committed > 0 {
		res.CPUPer1k = round(c.cpu.Seconds()/float64(c.committed)*1000, 2)
	}
	res.CPUBasis = "bench process (load generator and block listener, rusage), per transaction committed"
	if m, err := procMem(os.Getpid()); err == nil {
		res.PeakRSSMiB = round(m.HWM, 1)
	}
	res.RSSBasis = "bench process VmHWM (load generator and block listener)"
}

func (r *Report) collector(name string, env map[string]string, full, half loadResult, load string) {
	res := r.result(name)
	res.Method = "e2l-collector binary, synthetic:// Docker source (the real watcher, spool, submitter, gateway); latency from the block listener"
	res.LoadAvg = load
	res.MaxBatch, res.InFlight = 50, 8
	if v, ok := env["E2L_BATCH_MAX"]; ok {
		fmt.Sscan(v, &res.MaxBatch)
	}
	if v, ok := env["E2L_MAX_IN_FLIGHT"]; ok {
		fmt.Sscan(v, &res.InFlight)
	}
	res.OfferedPerS = full.Offered
	res.Events = full.Committed
	res.EventsPerS = round(full.EventsPerS, 1)
	res.P50ms, res.P99ms = round(full.P50, 0), round(full.P99, 0)
	res.FullCPUPer1k = round(full.CPUPer1k, 3)
	sat := full.EventsPerS < 0.9*full.Offered
	res.Saturated = &sat
	res.HalfOfferedPerS = round(half.Offered, 1)
	res.HalfEventsPerS = round(half.EventsPerS, 1)
	res.HalfP50ms, res.HalfP99ms = round(half.P50, 0), round(half.P99, 0)
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
		missing, drops := c.Missing, int(c.Dropped)
		res.DockerMissing, res.DockerCollectorDrops = &missing, &drops
		res.DockerEventsPerS = round(c.EventsPerS, 1)
		res.DockerP50ms, res.DockerP99ms = round(c.P50, 0), round(c.P99, 0)
		res.DockerLoadAvg = r.churnLoad
	}
}

// List returns the configurations in their fixed order (those measured).
func (r *Report) List() []*Result {
	var out []*Result
	for _, n := range []string{PaperCLI, GatewayCeiling, CollectorOnePerTx, CollectorBatched} {
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

func f(v float64, d int) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.*f", d, v)
}

// Table writes the results table and the ratios.
func (r *Report) Table(w io.Writer) {
	fmt.Fprintf(w, "e2l benchmarks %s  (%d cores; batch timeout %s; load average at start %s, at end %s)\n\n",
		r.RunAt.Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), r.cfg.BatchTimeout, r.StartLoad, r.EndLoad)
	fmt.Fprintf(w, "| %-18s | %9s | %8s | %8s | %11s | %11s | %10s | %9s | %14s |\n",
		"configuration", "events/s", "p50 ms", "p99 ms", "half p50 ms", "half p99 ms", "CPU s/1k", "peak RSS", "load avg")
	fmt.Fprintf(w, "|%s|%s:|%s:|%s:|%s:|%s:|%s:|%s:|%s|\n", strings.Repeat("-", 20), strings.Repeat("-", 10), strings.Repeat("-", 9),
		strings.Repeat("-", 9), strings.Repeat("-", 12), strings.Repeat("-", 12), strings.Repeat("-", 11), strings.Repeat("-", 10), strings.Repeat("-", 16))
	for _, res := range r.List() {
		if res.Method == "" {
			continue
		}
		fmt.Fprintf(w, "| %-18s | %9s | %8s | %8s | %11s | %11s | %10s | %9s | %14s |\n", res.Name,
			f(res.EventsPerS, 1), f(res.P50ms, 0), f(res.P99ms, 0), f(res.HalfP50ms, 0), f(res.HalfP99ms, 0),
			f(res.CPUPer1k, 3), f(res.PeakRSSMiB, 1)+" MiB", res.LoadAvg)
	}
	fmt.Fprintln(w)
	for _, p := range [][2]string{{CollectorOnePerTx, GatewayCeiling}, {CollectorBatched, GatewayCeiling}, {CollectorBatched, PaperCLI}, {CollectorOnePerTx, PaperCLI}} {
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
			fmt.Fprintf(w, "real Docker churn (%s, load %s): %d containers, %d events emitted (%.1f/s), %d committed, %d dropped (collector drop counter %d), p50 %s ms, p99 %s ms\n",
				r.cfg.ChurnDuration, res.DockerLoadAvg, res.DockerContainers, res.DockerEmitted, res.DockerEventsPerS, res.DockerCommitted,
				*res.DockerMissing, *res.DockerCollectorDrops, f(res.DockerP50ms, 0), f(res.DockerP99ms, 0))
		}
	}
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

// Targets evaluates the targets on what was measured.
func (r *Report) Targets() []Target {
	var ts []Target
	if v, ok := r.ratio(CollectorOnePerTx, GatewayCeiling); ok {
		ts = append(ts, Target{"(3) collector-1-per-tx >= 90% of gateway-ceiling", fmt.Sprintf("%.0f %%", v*100), verdict(v >= 0.9)})
	}
	if v, ok := r.ratio(CollectorBatched, GatewayCeiling); ok {
		ts = append(ts, Target{"(4) collector-batched >= 15x gateway-ceiling", fmt.Sprintf("%.2fx", v), verdict(v >= 15)})
	}
	limit := float64(r.cfg.BatchTimeout.Milliseconds() + 250)
	for _, n := range []string{CollectorOnePerTx, CollectorBatched} {
		if res, ok := r.Results[n]; ok && res.Method != "" {
			ts = append(ts, Target{fmt.Sprintf("%s half-load p99 <= %.0f ms", n, limit), fmt.Sprintf("%.0f ms", res.HalfP99ms), verdict(res.HalfP99ms > 0 && res.HalfP99ms <= limit)})
		}
	}
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
			ts = append(ts, Target{"real Docker: 0 events dropped", fmt.Sprintf("%d of %d", *res.DockerMissing, res.DockerEmitted), verdict(*res.DockerMissing == 0 && res.DockerEmitted > 0)})
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

const methodNotes = `## Method

- **paper-cli**: the paper's method: ` + "`docker events`" + ` (real, this machine's Engine, while ` + "`docker run --rm e2l-busybox:test true`" + `
  loops make events) read line by line, and for each event one ` + "`peer chaincode invoke --waitForEvent`" + ` process, as an enrolled
  host identity (e2l.role=collector), endorsed by the peers of two orgs, one after the other. events/s = events committed ÷
  (last commit − first event's time). CPU and RSS are those of the peer CLI processes.
- **gateway-ceiling**: a plain fabric-gateway client: ` + "`SubmitAsync`" + ` + commit ` + "`Status`" + `, one valid record per transaction (one host,
  contiguous seqs), a fixed number of transactions in flight (closed loop), for the run's duration. Latency = submit to commit status.
- **collector-1-per-tx / collector-batched**: the real ` + "`e2l-collector`" + ` binary with ` + "`--docker-host synthetic://?rate=N&count=M`" + `: a
  synthetic Docker source (` + "`dockerwatch.Synthetic`" + `) that replaces only the Docker Engine; the watcher, spool (bbolt, fsync per
  batch), submitter and Gateway are the product's. Events carry their generation time (timeNano). A separate block listener
  (fabric-gateway ` + "`BlockEvents`" + `) reads every VALID RecordEvents transaction and records commit-seen − record time per event.
  Full load offers more than the pipeline commits (backlog grows, so full-load latency is queueing delay and grows with the run);
  half load offers 50 % of the measured full-load rate and must commit every event. 1-per-tx: ` + "`--batch-max 1 --max-in-flight`" + ` =
  the ceiling's in-flight; batched: defaults (50 records, 200 ms fill delay, 8 in flight). CPU = the collector process's
  /proc utime+stime per 1,000 events committed in the half-load window; peak RSS = VmHWM.
- **spool**: spool.Append of synthetic event records in batches of 256 (the watcher's batch bound), in-process. Then the
  collector binary with an unreachable ledger and an unbounded synthetic source (50,000 events/s offered, more than the
  watcher stores: its queue drops the excess, counted) until the spool holds its bound of 1,000,000 records: RSS then, split into anonymous memory and file-backed pages (bbolt maps its file; those pages
  are reclaimable page cache, counted in VmRSS).
- **real Docker**: the collector binary (defaults) against this machine's Docker Engine while parallel ` + "`docker run --rm`" + ` loops
  churn containers; a separate live ` + "`docker events`" + ` subscription is the ground truth (events the collector's default filter
  records, from the churn's start); every such event must be found on the ledger under the collector's host. Other
  engineers' containers on the shared Engine are part of both sides.
`

// reading explains each target with this run's numbers.
func (r *Report) reading() string {
	var b strings.Builder
	b.WriteString("## Reading of the targets\n\n")
	get := func(n string) *Result {
		if res, ok := r.Results[n]; ok && res.Method != "" {
			return res
		}
		return nil
	}
	ceil, one, bat, paper := get(GatewayCeiling), get(CollectorOnePerTx), get(CollectorBatched), get(PaperCLI)
	if ceil != nil {
		fmt.Fprintf(&b, "- **Gateway ceiling** %.1f tx/s with %d in flight (notes/fabric.md measured 150–190 on an idle machine of this kind): the network "+
			"(3 peers, 3 orderers, 3 chaincode servers) and the load generator share 2 cores with whatever else runs, so this ceiling, and every "+
			"ratio to it, moves with the load average.\n", ceil.EventsPerS, ceil.InFlight)
	}
	if one != nil && ceil != nil {
		v := one.EventsPerS / ceil.EventsPerS
		fmt.Fprintf(&b, "- **(3) collector-1-per-tx ≥ 90 %% of the ceiling: %s** (%.0f %%, with the same %d transactions in flight). "+
			"Both are bound by the network's CPU (~10 ms per transaction), but the collector process also spends %.1f ms of CPU per "+
			"event (%.1f ms at full load, where it also spools the offered excess) against the plain client's %.1f ms per transaction: "+
			"a spool Commit (bbolt write transaction and fsync) per transaction and the synthetic source and spooling, on the same 2 cores "+
			"as the network. The two runs are also at different load averages (ceiling: %s; collector: %s): on this shared machine the "+
			"ratio moves by tens of percent between runs.\n",
			verdict(v >= 0.9), v*100, one.InFlight, one.CPUPer1k, one.FullCPUPer1k, ceil.CPUPer1k, ceil.LoadAvg, one.LoadAvg)
	}
	if bat != nil && ceil != nil {
		v := bat.EventsPerS / ceil.EventsPerS
		fmt.Fprintf(&b, "- **(4) collector-batched ≥ 15× the ceiling: %s** (%.2f×, %.1f events/s). Batching removes the per-transaction cost "+
			"(signatures, endorsement, ordering, block validation), but each record still costs ~1.7–2 ms of CPU across the network "+
			"(two chaincode state writes and a read as gRPC round trips, LevelDB and history writes on 3 peers; notes/fabric.md), which "+
			"caps this 2-core machine near 1,000 records/s even when idle: about 5–7× an idle ceiling, not 15×. The default settings "+
			"(8 in flight × 50 records, 200 ms fill delay, %s batch timeout) add their own bound of roughly 8×50 records per "+
			"(batch timeout + endorse/commit time). Reaching 15× would take fewer keys per record in the chaincode or more cores, not "+
			"collector changes.\n", verdict(v >= 15), v, bat.EventsPerS, r.cfg.BatchTimeout)
	}
	limit := float64(r.cfg.BatchTimeout.Milliseconds() + 250)
	for _, res := range []*Result{one, bat} {
		if res == nil {
			continue
		}
		why := "a lone record waits for the orderer to cut a block (the batch timeout: blocks rarely reach 50 transactions at half load), " +
			"plus endorsement by 2 orgs and validation on the peer"
		if res == bat {
			why += "; batched, a record may also wait up to the 200 ms fill delay while other batches are in flight"
		}
		fmt.Fprintf(&b, "- **%s half-load p99 ≤ %.0f ms: %s** (p50 %.0f ms, p99 %.0f ms at %.1f events/s offered; every event committed: %v). "+
			"The floor is the batch timeout: %s. The tail above it is CPU contention on the shared cores.\n",
			res.Name, limit, verdict(res.HalfP99ms > 0 && res.HalfP99ms <= limit), res.HalfP50ms, res.HalfP99ms, res.HalfOfferedPerS,
			res.HalfAllCommit != nil && *res.HalfAllCommit, why)
	}
	for _, res := range []*Result{one, bat} {
		if res == nil {
			continue
		}
		fmt.Fprintf(&b, "- **%s RSS ≤ 40 MiB steady: %s** (%.1f MiB at the end of the half-load run; peak %.1f MiB over both runs, "+
			"the peak being at full load while the spool backlog grows and bbolt's mapped pages are touched).\n",
			res.Name, verdict(res.SteadyRSSMiB <= 40), res.SteadyRSSMiB, res.PeakRSSMiB)
	}
	if bat != nil && bat.SpooledRecords > 0 {
		fmt.Fprintf(&b, "- **RSS ≤ 80 MiB with 1M records spooled: %s** (%.0f records pending, VmRSS %.1f MiB = %.1f MiB anonymous + %.1f MiB "+
			"file-backed; the spool file is %.0f MiB). bbolt maps the file, so pages it has touched count in RSS as page cache, which "+
			"the kernel reclaims under pressure; the anonymous part is the collector's heap, likely most of it the spool's in-memory de-duplication index (internal/spool keeps every "+
			"pending event's ID in a Go map: a million entries) and the Go heap's headroom. (not profiled). Meeting 80 MiB likely needs that index on disk "+
			"(or bounded) in internal/spool.\n",
			verdict(bat.SpooledRSSMiB <= 80 && bat.SpooledRecords >= 999_000), bat.SpooledRecords, bat.SpooledRSSMiB, bat.SpooledRSSAnonMiB,
			bat.SpooledRSSFileMiB, bat.SpoolFileMiB)
	}
	if bat != nil && bat.SpoolIngestPerS > 0 {
		fmt.Fprintf(&b, "- **Spool ingest ≥ 20,000 events/s: %s** (%.0f events/s through spool.Append in batches of 256, in-process; "+
			"the collector binary spooled %.0f events/s from its synthetic source with the ledger unreachable). Each Append is one "+
			"bbolt transaction and one fsync, and seals every record (canonical encoding, SHA-256).\n",
			verdict(bat.SpoolIngestPerS >= 20_000), bat.SpoolIngestPerS, bat.SpooledIngestPerS)
	}
	if bat != nil && bat.DockerMissing != nil {
		fmt.Fprintf(&b, "- **Real Docker, 0 events dropped: %s** (%d containers in %s, %d recordable events emitted by the Engine, %d found "+
			"on the ledger, %d missing; the collector's own drop counter: %d). Docker's churn rate on this machine (%.1f events/s) is far "+
			"below the collector's capacity.\n",
			verdict(*bat.DockerMissing == 0 && bat.DockerEmitted > 0), bat.DockerContainers, r.cfg.ChurnDuration, bat.DockerEmitted,
			bat.DockerCommitted, *bat.DockerMissing, *bat.DockerCollectorDrops, bat.DockerEventsPerS)
	}
	if paper != nil {
		fmt.Fprintf(&b, "- **paper-cli** %.2f events/s over %d real events (%d failed): each event pays a peer CLI process start "+
			"(%.0f ms of CPU per event), endorsement and a full batch timeout before the next event starts.\n",
			paper.EventsPerS, paper.Events, paper.Failed, paper.CPUPer1k)
	}
	b.WriteString("\n")
	return b.String()
}
