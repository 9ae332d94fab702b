package hostadmin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeSubmitter answers with the next of its answers and records the calls.
type fakeSubmitter struct {
	calls   []string
	answers []func() (string, []byte, error)
}

func (f *fakeSubmitter) submit(_ context.Context, fn string, args []string) (string, []byte, error) {
	f.calls = append(f.calls, fn+" "+strings.Join(args, ","))
	a := f.answers[0]
	if len(f.answers) > 1 {
		f.answers = f.answers[1:]
	}
	return a()
}

func answer(txID string, payload string, err error) func() (string, []byte, error) {
	return func() (string, []byte, error) { return txID, []byte(payload), err }
}

func admin(subs ...*fakeSubmitter) *Admin {
	a := &Admin{}
	for i, s := range subs {
		a.peers = append(a.peers, peer{address: []string{"peer0:7051", "peer1:7051", "peer2:7051"}[i], sub: s})
	}
	return a
}

func TestSubmit(t *testing.T) {
	unavailable := &StageError{Stage: StageEndorse, Err: status.Error(codes.Unavailable, "connection refused")}
	refused := &StageError{Stage: StageEndorse, Err: status.Error(codes.Aborted,
		"chaincode response 500, e2l-refusal not-admin: only an admin of ProviderMSP may register hosts")}
	tests := []struct {
		name      string
		peers     []*fakeSubmitter
		wantErr   string // substring; empty: success
		wantPeer  string
		wantCalls []int
	}{
		{
			name:      "the first peer's commit is the result",
			peers:     []*fakeSubmitter{{answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}, {}},
			wantPeer:  "peer0:7051",
			wantCalls: []int{1, 0},
		},
		{
			name: "a peer that cannot be reached to endorse is skipped",
			peers: []*fakeSubmitter{{answers: []func() (string, []byte, error){answer("", "", unavailable)}},
				{answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}},
			wantPeer:  "peer1:7051",
			wantCalls: []int{1, 1},
		},
		{
			name: "a refusal is returned at once with the peer and the chaincode's message",
			peers: []*fakeSubmitter{{answers: []func() (string, []byte, error){answer("", "", refused)}},
				{answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}},
			wantErr:   "RegisterHost on peer peer0:7051: endorse: aborted: chaincode response 500, e2l-refusal not-admin: only an admin",
			wantCalls: []int{1, 0},
		},
		{
			name: "a failure after endorsement is not tried elsewhere: the transaction may be ordered",
			peers: []*fakeSubmitter{{answers: []func() (string, []byte, error){answer("", "", &StageError{Stage: StageSubmit, TxID: "tx9",
				Err: status.Error(codes.Unavailable, "orderer down")})}}, {answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}},
			wantErr:   "RegisterHost on peer peer0:7051: submit of transaction tx9: unavailable: orderer down",
			wantCalls: []int{1, 0},
		},
		{
			name:      "a transaction committed invalid says nothing was written",
			peers:     []*fakeSubmitter{{answers: []func() (string, []byte, error){answer("", "", &CommitCodeError{TxID: "tx2", Code: "MVCC_READ_CONFLICT"})}}},
			wantErr:   "transaction tx2 was committed MVCC_READ_CONFLICT, not VALID: nothing was written",
			wantCalls: []int{1},
		},
		{
			name: "when no peer is reachable every one is named",
			peers: []*fakeSubmitter{{answers: []func() (string, []byte, error){answer("", "", unavailable)}},
				{answers: []func() (string, []byte, error){answer("", "", unavailable)}}},
			wantErr:   "RegisterHost: no peer reachable: peer0:7051: endorse: unavailable: connection refused; peer1:7051: endorse: unavailable",
			wantCalls: []int{1, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := admin(tt.peers...).Register(t.Context(), "node1", "manager")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v\nwant %q in it", err, tt.wantErr)
			case tt.wantErr == "" && (res.Endpoint != tt.wantPeer || res.TxID != "tx1"):
				t.Fatalf("result %+v, want tx1 through %s", res, tt.wantPeer)
			}
			for i, p := range tt.peers {
				if len(p.calls) != tt.wantCalls[i] {
					t.Errorf("peer %d got %d calls, want %d", i, len(p.calls), tt.wantCalls[i])
				}
				for _, c := range p.calls {
					if c != "RegisterHost node1,manager" {
						t.Errorf("peer %d call %q", i, c)
					}
				}
			}
		})
	}
}

func TestRegisterRefusesAnUnknownRoleWithoutSubmitting(t *testing.T) {
	p := &fakeSubmitter{answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}
	_, err := admin(p).Register(t.Context(), "node1", "boss")
	if err == nil || err.Error() != `swarm role "boss": want manager or worker` {
		t.Fatalf("error %v", err)
	}
	if len(p.calls) != 0 {
		t.Errorf("submitted %v", p.calls)
	}
}

func TestReleaseSubmitsTheHostAndTheReceivingMSP(t *testing.T) {
	p := &fakeSubmitter{answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}
	if _, err := admin(p).Release(t.Context(), "node1", "UserMSP"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.calls, []string{"ReleaseHost node1,UserMSP"}) {
		t.Errorf("calls %v", p.calls)
	}
}

func TestSubmitReturnsTheContextErrorWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	first := &fakeSubmitter{answers: []func() (string, []byte, error){func() (string, []byte, error) {
		cancel()
		return "", nil, &StageError{Stage: StageEndorse, Err: status.Error(codes.Canceled, "context canceled")}
	}}}
	second := &fakeSubmitter{answers: []func() (string, []byte, error){answer("tx1", "{}", nil)}}
	if _, err := admin(first, second).Register(ctx, "node1", "worker"); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(second.calls) != 0 {
		t.Error("the next peer was asked after the context ended")
	}
}
