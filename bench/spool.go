package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
	"github.com/e2l-project/e2l/network"
)

// spoolIngest appends n event records to a new spool in batches of batch
// (one Append, one bbolt transaction and fsync each, as the watcher's
// writer does) and returns the events per second. In-process.
func spoolIngest(ctx context.Context, dir string, n, batch int) (float64, error) {
	sp, err := spool.Open(filepath.Join(dir, "ingest.db"), spool.Options{Host: "bench-ingest", MaxRecords: n + 10, MaxBytes: 4 << 30})
	if err != nil {
		return 0, err
	}
	defer func() { _ = sp.Close(); _ = os.Remove(filepath.Join(dir, "ingest.db")) }()
	t0 := time.Now()
	recs := make([]record.Record, 0, batch)
	for i := 0; i < n; {
		recs = recs[:0]
		for j := 0; j < batch && i < n; j++ {
			recs = append(recs, eventRecord("bench-ingest", int64(i), time.Now().UnixNano()))
			i++
		}
		if _, err := sp.Append(ctx, recs); err != nil {
			return 0, fmt.Errorf("append: %w", err)
		}
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// spooledResult is the collector binary filling its spool with the ledger unreachable.
type spooledResult struct {
	Records      float64 // pending records at the end
	Seconds      float64 // time to spool them
	EventsPerS   float64 // watcher → spool ingest rate of the binary
	RSS, HWM     float64 // MiB
	Anon, File   float64 // MiB of RssAnon, RssFile (bbolt's mmap)
	SpoolFileMiB float64
	Dropped      float64
}

// runSpooled runs the collector binary with an unreachable ledger and an
// unbounded synthetic source until its spool is full (records = the spool's
// bound, 1,000,000 by default), then reads its memory. The source offers
// more than the watcher can store, so the reader's queue drops events on
// the way (counted, reported by gaps): only the spooled records matter here.
func runSpooled(ctx context.Context, bin string, id network.HostIdentity, dir string, records int, rate float64) (spooledResult, error) {
	var res spooledResult
	dead, err := freeAddr() // nothing listens there
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(filepath.Join(dir, "spool")) }() // about 1 GiB; after the collector stopped
	p, err := startCollector(ctx, bin, id, dir, map[string]string{
		"E2L_DOCKER_HOST":     fmt.Sprintf("synthetic://?rate=%g", rate),
		"E2L_PEER_ENDPOINTS":  dead,
		"E2L_SPOOL_MAX_BYTES": fmt.Sprint(int64(4) << 30),
	})
	if err != nil {
		return res, err
	}
	defer func() { _ = p.stop(30 * time.Second) }()
	t0 := time.Now()
	var last map[string]float64
	err = p.waitMetric(ctx, 6*time.Minute, func(m map[string]float64) bool {
		last = m
		return m["e2l_collector_spool_pending_records"] >= float64(records) ||
			m[`e2l_collector_spool_refused_records_total{reason="full"}`] > 0
	})
	res.Seconds = time.Since(t0).Seconds()
	if err != nil {
		return res, err
	}
	res.Records = last["e2l_collector_spool_pending_records"]
	res.Dropped = last["e2l_collector_watcher_events_dropped_total"]
	res.EventsPerS = last[`e2l_collector_spool_appended_records_total{kind="event"}`] / res.Seconds
	// Let the collector settle (the submitter keeps retrying the dead ledger).
	sleep(ctx, 3*time.Second)
	m, err := procMem(p.pid())
	if err != nil {
		return res, err
	}
	res.RSS, res.HWM, res.Anon, res.File = m.RSS, m.HWM, m.Anon, m.File
	if st, err := os.Stat(filepath.Join(dir, "spool", "spool.db")); err == nil {
		res.SpoolFileMiB = float64(st.Size()) / (1 << 20)
	}
	mm, err := p.metrics()
	if err != nil {
		return res, fmt.Errorf("scrape the collector's metrics: %w", err)
	}
	res.Records = mm["e2l_collector_spool_pending_records"]
	return res, nil
}
