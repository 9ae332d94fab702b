package chaincode_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

func TestContractBuildsAsChaincode(t *testing.T) {
	if _, err := contractapi.NewChaincode(chaincode.New()); err != nil {
		t.Fatalf("contractapi refuses the contract: %v", err)
	}
	if got := chaincode.New().Ping(); got != "pong" {
		t.Errorf("Ping = %q", got)
	}
}

// fill stores five records of node1 (start, container c1 create/start,
// snapshot of c1 and c2, heartbeat), then three of node2 in a later batch.
func fill(t *testing.T) (*fakeLedger, []record.Sealed) {
	t.Helper()
	l := newWorld(t)
	g := newChain("node1")
	rs := g.batch(t, start(), containerEvent("create", "c1"), containerEvent("start", "c1"), snapshot("c1", "c2"), heartbeat())
	mustInvoke(t, l, collector("node1", "ProviderMSP"), rs)
	more := g.batch(t, heartbeat(), containerEvent("die", "c1"))
	mustInvoke(t, l, collector("node1", "ProviderMSP"), more)
	g2 := newChain("node2")
	mustInvoke(t, l, collector("node2", "DeveloperMSP"), g2.batch(t, start(), containerEvent("create", "c2"), gap()))
	return l, append(rs, more...)
}

// pages follows bookmarks until the last page and returns the sequence
// numbers of every page.
func pages(t *testing.T, l *fakeLedger, fn func(c *chaincode.Contract, s *fakeStub, bookmark string) (string, error)) [][]uint64 {
	t.Helper()
	var out [][]uint64
	bookmark := ""
	for i := 0; i < 20; i++ {
		var p page
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) { return fn(c, s, bookmark) }, &p); err != nil {
			t.Fatal(err)
		}
		if p.Count != len(p.Records) {
			t.Errorf("count %d for %d records", p.Count, len(p.Records))
		}
		out = append(out, p.seqs(t))
		if p.Bookmark == "" {
			return out
		}
		bookmark = p.Bookmark
	}
	t.Fatal("bookmarks never end")
	return nil
}

func TestQueries(t *testing.T) {
	l, rs := fill(t)
	node1Times := func(i int) int64 { return rs[i].Record.Time }

	cases := []struct {
		name string
		fn   func(c *chaincode.Contract, s *fakeStub, bookmark string) (string, error)
		want [][]uint64
	}{
		{"QueryChain returns a host's whole chain in order", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 0, math.MaxUint64, 0, b)
		}, [][]uint64{{1, 2, 3, 4, 5, 6, 7}}},
		{"QueryChain pages through a seq range with bookmarks", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 2, 6, 2, b)
		}, [][]uint64{{2, 3}, {4, 5}, {6}}},
		{"QueryChain ends on the page that reaches toSeq", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 3, 4, 2, b)
		}, [][]uint64{{3, 4}}},
		{"QueryChain of one sequence number returns one record", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node2", 2, 2, 0, b)
		}, [][]uint64{{2}}},
		{"QueryChain of an unknown host is empty", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node9", 1, 10, 0, b)
		}, [][]uint64{nil}},
		{"QueryTimeline returns a container's events and snapshots in time order", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryTimeline(txContext(s, nil), "c1", 0, b)
		}, [][]uint64{{2, 3, 4, 7}}},
		{"QueryTimeline pages with bookmarks", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryTimeline(txContext(s, nil), "c1", 3, b)
		}, [][]uint64{{2, 3, 4}, {7}}},
		{"QueryTimeline mixes hosts in time order", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryTimeline(txContext(s, nil), "c2", 0, b)
		}, [][]uint64{{2, 4}}}, // node2's create (t0+2s) then node1's snapshot (t0+4s)
		{"QueryByType without an action returns every action of the type", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryByType(txContext(s, nil), "container", "", 0, math.MaxInt64, 0, b)
		}, [][]uint64{{2, 2, 3, 7}}},
		{"QueryByType with an action returns that action only", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryByType(txContext(s, nil), "container", "create", 0, math.MaxInt64, 1, b)
		}, [][]uint64{{2}, {2}}},
		{"QueryByType bounds the time range inclusively", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryByType(txContext(s, nil), "container", "", node1Times(2), node1Times(6), 0, b)
		}, [][]uint64{{3, 7}}},
		{"QueryByType finds heartbeats as a record kind", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryByType(txContext(s, nil), "heartbeat", "", 0, math.MaxInt64, 0, b)
		}, [][]uint64{{5, 6}}},
		{"QueryByType of an unknown type is empty", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryByType(txContext(s, nil), "volume", "", 0, math.MaxInt64, 0, b)
		}, [][]uint64{nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := pages(t, l, c.fn); !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("pages %v, want %v", got, c.want)
			}
		})
	}

	t.Run("GetRecord returns the stored record", func(t *testing.T) {
		var p page
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.GetRecord(txContext(s, nil), rs[1].ID)
		}, &p); err != nil {
			t.Fatal(err)
		}
		if p.Count != 1 || p.Records[0].ID != rs[1].ID || p.Records[0].MSP != "ProviderMSP" {
			t.Fatalf("%+v", p)
		}
		if _, err := p.Records[0].Sealed(); err != nil {
			t.Error(err)
		}
	})
	t.Run("GetRecord of an unknown ID is empty", func(t *testing.T) {
		var p page
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.GetRecord(txContext(s, nil), strings.Repeat("f", 64))
		}, &p); err != nil || p.Count != 0 || p.Records == nil {
			t.Errorf("%+v, %v", p, err)
		}
	})
}

func TestListHosts(t *testing.T) {
	l, rs := fill(t)
	g3 := newChain("node0")
	mustInvoke(t, l, collector("node0", "UserMSP"), g3.batch(t, start(), heartbeat(), heartbeat(), heartbeat()))

	var all chaincode.HostPage
	if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) { return c.ListHosts(txContext(s, nil), 0, "") }, &all); err != nil {
		t.Fatal(err)
	}
	t.Run("hosts are listed by name with their MSP", func(t *testing.T) {
		var got []string
		for _, h := range all.Hosts {
			got = append(got, h.Host+"/"+h.MSP)
		}
		if want := []string{"node0/UserMSP", "node1/ProviderMSP", "node2/DeveloperMSP"}; !slices.Equal(got, want) || all.Count != 3 || all.Bookmark != "" {
			t.Errorf("hosts %v (count %d, bookmark %q), want %v", got, all.Count, all.Bookmark, want)
		}
	})
	t.Run("each host shows its newest heartbeat", func(t *testing.T) {
		if hb := all.Hosts[0].LastHeartbeat; hb == nil || hb.Seq != 4 {
			t.Errorf("node0: %+v", hb)
		}
		want := chaincode.Heartbeat{ID: rs[5].ID, Seq: 6, Time: rs[5].Record.Time}
		if hb := all.Hosts[1].LastHeartbeat; hb == nil || *hb != want {
			t.Errorf("node1: %+v, want %+v", hb, want)
		}
	})
	t.Run("a host without heartbeats has none", func(t *testing.T) {
		if hb := all.Hosts[2].LastHeartbeat; hb != nil {
			t.Errorf("node2: %+v", hb)
		}
	})
	t.Run("hosts page with bookmarks", func(t *testing.T) {
		var got []string
		bookmark := ""
		for range 3 {
			var p chaincode.HostPage
			if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
				return c.ListHosts(txContext(s, nil), 2, bookmark)
			}, &p); err != nil {
				t.Fatal(err)
			}
			for _, h := range p.Hosts {
				got = append(got, h.Host)
			}
			if bookmark = p.Bookmark; bookmark == "" {
				break
			}
		}
		if want := []string{"node0", "node1", "node2"}; !slices.Equal(got, want) {
			t.Errorf("hosts %v, want %v", got, want)
		}
	})
}

func TestQueriesRefuseBadArguments(t *testing.T) {
	l, _ := fill(t)
	var chainBookmark string
	{
		var p page
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 1, 10, 1, "")
		}, &p); err != nil {
			t.Fatal(err)
		}
		chainBookmark = p.Bookmark
	}
	cases := []struct {
		name string
		fn   func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error)
		want string
	}{
		{"a negative page size", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 1, 2, -1, "")
		}, "e2l-refusal bad-argument: pageSize -1 is out of range (1 to 1000, or 0 for 100)"},
		{"a page size above the bound", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryTimeline(ctx, "c1", 1001, "")
		}, "e2l-refusal bad-argument: pageSize 1001 is out of range (1 to 1000, or 0 for 100)"},
		{"fromSeq after toSeq", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 5, 4, 0, "")
		}, "e2l-refusal bad-argument: fromSeq 5 is after toSeq 4"},
		{"fromNano after toNano", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryByType(ctx, "container", "", 10, 9, 0, "")
		}, "e2l-refusal bad-argument: fromNano 10 is after toNano 9"},
		{"a negative fromNano", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryByType(ctx, "container", "", -1, 9, 0, "")
		}, "e2l-refusal bad-argument: fromNano -1 is negative"},
		{"an empty type", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryByType(ctx, "", "", 0, 9, 0, "")
		}, "e2l-refusal bad-argument: type must be 1 to 32 bytes"},
		{"an empty host", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "", 1, 2, 0, "")
		}, "e2l-refusal bad-argument: host must be 1 to 253 bytes"},
		{"a host with a space", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node 1", 1, 2, 0, "")
		}, "e2l-refusal bad-argument: host must be printable ASCII without spaces"},
		{"an empty actor", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryTimeline(ctx, "", 0, "")
		}, "e2l-refusal bad-argument: actorID must be 1 to 128 bytes"},
		{"a record ID that is not hex", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.GetRecord(ctx, "xyz")
		}, `e2l-refusal bad-argument: id "xyz" is not 64 lower-case hex characters`},
		{"an event ID that is not hex", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.GetEvent(ctx, strings.Repeat("A", 64))
		}, `e2l-refusal bad-argument: eventID "` + strings.Repeat("A", 64) + `" is not 64 lower-case hex characters`},
		{"another query's bookmark", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node2", 1, 10, 1, chainBookmark)
		}, fmt.Sprintf("e2l-refusal bad-argument: bookmark %q does not belong to this query", chainBookmark)},
		{"a bookmark that is not a key", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ListHosts(ctx, 1, "node1")
		}, `e2l-refusal bad-argument: bookmark "node1" does not belong to this query`},
		{"an action that cannot be a key", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryByType(ctx, "container", "a\x00b", 0, 9, 0, "")
		}, "e2l-refusal bad-argument: input contains unicode U+0000 starting at position [1]. U+0000 and U+10FFFF are not allowed in the input attribute of a composite key"},
	}
	for _, c := range cases {
		t.Run("refuses "+c.name, func(t *testing.T) {
			_, err := c.fn(chaincode.New(), txContext(l.tx(t0), nil))
			if err == nil || err.Error() != c.want {
				t.Fatalf("error\n got: %v\nwant: %s", err, c.want)
			}
			refusal(t, err, wire.CodeBadArgument, -1)
		})
	}
}
