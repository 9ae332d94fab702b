package chaincode_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
)

// Every manager reports a swarm event. StateLayout 3 keeps no shared key
// for the event: each report is a plain record of its manager's chain, and
// merging the reports (agreement, divergence) is the audit index's job.
func TestSwarmEventReportsAreRecordsOfTheirManagersChains(t *testing.T) {
	now := t0.Add(time.Minute)
	at := now.UnixNano()
	m1, m2, m3 := collector("mgr1", "ProviderMSP"), collector("mgr2", "DeveloperMSP"), collector("mgr3", "UserMSP")
	g1, g2, g3 := newChain("mgr1"), newChain("mgr2"), newChain("mgr3")
	r1 := g1.batch(t, start(), serviceEvent("create", "svc1", at, "3"))
	r2 := g2.batch(t, start(), heartbeat(), serviceEvent("create", "svc1", at, "3"))
	r3 := g3.batch(t, start(), serviceEvent("create", "svc1", at, "5")) // disagrees
	reports := []record.Sealed{r1[1], r2[2], r3[1]}
	if r1[1].Record.EventID() != r2[2].Record.EventID() || r1[1].Record.EventID() != r3[1].Record.EventID() {
		t.Fatal("test records: the reports must share their event ID")
	}

	l := newWorld(t)
	var stubs []*fakeStub
	var results [][]chaincode.RecordStatus
	for _, s := range []submission{{m1, r1}, {m2, r2}, {m3, r3}} {
		res, stub, err := invoke(t, l, s.id, now, batchJSON(t, s.batch))
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicates != 0 || res.Written != len(s.batch) {
			t.Errorf("%s: %+v, want every record written", s.batch[0].Record.Host, res)
		}
		results, stubs = append(results, statuses(t, res, s.batch)), append(stubs, stub)
	}

	t.Run("every manager's report is written, the later ones and a disagreeing one too", func(t *testing.T) {
		for i, s := range reports {
			res := results[i]
			want := chaincode.RecordStatus{ID: s.ID, Seq: s.Record.Seq, Status: chaincode.StatusWritten}
			if got := res[len(res)-1]; got != want {
				t.Errorf("%s: %+v, want the report %+v", s.Record.Host, got, want)
			}
		}
	})
	t.Run("each report has its own ID, chain slot and ID key", func(t *testing.T) {
		seen := map[string]bool{}
		for i, s := range reports {
			if seen[s.ID] {
				t.Errorf("%s's report shares its ID", s.Record.Host)
			}
			seen[s.ID] = true
			if want := layoutWrites(t, s); !slices.Contains(stubs[i].putLog, want[0]) || !slices.Contains(stubs[i].putLog, want[1]) {
				t.Errorf("%s did not write %q", s.Record.Host, want)
			}
			if got := string(l.state[recKey(t, s)]); got != s.Hash {
				t.Errorf("%s: rec key holds %q", s.Record.Host, got)
			}
		}
	})
	t.Run("no manager reads or writes a key another one writes", func(t *testing.T) {
		for i, a := range stubs {
			for j, b := range stubs {
				for k := range b.writes {
					if _, ok := a.writes[k]; ok && i < j {
						t.Errorf("managers %d and %d both write %q", i, j, k)
					}
					if a.reads[k] && i != j {
						t.Errorf("manager %d reads %q, which manager %d writes", i, k, j)
					}
				}
			}
		}
	})
	t.Run("the ledger holds no key for the event itself", func(t *testing.T) {
		for _, objectType := range []string{"event", "witness"} {
			prefix := mustKey(t, objectType)
			if ks := l.keys(prefix, prefix+"\U0010FFFF"); len(ks) != 0 {
				t.Errorf("%s keys %q", objectType, ks)
			}
		}
	})
	t.Run("GetRecord returns each manager's report", func(t *testing.T) {
		for _, s := range reports {
			var p page
			if err := query(t, l, func(c *chaincode.Contract, stub *fakeStub) (string, error) {
				return c.GetRecord(txContext(stub, nil), s.ID)
			}, &p); err != nil || p.Count != 1 || p.Records[0].ID != s.ID || p.Records[0].Hash != s.Hash {
				t.Errorf("record %s of %s: %+v, %v", s.ID, s.Record.Host, p, err)
			}
		}
	})
	t.Run("managers stamping a remove with their own clocks each write their report", func(t *testing.T) {
		a := g1.batch(t, serviceEvent("remove", "svc1", at+int64(time.Second), ""))
		b := g2.batch(t, serviceEvent("remove", "svc1", at+int64(2*time.Second), ""))
		if a[0].Record.EventID() != b[0].Record.EventID() {
			t.Fatal("test records: a swarm remove's event ID leaves its time out")
		}
		for _, s := range []submission{{m1, a}, {m2, b}} {
			res, _, err := invoke(t, l, s.id, now, batchJSON(t, s.batch))
			if err != nil || res.Written != 1 || statuses(t, res, s.batch)[0].Status != chaincode.StatusWritten {
				t.Errorf("%+v, %v", res, err)
			}
		}
	})
	t.Run("a manager re-sending its report gets duplicates", func(t *testing.T) {
		res, stub, err := invoke(t, l, m2, now, batchJSON(t, r2))
		if err != nil || res.Duplicates != len(r2) || res.Written != 0 || len(stub.writes) != 0 {
			t.Errorf("%+v, %d writes, %v", res, len(stub.writes), err)
		}
	})
	t.Run("the answer has no witness fields", func(t *testing.T) {
		stub := l.tx(now)
		out, err := chaincode.New().RecordEvents(txContext(stub, m3), batchJSON(t, r3))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{out, string(stub.event.Payload)} {
			if strings.Contains(s, "witness") || strings.Contains(s, "divergent") {
				t.Errorf("%s", s)
			}
		}
	})
}
