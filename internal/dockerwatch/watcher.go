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
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/system"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/e2l-project/e2l/internal/deps"
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
	// Logger, Registerer and Clock are optional (package deps: no logs,
	// metrics in a private registry, time.Now).
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	Clock      func() time.Time
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
	c.Logger, c.Clock = deps.Logger(c.Logger), deps.Clock(c.Clock)
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
	streamSince  int64 // since of the last stream opened, 0 if none

	// stopAt (unix ns) is set by the reader before it closes the queue on
	// shutdown: what it read covers up to there (catchUp); the writer reads
	// it once the queue is closed and dates the stop record with it.
	stopAt int64
	// lastWritten is the newest time of a record appended (writer only).
	lastWritten int64
}

// New returns a Watcher. Its metrics are registered on reg (may be nil).
func New(docker Docker, sink Sink, cfg Config) (*Watcher, error) {
	if docker == nil || sink == nil {
		return nil, errors.New("dockerwatch: a Docker client and a sink are required")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	w := &Watcher{docker: docker, sink: sink, log: cfg.Logger, cfg: cfg, decodeFailAt: -1}
	w.queue = make(chan record.Record, cfg.QueueSize)
	w.seen = newKeyRing(2 * replayBuffer)
	m, err := newMetrics(cfg.Registerer, func() float64 { return float64(len(w.queue)) })
	if err != nil {
		return nil, err
	}
	w.m = m
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
		w.catchUp()
		return nil
	})
	g.Go(func() error { w.write(ctx, reason); return nil })
	return g.Wait()
}
