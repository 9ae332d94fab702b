package dockerwatch

// Resuming from the spool: Docker's replay since the last event, the daemon's identity, handling and dropping events, gap records.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types/events"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
)

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
