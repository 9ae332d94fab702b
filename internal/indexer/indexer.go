// Package indexer follows a channel's blocks into the audit index
// (internal/index): it reads blocks from the genesis block on, verifies each
// run of blocks as it arrives (audit.VerifyRun, pinned to the channel's
// trust anchor), and hands the store one update per block, applied a run at
// a time with the checkpoint. A restart resumes at the block after the last
// one applied; a crash leaves no half block.
package indexer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/wire"
)

// Source is the channel's blocks (query.Client is one).
type Source interface {
	// Height is the number of blocks of the channel.
	Height(ctx context.Context) (uint64, error)
	// Blocks streams the blocks from start as they commit; the channel
	// closes when ctx ends or the stream breaks.
	Blocks(ctx context.Context, start uint64) (<-chan *common.Block, error)
}

// Store is the audit index (index.Store is one).
type Store interface {
	Head(ctx context.Context) (next uint64, state []byte, err error)
	Apply(ctx context.Context, updates []index.Update) error
	RawBlocks(ctx context.Context) ([]index.Block, error)
	Blocks(ctx context.Context, from, to uint64, each func(index.Block) error) error
	SlotsTaken(ctx context.Context, slots []index.Slot) (map[index.Slot]index.Record, error)
}

// Config configures an Indexer.
type Config struct {
	Channel   string // default e2l
	Chaincode string // default e2l
	// Anchor is the channel's trust anchor (hex SHA-256 of the genesis
	// block's header): the indexer refuses a channel or an index whose
	// genesis block is another.
	Anchor string
	// RunBlocks and RunRecords bound a run, the blocks verified and
	// applied together (default 100 blocks, 10,000 records: a run is held
	// in memory); RunWait is how long a partial run waits for more blocks
	// (default 200 ms).
	RunBlocks  int
	RunRecords int
	RunWait    time.Duration
	// Follow keeps indexing blocks as they commit until ctx ends; without
	// it Run returns once the channel's height at its start is indexed.
	Follow bool
	// Retry is how long Follow waits before reopening a broken block
	// stream (default 2 s).
	Retry time.Duration
	// Progress, when set, is called after each run is applied.
	Progress func(Progress)
	// Logger, Registerer and Clock are optional (package deps: no logs,
	// metrics in a private registry, time.Now).
	Logger     *zap.Logger
	Registerer prometheus.Registerer
	Clock      func() time.Time
}

// Progress is where an indexer stands.
type Progress struct {
	Next     uint64 // the next block to index
	Height   uint64 // the channel's height, as last read
	Blocks   uint64 // blocks indexed by this run
	Records  int64  // records indexed by this run
	Findings int64  // findings (errors and warnings) of this run
	Elapsed  time.Duration
}

// Rate returns the records indexed per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Records) / p.Elapsed.Seconds()
}

// ETA estimates the time to reach Height at the rate of blocks so far.
func (p Progress) ETA() time.Duration {
	if p.Blocks == 0 || p.Next >= p.Height {
		return 0
	}
	per := p.Elapsed / time.Duration(p.Blocks)
	return per * time.Duration(p.Height-p.Next)
}

// Indexer follows a channel into an index.
type Indexer struct {
	src Source
	st  Store
	cfg Config
	log *zap.Logger
	m   *metrics

	next       uint64
	prevHeader []byte
	prevRoot   []byte
	configs    [][]byte
	context    map[uint64]*audit.Block // blocks with registry transactions, parsed
	hosts      map[string]wire.HostRegistration
	prog       Progress
	start      time.Time
}

// New returns an indexer of src into st.
func New(src Source, st Store, cfg Config) (*Indexer, error) {
	if cfg.Anchor == "" {
		return nil, errors.New("indexer: no trust anchor: the index verifies every block against the channel's genesis block (e2l trust)")
	}
	if _, err := hex.DecodeString(cfg.Anchor); err != nil || len(cfg.Anchor) != 64 {
		return nil, fmt.Errorf("indexer: trust anchor %q is not 64 hex characters", cfg.Anchor)
	}
	if cfg.Channel == "" {
		cfg.Channel = "e2l"
	}
	if cfg.Chaincode == "" {
		cfg.Chaincode = "e2l"
	}
	if cfg.RunBlocks <= 0 {
		cfg.RunBlocks = 100
	}
	if cfg.RunRecords <= 0 {
		cfg.RunRecords = 5_000
	}
	if cfg.RunWait <= 0 {
		cfg.RunWait = 200 * time.Millisecond
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 2 * time.Second
	}
	cfg.Logger, cfg.Clock = deps.Logger(cfg.Logger), deps.Clock(cfg.Clock)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Indexer{src: src, st: st, cfg: cfg, log: cfg.Logger, m: m, context: map[uint64]*audit.Block{}, hosts: map[string]wire.HostRegistration{}}, nil
}

// load reads where the index stands: its next block, the configuration
// and registry blocks it keeps, and the last block's header hash and root.
func (x *Indexer) load(ctx context.Context) error {
	next, _, err := x.st.Head(ctx)
	if err != nil {
		return fmt.Errorf("index head: %w", err)
	}
	x.next = next
	raws, err := x.st.RawBlocks(ctx)
	if err != nil {
		return fmt.Errorf("index blocks: %w", err)
	}
	x.configs, x.context, x.hosts = nil, map[uint64]*audit.Block{}, map[string]wire.HostRegistration{}
	for _, rb := range raws {
		if rb.Config {
			x.configs = append(x.configs, rb.Raw)
		}
		b, err := audit.ParseBlock(rb.Raw)
		if err != nil {
			return fmt.Errorf("indexed block %d: %w", rb.Number, err)
		}
		_, hosts, _ := audit.Writes(b, x.cfg.Chaincode)
		if len(hosts) > 0 {
			x.context[rb.Number] = b
		}
		for _, h := range hosts {
			x.hosts[h.Entry.Host] = h.Entry
		}
	}
	if next == 0 {
		return nil
	}
	var genesis, last *index.Block
	if err := x.st.Blocks(ctx, 0, 0, func(b index.Block) error { genesis = &b; return nil }); err != nil {
		return fmt.Errorf("index block 0: %w", err)
	}
	if genesis == nil || hex.EncodeToString(genesis.HeaderHash) != x.cfg.Anchor {
		got := "none"
		if genesis != nil {
			got = hex.EncodeToString(genesis.HeaderHash)
		}
		return fmt.Errorf("this index holds a channel whose genesis block is %s, not the trust anchor %s: use another index for that channel", got, x.cfg.Anchor)
	}
	if err := x.st.Blocks(ctx, next-1, next-1, func(b index.Block) error { last = &b; return nil }); err != nil {
		return fmt.Errorf("index block %d: %w", next-1, err)
	}
	if last == nil {
		return fmt.Errorf("the index's checkpoint is block %d but it holds no block %d", next, next-1)
	}
	x.prevHeader, x.prevRoot = last.HeaderHash, last.Root
	return nil
}

// Run indexes blocks until the channel's height at its start (or, with
// Follow, until ctx ends) and returns where it stands.
func (x *Indexer) Run(ctx context.Context) (Progress, error) {
	if err := x.load(ctx); err != nil {
		return x.prog, err
	}
	x.start = x.cfg.Clock()
	x.prog = Progress{Next: x.next}
	height, err := x.src.Height(ctx)
	if err != nil {
		return x.prog, fmt.Errorf("channel height: %w", err)
	}
	x.setHeight(height)
	for {
		if !x.cfg.Follow && x.next >= height {
			return x.prog, nil
		}
		err := x.stream(ctx, height)
		if errors.Is(err, index.ErrNotNext) {
			// Another indexer of this index applied these blocks first:
			// continue from where it stands.
			x.log.Info("the index advanced under this indexer; resuming from its checkpoint", zap.Uint64("was", x.next))
			if err := x.load(ctx); err != nil {
				return x.prog, err
			}
			x.prog.Next = x.next
			continue
		}
		switch {
		case err == nil && !x.cfg.Follow:
			return x.prog, nil
		case ctx.Err() != nil:
			if x.cfg.Follow {
				return x.prog, nil
			}
			return x.prog, ctx.Err()
		case !x.cfg.Follow:
			return x.prog, err
		}
		x.log.Warn("block stream broke; reopening", zap.Uint64("next", x.next), zap.Duration("after", x.cfg.Retry), zap.Error(err))
		x.m.streamBreaks.Inc()
		select {
		case <-ctx.Done():
			return x.prog, nil
		case <-time.After(x.cfg.Retry):
		}
		if h, err := x.src.Height(ctx); err == nil {
			x.setHeight(h)
		}
	}
}

func (x *Indexer) setHeight(h uint64) {
	if h > x.prog.Height {
		x.prog.Height = h
	}
	x.m.height.Set(float64(x.prog.Height))
	x.m.behind.Set(float64(x.prog.Height - min(x.prog.Height, x.next)))
}

// apply verifies a run of blocks and applies it to the store.
func (x *Indexer) apply(ctx context.Context, blocks []prepared) error {
	began := x.cfg.Clock()
	raws := make([][]byte, len(blocks))
	parsed := make([]*audit.Block, len(blocks))
	named := map[string]bool{}
	keep := map[uint64]bool{}
	for i, b := range blocks {
		raws[i], parsed[i] = b.raw, b.parsed
		if isConfig(parsed[i]) {
			x.configs = append(x.configs, b.raw)
		}
		recs, hosts, _ := audit.Writes(parsed[i], x.cfg.Chaincode)
		for _, r := range recs {
			h, _ := r.Stored.Claimed()
			named[h] = true
		}
		for _, h := range hosts {
			x.hosts[h.Entry.Host] = h.Entry
			named[h.Entry.Host] = true
			keep[parsed[i].Number] = true
		}
	}
	run := audit.BlockRun{Channel: x.cfg.Channel, Chaincode: x.cfg.Chaincode, ConfigBlocks: x.configs, Blocks: raws, PrevHeader: x.prevHeader,
		ParsedBlocks: parsed}
	for _, n := range sortedKeys(x.context) {
		run.Context = append(run.Context, x.context[n].Raw)
		run.ParsedContext = append(run.ParsedContext, x.context[n])
	}
	for _, h := range sortedKeys(named) {
		if e, ok := x.hosts[h]; ok {
			run.Hosts = append(run.Hosts, e)
		}
	}
	res := audit.VerifyRun(run, audit.VerifyOptions{Anchor: x.cfg.Anchor})

	updates, stats, err := x.updates(ctx, res, keep)
	if err != nil {
		return err
	}
	if err := x.st.Apply(ctx, updates); err != nil {
		return fmt.Errorf("apply blocks %d-%d: %w", updates[0].Block.Number, updates[len(updates)-1].Block.Number, err)
	}
	for n := range keep {
		for _, b := range parsed {
			if b.Number == n {
				x.context[n] = b
			}
		}
	}
	last := updates[len(updates)-1].Block
	x.next, x.prevHeader, x.prevRoot = last.Number+1, last.HeaderHash, last.Root
	x.prog.Next, x.prog.Blocks = x.next, x.prog.Blocks+uint64(len(updates))
	x.prog.Records += int64(stats.records)
	x.prog.Findings += int64(stats.findings)
	x.prog.Elapsed = x.cfg.Clock().Sub(x.start)
	x.m.next.Set(float64(x.next))
	x.m.records.Add(float64(stats.records))
	for sev, n := range stats.bySeverity {
		x.m.findings.WithLabelValues(sev).Add(float64(n))
	}
	x.m.runSeconds.Observe(x.cfg.Clock().Sub(began).Seconds())
	x.setHeight(x.prog.Height)
	if x.cfg.Progress != nil {
		x.cfg.Progress(x.prog)
	}
	return nil
}

func sortedKeys[K uint64 | string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
