// Package dockerwatch turns the Docker Engine's event stream into e2l
// records and hands them to the spool.
//
// One reader goroutine reads the event stream and does nothing slow: it
// decodes, normalises, de-duplicates and enqueues onto a bounded in-memory
// queue (full policy: drop, counted, reported by a gap record), so the
// daemon's 100 ms slow-subscriber rule never skips an event for us. One
// writer goroutine takes records off the queue and appends them to the spool
// in batches (one transaction, one fsync each), and writes the start,
// heartbeat and stop records.
//
// Resume: the watcher subscribes with since = the time of the newest event it
// holds (the spool's LastEventTime at start). Since is inclusive, so the
// boundary event comes again; the watcher skips events it has already seen
// (a ring of recent event keys) and the spool de-duplicates by record ID.
// Continuity is proven when the daemon's replay still holds the boundary
// event: its buffer (the last 256 events of every type, which is why the
// watcher subscribes to all types and filters itself) is a contiguous
// suffix of the daemon's history. When it does not, a gap record says so,
// with reason collector-down (at start), docker-restart (the buffer holds
// fewer than 256 events: it was emptied) or replay-window (the buffer rolled
// over), followed by a snapshot of the daemon's containers.
package dockerwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/system"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/e2l-project/e2l/internal/record"
)

// Docker is what the watcher needs of the Docker Engine API.
// *client.Client of github.com/docker/docker/client satisfies it.
type Docker interface {
	Ping(ctx context.Context) (types.Ping, error)
	Info(ctx context.Context) (system.Info, error)
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, containerID string) (container.InspectResponse, error)
}

// ErrSinkFull is wrapped by Sink.Append errors when the sink refused the
// records for lack of room (the spool's ErrFull).
var ErrSinkFull = errors.New("sink full")

// Sink is what the watcher needs of the spool.
type Sink interface {
	// Append stores recs durably in one transaction, all or nothing, and
	// reports how many were duplicates of stored events. An error wrapping
	// ErrSinkFull means the sink had no room.
	Append(ctx context.Context, recs []record.Record) (duplicates int, err error)
	// LastEventTime is the timeNano of the newest event stored, 0 if none.
	LastEventTime() int64
	// Meta and SetMeta keep small watcher state durably.
	Meta(key string) (string, error)
	SetMeta(key, value string) error
}

// Meta keys the watcher keeps in the sink.
const (
	MetaState    = "dockerwatch.state"     // "running" while running, "stopped" after a clean stop
	MetaDaemonID = "dockerwatch.daemon-id" // the Docker daemon's ID (Info.ID)
)

// replayBuffer is the size of the Docker daemon's event buffer (moby
// daemon/events: eventsLimit).
const replayBuffer = 256

// Config tunes a Watcher. Host and Version are required; zero values of the
// others take the defaults.
type Config struct {
	Host              string        // record.Host
	Version           string        // collector version for the start and stop records
	Filter            Filter        // events recorded (default DefaultFilter())
	HeartbeatInterval time.Duration // default 30s
	QueueSize         int           // reader-to-writer queue, records (default 4096)
	BatchMax          int           // records per Append (default 256, at most record.MaxBatchRecords)
	BatchDelay        time.Duration // wait to fill a batch after its first event (default 5ms)
	BackoffMin        time.Duration // first reconnect delay (default 500ms)
	BackoffMax        time.Duration // reconnect delay cap (default 30s)
	HealthyAfter      time.Duration // a stream up this long resets the backoff (default 30s)
	ReplayTimeout     time.Duration // bound of the replay request (default 30s)
	StopTimeout       time.Duration // bound of the final appends on shutdown (default 5s)
	// Pending, when set, reports the records spooled and not yet committed
	// (heartbeat.pending).
	Pending func() uint64
	// Clock is time.Now when nil.
	Clock func() time.Time
}

func (c *Config) setDefaults() error {
	if c.Host == "" {
		return errors.New("dockerwatch: Config.Host is required")
	}
	if c.Version == "" {
		return errors.New("dockerwatch: Config.Version is required")
	}
	if c.Filter == nil {
		c.Filter = DefaultFilter()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatInterval, 30*time.Second)
	def(&c.BatchDelay, 5*time.Millisecond)
	def(&c.BackoffMin, 500*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.HealthyAfter, 30*time.Second)
	def(&c.ReplayTimeout, 30*time.Second)
	def(&c.StopTimeout, 5*time.Second)
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.BatchMax <= 0 {
		c.BatchMax = 256
	}
	if c.BatchMax > record.MaxBatchRecords {
		return fmt.Errorf("dockerwatch: BatchMax %d exceeds %d", c.BatchMax, record.MaxBatchRecords)
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return nil
}

// Watcher reads Docker events and appends records to a Sink. Run it once.
type Watcher struct {
	docker Docker
	sink   Sink
	log    *zap.Logger
	cfg    Config
	m      *metrics
	queue  chan record.Record
	loss   lossTracker

	streamUp atomic.Bool

	// reader state (reader goroutine only)
	lastTime     int64 // newest event time seen
	seen         keyRing
	startupDone  bool
	snapshotDue  bool
	decodeFailAt int64 // lastTime at the previous decode failure, -1 if none
	skipPoison   bool
}

// New returns a Watcher. Its metrics are registered on reg (may be nil).
func New(docker Docker, sink Sink, logger *zap.Logger, reg prometheus.Registerer, cfg Config) (*Watcher, error) {
	if docker == nil || sink == nil {
		return nil, errors.New("dockerwatch: a Docker client and a sink are required")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	w := &Watcher{docker: docker, sink: sink, log: logger, cfg: cfg, decodeFailAt: -1}
	w.queue = make(chan record.Record, cfg.QueueSize)
	w.seen = newKeyRing(2 * replayBuffer)
	w.m = newMetrics(reg, func() float64 { return float64(len(w.queue)) })
	w.loss.byReason = map[string]*loss{}
	return w, nil
}

// StreamUp reports whether the live event stream is open (for readiness).
func (w *Watcher) StreamUp() bool { return w.streamUp.Load() }

func (w *Watcher) setStreamUp(up bool) {
	w.streamUp.Store(up)
	if up {
		w.m.streamUp.Set(1)
	} else {
		w.m.streamUp.Set(0)
	}
}

// Run writes the start record, then reads events until ctx is cancelled,
// then writes what is queued and the stop record (bounded by StopTimeout).
// It returns nil after a clean stop; stream failures are retried, not
// returned.
func (w *Watcher) Run(ctx context.Context) error {
	prev, err := w.sink.Meta(MetaState)
	if err != nil {
		return fmt.Errorf("dockerwatch: read state: %w", err)
	}
	w.lastTime = w.sink.LastEventTime()
	reason := "first start"
	switch prev {
	case "running":
		reason = "restart after an unclean stop"
	case "stopped":
		reason = "restart after a clean stop"
	}
	w.log.Info("watcher starting", zap.String("reason", reason), zap.Int64("since", w.lastTime),
		zap.String("filter", w.cfg.Filter.String()))

	var g errgroup.Group
	g.Go(func() error {
		defer close(w.queue) // the reader is the only sender: the writer drains and stops
		w.read(ctx)
		return nil
	})
	g.Go(func() error { w.write(ctx, reason); return nil })
	return g.Wait()
}

// ---- reader ----

func (w *Watcher) read(ctx context.Context) {
	bo := backoff{min: w.cfg.BackoffMin, max: w.cfg.BackoffMax}
	for {
		began := w.cfg.Clock()
		err := w.session(ctx)
		w.setStreamUp(false)
		if ctx.Err() != nil {
			return
		}
		w.m.reconnects.Inc()
		if w.cfg.Clock().Sub(began) >= w.cfg.HealthyAfter {
			bo.reset()
		}
		d := bo.next()
		w.log.Warn("docker event stream failed, reconnecting", zap.Error(err), zap.Duration("backoff", d))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// isDecodeError reports whether err says the stream carried bytes that are
// not a JSON event (as opposed to a broken connection).
func isDecodeError(err error) bool {
	var se *json.SyntaxError
	var ue *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &ue)
}

// session is one connect, replay, snapshot, stream cycle. It returns why
// the stream ended.
func (w *Watcher) session(ctx context.Context) error {
	if _, err := w.docker.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker: %w", err)
	}
	info, err := w.docker.Info(ctx)
	if err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	w.checkDaemonID(info.ID)
	connectAt := w.cfg.Clock().UnixNano()
	if !w.startupDone {
		w.snapshotDue = true
	}

	checkBoundary := true
	switch {
	case w.skipPoison:
		// The same undecodable item broke the stream twice at the same
		// place: skip past it. What happened in between is unproven.
		w.skipPoison = false
		w.decodeFailAt = -1
		if err := w.enqueueGap(ctx, record.GapStreamError, w.lastTime, connectAt, 0,
			"the Docker event stream carried an undecodable item twice at the same place; resumed from now"); err != nil {
			return err
		}
		w.snapshotDue = true
		w.lastTime, checkBoundary = connectAt, false
	case w.lastTime > 0:
		if err := w.replay(ctx, connectAt); err != nil {
			return err
		}
	}
	w.startupDone = true
	if w.snapshotDue {
		if err := w.snapshot(ctx); err != nil {
			return err
		}
		w.snapshotDue = false
	}

	since, boundary := w.lastTime, w.lastTime
	if !checkBoundary {
		boundary = 0
	}
	if since == 0 {
		since = connectAt
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := w.docker.Events(sctx, events.ListOptions{Since: formatSince(since)})
	w.setStreamUp(true)
	w.log.Info("docker event stream open", zap.Int64("since", since), zap.String("daemon", info.ID))
	first := true
	for {
		select {
		case m := <-msgs:
			// The boundary event must come first: the daemon replays from
			// since, inclusive. If it does not, events between it and this
			// one may have fallen out of the daemon's buffer.
			if first && boundary > 0 {
				if t := eventTime(m); t != boundary {
					if err := w.enqueueGap(ctx, record.GapReplayWindow, boundary, max(t, boundary), 0,
						"the resumed Docker stream did not start at the last recorded event"); err != nil {
						return err
					}
					w.snapshotDue = true
				}
			}
			first = false
			w.handle(ctx, m)
		case err := <-errs:
			if isDecodeError(err) {
				w.decodeFailure(err)
			}
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("docker event stream ended: %w", err)
			}
			return err
		}
	}
}

// replay fetches the daemon's buffered events since lastTime up to
// connectAt, checks that the boundary event is among them, writes a gap if
// it is not, and handles them.
func (w *Watcher) replay(ctx context.Context, connectAt int64) error {
	since := w.lastTime
	rctx, cancel := context.WithTimeout(ctx, w.cfg.ReplayTimeout)
	defer cancel()
	msgs, errs := w.docker.Events(rctx, events.ListOptions{Since: formatSince(since), Until: formatSince(connectAt)})
	var got []events.Message
	var rerr error
loop:
	for {
		select {
		case m := <-msgs:
			got = append(got, m)
		case err := <-errs:
			if !errors.Is(err, io.EOF) {
				rerr = err
			}
			break loop
		}
	}
	proven := false
	for _, m := range got {
		if eventTime(m) == since {
			proven = true
			break
		}
	}
	if rerr != nil {
		if isDecodeError(rerr) {
			w.decodeFailure(rerr)
		}
		if !proven { // retry: the next attempt decides
			return fmt.Errorf("docker event replay: %w", rerr)
		}
	}
	if !proven && rerr == nil {
		reason, detail := record.GapDockerRestart, "the Docker daemon's event buffer no longer holds the last recorded event and holds fewer than 256 events: it was emptied (daemon restart)"
		switch {
		case !w.startupDone:
			reason, detail = record.GapCollectorDown, "the collector was not running and the Docker daemon's event buffer no longer holds the last recorded event"
		case len(got) >= replayBuffer:
			reason, detail = record.GapReplayWindow, "the Docker daemon's event buffer (256 events) rolled over while the stream was down"
		}
		to := connectAt
		if len(got) > 0 {
			to = max(eventTime(got[0]), since)
		}
		if err := w.enqueueGap(ctx, reason, since, to, 0, detail); err != nil {
			return err
		}
		w.snapshotDue = true
	}
	w.log.Info("docker event replay", zap.Int64("since", since), zap.Int("events", len(got)), zap.Bool("proven", proven))
	for _, m := range got {
		w.handle(ctx, m)
	}
	if rerr != nil {
		return fmt.Errorf("docker event replay: %w", rerr)
	}
	return nil
}

func (w *Watcher) decodeFailure(err error) {
	w.m.decodeErrors.WithLabelValues(decodeJSON).Inc()
	w.log.Error("undecodable item in the docker event stream", zap.Error(err), zap.Int64("after", w.lastTime))
	if w.decodeFailAt == w.lastTime {
		w.skipPoison = true
	}
	w.decodeFailAt = w.lastTime
}

func (w *Watcher) checkDaemonID(id string) {
	old, err := w.sink.Meta(MetaDaemonID)
	if err != nil {
		w.log.Warn("read docker daemon id", zap.Error(err))
		return
	}
	if old == id {
		return
	}
	if old != "" {
		w.log.Warn("docker daemon id changed", zap.String("old", old), zap.String("new", id))
		w.snapshotDue = true
	}
	if err := w.sink.SetMeta(MetaDaemonID, id); err != nil {
		w.log.Warn("store docker daemon id", zap.Error(err))
	}
}

// eventTime is the event's timeNano (or its time in seconds, from old daemons).
func eventTime(m events.Message) int64 {
	if m.TimeNano != 0 {
		return m.TimeNano
	}
	return m.Time * 1e9
}

// formatSince writes unix nanoseconds as Docker's "seconds.nanoseconds".
func formatSince(ns int64) string {
	return fmt.Sprintf("%d.%09d", ns/1e9, ns%1e9)
}

func eventKey(m events.Message) string {
	return string(m.Type) + "\x00" + string(m.Action) + "\x00" + m.Actor.ID + "\x00" + strconv.FormatInt(eventTime(m), 10)
}

// handle turns one event into a record and enqueues it without blocking.
func (w *Watcher) handle(ctx context.Context, m events.Message) {
	base, _ := splitAction(string(m.Action))
	w.m.countReceived(string(m.Type), base)
	t := eventTime(m)
	key := eventKey(m)
	if w.seen.has(key) {
		w.m.deduped.Inc()
		return
	}
	w.seen.add(key)
	// Docker's times are mostly increasing but swarm create/update events
	// carry the object's store time: never skip an event for being older.
	w.lastTime = max(w.lastTime, t)
	if !w.cfg.Filter.Match(string(m.Type), base) {
		w.m.ignored.Inc()
		return
	}
	n, err := normalize(m)
	var rec record.Record
	if err == nil {
		rec = eventRecord(w.cfg.Host, n.event)
		err = validateUnchained(rec)
	}
	if err != nil {
		w.m.decodeErrors.WithLabelValues(decodeInvalid).Inc()
		w.log.Error("docker event cannot be recorded", zap.Error(err), zap.String("type", string(m.Type)),
			zap.String("action", base), zap.Int64("timeNano", t))
		w.drop(DropInvalid, record.GapStreamError, t, 1)
		return
	}
	for reason, c := range n.dropped {
		w.m.labelsDropped.WithLabelValues(reason).Add(float64(c))
	}
	select {
	case w.queue <- rec:
	default:
		w.drop(DropQueueFull, record.GapSpoolFull, t, 1)
	}
}

func (w *Watcher) drop(dropReason, gapReason string, t int64, n int) {
	w.m.dropped.WithLabelValues(dropReason).Add(float64(n))
	w.loss.add(gapReason, dropReason, t, t, uint64(n))
}

// enqueueControl sends a non-event record; it waits for room (the reader
// is between streams when it sends one).
func (w *Watcher) enqueueControl(ctx context.Context, r record.Record) error {
	select {
	case w.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Watcher) enqueueGap(ctx context.Context, reason string, from, to int64, lost uint64, detail string) error {
	w.log.Warn("gap in the docker event record", zap.String("reason", reason), zap.Int64("from", from),
		zap.Int64("to", to), zap.String("detail", detail))
	return w.enqueueControl(ctx, w.gapRecord(reason, from, to, lost, detail))
}

func (w *Watcher) gapRecord(reason string, from, to int64, lost uint64, detail string) record.Record {
	if from <= 0 {
		from = to
	}
	if to < from {
		to = from
	}
	if len(detail) > record.MaxDetailLen {
		detail = detail[:record.MaxDetailLen]
	}
	return record.Record{V: record.SchemaVersion, Kind: record.KindGap, Host: w.cfg.Host, Time: w.cfg.Clock().UnixNano(),
		Gap: &record.Gap{From: from, To: to, Reason: reason, Lost: lost, Detail: detail}}
}

// ---- writer ----

func (w *Watcher) write(ctx context.Context, startReason string) {
	var stopCtx context.Context
	appendCtx := func() context.Context {
		if ctx.Err() == nil {
			return context.WithoutCancel(ctx)
		}
		if stopCtx == nil {
			var cancel context.CancelFunc
			stopCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), w.cfg.StopTimeout)
			_ = cancel // released when the timeout fires; the writer returns soon after
		}
		return stopCtx
	}
	// The first heartbeat goes with the start record: the heartbeat interval
	// is on the ledger, and silence is judged, from the start on.
	w.flush(appendCtx(), []record.Record{w.lifecycle(record.KindStart, startReason), w.heartbeat()})
	if err := w.sink.SetMeta(MetaState, "running"); err != nil {
		w.log.Warn("store watcher state", zap.Error(err))
	}

	hb := time.NewTicker(w.cfg.HeartbeatInterval)
	defer hb.Stop()
	var carry *record.Record
	for open := true; open; {
		var r record.Record
		if carry != nil {
			r, carry = *carry, nil
		} else {
			select {
			case r, open = <-w.queue:
				if !open {
					continue
				}
			case <-hb.C:
				w.flush(appendCtx(), []record.Record{w.heartbeat()})
				continue
			}
		}
		batch := []record.Record{r}
		isEvent := r.Kind == record.KindEvent
		delay := time.NewTimer(w.cfg.BatchDelay)
	fill:
		for len(batch) < w.cfg.BatchMax {
			select {
			case next, ok := <-w.queue:
				if !ok {
					open = false
					break fill
				}
				if (next.Kind == record.KindEvent) != isEvent {
					carry = &next
					break fill
				}
				batch = append(batch, next)
			case <-delay.C:
				break fill
			}
		}
		delay.Stop()
		w.flush(appendCtx(), batch)
	}
	if carry != nil {
		w.flush(appendCtx(), []record.Record{*carry})
	}
	sctx := appendCtx()
	if gaps, taken := w.loss.take(w); len(gaps) > 0 {
		if err := w.appendAll(sctx, gaps); err != nil {
			w.loss.restore(taken)
			w.log.Error("spool refused the gap records of dropped events", zap.Error(err))
		}
	}
	w.flush(sctx, []record.Record{w.lifecycle(record.KindStop, "shutdown")})
	if err := w.sink.SetMeta(MetaState, "stopped"); err != nil {
		w.log.Warn("store watcher state", zap.Error(err))
	}
	w.log.Info("watcher stopped")
}

func (w *Watcher) lifecycle(kind record.Kind, reason string) record.Record {
	return record.Record{V: record.SchemaVersion, Kind: kind, Host: w.cfg.Host, Time: w.cfg.Clock().UnixNano(),
		Lifecycle: &record.Lifecycle{Version: w.cfg.Version, Reason: reason}}
}

func (w *Watcher) heartbeat() record.Record {
	var pending uint64
	if w.cfg.Pending != nil {
		pending = w.cfg.Pending()
	}
	return record.Record{V: record.SchemaVersion, Kind: record.KindHeartbeat, Host: w.cfg.Host, Time: w.cfg.Clock().UnixNano(),
		Heartbeat: &record.Heartbeat{
			IntervalMs: w.cfg.HeartbeatInterval.Milliseconds(),
			LastEvent:  w.sink.LastEventTime(),
			Pending:    pending,
			Dropped:    w.loss.total.Load(),
		}}
}

// flush appends one batch. A batch of events carries the gap records of
// earlier losses in front of it, so the gap is written as soon as the spool
// has room again (the spool refuses an Append with events whole).
func (w *Watcher) flush(ctx context.Context, batch []record.Record) {
	if batch[0].Kind != record.KindEvent {
		if err := w.appendAll(ctx, batch); err != nil {
			w.log.Error("spool refused records", zap.Error(err), zap.String("kind", string(batch[0].Kind)), zap.Int("records", len(batch)))
		}
		return
	}
	gaps, taken := w.loss.take(w)
	err := w.appendAll(ctx, append(gaps, batch...))
	if err == nil {
		return
	}
	w.loss.restore(taken)
	reason := DropSinkError
	if errors.Is(err, ErrSinkFull) {
		reason = DropSpoolFull
	}
	lo, hi := batch[0].Time, batch[0].Time
	for _, r := range batch {
		lo, hi = min(lo, r.Time), max(hi, r.Time)
	}
	w.m.dropped.WithLabelValues(reason).Add(float64(len(batch)))
	w.loss.add(record.GapSpoolFull, reason, lo, hi, uint64(len(batch)))
	w.log.Error("spool refused events, dropped", zap.Error(err), zap.Int("events", len(batch)), zap.String("reason", reason))
}

func (w *Watcher) appendAll(ctx context.Context, recs []record.Record) error {
	start := time.Now()
	dups, err := w.sink.Append(ctx, recs)
	w.m.appendSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	w.m.batchRecords.Observe(float64(len(recs)))
	w.m.duplicates.Add(float64(dups))
	var newest int64
	for _, r := range recs {
		w.m.records.WithLabelValues(string(r.Kind)).Inc()
		if r.Kind == record.KindGap {
			w.m.gaps.WithLabelValues(r.Gap.Reason).Inc()
		}
		if r.Kind == record.KindEvent {
			newest = max(newest, r.Time)
		}
	}
	if newest > 0 {
		w.m.lastEvent.Set(float64(newest) / 1e9)
	}
	return nil
}

// ---- losses ----

// lossTracker accumulates events lost before the spool until a gap record
// reporting them is stored.
type lossTracker struct {
	mu       sync.Mutex
	byReason map[string]*loss // gap reason
	total    atomic.Uint64    // events dropped since start (heartbeat.dropped)
}

type loss struct {
	from, to int64
	count    uint64
	byDrop   map[string]uint64
}

func (l *lossTracker) add(gapReason, dropReason string, from, to int64, n uint64) {
	l.total.Add(n)
	l.merge(gapReason, &loss{from: from, to: to, count: n, byDrop: map[string]uint64{dropReason: n}})
}

func (l *lossTracker) merge(gapReason string, x *loss) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.byReason[gapReason]
	if !ok {
		l.byReason[gapReason] = x
		return
	}
	cur.from, cur.to = min(cur.from, x.from), max(cur.to, x.to)
	cur.count += x.count
	for k, v := range x.byDrop {
		cur.byDrop[k] += v
	}
}

// take returns gap records for the losses so far and forgets them; restore
// puts them back when the records could not be stored.
func (l *lossTracker) take(w *Watcher) ([]record.Record, map[string]*loss) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []record.Record
	taken := l.byReason
	l.byReason = map[string]*loss{}
	for _, reason := range record.GapReasons {
		x, ok := taken[reason]
		if !ok {
			continue
		}
		detail := ""
		for _, d := range dropReasons {
			if c := x.byDrop[d]; c > 0 {
				if detail != "" {
					detail += ", "
				}
				detail += fmt.Sprintf("%d %s", c, d)
			}
		}
		out = append(out, w.gapRecord(reason, x.from, x.to, x.count, "events dropped before the spool: "+detail))
	}
	return out, taken
}

func (l *lossTracker) restore(taken map[string]*loss) {
	for reason, x := range taken {
		l.merge(reason, x)
	}
}

// keyRing remembers the last n event keys.
type keyRing struct {
	keys []string
	set  map[string]int
	next int
}

func newKeyRing(n int) keyRing {
	return keyRing{keys: make([]string, n), set: make(map[string]int, n)}
}

func (k *keyRing) has(key string) bool { _, ok := k.set[key]; return ok }

func (k *keyRing) add(key string) {
	if old := k.keys[k.next]; old != "" {
		if k.set[old]--; k.set[old] <= 0 {
			delete(k.set, old)
		}
	}
	k.keys[k.next] = key
	k.set[key]++
	k.next = (k.next + 1) % len(k.keys)
}
