package network

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// Config returns the network's configuration.
func (n *Network) Config() Config { return n.cfg }

// Dir returns the network's state directory.
func (n *Network) Dir() string { return n.cfg.Dir }

// Chaincode returns the committed chaincode definition as last deployed.
func (n *Network) Chaincode() ChaincodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.st.Chaincode
}

// PeerInfo describes one organisation's peer.
type PeerInfo struct {
	Org       Org
	MSPID     string
	Name      string // TLS host name, e.g. peer0.provider.e2l.local
	Endpoint  string // host:port of the peer and its Gateway service
	TLSCAPath string // PEM of the organisation's TLS root CA
	// The organisation admin's identity (for the Gateway client or the peer CLI).
	AdminCertPath, AdminKeyPath, AdminMSPDir string
	LogPath                                  string
	OperationsEndpoint                       string // host:port of /metrics, /healthz (HTTP)
}

// Peers describes the peers, in Orgs() order.
func (n *Network) Peers() []PeerInfo {
	c := n.cfg
	var out []PeerInfo
	for i, o := range Orgs() {
		out = append(out, PeerInfo{
			Org: o, MSPID: o.MSPID(), Name: c.peerHost(o),
			Endpoint:      addr(c.port(slotPeer, i, offMain)),
			TLSCAPath:     c.peerTLSCA(o),
			AdminCertPath: c.peerAdminCert(o), AdminKeyPath: c.peerAdminKey(o), AdminMSPDir: c.peerAdminMSP(o),
			LogPath:            c.logPath(peerNode(o)),
			OperationsEndpoint: addr(c.port(slotPeer, i, offOperations)),
		})
	}
	return out
}

// Peer describes o's peer.
func (n *Network) Peer(o Org) PeerInfo { return n.Peers()[o.index()] }

// PeerTLSCABundle is one PEM file holding the TLS root CAs of all peers.
func (n *Network) PeerTLSCABundle() string { return n.cfg.peerTLSCABundle() }

// OrdererInfo describes one orderer.
type OrdererInfo struct {
	Index              int
	Org                Org // the party that runs it
	MSPID              string
	Endpoint           string // host:port of the Broadcast/Deliver service
	AdminEndpoint      string // host:port of the channel participation API (mutual TLS)
	OperationsEndpoint string // host:port of /metrics, /healthz (HTTP)
	TLSCAPath          string // PEM of the orderer organisation's TLS root CA
	// The orderer organisation admin's TLS client pair, for osnadmin.
	AdminTLSCertPath, AdminTLSKeyPath string
	LogPath                           string
}

// Orderers describes the orderers; orderer i belongs to Orgs()[i].
func (n *Network) Orderers() []OrdererInfo {
	c := n.cfg
	var out []OrdererInfo
	for i, o := range Orgs() {
		out = append(out, OrdererInfo{
			Index: i, Org: o, MSPID: o.OrdererMSPID(),
			Endpoint:           addr(c.port(slotOrderer, i, offMain)),
			AdminEndpoint:      addr(c.port(slotOrderer, i, offAdmin)),
			OperationsEndpoint: addr(c.port(slotOrderer, i, offOperations)),
			TLSCAPath:          c.ordererTLSCA(i),
			AdminTLSCertPath:   filepath.Join(c.ordererAdminTLS(i), "client.crt"),
			AdminTLSKeyPath:    filepath.Join(c.ordererAdminTLS(i), "client.key"),
			LogPath:            c.logPath(ordererNode(i)),
		})
	}
	return out
}

// OrdererTLSCABundle is one PEM file holding the TLS root CAs of all orderers.
func (n *Network) OrdererTLSCABundle() string { return n.cfg.ordererTLSCABundle() }

// PeerCLIEnv is the environment (KEY=value) for the peer CLI to act as o's
// admin against o's peer. Add OrdererCLIArgs for commands that order.
func (n *Network) PeerCLIEnv(o Org) []string { return n.cfg.peerCLIEnv(o) }

// OrdererCLIArgs are the peer CLI flags (-o, --tls, --cafile) that reach a running orderer.
func (n *Network) OrdererCLIArgs() ([]string, error) {
	args, _, err := n.cfg.ordererArgs(0)
	return args, err
}

// NodeStatus says whether a node runs.
type NodeStatus struct {
	Name    string
	Running bool
	PID     int
	Ports   []int
	LogPath string
}

// Status lists every node and whether it runs.
func (n *Network) Status() []NodeStatus {
	var out []NodeStatus
	for _, nd := range n.allNodes() {
		pid, ok := n.cfg.pid(nd.name)
		out = append(out, NodeStatus{Name: nd.name, Running: ok, PID: pid, Ports: nd.ports, LogPath: n.cfg.logPath(nd.name)})
	}
	return out
}

func (n *Network) checkOrderer(i int) error {
	if i < 0 || i >= len(Orgs()) {
		return fmt.Errorf("no orderer %d (want 0-%d)", i, len(Orgs())-1)
	}
	return nil
}

// StopOrderer stops orderer i.
func (n *Network) StopOrderer(ctx context.Context, i int) error {
	if err := n.checkOrderer(i); err != nil {
		return err
	}
	return n.cfg.stop(ctx, n.cfg.ordererNode(i))
}

// StartOrderer starts orderer i and waits until it has the channel active again.
func (n *Network) StartOrderer(ctx context.Context, i int) error {
	if err := n.checkOrderer(i); err != nil {
		return err
	}
	nd := n.cfg.ordererNode(i)
	if err := n.startNode(ctx, nd); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, channelTimeout)
	defer cancel()
	return n.cfg.awaitChannelActive(ctx, i)
}

// RaftLeader returns the index of the orderer leading the channel's Raft
// cluster, waiting (until ctx ends) for one to be elected.
func (n *Network) RaftLeader(ctx context.Context) (int, error) { return n.cfg.raftLeader(ctx) }

// RaftStatus reads orderer i's Raft gauges for the channel.
func (n *Network) RaftStatus(ctx context.Context, i int) (RaftStatus, error) {
	if err := n.checkOrderer(i); err != nil {
		return RaftStatus{}, err
	}
	return n.cfg.raftStatus(ctx, i)
}

// StopPeer stops o's peer.
func (n *Network) StopPeer(ctx context.Context, o Org) error {
	if err := o.valid(); err != nil {
		return err
	}
	return n.cfg.stop(ctx, n.cfg.peerNode(o))
}

// StartPeer starts o's peer and waits until it answers a chaincode query
// and its Gateway can collect endorsements.
func (n *Network) StartPeer(ctx context.Context, o Org) error {
	if err := o.valid(); err != nil {
		return err
	}
	if err := n.startNode(ctx, n.cfg.peerNode(o)); err != nil {
		return err
	}
	if err := n.cfg.awaitChaincode(ctx, o, 2*time.Minute); err != nil {
		return err
	}
	return n.cfg.awaitGateway(ctx, o, 2*time.Minute)
}

// StopChaincode stops o's chaincode server.
func (n *Network) StopChaincode(ctx context.Context, o Org) error {
	if err := o.valid(); err != nil {
		return err
	}
	return n.cfg.stop(ctx, n.cfg.chaincodeNode(o, n.Chaincode().PackageID))
}

// StartChaincode starts o's chaincode server and waits until o's peer reaches it.
func (n *Network) StartChaincode(ctx context.Context, o Org) error {
	if err := o.valid(); err != nil {
		return err
	}
	if err := n.startNode(ctx, n.cfg.chaincodeNode(o, n.Chaincode().PackageID)); err != nil {
		return err
	}
	return n.cfg.awaitChaincode(ctx, o, 2*time.Minute)
}

// startNode starts a node unless it runs, and waits for it to listen.
func (n *Network) startNode(ctx context.Context, nd node) error {
	if n.cfg.running(nd.name) {
		return nil
	}
	if err := n.cfg.start(nd); err != nil {
		return err
	}
	return n.cfg.awaitUp(ctx, nd, listenTimeout)
}

// DeployChaincode deploys the chaincode binary (Config.ChaincodeBin) as the
// next sequence of the chaincode definition: a new package, installed on
// every peer, approved by every org and committed, with the chaincode
// servers restarted under the new package ID.
func (n *Network) DeployChaincode(ctx context.Context) (ChaincodeInfo, error) {
	t0 := time.Now()
	seq, err := n.cfg.committedSequence(ctx, Provider)
	if err != nil {
		return ChaincodeInfo{}, err
	}
	info, err := n.cfg.deployChaincode(ctx, seq+1, n.progress(t0))
	if err != nil {
		return info, err
	}
	n.mu.Lock()
	n.st.Chaincode = info
	n.st.ChaincodeBin = n.cfg.ChaincodeBin
	st := n.st
	n.mu.Unlock()
	return info, n.cfg.saveState(st)
}
