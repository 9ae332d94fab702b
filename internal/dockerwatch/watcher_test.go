package dockerwatch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/e2l-project/e2l/internal/record"
)

type harness struct {
	t      *testing.T
	engine *fakeEngine
	sink   *memSink
	w      *Watcher
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, engine: newFakeEngine(t), sink: newMemSink(t)}
	return h.withConfig(cfg)
}

func (h *harness) withConfig(cfg Config) *harness {
	cfg.Host = "node1"
	cfg.Version = "test"
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = time.Hour
	}
	core, logs := observer.New(zap.DebugLevel)
	h.logs = logs
	cfg.Logger, cfg.Registerer = zap.New(core), prometheus.NewRegistry()
	w, err := New(h.engine.client(h.t), h.sink, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.w = w
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(h.t.Context())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.w.Run(ctx) }()
	h.t.Cleanup(h.stop)
}

// stop cancels the watcher and waits for Run to return.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return after cancel")
	}
}

func (h *harness) waitStreamUp() {
	h.t.Helper()
	eventually(h.t, h.sink, "the live stream is open", func() bool { return h.w.StreamUp() && h.engine.subscribers() == 1 })
}

func (h *harness) waitEvents(want ...string) {
	h.t.Helper()
	eventually(h.t, h.sink, "events "+strings.Join(want, ", ")+" are stored", func() bool {
		return slices.Equal(h.sink.eventsOf(), want)
	})
}

func gapReasons(recs []record.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Gap.Reason)
	}
	return out
}

func TestWatcherStartsWithAStartRecordAndASnapshotThenRecordsEvents(t *testing.T) {
	h := newHarness(t, Config{})
	h.engine.containers = []container.Summary{{ID: "c1", Names: []string{"/web"}, Image: "busybox", State: "exited"}}
	h.start()
	h.waitStreamUp()
	h.engine.publish(containerEvent("create", "c2", map[string]string{"name": "db", "image": "busybox"}))
	h.engine.publish(containerEvent("exec_start: sh -c true", "c2", nil)) // filtered out by default
	h.engine.publish(containerEvent("start", "c2", nil))
	h.waitEvents("create c2", "start c2")

	recs := h.sink.records()
	if recs[0].Kind != record.KindStart || recs[0].Lifecycle.Reason != "first start" {
		t.Fatalf("first record = %+v, want a start record", recs[0])
	}
	snaps := h.sink.ofKind(record.KindSnapshot)
	if len(snaps) != 1 || len(snaps[0].Snapshot.Containers) != 1 {
		t.Fatalf("snapshots = %+v, want one with one container", snaps)
	}
	c := snaps[0].Snapshot.Containers[0]
	if c.Name != "web" || c.ExitCode != 137 || c.StartedAt == 0 || c.FinishedAt != 0 {
		t.Errorf("snapshot container = %+v", c)
	}
	if got := testutil.ToFloat64(h.w.m.ignored); got != 1 {
		t.Errorf("ignored events = %v, want 1 (exec_start)", got)
	}
	if g := h.sink.ofKind(record.KindGap); len(g) != 0 {
		t.Errorf("gaps on a fresh start: %v", gapReasons(g))
	}

	h.stop()
	recs = h.sink.records()
	if last := recs[len(recs)-1]; last.Kind != record.KindStop {
		t.Errorf("last record is %s, want stop", last.Kind)
	}
	if st, _ := h.sink.Meta(MetaState); st != "stopped" {
		t.Errorf("state meta = %q, want stopped", st)
	}
}

func TestWatcherRecordsWhatTheDaemonEmittedUntilItsStopRecordsTime(t *testing.T) {
	h := newHarness(t, Config{})
	h.start()
	h.waitStreamUp()
	h.engine.publish(containerEvent("create", "c1", nil))
	h.waitEvents("create c1")
	// Emitted while the watcher stops: the live stream never delivers it.
	h.engine.publishUndelivered(containerEvent("start", "c1", nil))
	before := time.Now().UnixNano()
	h.stop()

	if got := h.sink.eventsOf(); !slices.Equal(got, []string{"create c1", "start c1"}) {
		t.Errorf("events %v: the one emitted as the stream stopped is missing", got)
	}
	recs := h.sink.records()
	stop := recs[len(recs)-1]
	if stop.Kind != record.KindStop {
		t.Fatalf("last record is %s, want stop", stop.Kind)
	}
	// The stop record is dated when the events were read up to, not later:
	// a collector that continues the chain covers from it on.
	if stop.Time < before || stop.Time > h.w.stopAt || h.w.stopAt == 0 {
		t.Errorf("stop record at %d, read up to %d, stop began at %d", stop.Time, h.w.stopAt, before)
	}
	if g := h.sink.ofKind(record.KindGap); len(g) != 0 {
		t.Errorf("gaps on a clean stop: %v", gapReasons(g))
	}
}

func TestWatcherReconnectsAfterTheStreamBreaksAndResumesFromTheLastEventWithoutAGap(t *testing.T) {
	h := newHarness(t, Config{})
	h.start()
	h.waitStreamUp()
	h.engine.publish(containerEvent("create", "c1", nil))
	last := h.engine.publish(containerEvent("start", "c1", nil))
	h.waitEvents("create c1", "start c1")

	h.engine.breakStreams()
	// Events while the collector is disconnected stay in the daemon's buffer.
	h.engine.publish(containerEvent("die", "c1", map[string]string{"exitCode": "0"}))
	h.waitEvents("create c1", "start c1", "die c1")
	h.waitStreamUp()
	h.engine.publish(containerEvent("destroy", "c1", nil))
	h.waitEvents("create c1", "start c1", "die c1", "destroy c1")

	if g := h.sink.ofKind(record.KindGap); len(g) != 0 {
		t.Errorf("gaps after a proven replay: %v", gapReasons(g))
	}
	if got := testutil.ToFloat64(h.w.m.reconnects); got < 1 {
		t.Errorf("reconnects = %v, want at least 1", got)
	}
	// The replay asked from the last recorded event, inclusive.
	var sawReplay bool
	for _, q := range h.engine.eventQueries() {
		if q.Get("since") == formatSince(last.TimeNano) && q.Get("until") != "" {
			sawReplay = true
		}
	}
	if !sawReplay {
		t.Errorf("no replay since %s in %v", formatSince(last.TimeNano), h.engine.eventQueries())
	}
	if got := testutil.ToFloat64(h.w.m.deduped); got < 1 {
		t.Errorf("deduplicated = %v, want the boundary event skipped at least once", got)
	}
}

func TestWatcherResumesAtStartFromTheSinksLastEventTime(t *testing.T) {
	h := newHarness(t, Config{})
	boundary := h.engine.publish(containerEvent("create", "c1", nil))
	h.engine.publish(containerEvent("start", "c1", nil))
	// The spool already holds the boundary event from the previous run.
	n, err := normalize(boundary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.sink.Append(t.Context(), []record.Record{eventRecord("node1", n.event)}); err != nil {
		t.Fatal(err)
	}
	h.sink.meta[MetaState] = "running"
	h.start()
	h.waitEvents("create c1", "start c1")
	h.waitStreamUp()

	if g := h.sink.ofKind(record.KindGap); len(g) != 0 {
		t.Errorf("gaps after a proven replay: %v", gapReasons(g))
	}
	h.sink.mu.Lock()
	got := h.sink.dups
	h.sink.mu.Unlock()
	if got != 1 {
		t.Errorf("sink duplicates = %v, want 1 (the inclusive since boundary)", got)
	}
	if r := h.sink.ofKind(record.KindStart)[0]; r.Lifecycle.Reason != "restart after an unclean stop" {
		t.Errorf("start reason = %q", r.Lifecycle.Reason)
	}
	if q := h.engine.eventQueries()[0]; q.Get("since") != formatSince(boundary.TimeNano) {
		t.Errorf("first events query since = %q, want %q", q.Get("since"), formatSince(boundary.TimeNano))
	}
}

func TestWatcherWritesACollectorDownGapWhenTheBoundaryLeftTheBufferWhileStopped(t *testing.T) {
	h := newHarness(t, Config{})
	h.sink.mu.Lock()
	h.sink.recs = append(h.sink.recs, eventRecord("node1", record.Event{Type: "container", Action: "start",
		Actor: "old", Scope: "local", TimeNano: 1_600_000_000_000_000_000}))
	h.sink.mu.Unlock()
	h.engine.publish(containerEvent("create", "c9", nil))
	h.start()
	h.waitEvents("start old", "create c9")
	eventually(t, h.sink, "a snapshot is stored", func() bool { return len(h.sink.ofKind(record.KindSnapshot)) == 1 })
	gaps := h.sink.ofKind(record.KindGap)
	if len(gaps) != 1 || gaps[0].Gap.Reason != record.GapCollectorDown {
		t.Fatalf("gaps = %v, want one collector-down", gapReasons(gaps))
	}
	if g := gaps[0].Gap; g.From != 1_600_000_000_000_000_000 || g.To <= g.From {
		t.Errorf("gap = %+v", g)
	}
}

func TestWatcherWritesADockerRestartGapAndASnapshotAfterTheDaemonRestarts(t *testing.T) {
	h := newHarness(t, Config{})
	h.start()
	h.waitStreamUp()
	h.engine.publish(containerEvent("start", "c1", nil))
	h.waitEvents("start c1")

	h.engine.restart()
	eventually(t, h.sink, "a docker-restart gap is stored", func() bool { return len(h.sink.ofKind(record.KindGap)) == 1 })
	h.waitStreamUp()
	h.engine.publish(containerEvent("start", "c2", nil))
	h.waitEvents("start c1", "start c2")

	gaps := h.sink.ofKind(record.KindGap)
	if gaps[0].Gap.Reason != record.GapDockerRestart {
		t.Errorf("gap reason = %s, want %s", gaps[0].Gap.Reason, record.GapDockerRestart)
	}
	if n := len(h.sink.ofKind(record.KindSnapshot)); n != 2 {
		t.Errorf("snapshots = %d, want 2 (start and after the restart)", n)
	}
	if got := testutil.ToFloat64(h.w.m.gaps.WithLabelValues(record.GapDockerRestart)); got != 1 {
		t.Errorf("gap metric = %v", got)
	}
}

func TestWatcherSurvivesMalformedEventJSON(t *testing.T) {
	t.Run("a transient undecodable item is logged, counted and the stream reopened", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.start()
		h.waitStreamUp()
		h.engine.publish(containerEvent("create", "c1", nil))
		h.waitEvents("create c1")
		h.engine.publishRaw(`{"Type":"container","Action":}`, false)
		eventually(t, h.sink, "the decode error is counted", func() bool {
			return testutil.ToFloat64(h.w.m.decodeErrors.WithLabelValues(decodeJSON)) == 1
		})
		h.waitStreamUp()
		h.engine.publish(containerEvent("start", "c1", nil))
		h.waitEvents("create c1", "start c1")
		if n := h.logs.FilterMessage("undecodable item in the docker event stream").Len(); n != 1 {
			t.Errorf("decode error log lines = %d, want 1", n)
		}
		if g := h.sink.ofKind(record.KindGap); len(g) != 0 {
			t.Errorf("gaps = %v, want none (the replay was proven)", gapReasons(g))
		}
	})
	t.Run("an undecodable item the daemon replays is skipped after the second failure with a stream-error gap", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.start()
		h.waitStreamUp()
		h.engine.publish(containerEvent("create", "c1", nil))
		h.waitEvents("create c1")
		h.engine.publishRaw(`not json at all`, true)
		eventually(t, h.sink, "a stream-error gap is stored", func() bool { return len(h.sink.ofKind(record.KindGap)) == 1 })
		h.waitStreamUp()
		h.engine.publish(containerEvent("start", "c1", nil))
		h.waitEvents("create c1", "start c1")
		if r := h.sink.ofKind(record.KindGap)[0].Gap.Reason; r != record.GapStreamError {
			t.Errorf("gap reason = %s", r)
		}
		if got := testutil.ToFloat64(h.w.m.decodeErrors.WithLabelValues(decodeJSON)); got < 2 {
			t.Errorf("decode errors = %v, want at least 2", got)
		}
	})
	t.Run("an event that cannot be a record is counted and reported as lost", func(t *testing.T) {
		h := newHarness(t, Config{})
		h.start()
		h.waitStreamUp()
		h.engine.publish(containerEvent("start", "has space", nil)) // actor must be an identifier
		h.engine.publish(containerEvent("start", "c1", nil))
		h.waitEvents("start c1")
		gaps := h.sink.ofKind(record.KindGap)
		if len(gaps) != 1 || gaps[0].Gap.Reason != record.GapStreamError || gaps[0].Gap.Lost != 1 {
			t.Fatalf("gaps = %+v, want one stream-error gap with lost 1", gaps)
		}
		if got := testutil.ToFloat64(h.w.m.decodeErrors.WithLabelValues(decodeInvalid)); got != 1 {
			t.Errorf("invalid events = %v, want 1", got)
		}
	})
}

func TestWatcherCountsDropsWhileTheSpoolIsFullAndWritesAGapWhenRoomReturns(t *testing.T) {
	h := newHarness(t, Config{})
	h.start()
	h.waitStreamUp()
	h.sink.setFull(true)
	first := h.engine.publish(containerEvent("create", "c1", nil))
	h.engine.publish(containerEvent("start", "c1", nil))
	last := h.engine.publish(containerEvent("die", "c1", map[string]string{"exitCode": "1"}))
	eventually(t, h.sink, "three drops are counted", func() bool {
		return testutil.ToFloat64(h.w.m.dropped.WithLabelValues(DropSpoolFull)) == 3
	})
	h.sink.setFull(false)
	h.engine.publish(containerEvent("destroy", "c1", nil))
	h.waitEvents("destroy c1")

	gaps := h.sink.ofKind(record.KindGap)
	if len(gaps) != 1 {
		t.Fatalf("gaps = %d, want 1", len(gaps))
	}
	g := gaps[0].Gap
	if g.Reason != record.GapSpoolFull || g.Lost != 3 || g.From != first.TimeNano || g.To != last.TimeNano {
		t.Errorf("gap = %+v, want spool-full, lost 3, from %d to %d", g, first.TimeNano, last.TimeNano)
	}
	// The gap travels in the same Append as the events that found room.
	h.sink.mu.Lock()
	lastAppend := h.sink.appends[len(h.sink.appends)-1]
	h.sink.mu.Unlock()
	if lastAppend[0].Kind != record.KindGap || lastAppend[1].Kind != record.KindEvent {
		t.Errorf("last append kinds = %s, %s; want gap then event", lastAppend[0].Kind, lastAppend[1].Kind)
	}
}

func TestWatcherDropsInsteadOfBlockingTheStreamWhenTheQueueIsFull(t *testing.T) {
	h := newHarness(t, Config{QueueSize: 1, BatchMax: 1})
	h.start()
	h.waitStreamUp()
	eventually(t, h.sink, "the start record, its heartbeat and the snapshot are stored", func() bool { return len(h.sink.records()) == 3 })
	gate := make(chan struct{})
	h.sink.mu.Lock()
	h.sink.gate = gate
	h.sink.mu.Unlock()
	for i := range 5 {
		h.engine.publish(containerEvent("start", "c"+string(rune('a'+i)), nil))
	}
	// The writer is stuck in Append: at most one event waits in the writer
	// and one in the queue; the reader drops the rest instead of blocking.
	eventually(t, h.sink, "at least three queue drops are counted", func() bool {
		return testutil.ToFloat64(h.w.m.dropped.WithLabelValues(DropQueueFull)) >= 3
	})
	close(gate)
	eventually(t, h.sink, "every event is stored or reported lost in a gap", func() bool {
		lost := uint64(0)
		for _, g := range h.sink.ofKind(record.KindGap) {
			lost += g.Gap.Lost
		}
		return uint64(len(h.sink.ofKind(record.KindEvent)))+lost == 5
	})
	dropped := testutil.ToFloat64(h.w.m.dropped.WithLabelValues(DropQueueFull))
	for _, g := range h.sink.ofKind(record.KindGap) {
		if g.Gap.Reason != record.GapSpoolFull || !strings.Contains(g.Gap.Detail, DropQueueFull) {
			t.Errorf("gap = %+v", g.Gap)
		}
		dropped -= float64(g.Gap.Lost)
	}
	if dropped != 0 {
		t.Errorf("drops not matched by gaps: %v", dropped)
	}
}

func TestWatcherWritesHeartbeats(t *testing.T) {
	h := newHarness(t, Config{HeartbeatInterval: 5 * time.Millisecond, Pending: func() uint64 { return 7 }})
	h.start()
	eventually(t, h.sink, "heartbeats are stored after the start one", func() bool { return len(h.sink.ofKind(record.KindHeartbeat)) > 2 })
	recs := h.sink.records()
	if recs[0].Kind != record.KindStart || recs[1].Kind != record.KindHeartbeat {
		t.Errorf("first records %s, %s; want start, then its heartbeat", recs[0].Kind, recs[1].Kind)
	}
	for _, r := range h.sink.ofKind(record.KindHeartbeat) {
		if hb := r.Heartbeat; hb.IntervalMs != 5 || hb.Pending != 7 {
			t.Errorf("heartbeat = %+v", hb)
		}
	}
}

func TestWatcherRetriesWhileTheDaemonIsUnreachable(t *testing.T) {
	h := newHarness(t, Config{})
	h.engine.srv.Close() // nothing listens
	h.start()
	eventually(t, h.sink, "several reconnects are counted", func() bool { return testutil.ToFloat64(h.w.m.reconnects) >= 3 })
	if h.w.StreamUp() {
		t.Error("stream reported up")
	}
	h.stop()
	recs := h.sink.records()
	if len(recs) != 3 || recs[0].Kind != record.KindStart || recs[1].Kind != record.KindHeartbeat || recs[2].Kind != record.KindStop {
		t.Errorf("records = %v, want start, its heartbeat and stop", recs)
	}
}

func TestBackoffGrowsCapsAndResets(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 400 * time.Millisecond}
	for i, wantCur := range []time.Duration{100, 200, 400, 400} {
		d := b.next()
		if b.cur != wantCur*time.Millisecond || d < b.cur/2 || d > b.cur {
			t.Errorf("step %d: cur %v delay %v", i, b.cur, d)
		}
	}
	b.reset()
	if b.next(); b.cur != 100*time.Millisecond {
		t.Errorf("after reset cur = %v", b.cur)
	}
}
