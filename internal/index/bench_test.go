package index

import (
	"context"
	"testing"

	"github.com/e2l-project/e2l/internal/testkit/pgtest"
)

// benchShape is MeasureIngest's: 20 transactions of 50 records per block.
var benchShape = measureShape

// benchRunBlocks is how many blocks one Apply of the benchmarks takes.
const benchRunBlocks = 20

func BenchmarkApplySQLite(b *testing.B) {
	benchmarkApply(b, openStore(b, databases[0].dsn(b)))
}

func BenchmarkApplyPostgres(b *testing.B) {
	// A server with PostgreSQL's crash safety on (fsync), as a team's is.
	srv, err := pgtest.StartOrUse("", pgtest.Durable())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			b.Error(err)
		}
	})
	benchmarkApply(b, openStore(b, srv.Database(b)))
}

// benchmarkApply applies runs of benchRunBlocks synthetic blocks, one
// Apply each, and reports records/s of the time spent in Apply.
func benchmarkApply(b *testing.B, s *Store) {
	ctx := context.Background()
	var (
		root    []byte
		next    uint64
		records int
	)
	// Block 0 (the registry) first, out of the measurement.
	first := SyntheticUpdates(benchShape, nil, 0, 1)
	mustApply(b, s, first...)
	root, next = first[0].Block.Root, 1
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		run := SyntheticUpdates(benchShape, root, next, benchRunBlocks)
		b.StartTimer()
		if err := s.Apply(ctx, run); err != nil {
			b.Fatal(err)
		}
		for _, u := range run {
			records += len(u.Records)
		}
		root, next = run[len(run)-1].Block.Root, next+benchRunBlocks
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkQueries measures the audit queries that must stay fast on a
// large index: 100,000 records of ten hosts (SyntheticUpdates), in each
// database.
func BenchmarkQueries(b *testing.B) {
	const records = 100_000
	for _, db := range databases {
		b.Run(db.name, func(b *testing.B) {
			s := openStore(b, db.dsn(b))
			ctx := context.Background()
			var root []byte
			for next := uint64(0); next <= records/1000; {
				blocks := min(benchRunBlocks, int(records/1000+1-next))
				run := SyntheticUpdates(benchShape, root, next, blocks)
				mustApply(b, s, run...)
				root, next = run[len(run)-1].Block.Root, next+uint64(blocks)
			}
			if db.name == DialectPostgres {
				// What autovacuum does to a table this size soon after.
				if _, err := s.db.ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("Hosts", func(b *testing.B) {
				for range b.N {
					hosts, err := s.Hosts(ctx)
					if err != nil || len(hosts) != len(benchShape.Hosts) {
						b.Fatalf("Hosts = %d hosts, %v", len(hosts), err)
					}
				}
			})
			b.Run("ChainProblems", func(b *testing.B) {
				for range b.N {
					if problems, err := s.ChainProblems(ctx, ""); err != nil || len(problems) != 0 {
						b.Fatalf("ChainProblems = %v, %v", problems, err)
					}
				}
			})
			b.Run("ActorTimeline", func(b *testing.B) {
				actor := synthHex("container", 1000, benchShape.Hosts[3])
				for range b.N {
					n := 0
					if err := s.Records(ctx, Query{Actor: actor}, func(Record) error { n++; return nil }); err != nil || n == 0 {
						b.Fatalf("Records of actor %s: %d, %v", actor, n, err)
					}
				}
			})
		})
	}
}
