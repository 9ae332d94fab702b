package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
)

// TestSpoolToGateway runs the real spool, the Submitter and the real
// Gateway client against a fake gateway.
func TestSpoolToGateway(t *testing.T) {
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool.db"), spool.Options{Host: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	g := &fakeGateway{result: []byte(`{}`)}
	conn := plainConn(t, startGateway(t, g, nil))
	sub, err := NewSubmitter(sp, conn, Config{MaxBatch: 40, Logger: zap.NewNop(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx) }()

	for batch := range 5 {
		var recs []record.Record
		for i := range 30 {
			n := batch*30 + i
			ts := int64(1_700_000_000_000_000_000) + int64(n)
			recs = append(recs, record.Record{V: record.SchemaVersion, Kind: record.KindEvent, Time: ts,
				Event: &record.Event{Type: "container", Action: "die", Actor: fmt.Sprintf("%064x", n), Scope: record.ScopeLocal, TimeNano: ts}})
		}
		if _, err := sp.Append(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the spool to drain", func() bool { return sp.Stats().PendingRecords == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := sp.Stats(); st.HeadSeq != 150 || st.DeadLetters != 0 {
		t.Fatalf("spool after the run: %+v", st)
	}
	if sub.LastCommit().IsZero() {
		t.Fatal("no commit recorded")
	}
}
