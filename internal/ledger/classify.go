package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/wire"
)

// Stages of a transaction (label values of the outcome metrics).
const (
	stageEndorse      = "endorse"
	stageSubmit       = "submit"
	stageCommitStatus = "commit_status"
	stageCommit       = "commit"
	stageOther        = "other" // an error of none of the gateway's types
)

var stages = []string{stageEndorse, stageSubmit, stageCommitStatus, stageCommit, stageOther}

// Reasons of an outcome (label values of the outcome metrics): a closed set.
const (
	reasonValid             = "valid"              // committed VALID
	reasonUnavailable       = "unavailable"        // gRPC Unavailable
	reasonDeadlineExceeded  = "deadline_exceeded"  // gRPC DeadlineExceeded
	reasonResourceExhausted = "resource_exhausted" // gRPC ResourceExhausted
	reasonAborted           = "aborted"            // gRPC Aborted without a chaincode refusal
	reasonCanceled          = "canceled"           // gRPC Canceled
	reasonReadConflict      = "read_conflict"      // MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT
	reasonPolicyFailure     = "policy_failure"     // ENDORSEMENT_POLICY_FAILURE
	reasonRefused           = "refused"            // the chaincode refused a record
	reasonDenied            = "denied"             // refused for the identity or the call, not a record
	reasonInvalid           = "invalid"            // another validation code
	reasonOther             = "other"              // anything else
)

var reasons = []string{
	reasonValid, reasonUnavailable, reasonDeadlineExceeded, reasonResourceExhausted, reasonAborted,
	reasonCanceled, reasonReadConflict, reasonPolicyFailure, reasonRefused, reasonDenied, reasonInvalid, reasonOther,
}

// stageReasons are the reasons each stage can end with (classify): the
// label pairs of transactions_total that can occur, and the only ones
// initialised. A commit ends with its validation code; the other stages
// with a gRPC status, and only endorsement (or an untyped error) carries
// the chaincode's refusal.
var stageReasons = func() map[string][]string {
	grpcReasons := []string{reasonUnavailable, reasonDeadlineExceeded, reasonResourceExhausted, reasonAborted,
		reasonCanceled, reasonDenied, reasonOther}
	withRefusal := append([]string{reasonRefused}, grpcReasons...)
	return map[string][]string{
		stageEndorse:      withRefusal,
		stageOther:        withRefusal,
		stageSubmit:       grpcReasons,
		stageCommitStatus: grpcReasons,
		stageCommit:       {reasonValid, reasonReadConflict, reasonPolicyFailure, reasonInvalid},
	}
}()

// class says what to do about a failed transaction.
type class int

const (
	// classRetry: submit the same batch again after a backoff.
	classRetry class = iota
	// classRefused: a record of the batch is refused for good. Split the
	// batch to find it; dead-letter it alone.
	classRefused
	// classDenied: the call itself is refused (identity, configuration,
	// chaincode version). No record is to blame, so none is
	// dead-lettered: retry at the longest backoff until an operator fixes it.
	classDenied
)

func (c class) String() string {
	switch c {
	case classRetry:
		return "retry"
	case classRefused:
		return "refused"
	default:
		return "denied"
	}
}

// outcome is a classified transaction failure.
type outcome struct {
	stage  string
	reason string
	class  class
	// index and id are the position in the batch and the ID of the record
	// a refusal names; index is -1 when it names none.
	index int
	id    string
}

// CommitCodeError says a transaction was committed with a validation code
// other than VALID. (*client.CommitError carries the same but cannot be
// built outside the client package.)
type CommitCodeError struct {
	TransactionID string
	Code          peer.TxValidationCode
}

func (e *CommitCodeError) Error() string {
	return fmt.Sprintf("transaction %s committed with status %d (%s)", e.TransactionID, int32(e.Code), e.Code)
}

// Gateway messages that refuse a call for want of reachable endorsing
// peers (FailedPrecondition, e.g. two of three peers down under a MAJORITY
// policy): an availability problem, retried and reported as unavailable.
var noEndorsersMessages = []string{"no combination of peers can be derived", "no peers available", "failed to select a set of endorsers"}

// classify turns a SubmitBatch error into an outcome.
func classify(err error) outcome {
	o := outcome{stage: stageOther, reason: reasonOther, class: classRetry, index: -1}
	var (
		endorseErr      *client.EndorseError
		submitErr       *client.SubmitError
		commitStatusErr *client.CommitStatusError
		commitErr       *client.CommitError
		codeErr         *CommitCodeError
	)
	switch {
	case errors.As(err, &commitErr):
		o.stage = stageCommit
		return commitCode(o, commitErr.Code)
	case errors.As(err, &codeErr):
		o.stage = stageCommit
		return commitCode(o, codeErr.Code)
	case errors.As(err, &endorseErr):
		o.stage = stageEndorse
	case errors.As(err, &submitErr):
		o.stage = stageSubmit
	case errors.As(err, &commitStatusErr):
		o.stage = stageCommitStatus
	}

	if o.stage == stageEndorse || o.stage == stageOther {
		if c, idx, id, ok := chaincodeRefusal(err); ok {
			o.class, o.index, o.id = c, idx, id
			o.reason = reasonRefused
			if c == classDenied {
				o.reason = reasonDenied
			}
			return o
		}
	}
	switch code := status.Code(err); {
	case code == codes.FailedPrecondition && noEndorsers(err):
		o.reason = reasonUnavailable
	default:
		o = classifyCode(o, err, code)
	}
	return o
}

func noEndorsers(err error) bool {
	msg := status.Convert(err).Message()
	for _, m := range noEndorsersMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func classifyCode(o outcome, err error, code codes.Code) outcome {
	switch code {
	case codes.Unavailable:
		o.reason = reasonUnavailable
	case codes.DeadlineExceeded:
		o.reason = reasonDeadlineExceeded
	case codes.ResourceExhausted:
		o.reason = reasonResourceExhausted
	case codes.Aborted:
		o.reason = reasonAborted
	case codes.Canceled:
		o.reason = reasonCanceled
	case codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied,
		codes.Unauthenticated, codes.NotFound, codes.Unimplemented:
		// The gateway refused the request itself: an ACL, a signature, an
		// unknown channel or chaincode. No record is to blame.
		o.reason, o.class = reasonDenied, classDenied
	default:
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			o.reason = reasonDeadlineExceeded
		case errors.Is(err, context.Canceled):
			o.reason = reasonCanceled
		}
	}
	return o
}

func commitCode(o outcome, code peer.TxValidationCode) outcome {
	switch code {
	case peer.TxValidationCode_VALID:
		o.reason = reasonValid
	case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT:
		o.reason = reasonReadConflict
	case peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE:
		o.reason = reasonPolicyFailure
	default:
		// The transaction is invalid for good; splitting the batch tells
		// whether one record causes it.
		o.reason, o.class = reasonInvalid, classRefused
	}
	return o
}

// chaincodeRefusal classifies the contract's refusal found in err
// (FindRefusal).
func chaincodeRefusal(err error) (c class, index int, id string, ok bool) {
	r, ok := FindRefusal(err)
	switch {
	case !ok:
		return 0, -1, "", false
	case r.Denied():
		return classDenied, -1, "", true
	}
	return classRefused, r.Index, r.ID, true
}

// FindRefusal returns the e2l contract's refusal (wire.Refusal) carried by
// a Gateway error: in the gRPC status's details (one per endorsing peer,
// "chaincode response 500, e2l-refusal ...") or its message, or a
// *wire.Refusal in err's chain (a fake contract's). Any caller of the
// contract through the Gateway can use it.
func FindRefusal(err error) (*wire.Refusal, bool) {
	if r := (*wire.Refusal)(nil); errors.As(err, &r) {
		return r, true
	}
	st, isStatus := status.FromError(err) // also finds a *client.TransactionError's status
	if !isStatus {
		return nil, false
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*gateway.ErrorDetail); ok {
			if r, ok := wire.ParseRefusal(detail.GetMessage()); ok {
				return r, true
			}
		}
	}
	return wire.ParseRefusal(st.Message())
}
