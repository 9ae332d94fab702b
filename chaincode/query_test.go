package chaincode_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// The contract's functions as the peer's metadata lists them, each
// "submit" or "evaluate".
func TestContractBuildsAsChaincode(t *testing.T) {
	cc, err := contractapi.NewChaincode(chaincode.New())
	if err != nil {
		t.Fatalf("contractapi refuses the contract: %v", err)
	}
	if got := chaincode.New().Ping(); got != "pong" {
		t.Errorf("Ping = %q", got)
	}
	stub := newLedger().tx(t0)
	stub.fn = "org.hyperledger.fabric:GetMetadata"
	resp := cc.Invoke(stub)
	var md struct {
		Contracts map[string]struct {
			Default      bool `json:"default"`
			Transactions []struct {
				Name string   `json:"name"`
				Tag  []string `json:"tag"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	if resp.Status != 200 || json.Unmarshal(resp.Payload, &md) != nil {
		t.Fatalf("GetMetadata: %d %s %s", resp.Status, resp.Payload, resp.Message)
	}
	e2l, ok := md.Contracts[chaincode.Name]
	if !ok || !e2l.Default {
		t.Fatalf("contract %q missing or not the default: %s", chaincode.Name, resp.Payload)
	}
	got := map[string]string{}
	for _, tx := range e2l.Transactions {
		got[tx.Name] = "submit"
		if slices.Contains(tx.Tag, "evaluate") {
			got[tx.Name] = "evaluate"
		}
	}
	want := map[string]string{
		"Ping": "evaluate", "RecordEvents": "submit", "GetRecord": "evaluate", "QueryChain": "evaluate",
		"RegisterHost": "submit", "ReleaseHost": "submit", "GetHost": "evaluate", "ListRegistry": "evaluate",
	}
	if !maps.Equal(got, want) {
		t.Errorf("functions %v\nwant %v", got, want)
	}
	if ev, want := chaincode.New().GetEvaluateTransactions(), []string{"Ping", "GetRecord", "QueryChain", "GetHost", "ListRegistry"}; !slices.Equal(ev, want) {
		t.Errorf("evaluate transactions %v, want %v", ev, want)
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

func TestQueryChain(t *testing.T) {
	l, _ := fill(t)

	cases := []struct {
		name string
		fn   func(c *chaincode.Contract, s *fakeStub, bookmark string) (string, error)
		want [][]uint64
	}{
		{"returns a host's whole chain in order", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 0, math.MaxUint64, 0, b)
		}, [][]uint64{{1, 2, 3, 4, 5, 6, 7}}},
		{"pages through a seq range with bookmarks", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 2, 6, 2, b)
		}, [][]uint64{{2, 3}, {4, 5}, {6}}},
		{"ends on the page that reaches toSeq", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node1", 3, 4, 2, b)
		}, [][]uint64{{3, 4}}},
		{"of one sequence number returns one record", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node2", 2, 2, 0, b)
		}, [][]uint64{{2}}},
		{"beyond the chain's end is empty", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node2", 4, math.MaxUint64, 0, b)
		}, [][]uint64{nil}},
		{"of an unknown host is empty", func(c *chaincode.Contract, s *fakeStub, b string) (string, error) {
			return c.QueryChain(txContext(s, nil), "node9", 1, 10, 0, b)
		}, [][]uint64{nil}},
	}
	for _, c := range cases {
		t.Run("QueryChain "+c.name, func(t *testing.T) {
			if got := pages(t, l, c.fn); !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("pages %v, want %v", got, c.want)
			}
		})
	}

	chainPage := func(t *testing.T, host string, from, to uint64, size int32, bookmark string) page {
		t.Helper()
		var p page
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.QueryChain(txContext(s, nil), host, from, to, size, bookmark)
		}, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("QueryChain returns the chain slots' values, ranging over the host's chain alone", func(t *testing.T) {
		stub := l.tx(t0)
		out, err := chaincode.New().QueryChain(txContext(stub, nil), "node1", 2, 3, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		want := `{"records":[` + string(l.state[chainKey(t, "node1", 2)]) + `,` + string(l.state[chainKey(t, "node1", 3)]) + `],"bookmark":"","count":2}`
		if out != want {
			t.Errorf("page\n got: %s\nwant: %s", out, want)
		}
		if want := []string{rangeRead(chainKey(t, "node1", 2), chainKey(t, "node1", 4))}; !slices.Equal(stub.ranges, want) || len(stub.readLog) != 0 {
			t.Errorf("ranges %q, reads %q", stub.ranges, stub.readLog)
		}
	})
	t.Run("QueryChain starts at fromSeq when the bookmark lies before it", func(t *testing.T) {
		p := chainPage(t, "node1", 4, 6, 0, chainKey(t, "node1", 2))
		if got := p.seqs(t); !slices.Equal(got, []uint64{4, 5, 6}) || p.Bookmark != "" {
			t.Errorf("records %v, bookmark %q", got, p.Bookmark)
		}
	})
	t.Run("QueryChain with a bookmark past toSeq is an empty last page", func(t *testing.T) {
		p := chainPage(t, "node1", 1, 2, 0, chainKey(t, "node1", 6))
		if p.Count != 0 || p.Records == nil || p.Bookmark != "" {
			t.Errorf("%+v", p)
		}
	})
}

func TestGetRecord(t *testing.T) {
	l, rs := fill(t)
	get := func(t *testing.T, l *fakeLedger, id string) (string, *fakeStub) {
		t.Helper()
		stub := l.tx(t0)
		out, err := chaincode.New().GetRecord(txContext(stub, nil), id)
		if err != nil {
			t.Fatal(err)
		}
		return out, stub
	}

	t.Run("returns the record's chain slot as a page of one", func(t *testing.T) {
		out, _ := get(t, l, rs[1].ID)
		want := `{"records":[` + string(l.state[chainKey(t, "node1", 2)]) + `],"bookmark":"","count":1}`
		if out != want {
			t.Errorf("page\n got: %s\nwant: %s", out, want)
		}
		if p := decodePage(t, out); p.Records[0].MSP != "ProviderMSP" || !slices.Equal(p.seqs(t), []uint64{2}) {
			t.Errorf("%+v", p)
		}
	})
	t.Run("ranges over the ID's keys and reads one chain slot", func(t *testing.T) {
		_, stub := get(t, l, rs[3].ID)
		if want := []string{"rec[" + rs[3].ID + "]"}; !slices.Equal(stub.ranges, want) {
			t.Errorf("ranges %q, want %q", stub.ranges, want)
		}
		if want := []string{chainKey(t, "node1", 4)}; !slices.Equal(stub.readLog, want) {
			t.Errorf("reads %q, want %q", stub.readLog, want)
		}
	})
	t.Run("of an unknown ID is an empty page", func(t *testing.T) {
		out, stub := get(t, l, strings.Repeat("f", 64))
		if want := `{"records":[],"bookmark":"","count":0}`; out != want {
			t.Errorf("page %s, want %s", out, want)
		}
		if len(stub.readLog) != 0 {
			t.Errorf("reads %q", stub.readLog)
		}
	})
	t.Run("of an ID recorded at two seqs returns the first in chain order", func(t *testing.T) {
		// The later seq is committed first: the answer follows the chain,
		// not the order of writing.
		l := newWorld(t)
		node1 := collector("node1", "ProviderMSP")
		g := newChain("node1")
		first := g.batch(t, start(), containerEvent("create", "c1"))
		replay := containerEvent("create", "c1")
		replay.Time = first[1].Record.Time
		later := g.batch(t, heartbeat(), replay)
		mustInvoke(t, l, node1, later[1:])
		out, _ := get(t, l, first[1].ID)
		if p := decodePage(t, out); !slices.Equal(p.seqs(t), []uint64{4}) {
			t.Fatalf("before seq 2 is stored: seqs %v", p.seqs(t))
		}
		mustInvoke(t, l, node1, first)
		out, _ = get(t, l, first[1].ID)
		p := decodePage(t, out)
		if !slices.Equal(p.seqs(t), []uint64{2}) || p.Records[0].Hash != first[1].Hash {
			t.Errorf("seqs %v, want [2] with seq 2's hash", p.seqs(t))
		}
	})
}

func decodePage(t testing.TB, out string) page {
	t.Helper()
	var p page
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("page %s: %v", out, err)
	}
	return p
}

func TestQueriesRefuseBadArguments(t *testing.T) {
	l, rs := fill(t)
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
	prefix := "chain node1 "
	recBookmark := recKey(t, rs[1])
	cases := []struct {
		name string
		fn   func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error)
		want string
	}{
		{"a negative page size", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 1, 2, -1, "")
		}, "e2l-refusal bad-argument: pageSize -1 is out of range (1 to 1000, or 0 for 100)"},
		{"a page size above the bound", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 1, 2, 1001, "")
		}, "e2l-refusal bad-argument: pageSize 1001 is out of range (1 to 1000, or 0 for 100)"},
		{"a registry page size above the bound", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ListRegistry(ctx, 1001, "")
		}, "e2l-refusal bad-argument: pageSize 1001 is out of range (1 to 1000, or 0 for 100)"},
		{"fromSeq after toSeq", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 5, 4, 0, "")
		}, "e2l-refusal bad-argument: fromSeq 5 is after toSeq 4"},
		{"an empty host", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "", 1, 2, 0, "")
		}, "e2l-refusal bad-argument: host must be 1 to 253 bytes"},
		{"a host longer than a record's", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, strings.Repeat("h", 254), 1, 2, 0, "")
		}, "e2l-refusal bad-argument: host must be 1 to 253 bytes"},
		{"a host with a space", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node 1", 1, 2, 0, "")
		}, "e2l-refusal bad-argument: host must be printable ASCII without spaces"},
		{"a record ID that is not hex", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.GetRecord(ctx, "xyz")
		}, `e2l-refusal bad-argument: id "xyz" is not 64 lower-case hex characters`},
		{"a record ID in upper case", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.GetRecord(ctx, strings.ToUpper(rs[1].ID))
		}, `e2l-refusal bad-argument: id "` + strings.ToUpper(rs[1].ID) + `" is not 64 lower-case hex characters`},
		{"another host's bookmark", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node2", 1, 10, 1, chainBookmark)
		}, fmt.Sprintf("e2l-refusal bad-argument: bookmark %q does not belong to this query", chainBookmark)},
		{"a record key as a chain bookmark", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 1, 10, 1, recBookmark)
		}, fmt.Sprintf("e2l-refusal bad-argument: bookmark %q does not belong to this query", recBookmark)},
		{"the chain's bare prefix as a bookmark", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 1, 10, 1, prefix)
		}, fmt.Sprintf("e2l-refusal bad-argument: bookmark %q does not belong to this query", prefix)},
		{"a chain bookmark that is not a key", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.QueryChain(ctx, "node1", 1, 10, 1, "node1")
		}, `e2l-refusal bad-argument: bookmark "node1" does not belong to this query`},
		{"a registry bookmark that is not a key", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ListRegistry(ctx, 1, "node1")
		}, `e2l-refusal bad-argument: bookmark "node1" does not belong to this query`},
		{"a chain bookmark in the registry", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ListRegistry(ctx, 1, chainBookmark)
		}, fmt.Sprintf("e2l-refusal bad-argument: bookmark %q does not belong to this query", chainBookmark)},
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
