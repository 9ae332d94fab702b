package chaincode_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

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

func TestTheWriteCountIsTheWritesOfNewRecords(t *testing.T) {
	l := newWorld(t)
	g := newChain("node1")
	rs := g.batch(t, start(), containerEvent("create", "c1"), serviceEvent("create", "svc1", t0.UnixNano(), "1"),
		snapshot("c1", "c2", "c3"), gap(), heartbeat())
	_, stub, err := invoke(t, l, collector("node1", "ProviderMSP"), t0, batchJSON(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	want := 1 // the host key
	for i := range rs {
		want += chaincode.RecordWrites(&rs[i].Record)
	}
	if len(stub.writes) != want {
		t.Errorf("%d keys written, the bound counts %d", len(stub.writes), want)
	}
	if n := chaincode.RecordWrites(&record.Record{Kind: record.KindSnapshot, Snapshot: &record.Snapshot{
		Containers: make([]record.SnapshotContainer, record.MaxSnapshotItems)}}); n != chaincode.MaxRecordWrites {
		t.Errorf("a full snapshot part writes %d keys, MaxRecordWrites is %d", n, chaincode.MaxRecordWrites)
	}
}

func TestTooManyWrites(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")

	t.Run("a batch crossing the bound is refused at the record that crosses it, and its parts pass", func(t *testing.T) {
		l := newWorld(t)
		g := newChain("node1")
		var rs []record.Sealed
		for range 17 { // the 17th full part crosses MaxBatchWrites
			rs = append(rs, g.next(t, fullSnapshot(record.MaxSnapshotItems, 0)))
		}
		before := l.snapshot()
		_, stub, err := invoke(t, l, node1, t0, batchJSON(t, rs))
		r := refusal(t, err, wire.CodeTooManyWrites, 16)
		want := fmt.Sprintf("the batch's state writes reach %d at this record, over the bound of %d per batch: submit the records before it and from it in separate batches",
			1+17*chaincode.MaxRecordWrites, chaincode.MaxBatchWrites)
		if r.ID != rs[16].ID || r.Message != want || r.Denied() {
			t.Errorf("refusal %+v\nwant message %s, a record refusal", r, want)
		}
		if len(stub.writes) != 0 || len(stub.reads) != 1 || !maps.Equal(before, l.snapshot()) {
			t.Errorf("refused after %d reads (want the registry's alone) and %d writes", len(stub.reads), len(stub.writes))
		}
		mustInvoke(t, l, node1, rs[:16])
		mustInvoke(t, l, node1, rs[16:])
	})
	t.Run("a record that exceeds the bound on its own is refused as that record", func(t *testing.T) {
		l := newWorld(t)
		g := newChain("node1")
		rs := g.batch(t, start(), snapshot("c1", "c2", "c3", "c4", "c5"), heartbeat())
		for _, batch := range [][]record.Sealed{rs, rs[1:2]} {
			stub := l.tx(t0)
			_, err := chaincode.NewWithWriteBound(8).RecordEvents(txContext(stub, node1), batchJSON(t, batch))
			r := refusal(t, err, wire.CodeTooManyWrites, slices.Index(batch, rs[1]))
			if want := "the record alone causes 9 state writes (with the host key), over the bound of 8 per batch"; r.Message != want {
				t.Errorf("message %q, want %q", r.Message, want)
			}
		}
		stub := l.tx(t0)
		if _, err := chaincode.NewWithWriteBound(8).RecordEvents(txContext(stub, node1), batchJSON(t, rs[:1])); err != nil {
			t.Errorf("the record before it: %v", err)
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
	queries := map[string]func(c *chaincode.Contract, s *fakeStub, b string) (string, error){
		"QueryChain": func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 0, math.MaxUint64, chaincode.MaxPageSize, b)
		},
		"QueryTimeline": func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryTimeline(txContext(s, nil), fmt.Sprintf("%064x", 7), chaincode.MaxPageSize, b)
		},
		"QueryByType": func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryByType(txContext(s, nil), "snapshot", "", 0, math.MaxInt64, chaincode.MaxPageSize, b)
		},
	}
	for name, q := range queries {
		t.Run(name+" stops a page before MaxPageBytes and loses nothing", func(t *testing.T) {
			var got []uint64
			pages := pagesOf(t, l, q)
			for i, js := range pages {
				if len(js) > chaincode.MaxPageBytes {
					t.Errorf("page %d has %d bytes, over %d", i, len(js), chaincode.MaxPageBytes)
				}
				var p page
				if err := json.Unmarshal([]byte(js), &p); err != nil {
					t.Fatal(err)
				}
				got = append(got, p.seqs(t)...)
			}
			if len(pages) < 2 {
				t.Errorf("%d pages for %d records of ~220 KB", len(pages), len(rs))
			}
			if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}; !slices.Equal(got, want) {
				t.Errorf("records %v, want %v", got, want)
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
