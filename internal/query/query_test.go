package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/wire"
)

// call is one evaluation a fake peer received.
type call struct {
	chaincode, fn string
	args          []string
}

func (c call) String() string { return c.chaincode + " " + c.fn + " " + strings.Join(c.args, ",") }

// fakePeer answers evaluations with answer and records them.
type fakePeer struct {
	calls  []call
	answer func(c call) ([]byte, error)
}

func (f *fakePeer) evaluate(_ context.Context, chaincode, fn string, args []string) ([]byte, error) {
	c := call{chaincode, fn, slices.Clone(args)}
	f.calls = append(f.calls, c)
	return f.answer(c)
}

// newTestClient is a client of channel "e2l", chaincode "e2l", whose
// endpoints are the peers in order, named peerN:7051 from 0.
func newTestClient(peers ...*fakePeer) *Client {
	c := &Client{cfg: Config{Channel: "e2l", Chaincode: "e2l"}}
	for i, p := range peers {
		c.peers = append(c.peers, peerConn{endpoint: fmt.Sprintf("peer%d:7051", i), eval: p})
	}
	return c
}

func answerWith(b []byte, err error) func(call) ([]byte, error) {
	return func(call) ([]byte, error) { return b, err }
}

// storedPage encodes a page of records with these IDs.
func storedPage(t *testing.T, bookmark string, ids ...string) []byte {
	t.Helper()
	p := struct {
		Records  []audit.Stored `json:"records"`
		Bookmark string         `json:"bookmark"`
		Count    int            `json:"count"`
	}{Records: []audit.Stored{}, Bookmark: bookmark, Count: len(ids)}
	for _, id := range ids {
		p.Records = append(p.Records, audit.Stored{ID: id, Record: json.RawMessage(`{}`)})
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pagedPeer serves pages of records by bookmark: "" is the first page.
func pagedPeer(t *testing.T, pages map[string][]byte) *fakePeer {
	return &fakePeer{answer: func(c call) ([]byte, error) {
		bookmark := c.args[len(c.args)-1]
		p, ok := pages[bookmark]
		if !ok {
			t.Errorf("unexpected bookmark %q in %s", bookmark, c)
			return nil, status.Error(codes.Unknown, "unexpected bookmark")
		}
		return p, nil
	}}
}

func collect(ids *[]string) func(audit.Stored) error {
	return func(st audit.Stored) error {
		*ids = append(*ids, st.ID)
		return nil
	}
}

func callStrings(calls []call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.String()
	}
	return out
}

func TestPagination(t *testing.T) {
	tests := []struct {
		name      string
		pages     map[string][]byte
		query     func(c *Client, each func(audit.Stored) error) error
		wantIDs   []string
		wantCalls []string
	}{
		{
			name: "Chain follows bookmarks until one is empty, passing the bounds and the page size",
			pages: map[string][]byte{
				"":   storedPage(t, "b1", "r1", "r2"),
				"b1": storedPage(t, "b2", "r3"),
				"b2": storedPage(t, "", "r4"),
			},
			query: func(c *Client, each func(audit.Stored) error) error {
				return c.Chain(t.Context(), "node1", 1, MaxSeq, each)
			},
			wantIDs: []string{"r1", "r2", "r3", "r4"},
			wantCalls: []string{
				"e2l QueryChain node1,1,18446744073709551615,1000,",
				"e2l QueryChain node1,1,18446744073709551615,1000,b1",
				"e2l QueryChain node1,1,18446744073709551615,1000,b2",
			},
		},
		{
			name:  "an empty page ends the loop even when it carries a bookmark",
			pages: map[string][]byte{"": storedPage(t, "b1", "r1"), "b1": storedPage(t, "b2")},
			query: func(c *Client, each func(audit.Stored) error) error {
				return c.Chain(t.Context(), "node1", 3, 9, each)
			},
			wantIDs:   []string{"r1"},
			wantCalls: []string{"e2l QueryChain node1,3,9,1000,", "e2l QueryChain node1,3,9,1000,b1"},
		},
		{
			name:  "an empty first page hands nothing",
			pages: map[string][]byte{"": storedPage(t, "")},
			query: func(c *Client, each func(audit.Stored) error) error {
				return c.Chain(t.Context(), "node1", 1, MaxSeq, each)
			},
			wantCalls: []string{"e2l QueryChain node1,1,18446744073709551615,1000,"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pagedPeer(t, tt.pages)
			var ids []string
			if err := tt.query(newTestClient(p), collect(&ids)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("records %v, want %v", ids, tt.wantIDs)
			}
			if got := callStrings(p.calls); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("calls\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantCalls, "\n"))
			}
		})
	}
}

func TestPaginationStopsOnTheFirstError(t *testing.T) {
	t.Run("an error of the callback stops the loop and is returned", func(t *testing.T) {
		p := pagedPeer(t, map[string][]byte{"": storedPage(t, "b1", "r1", "r2"), "b1": storedPage(t, "", "r3")})
		stop := errors.New("stop")
		var ids []string
		err := newTestClient(p).Chain(t.Context(), "node1", 1, MaxSeq, func(st audit.Stored) error {
			ids = append(ids, st.ID)
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatalf("error %v, want the callback's", err)
		}
		if !slices.Equal(ids, []string{"r1"}) || len(p.calls) != 1 {
			t.Errorf("handed %v after %d calls, want [r1] after 1", ids, len(p.calls))
		}
	})
	t.Run("a page that is not JSON is a decode error naming the function", func(t *testing.T) {
		p := &fakePeer{answer: answerWith([]byte("not json"), nil)}
		err := newTestClient(p).Chain(t.Context(), "node1", 1, MaxSeq, collect(new([]string)))
		if err == nil || !strings.HasPrefix(err.Error(), "QueryChain: decode page: ") {
			t.Fatalf("error %v, want a decode error of QueryChain", err)
		}
	})
	t.Run("an evaluation error of a later page is returned", func(t *testing.T) {
		p := &fakePeer{}
		p.answer = func(c call) ([]byte, error) {
			if len(p.calls) == 1 {
				return storedPage(t, "b1", "r1"), nil
			}
			return nil, status.Error(codes.Aborted, "chaincode response 500, bad argument: foreign bookmark")
		}
		err := newTestClient(p).Chain(t.Context(), "node1", 1, MaxSeq, collect(new([]string)))
		want := "e2l QueryChain on peer peer0:7051: aborted: chaincode response 500, bad argument: foreign bookmark"
		if err == nil || err.Error() != want {
			t.Fatalf("error %v\nwant %s", err, want)
		}
	})
}

func TestHostsAreTheRegistryFollowingBookmarks(t *testing.T) {
	page := func(bookmark string, hosts ...string) []byte {
		p := wire.RegistryPage{Bookmark: bookmark, Count: len(hosts), Hosts: []wire.HostRegistration{}}
		for _, h := range hosts {
			p.Hosts = append(p.Hosts, wire.HostRegistration{Host: h, MSP: "ProviderMSP", SwarmRole: wire.SwarmManager})
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := pagedPeer(t, map[string][]byte{"": page("h2", "h1"), "h2": page("", "h2", "h3")})
	hosts, err := newTestClient(p).Hosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range hosts {
		names = append(names, h.Host)
	}
	if !slices.Equal(names, []string{"h1", "h2", "h3"}) {
		t.Errorf("hosts %v, want [h1 h2 h3]", names)
	}
	if want := []string{"e2l ListRegistry 1000,", "e2l ListRegistry 1000,h2"}; !slices.Equal(callStrings(p.calls), want) {
		t.Errorf("calls %v, want %v", callStrings(p.calls), want)
	}
}

func TestRecord(t *testing.T) {
	const id = "5f0c0a0f7d2c7e9b5b51f6c4e1d4f1d0b2f3a4c5d6e7f8091a2b3c4d5e6f7a8b"
	t.Run("a stored record is returned", func(t *testing.T) {
		p := &fakePeer{answer: answerWith(storedPage(t, "", id), nil)}
		st, err := newTestClient(p).Record(t.Context(), id)
		if err != nil || st.ID != id {
			t.Fatalf("record %+v, %v", st, err)
		}
		if want := "e2l GetRecord " + id; p.calls[0].String() != want {
			t.Errorf("call %s, want %s", p.calls[0], want)
		}
	})
	t.Run("an unknown ID is ErrNotFound naming the ID and the channel", func(t *testing.T) {
		p := &fakePeer{answer: answerWith(storedPage(t, ""), nil)}
		_, err := newTestClient(p).Record(t.Context(), id)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
		if want := "record " + id + " on channel e2l: not found"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	})
	t.Run("an answer that is not a page is a decode error", func(t *testing.T) {
		p := &fakePeer{answer: answerWith([]byte("{"), nil)}
		_, err := newTestClient(p).Record(t.Context(), id)
		if err == nil || errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "GetRecord: decode: ") {
			t.Fatalf("error %v, want a decode error", err)
		}
	})
}

func TestEvaluateMovesToTheNextPeerWhileUnavailable(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "connection error: connection refused")
	ok := storedPage(t, "", "r1")
	tests := []struct {
		name        string
		peers       []*fakePeer
		wantErr     string // exact; empty: success
		wantCalls   []int  // calls each peer received
		wantCurrent int
	}{
		{
			name:        "an unavailable peer is skipped and the answering peer becomes current",
			peers:       []*fakePeer{{answer: answerWith(nil, unavailable)}, {answer: answerWith(ok, nil)}},
			wantCalls:   []int{1, 1},
			wantCurrent: 1,
		},
		{
			name:        "a deadline exceeded on a peer is skipped like an unavailable peer",
			peers:       []*fakePeer{{answer: answerWith(nil, status.Error(codes.DeadlineExceeded, "context deadline exceeded"))}, {answer: answerWith(ok, nil)}},
			wantCalls:   []int{1, 1},
			wantCurrent: 1,
		},
		{
			name: "when no peer is reachable the error names every endpoint and its status",
			peers: []*fakePeer{
				{answer: answerWith(nil, unavailable)},
				{answer: answerWith(nil, status.Error(codes.DeadlineExceeded, "context deadline exceeded"))},
			},
			wantErr: "no peer reachable for e2l GetRecord: peer0:7051: unavailable: connection error: connection refused; " +
				"peer1:7051: deadlineexceeded: context deadline exceeded",
			wantCalls: []int{1, 1},
		},
		{
			name:      "a chaincode error is returned at once with the peers' details",
			peers:     []*fakePeer{{answer: answerWith(nil, chaincodeError(t))}, {answer: answerWith(ok, nil)}},
			wantErr:   "e2l GetRecord on peer peer0:7051: aborted: evaluate call to endorser returned error: chaincode response 500, bad argument [peer0.provider:7051: chaincode response 500, bad argument: id \"x\" is not 64 lower-case hex characters]",
			wantCalls: []int{1, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(tt.peers...)
			_, err := c.evaluate(t.Context(), "e2l", "GetRecord", "x")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("error %v\nwant %s", err, tt.wantErr)
			}
			for i, p := range tt.peers {
				if len(p.calls) != tt.wantCalls[i] {
					t.Errorf("peer %d got %d calls, want %d", i, len(p.calls), tt.wantCalls[i])
				}
			}
			if c.current != tt.wantCurrent {
				t.Errorf("current peer %d, want %d", c.current, tt.wantCurrent)
			}
		})
	}
}

// chaincodeError is how the Gateway reports a chaincode's refusal of an
// evaluation: Aborted with an ErrorDetail per peer.
func chaincodeError(t *testing.T) error {
	t.Helper()
	st, err := status.New(codes.Aborted, "evaluate call to endorser returned error: chaincode response 500, bad argument").
		WithDetails(&gateway.ErrorDetail{Address: "peer0.provider:7051", MspId: "ProviderMSP",
			Message: `chaincode response 500, bad argument: id "x" is not 64 lower-case hex characters`})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestEvaluateStartsAtTheCurrentPeer(t *testing.T) {
	first := &fakePeer{}
	first.answer = func(call) ([]byte, error) {
		if len(first.calls) == 1 {
			return nil, status.Error(codes.Unavailable, "down")
		}
		return []byte("{}"), nil
	}
	second := &fakePeer{answer: answerWith([]byte("{}"), nil)}
	c := newTestClient(first, second)
	for range 3 {
		if _, err := c.evaluate(t.Context(), "e2l", "Ping"); err != nil {
			t.Fatal(err)
		}
	}
	if len(first.calls) != 1 || len(second.calls) != 3 {
		t.Errorf("calls: first peer %d, second %d; want 1 and 3 (stay on the peer that answered)", len(first.calls), len(second.calls))
	}
}

func TestEvaluateReturnsTheContextErrorWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	first := &fakePeer{answer: func(call) ([]byte, error) {
		cancel()
		return nil, status.Error(codes.Canceled, "context canceled")
	}}
	second := &fakePeer{answer: answerWith([]byte("{}"), nil)}
	_, err := newTestClient(first, second).evaluate(ctx, "e2l", "Ping")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(second.calls) != 0 {
		t.Errorf("the next peer was asked after the context ended")
	}
}

func TestHeightDecodesTheChainInfo(t *testing.T) {
	info, err := proto.Marshal(&common.BlockchainInfo{Height: 42})
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{answer: answerWith(info, nil)}
	h, err := newTestClient(p).Height(t.Context())
	if err != nil || h != 42 {
		t.Fatalf("height %d, %v; want 42", h, err)
	}
	if want := "qscc GetChainInfo e2l"; p.calls[0].String() != want {
		t.Errorf("call %s, want %s", p.calls[0], want)
	}

	p = &fakePeer{answer: answerWith([]byte{0xff}, nil)}
	if _, err := newTestClient(p).Height(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "GetChainInfo: decode: ") {
		t.Errorf("error %v, want a decode error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	full := Config{Endpoints: []string{"peer0:7051"}, TLSCAFile: "ca.pem", MSPID: "ProviderMSP",
		CertFile: "cert.pem", KeyFile: "key.pem", Channel: "e2l", Chaincode: "e2l"}
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"a complete configuration is valid", func(*Config) {}, ""},
		{"an empty configuration names every missing setting", func(c *Config) { *c = Config{} },
			"missing MSP ID (E2L_MSP_ID), certificate (E2L_CERT), private key (E2L_KEY), peer TLS CA (E2L_PEER_TLS_CA), " +
				"channel (E2L_CHANNEL), chaincode (E2L_CHAINCODE), peer endpoints (E2L_PEER_ENDPOINTS)"},
		{"no endpoints is refused", func(c *Config) { c.Endpoints = nil }, "missing peer endpoints (E2L_PEER_ENDPOINTS)"},
		{"no key is refused", func(c *Config) { c.KeyFile = "" }, "missing private key (E2L_KEY)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := full
			tt.modify(&c)
			err := c.Validate()
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("Validate: %v, want %q", err, tt.want)
			}
		})
	}
}
