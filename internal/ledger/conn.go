package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc/credentials"

	"github.com/e2l-project/e2l/internal/fabricconn"
)

// ConnConfig says how to reach the Fabric Gateway.
type ConnConfig struct {
	// Endpoints are Gateway peers as host:port, the preferred (own org's)
	// first. A call fails over to the next on a retryable endorse failure
	// and goes back to the first after PreferAfter.
	Endpoints []string
	// TLSRootCAFile is one PEM file holding the TLS root CAs of the peers.
	TLSRootCAFile string
	// ServerNameOverride, when set, is the TLS server name for every endpoint.
	ServerNameOverride string

	ID   identity.Identity // e.g. signer.Identity.X509
	Sign identity.Sign     // e.g. signer.Identity.Sign

	Channel     string // e.g. "e2l"
	Chaincode   string // e.g. "e2l"
	Transaction string // default "RecordEvents"

	EndorseTimeout      time.Duration // default 30s
	SubmitTimeout       time.Duration // default 10s
	CommitStatusTimeout time.Duration // default 1m
	PreferAfter         time.Duration // default 30s
}

// Conn is a connection to the Gateway that submits record batches. It is
// safe for concurrent use.
type Conn struct {
	tx          string
	preferAfter time.Duration
	gws         []gatewayConn

	mu        sync.Mutex
	current   int       // index of the endpoint that last worked
	switched  time.Time // when current moved away from 0
	submitter func(i int) batchSubmitter
}

type gatewayConn struct {
	conn     *fabricconn.Conn
	contract *client.Contract

	endorseTimeout, submitTimeout, commitStatusTimeout time.Duration
}

// batchSubmitter is one endpoint's SubmitAsync and commit status.
type batchSubmitter interface {
	submit(ctx context.Context, tx string, batchJSON []byte) ([]byte, error)
}

// Dial prepares a Gateway connection per endpoint. gRPC connects lazily, so
// an unreachable peer shows on the first SubmitBatch, not here.
func Dial(ctx context.Context, cfg ConnConfig) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case len(cfg.Endpoints) == 0:
		return nil, errors.New("ledger: dial: no endpoints")
	case cfg.ID == nil || cfg.Sign == nil:
		return nil, errors.New("ledger: dial: identity and sign are required")
	case cfg.Channel == "" || cfg.Chaincode == "":
		return nil, errors.New("ledger: dial: channel and chaincode are required")
	case cfg.TLSRootCAFile == "":
		return nil, errors.New("ledger: dial: TLS root CA file is required")
	}
	creds, err := fabricconn.TLSCredentials(cfg.TLSRootCAFile, cfg.ServerNameOverride)
	if err != nil {
		return nil, fmt.Errorf("ledger: dial: TLS root CAs: %w", err)
	}
	return dial(cfg, creds)
}

func dial(cfg ConnConfig, creds credentials.TransportCredentials) (*Conn, error) {
	if cfg.Transaction == "" {
		cfg.Transaction = "RecordEvents"
	}
	if cfg.EndorseTimeout <= 0 {
		cfg.EndorseTimeout = 30 * time.Second
	}
	if cfg.SubmitTimeout <= 0 {
		cfg.SubmitTimeout = 10 * time.Second
	}
	if cfg.CommitStatusTimeout <= 0 {
		cfg.CommitStatusTimeout = time.Minute
	}
	if cfg.PreferAfter <= 0 {
		cfg.PreferAfter = 30 * time.Second
	}
	c := &Conn{tx: cfg.Transaction, preferAfter: cfg.PreferAfter}
	for _, ep := range cfg.Endpoints {
		conn, err := fabricconn.Connect(fabricconn.Config{
			Endpoint: ep, Credentials: creds, ID: cfg.ID, Sign: cfg.Sign,
			Timeouts: fabricconn.Timeouts{
				Evaluate: cfg.EndorseTimeout, Endorse: cfg.EndorseTimeout,
				Submit: cfg.SubmitTimeout, CommitStatus: cfg.CommitStatusTimeout,
			},
		})
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("ledger: %w", err)
		}
		c.gws = append(c.gws, gatewayConn{
			conn:           conn,
			contract:       conn.Contract(cfg.Channel, cfg.Chaincode),
			endorseTimeout: cfg.EndorseTimeout, submitTimeout: cfg.SubmitTimeout, commitStatusTimeout: cfg.CommitStatusTimeout,
		})
	}
	c.submitter = func(i int) batchSubmitter { return &c.gws[i] }
	return c, nil
}

// submit endorses, submits and waits for the commit status, each stage
// bounded by its timeout. The Gateway client applies its own timeouts only
// to the calls without a context, so they are applied here: without them a
// transaction the orderers accepted but never ordered (a Raft leader killed
// right after accepting it) waits for its commit status forever, holding
// its records and an in-flight slot. A commit status that times out is a
// retryable CommitStatusError; the records' IDs make a re-submission harmless.
func (g *gatewayConn) submit(ctx context.Context, tx string, batchJSON []byte) ([]byte, error) {
	proposal, err := g.contract.NewProposal(tx, client.WithBytesArguments(batchJSON))
	if err != nil {
		return nil, err
	}
	stageCtx, cancel := context.WithTimeout(ctx, g.endorseTimeout)
	transaction, err := proposal.EndorseWithContext(stageCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	stageCtx, cancel = context.WithTimeout(ctx, g.submitTimeout)
	commit, err := transaction.SubmitWithContext(stageCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	stageCtx, cancel = context.WithTimeout(ctx, g.commitStatusTimeout)
	st, err := commit.StatusWithContext(stageCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	if !st.Successful {
		return nil, &CommitCodeError{TransactionID: st.TransactionID, Code: st.Code}
	}
	return transaction.Result(), nil
}

// SubmitBatch endorses and submits batchJSON, then waits for its commit
// status. An endorse failure that another gateway may not have (Unavailable,
// DeadlineExceeded, Aborted without a chaincode refusal) is tried on the
// next endpoint; the last error is returned when all failed. Later calls
// start at the endpoint that worked, and at the first again after PreferAfter.
func (c *Conn) SubmitBatch(ctx context.Context, batchJSON []byte) ([]byte, error) {
	start := c.start()
	var err error
	for k := range len(c.gws) {
		i := (start + k) % len(c.gws)
		var result []byte
		result, err = c.submitter(i).submit(ctx, c.tx, batchJSON)
		if err == nil {
			c.worked(i)
			return result, nil
		}
		if ctx.Err() != nil || !failover(err) {
			return nil, err
		}
	}
	return nil, err
}

// failover says whether another gateway might do better: only failures to
// endorse, before anything reached the orderers.
func failover(err error) bool {
	var endorseErr *client.EndorseError
	if !errors.As(err, &endorseErr) {
		return false
	}
	o := classify(err)
	return o.class == classRetry
}

func (c *Conn) start() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != 0 && time.Since(c.switched) > c.preferAfter {
		c.current = 0
	}
	return c.current
}

func (c *Conn) worked(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i != c.current {
		c.current = i
		c.switched = time.Now()
	}
}

// Endpoint returns the endpoint calls start at: the one that last worked.
func (c *Conn) Endpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gws[c.current].conn.Endpoint
}

// Close closes the gateways and their connections.
func (c *Conn) Close() error {
	var errs []error
	for _, g := range c.gws {
		errs = append(errs, g.conn.Close())
	}
	return errors.Join(errs...)
}

// Evaluate runs a read-only chaincode function on the first endpoint that
// answers (the one that last worked first). A chaincode refusal is returned
// at once: another peer would refuse it too.
func (c *Conn) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	start := c.start()
	var err error
	for k := range len(c.gws) {
		i := (start + k) % len(c.gws)
		var result []byte
		result, err = c.gws[i].contract.EvaluateWithContext(ctx, fn, client.WithArguments(args...))
		if err == nil {
			return result, nil
		}
		if ctx.Err() != nil || classify(err).class != classRetry {
			return nil, err
		}
	}
	return nil, err
}
