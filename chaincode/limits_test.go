package chaincode_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// fullSnapshot is a snapshot part of n containers, each named and imaged
// with pad bytes (to make big records).
func fullSnapshot(n, pad int) record.Record {
	r := snapshot()
	for i := range n {
		r.Snapshot.Containers = append(r.Snapshot.Containers, record.SnapshotContainer{
			ID: fmt.Sprintf("%064x", i), Name: fmt.Sprintf("c%d-%s", i, strings.Repeat("n", pad)),
			Image: strings.Repeat("i", 2*pad), State: "running",
		})
	}
	return r
}

// maxBatch seals as many records of the host as fit in one batch: at most
// record.MaxBatchRecords, and their batch JSON within record.MaxBatchBytes.
func maxBatch(t *testing.T, g *chainGen, r func() record.Record) []record.Sealed {
	t.Helper()
	size := len(`{"records":[]}`)
	var rs []record.Sealed
	for len(rs) < record.MaxBatchRecords {
		s := g.next(t, r())
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if size+len(b)+1 > record.MaxBatchBytes {
			break
		}
		size += len(b) + 1
		rs = append(rs, s)
	}
	if n := len(batchJSON(t, rs)); n > record.MaxBatchBytes {
		t.Fatalf("batch of %d bytes, over %d", n, record.MaxBatchBytes)
	}
	return rs
}

// StateLayout 3 has no write bound: a record writes chaincode.RecordWrites
// keys whatever it holds, so a batch writes at most RecordWrites ×
// record.MaxBatchRecords.
func TestABatchWritesTwoKeysPerRecordWhateverItHolds(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	if chaincode.RecordWrites != 2 {
		t.Errorf("RecordWrites = %d, the layout documents 2", chaincode.RecordWrites)
	}
	cases := []struct {
		name string
		r    func() record.Record
		want int // records in the batch
	}{
		{"full snapshot parts, as many as fit under MaxBatchBytes", func() record.Record { return fullSnapshot(record.MaxSnapshotItems, 0) }, 0},
		{"MaxBatchRecords heartbeats", heartbeat, record.MaxBatchRecords},
	}
	for _, c := range cases {
		t.Run("a batch of "+c.name+" writes two keys per record", func(t *testing.T) {
			l := newWorld(t)
			rs := maxBatch(t, newChain("node1"), c.r)
			if c.want != 0 && len(rs) != c.want {
				t.Fatalf("%d records fit, want %d", len(rs), c.want)
			}
			if len(rs) < 2 {
				t.Fatalf("%d records fit", len(rs))
			}
			res, stub, err := invoke(t, l, node1, t0.Add(time.Hour), batchJSON(t, rs))
			if err != nil {
				t.Fatal(err)
			}
			if res.Written != len(rs) {
				t.Errorf("%d of %d records written", res.Written, len(rs))
			}
			if len(stub.writes) != chaincode.RecordWrites*len(rs) {
				t.Errorf("%d keys written for %d records", len(stub.writes), len(rs))
			}
			if want := layoutWrites(t, rs...); !slices.Equal(stub.putLog, want) {
				t.Errorf("puts are not each record's chain slot and ID key (%d puts)", len(stub.putLog))
			}
			if want := layoutReads(t, "node1", rs...); !slices.Equal(stub.readLog, want) {
				t.Errorf("reads are not the registry and each record's chain slot (%d reads)", len(stub.readLog))
			}
			t.Logf("%d records, %d writes, %d reads", len(rs), len(stub.writes), len(stub.readLog))
		})
	}
	t.Run("a batch over MaxBatchRecords is invalid, so no batch writes more than 2 × MaxBatchRecords keys", func(t *testing.T) {
		g := newChain("node1")
		var rs []record.Sealed
		for range record.MaxBatchRecords + 1 {
			rs = append(rs, g.next(t, heartbeat()))
		}
		_, stub, err := invoke(t, newWorld(t), node1, t0.Add(time.Hour), batchJSON(t, rs))
		r := refusal(t, err, wire.CodeInvalidBatch, -1)
		if want := fmt.Sprintf("batch of %d records exceeds the bound of %d: invalid record", record.MaxBatchRecords+1, record.MaxBatchRecords); r.Message != want {
			t.Errorf("message %q, want %q", r.Message, want)
		}
		if len(stub.readLog) != 0 || len(stub.writes) != 0 {
			t.Errorf("%d reads, %d writes", len(stub.readLog), len(stub.writes))
		}
	})
}

// pagesOf follows a query's bookmarks and returns every page's JSON.
func pagesOf(t *testing.T, l *fakeLedger, fn func(c *chaincode.Contract, s *fakeStub, bookmark string) (string, error)) []string {
	t.Helper()
	var out []string
	bookmark := ""
	for range 100 {
		stub := l.tx(t0)
		js, err := fn(chaincode.New(), stub, bookmark)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, js)
		var p struct{ Bookmark string }
		if err := json.Unmarshal([]byte(js), &p); err != nil {
			t.Fatal(err)
		}
		if bookmark = p.Bookmark; bookmark == "" {
			return out
		}
	}
	t.Fatal("bookmarks never end")
	return nil
}

func TestPagesAreBoundedByBytes(t *testing.T) {
	l := newWorld(t)
	g := newChain("node1")
	var rs []record.Sealed
	for range 12 {
		rs = append(rs, g.next(t, fullSnapshot(250, 245))) // ~220 KB each
	}
	for _, b := range [][]record.Sealed{rs[:4], rs[4:8], rs[8:]} {
		mustInvoke(t, l, collector("node1", "ProviderMSP"), b)
	}
	if n := len(rs[0].Record.Canonical()); n < 200<<10 || n > record.MaxRecordBytes {
		t.Fatalf("test records of %d bytes", n)
	}
	cases := []struct {
		name     string
		from, to uint64
		want     []uint64
	}{
		{"the whole chain", 0, math.MaxUint64, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"a seq range ending before the chain", 2, 11, []uint64{2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
	}
	for _, c := range cases {
		t.Run("QueryChain of "+c.name+" stops a page before MaxPageBytes and loses nothing", func(t *testing.T) {
			var got []uint64
			pages := pagesOf(t, l, func(cc *chaincode.Contract, s *fakeStub, b string) (string, error) {
				return cc.QueryChain(txContext(s, nil), "node1", c.from, c.to, chaincode.MaxPageSize, b)
			})
			for i, js := range pages {
				if len(js) > chaincode.MaxPageBytes {
					t.Errorf("page %d has %d bytes, over %d", i, len(js), chaincode.MaxPageBytes)
				}
				var p page
				if err := json.Unmarshal([]byte(js), &p); err != nil {
					t.Fatal(err)
				}
				if p.Count == 0 || p.Count != len(p.Records) {
					t.Errorf("page %d: count %d of %d records", i, p.Count, len(p.Records))
				}
				got = append(got, p.seqs(t)...)
			}
			if len(pages) < 2 {
				t.Errorf("%d pages for %d records of ~220 KB", len(pages), len(c.want))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("records %v, want %v", got, c.want)
			}
		})
	}
}

// Registry entries are written directly with long histories, as years of
// changes would make them.
func TestRegistryPagesAreBoundedByBytes(t *testing.T) {
	l := newLedger()
	var want []string
	for i := range 40 {
		host := fmt.Sprintf("host%02d", i)
		reg := wire.HostRegistration{Host: host, MSP: "ProviderMSP", SwarmRole: wire.SwarmManager, TxID: "tx"}
		for j := range chaincode.MaxHostHistory {
			reg.History = append(reg.History, wire.HostOwnership{MSP: "ProviderMSP", SwarmRole: wire.SwarmManager,
				TxID: fmt.Sprintf("%064x", j), Action: wire.HostRole, AdminCertSHA256: strings.Repeat("a", 64), TxTime: t0.UnixNano()})
		}
		v, err := json.Marshal(reg)
		if err != nil {
			t.Fatal(err)
		}
		l.state[mustKey(t, "hostreg", host)] = v
		want = append(want, host)
	}
	var got []string
	pages := pagesOf(t, l, func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
		return c.ListRegistry(txContext(s, nil), chaincode.MaxPageSize, b)
	})
	for i, js := range pages {
		if len(js) > chaincode.MaxPageBytes {
			t.Errorf("page %d has %d bytes, over %d", i, len(js), chaincode.MaxPageBytes)
		}
		var p wire.RegistryPage
		if err := json.Unmarshal([]byte(js), &p); err != nil {
			t.Fatal(err)
		}
		for _, h := range p.Hosts {
			got = append(got, h.Host)
		}
	}
	if len(pages) < 2 || !slices.Equal(got, want) {
		t.Errorf("%d pages listing %v, want %v", len(pages), got, want)
	}
}
