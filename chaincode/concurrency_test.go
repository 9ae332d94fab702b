package chaincode_test

import (
	"slices"
	"testing"
	"time"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
)

// submission is one RecordEvents call: who signs which batch.
type submission struct {
	id    *fakeIdentity
	batch []record.Sealed
}

// Concurrent transactions are endorsed against the same state and committed
// in one block; Fabric invalidates a transaction that read a key an earlier
// transaction of the block wrote (MVCC_READ_CONFLICT), or whose range query
// an earlier one wrote into (PHANTOM_READ_CONFLICT), and two that write
// one key leave only the last one's value.
func TestConcurrentBatchesDoNotConflict(t *testing.T) {
	at := t0.Add(time.Minute).UnixNano()
	m1, m2, m3 := collector("mgr1", "ProviderMSP"), collector("mgr2", "DeveloperMSP"), collector("mgr3", "UserMSP")
	node1 := newChain("node1")
	g1, g2, g3 := newChain("mgr1"), newChain("mgr2"), newChain("mgr3")

	cases := []struct {
		name string
		subs []submission
	}{
		{"three batches of one host", []submission{
			{collector("node1", "ProviderMSP"), node1.batch(t, start(), containerEvent("create", "c1"), heartbeat())},
			{collector("node1", "ProviderMSP"), node1.batch(t, containerEvent("start", "c1"), heartbeat(), snapshot("c1"))},
			{collector("node1", "ProviderMSP"), node1.batch(t, heartbeat())},
		}},
		{"two managers reporting one swarm event", []submission{
			{m1, g1.batch(t, start(), serviceEvent("create", "svc1", at, "3"))},
			{m2, g2.batch(t, start(), heartbeat(), serviceEvent("create", "svc1", at, "3"))},
		}},
		{"three managers reporting one swarm event, one with other content", []submission{
			{m1, g1.batch(t, serviceEvent("update", "svc1", at+1, "4"))},
			{m2, g2.batch(t, serviceEvent("update", "svc1", at+1, "4"))},
			{m3, g3.batch(t, start(), serviceEvent("update", "svc1", at+1, "5"))},
		}},
		{"two managers stamping one swarm remove with their own clocks", []submission{
			{m1, g1.batch(t, serviceEvent("remove", "svc1", at+int64(time.Second), ""))},
			{m2, g2.batch(t, serviceEvent("remove", "svc1", at+int64(2*time.Second), ""))},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newWorld(t)
			var stubs []*fakeStub
			for _, s := range c.subs {
				stub := l.tx(t0.Add(time.Hour))
				out, err := chaincode.New().RecordEvents(txContext(stub, s.id), batchJSON(t, s.batch))
				if err != nil {
					t.Fatal(err)
				}
				res := decodeResult(t, out)
				if res.Written != len(s.batch) || res.Duplicates != 0 {
					t.Errorf("%s: %d written, %d duplicates, want every record written", res.Host, res.Written, res.Duplicates)
				}
				if want := layoutWrites(t, s.batch...); !slices.Equal(stub.putLog, want) {
					t.Errorf("%s puts %q\nwant %q", res.Host, stub.putLog, want)
				}
				if want := layoutReads(t, res.Host, s.batch...); !slices.Equal(stub.readLog, want) {
					t.Errorf("%s reads %q\nwant %q", res.Host, stub.readLog, want)
				}
				stubs = append(stubs, stub)
			}
			for i, a := range stubs {
				for j, b := range stubs {
					if i == j {
						continue
					}
					for k := range a.writes {
						if b.read(k) {
							t.Errorf("batch %d reads %q, alone or in a range, which batch %d writes", j, k, i)
						}
					}
					if j > i {
						for k := range b.writes {
							if _, ok := a.writes[k]; ok {
								t.Errorf("batches %d and %d both write %q", i, j, k)
							}
						}
					}
				}
			}
			for _, s := range stubs {
				s.commit()
			}
			chains := map[string][]uint64{}
			for _, s := range c.subs {
				for _, r := range s.batch {
					chains[r.Record.Host] = append(chains[r.Record.Host], r.Record.Seq)
					if st := storedAt(t, l, r); st.ID != r.ID || st.Hash != r.Hash {
						t.Errorf("%s seq %d holds %s/%s, want %s/%s", r.Record.Host, r.Record.Seq, st.ID, st.Hash, r.ID, r.Hash)
					}
				}
			}
			for host, want := range chains {
				var p page
				if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
					return c.QueryChain(txContext(s, nil), host, 0, 100, 0, "")
				}, &p); err != nil {
					t.Fatal(err)
				}
				if got := p.seqs(t); !slices.Equal(got, want) {
					t.Errorf("%s: chain %v, want %v", host, got, want)
				}
			}
		})
	}
}
