package dockerwatch

// The writer: batching queued records into the sink, start, stop and heartbeat records.

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
)

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
	stop := w.lifecycle(record.KindStop, "shutdown")
	if w.stopAt != 0 && w.stopAt > w.lastWritten {
		// The reader read everything up to stopAt (catchUp): the stop
		// record vouches for no later time than that.
		stop.Time = w.stopAt
	}
	w.flush(sctx, []record.Record{stop})
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

// appendAll hands recs to the sink in one Append. What the spool stores
// (records by kind, duplicates, the Append's duration, the newest event's
// time) is counted by the spool's own metrics; the watcher counts only
// what the spool cannot know: the batch sizes and the gap reasons.
func (w *Watcher) appendAll(ctx context.Context, recs []record.Record) error {
	if _, err := w.sink.Append(ctx, recs); err != nil {
		return err
	}
	w.m.batchRecords.Observe(float64(len(recs)))
	for _, r := range recs {
		if r.Kind == record.KindGap {
			w.m.gaps.WithLabelValues(r.Gap.Reason).Inc()
		}
		w.lastWritten = max(w.lastWritten, r.Time)
	}
	return nil
}
