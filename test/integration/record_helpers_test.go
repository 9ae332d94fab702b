//go:build integration

package integration

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
)

// recordChain makes sealed records of one host's hash chain: a start record,
// then heartbeats.
type recordChain struct {
	host string
	seq  uint64
	prev string
}

func newRecordChain(host string) *recordChain {
	return &recordChain{host: host, prev: record.GenesisPrev}
}

// next returns the next n records of the chain.
func (c *recordChain) next(t *testing.T, n int) record.Batch {
	t.Helper()
	var b record.Batch
	for range n {
		c.seq++
		r := record.Record{V: record.SchemaVersion, Host: c.host, Seq: c.seq, Prev: c.prev, Time: time.Now().UnixNano()}
		if c.seq == 1 {
			r.Kind, r.Lifecycle = record.KindStart, &record.Lifecycle{Version: "integration-test"}
		} else {
			r.Kind, r.Heartbeat = record.KindHeartbeat, &record.Heartbeat{IntervalMs: 1000}
		}
		s, err := record.Seal(r)
		if err != nil {
			t.Fatalf("seal record %d: %v", c.seq, err)
		}
		c.prev = s.Hash
		b.Records = append(b.Records, s)
	}
	return b
}

// batchJSON is the RecordEvents argument for a batch.
func batchJSON(t *testing.T, b record.Batch) string {
	t.Helper()
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}
