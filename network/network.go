package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/e2l-project/e2l/internal/wire"
)

// Network is a running (or stopped) local network, described by its state
// directory. Its methods are safe for concurrent use.
type Network struct {
	cfg Config

	mu sync.Mutex // guards st
	st state
}

// Timeouts of readiness waits.
const (
	listenTimeout  = 60 * time.Second
	channelTimeout = 60 * time.Second
)

// Up brings a network up and returns once it is ready: every node listens,
// the channel is active on every orderer with a Raft leader, every peer has
// joined it and every peer answers a chaincode query.
//
//   - If cfg.Dir holds a network that is running and healthy, Up changes nothing.
//   - If it holds one that was ready once (and cfg.Fresh is false), Up
//     restarts its processes; ledgers, identities and enrolled hosts are kept.
//     Its ports and batch timeout are those it was created with. A network
//     created for another chaincode state layout (wire.StateLayout) is not
//     restarted but created again, saying why.
//   - Otherwise Up stops whatever runs from cfg.Dir, empties it and creates
//     a new network: crypto material, channel, chaincode sequence 1.
func Up(ctx context.Context, cfg Config) (*Network, error) {
	t0 := time.Now()
	dirCfg, err := Config{Dir: cfg.Dir}.WithDefaults()
	if err != nil {
		return nil, err
	}
	st, err := loadState(dirCfg)
	ok, why := st.reusable()
	if err == nil && ok && !cfg.Fresh {
		cfg.Dir = dirCfg.Dir
		requested := cfg.BatchTimeout
		if cfg.PortBase != 0 && cfg.PortBase != st.PortBase {
			return nil, fmt.Errorf("%s holds a network on port base %d, not %d: use its port base or Fresh", dirCfg.Dir, st.PortBase, cfg.PortBase)
		}
		if cfg, err = st.apply(cfg).WithDefaults(); err != nil {
			return nil, err
		}
		if err := cfg.validate(); err != nil {
			return nil, err
		}
		n := &Network{cfg: cfg, st: st}
		if requested != 0 && requested != st.BatchTimeout {
			n.progress(t0)("note: batch timeout stays %s, fixed when the network was created (use fresh to change it)", st.BatchTimeout)
		}
		return n, n.resume(ctx, t0)
	}
	if cfg, err = cfg.WithDefaults(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Network{cfg: cfg, st: state{
		PortBase: cfg.PortBase, BatchTimeout: cfg.BatchTimeout, BinDir: cfg.BinDir, ChaincodeBin: cfg.ChaincodeBin,
		StateLayout: wire.StateLayout,
	}}
	if why != "" && !cfg.Fresh {
		n.progress(t0)("creating the network in %s again, its ledgers and enrolled hosts discarded: %s", cfg.Dir, why)
	}
	return n, n.create(ctx, t0)
}

// Open returns the network whose state is in cfg.Dir, without starting or
// checking anything. Binaries left unset in cfg are those it was created with.
func Open(cfg Config) (*Network, error) {
	dirCfg, err := Config{Dir: cfg.Dir}.WithDefaults()
	if err != nil {
		return nil, err
	}
	st, err := loadState(dirCfg)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dirCfg.Dir
	if cfg, err = st.apply(cfg).WithDefaults(); err != nil {
		return nil, err
	}
	return &Network{cfg: cfg, st: st}, nil
}

// progress prints a line prefixed with the time since t0.
func (n *Network) progress(t0 time.Time) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(n.cfg.Log, "[%5.1fs] %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
	}
}

// create makes a new network in an emptied state directory.
func (n *Network) create(ctx context.Context, t0 time.Time) error {
	c, p := n.cfg, n.progress(t0)
	if err := n.stopAll(ctx); err != nil {
		return err
	}
	if err := c.clearDir(); err != nil {
		return err
	}
	if err := n.checkPortsFree(); err != nil {
		return err
	}
	if err := c.saveState(n.st); err != nil {
		return err
	}
	p("creating network in %s (ports %d-%d, batch timeout %s)", c.Dir, c.PortBase, c.PortBase+portSpan-1, c.BatchTimeout)
	if err := c.generate(ctx); err != nil {
		return err
	}
	p("crypto material, configuration and genesis block generated")
	if err := n.startNodes(ctx, p); err != nil {
		return err
	}
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error {
		if err := c.joinOrderer(ctx, o.index()); err != nil {
			return err
		}
		return c.joinPeer(ctx, o)
	}); err != nil {
		return err
	}
	p("orderers and peers joined channel %s", ChannelName)
	if err := n.awaitOrderers(ctx, p); err != nil {
		return err
	}
	info, err := c.deployChaincode(ctx, 1, p)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.st.Chaincode, n.st.Ready = info, true
	st := n.st
	n.mu.Unlock()
	if err := c.saveState(st); err != nil {
		return err
	}
	p("network ready in %.1fs", time.Since(t0).Seconds())
	return nil
}

// resume restarts a network created before, unless it runs and is healthy.
func (n *Network) resume(ctx context.Context, t0 time.Time) error {
	c, p := n.cfg, n.progress(t0)
	if err := n.Healthy(ctx); err == nil {
		p("network in %s is already running and healthy", c.Dir)
		if h, err := fileSHA256(c.ChaincodeBin); err == nil && h != n.Chaincode().BinaryHash {
			p("note: %s differs from the deployed chaincode; deploy it with e2lnet deploy-cc (make deploy-cc)", c.ChaincodeBin)
		}
		return nil
	}
	p("restarting the network in %s (ledgers kept; use fresh to recreate it)", c.Dir)
	if err := n.stopAll(ctx); err != nil {
		return err
	}
	if err := n.checkPortsFree(); err != nil {
		return err
	}
	if err := n.startNodes(ctx, p); err != nil {
		return err
	}
	if err := n.awaitOrderers(ctx, p); err != nil {
		return err
	}
	cc := n.Chaincode()
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error {
		return c.restartChaincode(ctx, o, cc.PackageID)
	}); err != nil {
		return err
	}
	if err := c.awaitReady(ctx); err != nil {
		return err
	}
	p("chaincode %s answering on every peer, every gateway endorsing", cc.PackageID)
	p("network ready in %.1fs", time.Since(t0).Seconds())
	return nil
}

// startNodes starts every CA, orderer and peer and waits for them to listen.
func (n *Network) startNodes(ctx context.Context, p func(string, ...any)) error {
	c := n.cfg
	var nodes []node
	for i, o := range Orgs() {
		secret, err := c.caSecret(o)
		if err != nil {
			return err
		}
		nodes = append(nodes, c.caNode(o, secret), c.ordererNode(i), c.peerNode(o))
	}
	for _, nd := range nodes {
		if err := c.start(nd); err != nil {
			return err
		}
	}
	p("started %d nodes (CAs, orderers, peers)", len(nodes))
	var errs []error
	for _, nd := range nodes {
		errs = append(errs, c.awaitUp(ctx, nd, listenTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	p("all nodes listening")
	return nil
}

// awaitOrderers waits for the channel to be active on every orderer and for a Raft leader.
func (n *Network) awaitOrderers(ctx context.Context, p func(string, ...any)) error {
	c := n.cfg
	ctx, cancel := context.WithTimeout(ctx, channelTimeout)
	defer cancel()
	if err := eachOrg(ctx, func(ctx context.Context, o Org) error { return c.awaitChannelActive(ctx, o.index()) }); err != nil {
		return err
	}
	leader, err := c.raftLeader(ctx)
	if err != nil {
		return err
	}
	p("channel %s active on %d orderers, raft leader %s", ChannelName, len(Orgs()), ordererNode(leader))
	return nil
}

// allNodes lists every node of the network, chaincode servers first.
func (n *Network) allNodes() []node {
	c := n.cfg
	cc := n.Chaincode()
	var nodes []node
	for _, o := range Orgs() {
		nodes = append(nodes, c.chaincodeNode(o, cc.PackageID))
	}
	for i, o := range Orgs() {
		nodes = append(nodes, c.peerNode(o), c.ordererNode(i), c.caNode(o, ""))
	}
	return nodes
}

// stopAll stops every node (concurrently) and waits for their ports to close.
func (n *Network) stopAll(ctx context.Context) error {
	nodes := n.allNodes()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Go(func() { errs[i] = n.cfg.stop(ctx, nd) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Down stops every node of the network: SIGTERM, then SIGKILL after a grace
// period; it returns once their ports are closed. State is kept.
func (n *Network) Down(ctx context.Context) error {
	return n.stopAll(ctx)
}

// Purge stops the network and deletes its state directory.
func (n *Network) Purge(ctx context.Context) error {
	if err := n.Down(ctx); err != nil {
		return err
	}
	return n.cfg.clearDir()
}

// Healthy reports whether every node runs, every peer answers a chaincode
// query and every peer's Gateway can collect endorsements.
func (n *Network) Healthy(ctx context.Context) error {
	c := n.cfg
	var errs []error
	for _, nd := range n.allNodes() {
		if !c.running(nd.name) {
			errs = append(errs, fmt.Errorf("%s is not running", nd.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return eachOrg(ctx, func(ctx context.Context, o Org) error {
		if err := c.awaitChaincode(ctx, o, 15*time.Second); err != nil {
			return err
		}
		return c.awaitGateway(ctx, o, 15*time.Second)
	})
}

// clearDir empties the state directory, refusing a directory that is
// neither empty nor a network's.
func (c Config) clearDir() error {
	entries, err := os.ReadDir(c.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(c.Dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(c.statePath()); err != nil {
			return fmt.Errorf("refusing to clear %s: not empty and holds no network.json", c.Dir)
		}
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(c.Dir, e.Name())); err != nil {
			return fmt.Errorf("clear %s: %w", c.Dir, err)
		}
	}
	return nil
}

// checkPortsFree fails if a port the network uses is in use.
func (n *Network) checkPortsFree() error {
	l, err := listeningPorts()
	if err != nil {
		return err
	}
	for _, nd := range n.allNodes() {
		for _, p := range nd.ports {
			if l[p] {
				return fmt.Errorf("port %d (%s) is in use: another network on port base %d? (choose another port base)", p, nd.name, n.cfg.PortBase)
			}
		}
	}
	return nil
}
