// Package query is the auditor's read-only Fabric client: it evaluates the
// e2l chaincode's queries (following their pagination), reads blocks with
// qscc, and streams blocks as they commit. It never submits a transaction.
package query

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/internal/wire"
)

// PageSize is the page size the client asks for (the chaincode's maximum).
const PageSize = 1000

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
	conn     *grpc.ClientConn
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
	pem, err := os.ReadFile(cfg.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("peer TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("peer TLS CA: no certificate in %s", cfg.TLSCAFile)
	}
	c := &Client{cfg: cfg, id: id}
	for _, ep := range cfg.Endpoints {
		conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("peer %s: %w", ep, err)
		}
		gw, err := client.Connect(id.X509, client.WithSign(id.Sign), client.WithHash(hash.SHA256),
			client.WithClientConnection(conn), client.WithEvaluateTimeout(cfg.Timeout))
		if err != nil {
			_ = conn.Close()
			_ = c.Close()
			return nil, fmt.Errorf("peer %s: %w", ep, err)
		}
		c.peers = append(c.peers, peerConn{endpoint: ep, conn: conn, gw: gw, eval: gatewayEvaluator{gw: gw, channel: cfg.Channel}})
	}
	return c, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	var errs []error
	for _, p := range c.peers {
		errs = append(errs, p.gw.Close(), p.conn.Close())
	}
	return errors.Join(errs...)
}

// Channel and Chaincode return the configured names.
func (c *Client) Channel() string   { return c.cfg.Channel }
func (c *Client) Chaincode() string { return c.cfg.Chaincode }

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
		if !unreachable(err) {
			return nil, fmt.Errorf("%s %s on peer %s: %s", chaincode, fn, p.endpoint, describe(err))
		}
		tried = append(tried, fmt.Sprintf("%s: %s", p.endpoint, describe(err)))
	}
	return nil, fmt.Errorf("no peer reachable for %s %s: %s", chaincode, fn, strings.Join(tried, "; "))
}

func unreachable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// describe shortens a gateway error to its status message and the peers'
// details.
func describe(err error) string {
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

type page struct {
	Records  []audit.Stored `json:"records"`
	Bookmark string         `json:"bookmark"`
}

// pages calls fn with its arguments followed by pageSize and bookmark until
// the bookmark is empty, handing each record to each.
func (c *Client) pages(ctx context.Context, fn string, args []string, each func(audit.Stored) error) error {
	bookmark := ""
	for {
		b, err := c.evaluate(ctx, c.cfg.Chaincode, fn, append(args, strconv.Itoa(PageSize), bookmark)...)
		if err != nil {
			return err
		}
		var p page
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("%s: decode page: %w", fn, err)
		}
		for _, st := range p.Records {
			if err := each(st); err != nil {
				return err
			}
		}
		if p.Bookmark == "" || len(p.Records) == 0 {
			return nil
		}
		bookmark = p.Bookmark
	}
}

// Open bounds of the queries.
const (
	MaxSeq  = ^uint64(0)
	MaxTime = int64(^uint64(0) >> 1)
)

// Chain hands the host's records with from <= seq <= to to each, in seq
// order.
func (c *Client) Chain(ctx context.Context, host string, from, to uint64, each func(audit.Stored) error) error {
	return c.pages(ctx, "QueryChain", []string{host, strconv.FormatUint(from, 10), strconv.FormatUint(to, 10)}, each)
}

// ChainRecords returns the host's records with seq in [from, to], in seq
// order, every page read.
func (c *Client) ChainRecords(ctx context.Context, host string, from, to uint64) ([]audit.Stored, error) {
	var recs []audit.Stored
	if err := c.Chain(ctx, host, from, to, func(st audit.Stored) error {
		recs = append(recs, st)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("chain of %s: %w", host, err)
	}
	return recs, nil
}

// Timeline hands a container's or service's records to each, in time order.
func (c *Client) Timeline(ctx context.Context, actor string, each func(audit.Stored) error) error {
	return c.pages(ctx, "QueryTimeline", []string{actor}, each)
}

// ByType hands the records of a Docker event type (and action, all when
// empty) or record kind with from <= time <= to to each, in time order.
func (c *Client) ByType(ctx context.Context, typ, action string, from, to int64, each func(audit.Stored) error) error {
	return c.pages(ctx, "QueryByType", []string{typ, action, strconv.FormatInt(from, 10), strconv.FormatInt(to, 10)}, each)
}

// Record returns the stored record with this ID, ErrNotFound when the
// ledger has none.
func (c *Client) Record(ctx context.Context, id string) (audit.Stored, error) {
	b, err := c.evaluate(ctx, c.cfg.Chaincode, "GetRecord", id)
	if err != nil {
		return audit.Stored{}, err
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		return audit.Stored{}, fmt.Errorf("GetRecord: decode: %w", err)
	}
	if len(p.Records) == 0 {
		return audit.Stored{}, fmt.Errorf("record %s on channel %s: %w", id, c.cfg.Channel, ErrNotFound)
	}
	return p.Records[0], nil
}

// Host is one host of ListHosts.
type Host = wire.HostInfo

// Hosts lists every host that wrote records, in name order.
func (c *Client) Hosts(ctx context.Context) ([]Host, error) {
	var out []Host
	bookmark := ""
	for {
		b, err := c.evaluate(ctx, c.cfg.Chaincode, "ListHosts", strconv.Itoa(PageSize), bookmark)
		if err != nil {
			return nil, err
		}
		var p wire.HostPage
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("ListHosts: decode: %w", err)
		}
		out = append(out, p.Hosts...)
		if p.Bookmark == "" || len(p.Hosts) == 0 {
			return out, nil
		}
		bookmark = p.Bookmark
	}
}

// Height returns the number of blocks of the channel.
func (c *Client) Height(ctx context.Context) (uint64, error) {
	b, err := c.evaluate(ctx, "qscc", "GetChainInfo", c.cfg.Channel)
	if err != nil {
		return 0, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		return 0, fmt.Errorf("GetChainInfo: decode: %w", err)
	}
	return info.GetHeight(), nil
}

// BlockByNumber returns a block's bytes.
func (c *Client) BlockByNumber(ctx context.Context, n uint64) ([]byte, error) {
	return c.evaluate(ctx, "qscc", "GetBlockByNumber", c.cfg.Channel, strconv.FormatUint(n, 10))
}

// BlockByTxID returns the bytes of the block holding a transaction.
func (c *Client) BlockByTxID(ctx context.Context, txID string) ([]byte, error) {
	return c.evaluate(ctx, "qscc", "GetBlockByTxID", c.cfg.Channel, txID)
}

// ConfigBlocks returns every configuration block of the channel, the
// genesis block first. The newest block names the latest configuration
// block; each configuration block's predecessor is the one named by the
// block just before it. A channel has few: the cost is two blocks each.
func (c *Client) ConfigBlocks(ctx context.Context) ([][]byte, error) {
	h, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	if h == 0 {
		return nil, errors.New("the channel has no block")
	}
	raw, err := c.BlockByNumber(ctx, h-1)
	if err != nil {
		return nil, err
	}
	n, err := lastConfig(raw, h-1)
	if err != nil {
		return nil, err
	}
	at := h - 1 // the block raw holds
	var out [][]byte
	for {
		if at != n {
			if raw, err = c.BlockByNumber(ctx, n); err != nil {
				return nil, fmt.Errorf("configuration block %d: %w", n, err)
			}
		}
		out = append(out, raw)
		if n == 0 {
			slices.Reverse(out)
			return out, nil
		}
		if raw, err = c.BlockByNumber(ctx, n-1); err != nil {
			return nil, err
		}
		p, err := lastConfig(raw, n-1)
		if err != nil {
			return nil, err
		}
		if p >= n {
			return nil, fmt.Errorf("block %d names configuration block %d, not an earlier one", n-1, p)
		}
		at, n = n-1, p
	}
}

// ConfigBlockOf returns the configuration block a block was ordered under.
func (c *Client) ConfigBlockOf(ctx context.Context, block []byte) ([]byte, error) {
	b, err := audit.ParseBlock(block)
	if err != nil {
		return nil, err
	}
	n, err := audit.LastConfig(b.Block)
	if err != nil {
		return nil, err
	}
	if n == b.Number {
		return block, nil
	}
	return c.BlockByNumber(ctx, n)
}

func lastConfig(raw []byte, num uint64) (uint64, error) {
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		return 0, fmt.Errorf("block %d: %w", num, err)
	}
	return audit.LastConfig(&b)
}

// Blocks streams the channel's blocks from start as they commit, from the
// first endpoint that accepts the request. The channel closes when ctx ends
// or the stream breaks.
func (c *Client) Blocks(ctx context.Context, start uint64) (<-chan *common.Block, error) {
	var tried []string
	for n := range c.peers {
		i := (c.current + n) % len(c.peers)
		p := c.peers[i]
		ch, err := p.gw.GetNetwork(c.cfg.Channel).BlockEvents(ctx, client.WithStartBlock(start))
		if err == nil {
			return ch, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %s", p.endpoint, describe(err)))
	}
	return nil, fmt.Errorf("block events: %s", strings.Join(tried, "; "))
}

// Selection says which records an archive holds: one host's (every
// host's when Host is empty), within a sequence range or a time window.
type Selection struct {
	Host           string
	FromSeq, ToSeq uint64 // 0: open ends
	Since, Until   int64  // unix ns, 0: open ends; not with a sequence range
}

// Archive collects the evidence for verify and export: the selected
// records, the blocks of their transactions and every configuration block.
// A time window selects, per host, the stretch of its chain from the first
// record at or after Since to the last at or before Until (the whole chain
// is read to find it).
func (c *Client) Archive(ctx context.Context, sel Selection, now time.Time) (*audit.Archive, error) {
	byTime := sel.Since != 0 || sel.Until != 0
	if byTime && (sel.FromSeq != 0 || sel.ToSeq != 0) {
		return nil, errors.New("select records by sequence numbers or by time, not both")
	}
	from, to := sel.FromSeq, sel.ToSeq
	if to == 0 {
		to = MaxSeq
	}
	if from == 0 {
		from = 1
	}
	a := &audit.Archive{Version: audit.ArchiveVersion, Channel: c.cfg.Channel, Chaincode: c.cfg.Chaincode, Created: now.UTC(), Host: sel.Host,
		Since: sel.Since, Until: sel.Until}
	if from > 1 {
		a.FromSeq = from
	}
	if to != MaxSeq {
		a.ToSeq = to
	}
	hosts := []string{sel.Host}
	if sel.Host == "" {
		hs, err := c.Hosts(ctx)
		if err != nil {
			return nil, err
		}
		hosts = hosts[:0]
		for _, h := range hs {
			hosts = append(hosts, h.Host)
		}
	}
	for _, h := range hosts {
		recs, err := c.ChainRecords(ctx, h, from, to)
		if err != nil {
			return nil, err
		}
		if byTime {
			var first uint64
			if recs, first = audit.Window(recs, sel.Since, sel.Until); recs == nil {
				continue
			}
			if a.HostFrom == nil {
				a.HostFrom = map[string]uint64{}
			}
			a.HostFrom[h] = first
		}
		a.Records = append(a.Records, recs...)
	}
	seen := map[string]bool{}
	blocks := map[uint64]bool{}
	for _, st := range a.Records {
		if seen[st.TxID] {
			continue
		}
		raw, err := c.BlockByTxID(ctx, st.TxID)
		if err != nil {
			return nil, fmt.Errorf("block of transaction %s: %w", st.TxID, err)
		}
		b, err := audit.ParseBlock(raw)
		if err != nil {
			return nil, fmt.Errorf("block of transaction %s: %w", st.TxID, err)
		}
		for _, tx := range b.Txs {
			seen[tx.ID] = true
		}
		if !blocks[b.Number] {
			blocks[b.Number] = true
			a.Blocks = append(a.Blocks, raw)
		}
	}
	cfgs, err := c.ConfigBlocks(ctx)
	if err != nil {
		return nil, fmt.Errorf("configuration blocks: %w", err)
	}
	a.ConfigBlocks = cfgs
	return a, nil
}
