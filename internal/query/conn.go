// Package query is the auditor's read-only Fabric client: it evaluates the
// e2l chaincode's queries (following their pagination), reads blocks with
// qscc, and streams blocks as they commit. It never submits a transaction;
// the few commands that must (the host registry's, with an org admin's
// identity) do so in package hostadmin over this client's connections
// (Client.Endpoints), so that there is one connection setup.
package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/wire"
)

// PageSize is the page size the client asks for (the chaincode's maximum).
const PageSize = 1000

// DefaultMaxRecvBytes is the largest message the client accepts from a
// peer unless Config.MaxRecvBytes says otherwise: 16 MiB. gRPC's own
// default, 4 MiB, is smaller than what the client asks for: a page of
// records is bounded by the chaincode to about 2 MiB of JSON, but a block
// (qscc GetBlockByNumber, GetBlockByTxID, block events) may be as large as
// the orderer's BatchSize.AbsoluteMaxBytes (10 MB on Fabric's sample
// configuration and on the dev network, network/templates/configtx.yaml.tmpl)
// plus its header and signatures. A channel configured for larger blocks
// needs a larger limit.
const DefaultMaxRecvBytes = 16 << 20

// ErrNotFound is returned for an unknown record ID.
var ErrNotFound = errors.New("not found")

// Config says whom to ask and as whom.
type Config struct {
	// Endpoints are peers' Gateway endpoints (host:port), tried in order;
	// a call moves to the next one when a peer is unavailable.
	Endpoints []string
	// TLSCAFile is one PEM file holding the peers' TLS root CAs.
	TLSCAFile string
	// MSPID, CertFile and KeyFile are any member identity of the channel
	// (an org admin, a user, a host).
	MSPID, CertFile, KeyFile string
	Channel, Chaincode       string
	// Timeout bounds each call (default 30s).
	Timeout time.Duration
	// MaxRecvBytes bounds a message received from a peer (default
	// DefaultMaxRecvBytes); it must exceed the channel's largest block.
	MaxRecvBytes int
}

// Validate checks that every required field is set.
func (c Config) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"MSP ID (E2L_MSP_ID)", c.MSPID}, {"certificate (E2L_CERT)", c.CertFile}, {"private key (E2L_KEY)", c.KeyFile},
		{"peer TLS CA (E2L_PEER_TLS_CA)", c.TLSCAFile}, {"channel (E2L_CHANNEL)", c.Channel}, {"chaincode (E2L_CHAINCODE)", c.Chaincode},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(c.Endpoints) == 0 {
		missing = append(missing, "peer endpoints (E2L_PEER_ENDPOINTS)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if c.MaxRecvBytes < 0 {
		return fmt.Errorf("maximum message size %d is negative", c.MaxRecvBytes)
	}
	return nil
}

// Client evaluates queries on the e2l channel. It is not safe for
// concurrent use.
type Client struct {
	cfg     Config
	id      *signer.Identity
	peers   []peerConn
	current int
}

type peerConn struct {
	endpoint string
	conn     *fabricconn.Conn
	gw       *client.Gateway
	eval     evaluator
}

// evaluator evaluates a chaincode function on one peer: the Gateway in
// production, a fake in the client's unit tests.
type evaluator interface {
	evaluate(ctx context.Context, chaincode, fn string, args []string) ([]byte, error)
}

// gatewayEvaluator evaluates through a peer's Gateway on one channel.
type gatewayEvaluator struct {
	gw      *client.Gateway
	channel string
}

func (g gatewayEvaluator) evaluate(ctx context.Context, chaincode, fn string, args []string) ([]byte, error) {
	return g.gw.GetNetwork(g.channel).GetContract(chaincode).EvaluateWithContext(ctx, fn, client.WithArguments(args...))
}

// Dial loads the identity, refusing an expired or not yet valid
// certificate, and prepares a connection to every endpoint (gRPC connects
// on first use).
func Dial(cfg Config, now time.Time) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxRecvBytes == 0 {
		cfg.MaxRecvBytes = DefaultMaxRecvBytes
	}
	id, err := signer.Load(cfg.CertFile, cfg.KeyFile, cfg.MSPID)
	if err != nil {
		return nil, err
	}
	switch {
	case now.After(id.Cert.NotAfter):
		return nil, fmt.Errorf("certificate %s (%s) expired at %s: enroll again or use another identity",
			cfg.CertFile, id.Cert.Subject.CommonName, id.Cert.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(id.Cert.NotBefore):
		return nil, fmt.Errorf("certificate %s (%s) is not valid before %s",
			cfg.CertFile, id.Cert.Subject.CommonName, id.Cert.NotBefore.UTC().Format(time.RFC3339))
	}
	creds, err := fabricconn.TLSCredentials(cfg.TLSCAFile, "")
	if err != nil {
		return nil, fmt.Errorf("peer TLS CA: %w", err)
	}
	c := &Client{cfg: cfg, id: id}
	for _, ep := range cfg.Endpoints {
		conn, err := fabricconn.Connect(fabricconn.Config{
			Endpoint: ep, Credentials: creds, MaxRecvBytes: cfg.MaxRecvBytes,
			ID: id.X509, Sign: id.Sign, Timeouts: fabricconn.Timeouts{Evaluate: cfg.Timeout},
		})
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("peer %s: %w", ep, err)
		}
		c.peers = append(c.peers, peerConn{endpoint: ep, conn: conn, gw: conn.Gateway, eval: gatewayEvaluator{gw: conn.Gateway, channel: cfg.Channel}})
	}
	return c, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	var errs []error
	for _, p := range c.peers {
		errs = append(errs, p.conn.Close())
	}
	return errors.Join(errs...)
}

// Channel and Chaincode return the configured names.
func (c *Client) Channel() string   { return c.cfg.Channel }
func (c *Client) Chaincode() string { return c.cfg.Chaincode }

// Timeout is the configured bound of each call.
func (c *Client) Timeout() time.Duration { return c.cfg.Timeout }

// Endpoint is one peer's Gateway connection.
type Endpoint struct {
	Address string
	Gateway *client.Gateway
}

// Endpoints returns the peers' Gateway connections in the order calls try
// them (the one that answered last first), for the one part of the CLI
// that submits (package hostadmin): the Client itself only evaluates.
func (c *Client) Endpoints() []Endpoint {
	out := make([]Endpoint, 0, len(c.peers))
	for n := range c.peers {
		p := c.peers[(c.current+n)%len(c.peers)]
		out = append(out, Endpoint{Address: p.endpoint, Gateway: p.gw})
	}
	return out
}

// evaluate runs a query, moving to the next endpoint while peers are
// unavailable. The error names every endpoint tried.
func (c *Client) evaluate(ctx context.Context, chaincode, fn string, args ...string) ([]byte, error) {
	var tried []string
	for n := range c.peers {
		i := (c.current + n) % len(c.peers)
		p := c.peers[i]
		b, err := p.eval.evaluate(ctx, chaincode, fn, args)
		if err == nil {
			c.current = i
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !Unreachable(err) {
			return nil, &CallError{Call: chaincode + " " + fn, Endpoint: p.endpoint, Err: err}
		}
		tried = append(tried, fmt.Sprintf("%s: %s", p.endpoint, Describe(err)))
	}
	return nil, fmt.Errorf("no peer reachable for %s %s: %s", chaincode, fn, strings.Join(tried, "; "))
}

// CallError is a call a peer answered with an error (a chaincode's refusal,
// a peer's failure), with the peer's gRPC error unwrapped.
type CallError struct {
	Call     string // "<chaincode> <function>"
	Endpoint string
	Err      error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s on peer %s: %s", e.Call, e.Endpoint, Describe(e.Err))
}

func (e *CallError) Unwrap() error { return e.Err }

// Unreachable says whether another peer might answer: the peer was
// unavailable or did not answer in time.
func Unreachable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// Describe shortens a gateway error to its status message and the peers'
// details.
func Describe(err error) string {
	s := status.Convert(err)
	msg := fmt.Sprintf("%s: %s", strings.ToLower(s.Code().String()), s.Message())
	var details []string
	for _, d := range s.Details() {
		if ed, ok := d.(interface {
			GetAddress() string
			GetMessage() string
		}); ok {
			details = append(details, ed.GetAddress()+": "+ed.GetMessage())
		}
	}
	if len(details) > 0 {
		msg += " [" + strings.Join(details, "; ") + "]"
	}
	return msg
}

// Refusal returns the chaincode's typed refusal an error carries: in one of
// the peers' details of the Gateway's status (where the Gateway puts each
// endorser's message), or in the status message itself.
func Refusal(err error) (*wire.Refusal, bool) {
	if err == nil {
		return nil, false
	}
	s := status.Convert(err)
	for _, d := range s.Details() {
		if ed, ok := d.(interface{ GetMessage() string }); ok {
			if r, ok := wire.ParseRefusal(ed.GetMessage()); ok {
				return r, true
			}
		}
	}
	return wire.ParseRefusal(s.Message())
}
