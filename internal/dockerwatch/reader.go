package dockerwatch

// The reader: one connect, replay, snapshot, stream session after another, with backoff.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/events"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
)

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
	w.streamSince = since
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

// catchUp runs on shutdown, after the stream stopped: it reads what Docker
// emitted from the newest event read up to now (stopAt) and handles it, so
// that the stop record, dated stopAt, vouches only for time the collector
// watched. A collector that continues the chain later covers the time from
// the stop record on with its collector-replaced gap; without this, events
// between the stream's end and the stop record were in neither (seen on a
// busy daemon). Bounded by StopTimeout; on failure, the stop record is
// dated when it is written, as before.
func (w *Watcher) catchUp() {
	w.stopAt = w.cfg.Clock().UnixNano()
	if w.streamSince == 0 {
		return // no stream was ever open: nothing was vouched for
	}
	since := w.lastTime // as session: the newest event read, inclusive
	if since == 0 {
		since = w.streamSince
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.StopTimeout)
	defer cancel()
	msgs, errs := w.docker.Events(ctx, events.ListOptions{Since: formatSince(since), Until: formatSince(w.stopAt)})
	n := 0
	for {
		select {
		case m := <-msgs:
			w.handle(ctx, m)
			n++
		case err := <-errs:
			if err != nil && !errors.Is(err, io.EOF) {
				w.log.Warn("docker events since the stream stopped could not be read; the stop record is dated when written", zap.Error(err))
				w.stopAt = 0
				return
			}
			w.log.Info("docker events read up to the stop", zap.Int64("since", since), zap.Int64("until", w.stopAt), zap.Int("events", n))
			return
		}
	}
}
