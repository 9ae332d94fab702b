//go:build integration

package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// bigPageRecords snapshots of about bigRecordBytes each make one host's
// first 1,000-record page far larger than gRPC's default 4 MiB.
const (
	bigPageRecords = 24
	bigRecordBytes = 250_000
)

// 11. A host writes snapshots near the record size limit, one per
// transaction, so that a page of its chain exceeds 4 MiB; the auditor's
// commands must still work for it and for every other host.
func attackOversizedPage(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	id := enrollHost(t, network.Provider, "atk-bigpage", network.EnrollOptions{})
	ensureRegistered(t, network.Provider, id.Host)
	c := e2lContract(connectGateway(t, id))
	chain := &eventChain{host: id.Host}
	start := time.Now().Add(-time.Minute)
	total := 0
	var commits []*client.Commit
	for i := range bigPageRecords {
		s := chain.seal(t, record.Record{Kind: record.KindSnapshot, Time: start.Add(time.Duration(i) * time.Millisecond).UnixNano(),
			Snapshot: bigSnapshot(t, id.Host, i)})
		total += len(s.Record.Canonical())
		_, cm, err := c.SubmitAsync("RecordEvents", client.WithArguments(batchJSON(t, record.Batch{Records: []record.Sealed{s}})))
		if err != nil {
			t.Fatalf("submit snapshot %d: %v", i, describeGatewayError(err))
		}
		commits = append(commits, cm)
	}
	for i, cm := range commits {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		st, err := cm.StatusWithContext(ctx)
		cancel()
		if err != nil || st.Code != peer.TxValidationCode_VALID {
			t.Fatalf("snapshot %d: %v %v", i, st, err)
		}
	}
	t.Logf("%d snapshots, %d bytes of canonical records in one host's chain", bigPageRecords, total)
	if total <= 4<<20 {
		t.Fatalf("only %d bytes: a page would fit in 4 MiB", total)
	}

	var said []string
	for _, args := range [][]string{
		{"verify", "--host", id.Host, "-q"},
		{"verify", "--host", h.host, "-q"},
		{"events", "--host", id.Host, "-o", "json"},
		{"hosts"},
		{"usage", "--from", strconv.FormatInt(start.Add(-time.Hour).UnixNano(), 10), "--to", strconv.FormatInt(time.Now().UnixNano(), 10), "--by", "host"},
	} {
		out, errOut, code := f.online(t, args...)
		if code != 0 {
			t.Fatalf("e2l %s with a host of %d MB of records: exit %d\n%s\n%s", strings.Join(args, " "), total>>20, code, tail(out), errOut)
		}
		if args[0] == "hosts" && !strings.Contains(out, id.Host) {
			t.Fatalf("hosts does not list %s:\n%s", id.Host, out)
		}
		if args[0] == "verify" {
			said = append(said, "verify --host "+args[2]+": "+firstLine(out, "OK: "))
		} else {
			said = append(said, args[0]+": exit 0")
		}
	}
	ev.set("%d snapshots, %.1f MiB in one chain; %s", bigPageRecords, float64(total)/(1<<20), strings.Join(said, "; "))
}

// bigSnapshot is one snapshot part of about bigRecordBytes: containers with
// long names and images.
func bigSnapshot(t *testing.T, host string, n int) *record.Snapshot {
	t.Helper()
	snap := &record.Snapshot{Part: 1, Parts: 1}
	probe := record.Record{V: record.SchemaVersion, Kind: record.KindSnapshot, Host: host, Seq: 1, Prev: record.GenesisPrev, Time: 1, Snapshot: snap}
	add := func(i int) {
		snap.Containers = append(snap.Containers, record.SnapshotContainer{ID: fmt.Sprintf("%032x%032x", n, i),
			Name: "atk-" + strings.Repeat("n", 200), Image: "registry.example/" + strings.Repeat("i", 480), State: "running", StartedAt: 1})
	}
	add(0)
	one := len(probe.Canonical())
	add(1)
	per := len(probe.Canonical()) - one
	for i := 2; i < (bigRecordBytes-one)/per && i < record.MaxSnapshotItems; i++ {
		add(i)
	}
	if size := len(probe.Canonical()); size > record.MaxRecordBytes {
		t.Fatalf("snapshot of %d bytes exceeds %d", size, record.MaxRecordBytes)
	}
	return snap
}

// tail is the last 2,000 bytes of out.
func tail(out string) string {
	if len(out) > 2000 {
		return "…" + out[len(out)-2000:]
	}
	return out
}

// One batch of snapshots of MaxSnapshotItems containers each: under state
// layout 1 every container was an index key, a fan-out of state writes on
// every endorser, bounded by a refusal. Layout 2 writes two keys per record
// whatever it holds: the batch commits at the cost of any batch of as many
// records.
func attackWriteFlood(t *testing.T, f *attackFixture, ev *evidence) {
	id := enrollHost(t, network.Provider, "atk-flood", network.EnrollOptions{})
	ensureRegistered(t, network.Provider, id.Host)
	c := e2lContract(connectGateway(t, id))
	chain := &eventChain{host: id.Host}
	now := time.Now().Add(-time.Minute)
	var b record.Batch
	containers := 0
	for i := 0; containers <= 9_000; i++ { // layout 1 would have written over 9,000 keys
		snap := &record.Snapshot{Part: i + 1, Parts: 100}
		for j := range record.MaxSnapshotItems {
			snap.Containers = append(snap.Containers, record.SnapshotContainer{ID: fmt.Sprintf("%032x%032x", i, j), State: "running"})
		}
		b.Records = append(b.Records, chain.seal(t, record.Record{Kind: record.KindSnapshot, Time: now.UnixNano(), Snapshot: snap}))
		containers += len(snap.Containers)
	}
	arg := batchJSON(t, b)
	if len(arg) > record.MaxBatchBytes {
		t.Fatalf("the batch is %d bytes, over the batch bound: it would be refused for that", len(arg))
	}
	_, commit, err := c.SubmitAsync("RecordEvents", client.WithArguments(arg))
	if err != nil {
		t.Fatalf("submit: %v", describeGatewayError(err))
	}
	st, err := commit.StatusWithContext(t.Context())
	if err != nil || st.Code != peer.TxValidationCode_VALID {
		t.Fatalf("the batch committed as %v (%v), want VALID", st, err)
	}
	qc := indexClient(t)
	defer qc.Close()
	raw, err := qc.BlockByTxID(t.Context(), st.TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := audit.ParseBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	writes := -1
	for _, tx := range blk.Txs {
		if tx != nil && tx.ID == st.TransactionID {
			writes = countWrites(t, tx.Results, network.ChaincodeName)
		}
	}
	if want := 2 * len(b.Records); writes != want {
		t.Fatalf("the batch of %d snapshots (%d containers) wrote %d keys, want %d (2 per record)", len(b.Records), containers, writes, want)
	}
	ev.set("%d snapshots listing %d containers in one batch: committed with %d state writes (2 per record; layout 1 wrote %d)",
		len(b.Records), containers, writes, 2*len(b.Records)+containers+1)
}

// countWrites counts a transaction's state writes in namespace ns.
func countWrites(t *testing.T, results []byte, ns string) int {
	t.Helper()
	var txrw rwset.TxReadWriteSet
	if err := proto.Unmarshal(results, &txrw); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, nrw := range txrw.GetNsRwset() {
		if nrw.GetNamespace() != ns {
			continue
		}
		var kv kvrwset.KVRWSet
		if err := proto.Unmarshal(nrw.GetRwset(), &kv); err != nil {
			t.Fatal(err)
		}
		n += len(kv.GetWrites())
	}
	return n
}
