//go:build integration

package integration

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/testkit/pgtest"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// The audit index on the real network (issue 12): the e2l binary indexes
// the channel into SQLite and PostgreSQL, is killed mid-catch-up and
// resumes, and the index holds every record of the ledger once, byte for
// byte; verify --index catches a row changed in the database; two managers
// reporting one swarm event never conflict.
func TestTheAuditIndexFollowsTheLedger(t *testing.T) {
	cli := auditorCLI(t)
	hosts := fillLedger(t, "it-idx", 3, 12, 100) // 3,600 records in 36 transactions

	dir := t.TempDir()
	sqlite := filepath.Join(dir, "index.db")
	t.Run("an indexer killed mid-catch-up resumes with no record lost or duplicated", func(t *testing.T) {
		killed := false
		for attempt := 0; attempt < 5 && !killed; attempt++ {
			db := filepath.Join(dir, fmt.Sprintf("kill-%d.db", attempt))
			killed = killMidCatchUp(t, cli, db)
			if killed {
				sqlite = db
			}
		}
		if !killed {
			t.Fatal("the catch-up always finished before it could be killed: the test proves nothing")
		}
		out := cli.mustRun(t, "--index", sqlite, "index")
		if !strings.Contains(out, "index ") {
			t.Fatalf("e2l index: %s", out)
		}
		requireIndexMatchesLedger(t, sqlite, hosts)
	})

	t.Run("the same channel indexed into PostgreSQL holds the same records", func(t *testing.T) {
		dsn := pgtest.Start(t)
		cli.mustRun(t, "--index", dsn, "index")
		requireIndexMatchesLedger(t, dsn, hosts)
	})

	t.Run("verify --index passes, then names a database row changed after indexing", func(t *testing.T) {
		// The channel also holds other tests' deliberately broken chains:
		// what must be clean is what concerns these hosts and the index.
		requireIndexVerifies(t, cli, sqlite, hosts)
		more := fillLedger(t, "it-idx-more", 1, 10, 100) // 1,000 new records
		start := time.Now()
		requireIndexVerifies(t, cli, sqlite, append(hosts, more...))
		t.Logf("verify --index after %d new records: %s", 1000, time.Since(start).Round(time.Millisecond))
		requireIndexMatchesLedger(t, sqlite, append(hosts, more...))

		// An auditor's colleague with write access to the database moves a
		// record's time by an hour, consistently in the row and its stored
		// value (the row's digest is left as it was).
		victim := hosts[1]
		db, err := sql.Open("sqlite", sqlite)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var stored []byte
		var block int64
		if err := db.QueryRow(`SELECT stored, block FROM records WHERE host = ? AND seq = 5`, victim).Scan(&stored, &block); err != nil {
			t.Fatal(err)
		}
		var st wire.Stored
		if err := json.Unmarshal(stored, &st); err != nil {
			t.Fatal(err)
		}
		var r struct {
			Time int64 `json:"time"`
		}
		if err := json.Unmarshal(st.Record, &r); err != nil {
			t.Fatal(err)
		}
		tm := r.Time + int64(time.Hour)
		st.Record = bytes.Replace(st.Record, []byte(fmt.Sprintf(`"time":%d`, r.Time)), []byte(fmt.Sprintf(`"time":%d`, tm)), 1)
		forged, _ := json.Marshal(st)
		if _, err := db.Exec(`UPDATE records SET stored = ?, time = ? WHERE host = ? AND seq = 5`, forged, tm, victim); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := cli.run(t, "--index", sqlite, "verify")
		want := fmt.Sprintf("the index's row differs from the ledger's block %d (time, stored record)", block)
		if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "host "+victim+" seq 5") {
			t.Fatalf("verify --index of a changed row: exit %d, want 1 naming host %s seq 5: %q\n%s\n%s", code, victim, want, out, errOut)
		}
		t.Logf("caught: %s", firstLine(out, "differs from the ledger"))

		// Rewritten with its digests recomputed, the row no longer chains
		// to the root this auditor recorded at its last verification.
		rewriteDigests(t, sqlite)
		out, errOut, code = cli.run(t, "--index", sqlite, "verify")
		if code != 1 || !strings.Contains(out, "the index changed since this auditor verified it") || !strings.Contains(out, want) {
			t.Fatalf("verify --index of a row rewritten with its digests: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("the CLI answers from its default index in the cache directory", func(t *testing.T) {
		out := cli.mustRun(t, "events", "--host", hosts[0], "-o", "json")
		var rows []json.RawMessage
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1200 {
			t.Fatalf("events --host %s: %d rows (%v)", hosts[0], len(rows), err)
		}
		out = cli.mustRun(t, "hosts", "-o", "json")
		for _, h := range hosts {
			if !strings.Contains(out, `"host": "`+h+`"`) && !strings.Contains(out, `"host":"`+h+`"`) {
				t.Errorf("hosts does not list %s:\n%s", h, out)
			}
		}
	})
}

// requireIndexVerifies runs verify --index and fails on any error that
// names one of hosts or no host at all (the index's own integrity).
func requireIndexVerifies(t *testing.T, cli e2lCLI, dsn string, hosts []string) {
	t.Helper()
	out, errOut, code := cli.run(t, "--index", dsn, "verify", "-o", "json")
	var rep struct {
		Records  int `json:"records"`
		Findings []struct {
			Severity string `json:"severity"`
			Host     string `json:"host"`
			Problem  string `json:"problem"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code > 1 {
		t.Fatalf("verify --index: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	for _, f := range rep.Findings {
		if f.Severity == "error" && (f.Host == "" || slices.Contains(hosts, f.Host)) {
			t.Errorf("verify --index: %s: %s", f.Host, f.Problem)
		}
	}
	if rep.Records == 0 {
		t.Fatalf("verify --index checked no record:\n%s", out)
	}
}

// fillLedger enrolls n hosts named prefix-i and commits txs transactions of
// per records for each, concurrently, and returns the hosts.
func fillLedger(t *testing.T, prefix string, n, txs, per int) []string {
	t.Helper()
	var hosts []string
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		orgs := []network.Org{network.Provider, network.Developer, network.User}
		id := enrollHost(t, orgs[i%len(orgs)], fmt.Sprintf("%s-%d", prefix, i), network.EnrollOptions{})
		hosts = append(hosts, id.Host)
		contract := e2lContract(connectGateway(t, id))
		chain := newRecordChain(id.Host)
		batches := make([]record.Batch, txs)
		for j := range batches {
			batches[j] = chain.next(t, per)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var commits []*client.Commit
			for _, b := range batches {
				_, c, err := contract.SubmitAsync("RecordEvents", client.WithArguments(batchJSON(t, b)))
				if err != nil {
					errs <- fmt.Errorf("%s: submit: %w", id.Host, describeGatewayError(err))
					return
				}
				commits = append(commits, c)
			}
			for _, c := range commits {
				st, err := c.StatusWithContext(t.Context())
				if err != nil || st.Code != peer.TxValidationCode_VALID {
					errs <- fmt.Errorf("%s: commit %v %v", id.Host, st, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return hosts
}

// killMidCatchUp runs "e2l index" into a fresh SQLite file and kills it
// (SIGKILL) once it has applied some blocks but not all; it says whether it
// caught it in the middle.
func killMidCatchUp(t *testing.T, cli e2lCLI, db string) bool {
	t.Helper()
	qc := indexClient(t)
	defer qc.Close()
	height, err := qc.Height(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cmd := cli.command(t.Context(), "--index", db, "index", "--run-blocks", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Logf("the catch-up ended before it was killed (%v): %s", err, out.String())
			return false
		case <-tick.C:
		}
		next := checkpointOf(db)
		if next > height/4 && next < height*3/4 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			t.Logf("killed the indexer at its checkpoint %d of %d blocks", checkpointOf(db), height)
			return true
		}
	}
}

// checkpointOf reads an index's next block without the index package (the
// file may be mid-write), 0 when it cannot be read yet.
func checkpointOf(path string) uint64 {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(100)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT next_block FROM checkpoint WHERE id = 1`).Scan(&n); err != nil {
		return 0
	}
	return uint64(n)
}

// requireIndexMatchesLedger compares, for each host, the index's chain with
// the ledger's (QueryChain): the same records, once each, byte for byte,
// and the index's checkpoint at the channel's height at least.
func requireIndexMatchesLedger(t *testing.T, dsn string, hosts []string) {
	t.Helper()
	ctx := t.Context()
	st, err := index.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	qc := indexClient(t)
	defer qc.Close()
	total := 0
	for _, h := range hosts {
		var ledger []wire.Stored
		if err := qc.Chain(ctx, h, 1, query.MaxSeq, func(s wire.Stored) error { ledger = append(ledger, s); return nil }); err != nil {
			t.Fatal(err)
		}
		rows, err := st.ChainRecords(ctx, h, 1, ^uint64(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(ledger) {
			t.Fatalf("host %s: the index holds %d records, the ledger %d", h, len(rows), len(ledger))
		}
		for i, r := range rows {
			var s wire.Stored
			if err := json.Unmarshal(r.Stored, &s); err != nil {
				t.Fatal(err)
			}
			l := ledger[i]
			if s.ID != l.ID || s.Hash != l.Hash || !bytes.Equal(s.Record, l.Record) || s.TxID != l.TxID || s.MSP != l.MSP || r.Seq != uint64(i+1) {
				t.Fatalf("host %s seq %d: the index's record differs from the ledger's (%s vs %s)", h, i+1, s.ID, l.ID)
			}
		}
		total += len(rows)
	}
	ids := map[string]int{}
	for _, h := range hosts {
		rows, _ := st.ChainRecords(ctx, h, 1, ^uint64(0))
		for _, r := range rows {
			ids[r.ID]++
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("record %s is %d times in the index", id, n)
		}
	}
	t.Logf("%s: %d records of %d hosts, each once and equal to the ledger's", strings.SplitN(dsn, "?", 2)[0], total, len(hosts))
}

// rewriteDigests recomputes every block's digest and root from the rows,
// as someone covering a change in the database would.
func rewriteDigests(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	st, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	findings, err := st.Findings(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	type fix struct {
		n            uint64
		digest, root []byte
	}
	var fixes []fix
	var prev []byte
	if err := st.Blocks(ctx, 0, next-1, func(b index.Block) error {
		recs, hosts, err := st.RowsOfBlock(ctx, b.Number)
		if err != nil {
			return err
		}
		var fs []index.Finding
		for _, f := range findings {
			if f.Block == b.Number {
				fs = append(fs, f)
			}
		}
		d := index.RowsDigest(recs, hosts, fs)
		prev = index.ChainRoot(prev, b.HeaderHash, d)
		fixes = append(fixes, fix{b.Number, d, prev})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range fixes {
		if _, err := db.ExecContext(ctx, `UPDATE blocks SET digest = ?, root = ? WHERE number = ?`, f.digest, f.root, int64(f.n)); err != nil {
			t.Fatal(err)
		}
	}
}

// Two managers report one swarm event in the same block: each report is a
// record of its own chain and no key is shared, so neither transaction is
// invalidated (issue 12: 0 MVCC conflicts), and the index gathers both.
func TestTwoManagersReportingOneSwarmEventNeverConflict(t *testing.T) {
	a := enrollHost(t, network.Provider, "it-msw-a", network.EnrollOptions{})
	b := enrollHost(t, network.Developer, "it-msw-b", network.EnrollOptions{})
	ca, cb := e2lContract(connectGateway(t, a)), e2lContract(connectGateway(t, b))
	chainA, chainB := newRecordChain(a.Host), newRecordChain(b.Host)
	submitRecords(t, ca, chainA.next(t, 1))
	submitRecords(t, cb, chainB.next(t, 1))
	conflicts, sameBlock := 0, 0
	for round := range 5 {
		at := time.Now().UnixNano()
		ev := record.Event{Type: "service", Action: "update", Actor: fmt.Sprintf("it-msw-service-%d", round), Scope: record.ScopeSwarm,
			TimeNano: at, Attrs: record.Attributes{Name: "api", ReplicasOld: "2", ReplicasNew: "3"}}
		var ids []string
		var commits []*client.Commit
		for _, side := range []struct {
			c     *client.Contract
			chain *recordChain
		}{{ca, chainA}, {cb, chainB}} {
			e := ev
			s := sealNext(t, side.chain, record.Record{Kind: record.KindEvent, Time: at, Event: &e})
			ids = append(ids, s.Record.EventID())
			_, commit, err := side.c.SubmitAsync("RecordEvents", client.WithArguments(batchJSON(t, record.Batch{Records: []record.Sealed{s}})))
			if err != nil {
				t.Fatalf("submit: %v", describeGatewayError(err))
			}
			commits = append(commits, commit)
		}
		if ids[0] != ids[1] {
			t.Fatalf("the two reports have event IDs %s and %s, want one", ids[0], ids[1])
		}
		var blocks []uint64
		for _, c := range commits {
			st, err := c.StatusWithContext(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Code != peer.TxValidationCode_VALID {
				conflicts++
				t.Errorf("round %d: a report committed as %s", round, st.Code)
			}
			blocks = append(blocks, st.BlockNumber)
		}
		if blocks[0] == blocks[1] {
			sameBlock++
		}
		reps := indexWitnesses(t, ids[0])
		var got []string
		for _, r := range reps {
			got = append(got, r.Host)
		}
		slices.Sort(got)
		if want := []string{a.Host, b.Host}; !slices.Equal(got, want) {
			t.Errorf("round %d: the index holds reports from %v, want %v", round, got, want)
		}
	}
	t.Logf("5 swarm events reported by 2 managers: %d MVCC conflicts, %d of 5 pairs committed in the same block", conflicts, sameBlock)
	if sameBlock == 0 {
		t.Error("no pair of reports was committed in the same block: the test did not exercise concurrency")
	}
}
