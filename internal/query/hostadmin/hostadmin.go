// Package hostadmin submits the host registry's transactions
// (RegisterHost, ReleaseHost) with an organisation admin's identity: the one
// thing the auditor's CLI writes. It uses the Gateway connections of a
// query.Client (query.Dial is the one connection setup) and keeps
// submitting out of package query, which only reads.
package hostadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/wire"
)

// Result is a committed registry transaction.
type Result struct {
	TxID     string
	Endpoint string // the peer whose Gateway endorsed and submitted it
	Payload  []byte // the chaincode's answer
}

// Admin submits registry transactions. It is not safe for concurrent use.
type Admin struct {
	peers []peer
}

type peer struct {
	address string
	sub     submitter
}

// submitter endorses, submits and waits for the commit of one transaction
// through one peer's Gateway: the real Gateway client in production, a
// fake in the unit tests.
type submitter interface {
	submit(ctx context.Context, fn string, args []string) (txID string, payload []byte, err error)
}

// New returns an Admin submitting through c's connections (c's identity
// must be its organisation's admin: the chaincode refuses others with
// not-admin), on c's channel and chaincode. Each stage (endorse, submit,
// commit status) is bounded by c's timeout.
func New(c *query.Client) *Admin {
	a := &Admin{}
	timeout := c.Timeout()
	for _, ep := range c.Endpoints() {
		contract := ep.Gateway.GetNetwork(c.Channel()).GetContract(c.Chaincode())
		a.peers = append(a.peers, peer{address: ep.Address, sub: gatewaySubmitter{contract: contract, timeout: timeout}})
	}
	return a
}

// Register declares host as the caller's organisation's, with a Swarm role
// (wire.SwarmManager or wire.SwarmWorker), or changes its role, or takes
// over a host released to the caller's organisation (RegisterHost).
func (a *Admin) Register(ctx context.Context, host, role string) (Result, error) {
	if role != wire.SwarmManager && role != wire.SwarmWorker {
		return Result{}, fmt.Errorf("swarm role %q: want %s or %s", role, wire.SwarmManager, wire.SwarmWorker)
	}
	return a.submit(ctx, "RegisterHost", host, role)
}

// Release lets the organisation toMSP take over host (ReleaseHost); until
// its admin registers it, the caller's organisation keeps it.
func (a *Admin) Release(ctx context.Context, host, toMSP string) (Result, error) {
	return a.submit(ctx, "ReleaseHost", host, toMSP)
}

// submit tries the peers in order while a peer's Gateway cannot be reached
// to endorse; any other failure (a refusal, a submit or commit failure) is
// returned at once: the transaction may have reached the orderers.
func (a *Admin) submit(ctx context.Context, fn string, args ...string) (Result, error) {
	if len(a.peers) == 0 {
		return Result{}, fmt.Errorf("%s: no peer endpoint", fn)
	}
	var tried []string
	for _, p := range a.peers {
		txID, payload, err := p.sub.submit(ctx, fn, args)
		if err == nil {
			return Result{TxID: txID, Endpoint: p.address, Payload: payload}, nil
		}
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		var se *StageError
		if !errors.As(err, &se) || se.Stage != StageEndorse || !query.Unreachable(se.Err) {
			return Result{}, fmt.Errorf("%s on peer %s: %w", fn, p.address, err)
		}
		tried = append(tried, fmt.Sprintf("%s: %v", p.address, err))
	}
	return Result{}, fmt.Errorf("%s: no peer reachable: %s", fn, strings.Join(tried, "; "))
}

// Stages of a submitted transaction.
const (
	StageEndorse = "endorse"
	StageSubmit  = "submit"
	StageCommit  = "commit"
)

// StageError is the failure of one stage of a transaction. A chaincode
// refusal is an endorse failure whose peer details carry the wire.Refusal.
type StageError struct {
	Stage string
	TxID  string // empty before endorsement
	Err   error
}

func (e *StageError) Error() string {
	if e.TxID == "" {
		return fmt.Sprintf("%s: %s", e.Stage, query.Describe(e.Err))
	}
	return fmt.Sprintf("%s of transaction %s: %s", e.Stage, e.TxID, query.Describe(e.Err))
}

func (e *StageError) Unwrap() error { return e.Err }

// CommitCodeError is a transaction committed with a validation code other
// than VALID (for example MVCC_READ_CONFLICT when two admins wrote the
// same entry at once): nothing was written; trying again is safe.
type CommitCodeError struct {
	TxID string
	Code string
}

func (e *CommitCodeError) Error() string {
	return fmt.Sprintf("transaction %s was committed %s, not VALID: nothing was written", e.TxID, e.Code)
}

// gatewaySubmitter submits through one peer's Gateway.
type gatewaySubmitter struct {
	contract *client.Contract
	timeout  time.Duration
}

func (g gatewaySubmitter) submit(ctx context.Context, fn string, args []string) (string, []byte, error) {
	proposal, err := g.contract.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		return "", nil, &StageError{Stage: StageEndorse, Err: err}
	}
	txID := proposal.TransactionID()
	stage, cancel := context.WithTimeout(ctx, g.timeout)
	tx, err := proposal.EndorseWithContext(stage)
	cancel()
	if err != nil {
		return "", nil, &StageError{Stage: StageEndorse, Err: err}
	}
	stage, cancel = context.WithTimeout(ctx, g.timeout)
	commit, err := tx.SubmitWithContext(stage)
	cancel()
	if err != nil {
		return "", nil, &StageError{Stage: StageSubmit, TxID: txID, Err: err}
	}
	stage, cancel = context.WithTimeout(ctx, g.timeout)
	st, err := commit.StatusWithContext(stage)
	cancel()
	if err != nil {
		return "", nil, &StageError{Stage: StageCommit, TxID: txID, Err: err}
	}
	if !st.Successful {
		return "", nil, &CommitCodeError{TxID: txID, Code: st.Code.String()}
	}
	return txID, tx.Result(), nil
}
