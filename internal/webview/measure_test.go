package webview

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/testkit/pgtest"
)

// BenchmarkPagesOfAHostWith100kRecords measures the host page and the
// usage page (MeasurePages) of one host of 100,000 synthetic records
// (index.SyntheticUpdates: container events, a heartbeat every 20th seq,
// a snapshot every 50th) in a SQLite index. Building the index takes a
// while; the figures are per page, the slowest of three renders.
func BenchmarkPagesOfAHostWith100kRecords(b *testing.B) {
	benchmarkPages(b, filepath.Join(b.TempDir(), "index.db"))
}

// BenchmarkPagesOfAHostWith100kRecordsPostgres is the same on a
// PostgreSQL index (Debian's server, started for the benchmark, or
// E2L_TEST_PG_DSN's).
func BenchmarkPagesOfAHostWith100kRecordsPostgres(b *testing.B) {
	srv, err := pgtest.StartOrUse("")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			b.Error(err)
		}
	})
	benchmarkPages(b, srv.Database(b))
}

func benchmarkPages(b *testing.B, dsn string) {
	ctx := context.Background()
	st, err := index.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	shape := index.SyntheticShape{Hosts: []string{"node01"}, TxsPerBlock: 20, RecordsPerTx: 50}
	var root []byte
	for next := uint64(0); next <= 100; next += 10 {
		run := index.SyntheticUpdates(shape, root, next, 10)
		if err := st.Apply(ctx, run); err != nil {
			b.Fatal(err)
		}
		root = run[len(run)-1].Block.Root
	}
	b.ResetTimer()
	var pt PageTimes
	for range b.N {
		if pt, err = MeasurePages(ctx, st, "node01"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(pt.Records), "records")
	b.ReportMetric(float64(pt.Host.Milliseconds()), "host-page-ms")
	b.ReportMetric(float64(pt.Usage.Milliseconds()), "usage-page-ms")
	b.ReportMetric(float64(pt.HostCPU.Milliseconds()), "host-page-cpu-ms")
	b.ReportMetric(float64(pt.UsageCPU.Milliseconds()), "usage-page-cpu-ms")
	b.ReportMetric(float64(pt.Status.Milliseconds()), "chains-check-ms")
}
