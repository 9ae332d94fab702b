package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"

	"github.com/e2l-project/e2l/internal/wire"
)

const testID = "6b1c1f1d6c0e8e2f0b4c2b8e9f3a1d5c7e9b0a2c4d6e8f0a1b3c5d7e9f1a3b5c"

// TestClassifyGatewayErrors drives the real Gateway client against a fake
// gateway, so the errors classified are the client's own typed errors.
func TestClassifyGatewayErrors(t *testing.T) {
	refusal := wire.RefuseRecord(wire.CodeConflict, 3, testID, "the ledger holds this ID with hash aa, the batch has hash bb").Error()
	callRefusal := func(code wire.Code, msg string) string { return wire.Refuse(code, msg).Error() }
	recordRefusal := func(code wire.Code, msg string) string { return wire.RefuseRecord(code, 3, testID, msg).Error() }
	tests := []struct {
		name       string
		set        func(g *fakeGateway)
		stage      string
		reason     string
		class      class
		index      int
		isEndorse  bool
		isSubmit   bool
		isStatus   bool
		isCommitCd bool
	}{
		{"a down endorsing peer is retried", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Unavailable, "failed to connect")
		}, stageEndorse, reasonUnavailable, classRetry, -1, true, false, false, false},
		{"too few endorsements (peers down) are retried", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info",
				"failed to create new connection: connection refused")
		}, stageEndorse, reasonAborted, classRetry, -1, true, false, false, false},
		{"a chaincode refusal of a record is refused with its index", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info", refusal)
		}, stageEndorse, reasonRefused, classRefused, 3, true, false, false, false},
		{"a refusal behind the peer's chaincode response prefix is refused", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Unknown, "failed to endorse transaction", "chaincode response 500, "+refusal)
		}, stageEndorse, reasonRefused, classRefused, 3, true, false, false, false},
		{"a peer's read failure inside a record is retried", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				fmt.Sprintf("record 0 (%s): read: GET_STATE failed: transaction ID: x: timeout", testID))
		}, stageEndorse, reasonAborted, classRetry, -1, true, false, false, false},
		{"access denied is denied, not a record's fault", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				callRefusal(wire.CodeAccessDenied, `identity "x" of ProviderMSP has no e2l.role=collector attribute`))
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"a host that is not the signer's is denied though it names a record", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				recordRefusal(wire.CodeAccessDenied, `the record is for host "a" but the signer's e2l.host is "b"`))
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"an unregistered host is denied", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Unknown, "failed to endorse transaction",
				"chaincode response 500, "+callRefusal(wire.CodeNotRegistered, `host "a" is not registered`))
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"a host owned by another organisation is denied", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				callRefusal(wire.CodeHostOwned, `host "a" is registered to ProviderMSP`))
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"a worker's swarm event is denied, not dead-lettered", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				recordRefusal(wire.CodeNotAManager, `host "a" is registered as a worker`))
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"an undecodable batch is denied", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				callRefusal(wire.CodeInvalidBatch, "decode batch: invalid record: unexpected EOF"))
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"an invalid record is refused with its index", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				recordRefusal(wire.CodeInvalidBatch, "hash: does not match the record's canonical encoding"))
		}, stageEndorse, reasonRefused, classRefused, 3, true, false, false, false},
		{"a chain fork is refused at its record", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				recordRefusal(wire.CodeChainFork, "host \"h\" seq 4 is already taken by record x"))
		}, stageEndorse, reasonRefused, classRefused, 3, true, false, false, false},
		{"text in the old free-text format is not a refusal", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction",
				fmt.Sprintf("record 3 (%s): conflict: the ledger holds this ID", testID))
		}, stageEndorse, reasonAborted, classRetry, -1, true, false, false, false},
		{"a gateway ACL refusal is denied", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.FailedPrecondition, "access denied: channel [e2l] creator org unknown")
		}, stageEndorse, reasonDenied, classDenied, -1, true, false, false, false},
		{"too few reachable endorsing peers is unavailable, not denied", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.FailedPrecondition,
				"no combination of peers can be derived which satisfy the endorsement policy: required chaincodes are not installed on sufficient peers")
		}, stageEndorse, reasonUnavailable, classRetry, -1, true, false, false, false},
		{"an endorsement timeout is retried", func(g *fakeGateway) {
			g.endorseErr = gatewayError(t, codes.DeadlineExceeded, "endorsement timeout expired while collecting first endorsement")
		}, stageEndorse, reasonDeadlineExceeded, classRetry, -1, true, false, false, false},
		{"no orderer is retried", func(g *fakeGateway) {
			g.submitErr = gatewayError(t, codes.Unavailable, "no orderer nodes available")
		}, stageSubmit, reasonUnavailable, classRetry, -1, false, true, false, false},
		{"an overloaded orderer is retried", func(g *fakeGateway) {
			g.submitErr = gatewayError(t, codes.ResourceExhausted, "too many requests")
		}, stageSubmit, reasonResourceExhausted, classRetry, -1, false, true, false, false},
		{"a lost commit status is retried", func(g *fakeGateway) {
			g.statusErr = gatewayError(t, codes.DeadlineExceeded, "timeout")
		}, stageCommitStatus, reasonDeadlineExceeded, classRetry, -1, false, false, true, false},
		{"an MVCC read conflict is retried", func(g *fakeGateway) {
			g.code = peer.TxValidationCode_MVCC_READ_CONFLICT
		}, stageCommit, reasonReadConflict, classRetry, -1, false, false, false, true},
		{"a phantom read conflict is retried", func(g *fakeGateway) {
			g.code = peer.TxValidationCode_PHANTOM_READ_CONFLICT
		}, stageCommit, reasonReadConflict, classRetry, -1, false, false, false, true},
		{"an endorsement policy failure is retried", func(g *fakeGateway) {
			g.code = peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE
		}, stageCommit, reasonPolicyFailure, classRetry, -1, false, false, false, true},
		{"another validation code is refused", func(g *fakeGateway) {
			g.code = peer.TxValidationCode_BAD_PAYLOAD
		}, stageCommit, reasonInvalid, classRefused, -1, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGateway{}
			g.set(tt.set)
			c := plainConn(t, startGateway(t, g, nil))
			_, err := c.SubmitBatch(t.Context(), []byte(`{"records":[]}`))
			if err == nil {
				t.Fatal("SubmitBatch succeeded")
			}
			o := classify(err)
			if o.stage != tt.stage || o.reason != tt.reason || o.class != tt.class || o.index != tt.index {
				t.Fatalf("classify = %+v (class %s), want stage %s reason %s class %s index %d\nerror: %v",
					o, o.class, tt.stage, tt.reason, tt.class, tt.index, err)
			}
			if !slices.Contains(stageReasons[o.stage], o.reason) {
				t.Errorf("stage %s and reason %s are not a pair transactions_total is initialised with", o.stage, o.reason)
			}
			if tt.index >= 0 && o.id != testID {
				t.Errorf("refused record ID = %q, want %q", o.id, testID)
			}
		})
	}
}

func TestClassifyOtherErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		reason string
		class  class
	}{
		{"a commit code error of ours is a commit outcome", &CommitCodeError{TransactionID: "tx", Code: peer.TxValidationCode_MVCC_READ_CONFLICT}, reasonReadConflict, classRetry},
		{"a deadline of the caller is retried", fmt.Errorf("x: %w", context.DeadlineExceeded), reasonDeadlineExceeded, classRetry},
		{"an unknown error is retried", errors.New("boom"), reasonOther, classRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if o := classify(tt.err); o.reason != tt.reason || o.class != tt.class {
				t.Fatalf("classify = %+v, want reason %s class %s", o, tt.reason, tt.class)
			}
		})
	}
}

func TestFindRefusalReadsTheGatewaysDetails(t *testing.T) {
	want := wire.RefuseRecord(wire.CodeHostOwned, 0, testID, `host "a" is registered to ProviderMSP`)
	g := &fakeGateway{}
	g.set(func(g *fakeGateway) {
		g.endorseErr = gatewayError(t, codes.Aborted, "failed to endorse transaction, see attached details for more info",
			"failed to connect", "chaincode response 500, "+want.Error())
	})
	_, err := plainConn(t, startGateway(t, g, nil)).SubmitBatch(t.Context(), []byte(`{"records":[]}`))
	got, ok := FindRefusal(err)
	if !ok || *got != *want {
		t.Fatalf("FindRefusal = %+v, %v; want %+v\nerror: %v", got, ok, *want, err)
	}
	if got, ok := FindRefusal(fmt.Errorf("submit: %w", want)); !ok || got != want {
		t.Errorf("FindRefusal of a wrapped Refusal = %+v, %v", got, ok)
	}
	for _, err := range []error{errors.New(want.Error()), gatewayError(t, codes.Unavailable, "down"), nil} {
		if r, ok := FindRefusal(err); ok {
			t.Errorf("FindRefusal(%v) = %+v", err, *r)
		}
	}
}
