package network

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func (c Config) peerNode(o Org) node {
	i := o.index()
	return node{
		name: peerNode(o),
		bin:  c.bin("peer"),
		args: []string{"node", "start"},
		env: []string{
			"FABRIC_CFG_PATH=" + c.peerDir(o),
			"FABRIC_LOGGING_SPEC=info:gateway=info",
			"E2L_CCAAS_CONNECTION=" + c.connectionJSON(o),
		},
		dir: c.peerDir(o),
		ports: []int{
			c.port(slotPeer, i, offMain), c.port(slotPeer, i, offCluster), c.port(slotPeer, i, offOperations),
		},
	}
}

func (c Config) writePeerConfig(o Org) error {
	i := o.index()
	return render("core.yaml.tmpl", filepath.Join(c.peerDir(o), "core.yaml"), map[string]any{
		"ID":                     c.peerHost(o),
		"MSPID":                  o.MSPID(),
		"Address":                addr(c.port(slotPeer, i, offMain)),
		"ListenAddress":          addr(c.port(slotPeer, i, offMain)),
		"ChaincodeListenAddress": addr(c.port(slotPeer, i, offCluster)),
		"OperationsAddress":      addr(c.port(slotPeer, i, offOperations)),
		"TLSDir":                 filepath.Join(c.peerNodeDir(o), "tls"),
		"MSPDir":                 filepath.Join(c.peerNodeDir(o), "msp"),
		"DataDir":                filepath.Join(c.peerDir(o), "data"),
		"BuilderDir":             c.builderDir(),
	})
}

// peerCLIEnv is the environment for the peer CLI acting as o's admin
// against o's peer.
func (c Config) peerCLIEnv(o Org) []string {
	return []string{
		"FABRIC_CFG_PATH=" + c.peerDir(o),
		"FABRIC_LOGGING_SPEC=warning",
		"CORE_PEER_LOCALMSPID=" + o.MSPID(),
		"CORE_PEER_MSPCONFIGPATH=" + c.peerAdminMSP(o),
		"CORE_PEER_ADDRESS=" + addr(c.port(slotPeer, o.index(), offMain)),
		"CORE_PEER_TLS_ENABLED=true",
		"CORE_PEER_TLS_ROOTCERT_FILE=" + c.peerTLSCA(o),
	}
}

// peerCLI runs the peer CLI as o's admin and returns its standard output.
func (c Config) peerCLI(ctx context.Context, o Org, args ...string) ([]byte, error) {
	return c.output(ctx, "peer", c.peerCLIEnv(o), c.peerDir(o), args...)
}

// ordererArgs are the peer CLI flags that reach the first running orderer
// at or after index from (in org order, wrapping) over TLS, and its index.
func (c Config) ordererArgs(from int) ([]string, int, error) {
	n := len(Orgs())
	for k := range n {
		i := (from + k) % n
		if c.running(ordererNode(i)) {
			return []string{"-o", addr(c.port(slotOrderer, i, offMain)), "--tls", "--cafile", c.ordererTLSCABundle()}, i, nil
		}
	}
	return nil, -1, errors.New("no orderer is running")
}

// ordererRetryTimeout bounds how long ordererTx sends a transaction again
// while orderers answer that they have no Raft leader: an election takes
// about ElectionTick × TickInterval (5 s), a restarted orderer catching up
// with the cluster longer.
const ordererRetryTimeout = 2 * channelTimeout

// ordererTx runs a peer CLI command of o's admin that sends a transaction to
// an orderer (the orderer flags are appended). An orderer that has no Raft
// leader, or is not a consenter yet, answers SERVICE_UNAVAILABLE and orders
// nothing; such a refusal is sent again, to the next running orderer, until
// ordererRetryTimeout or ctx ends. Any other failure is returned at once.
func (c Config) ordererTx(ctx context.Context, o Org, args ...string) ([]byte, error) {
	deadline, cancel := context.WithTimeout(ctx, ordererRetryTimeout)
	defer cancel()
	var out []byte
	next := 0
	err := poll(deadline, 500*time.Millisecond, func() (bool, error) {
		ord, i, err := c.ordererArgs(next)
		if err != nil {
			return false, retry(err)
		}
		next = i + 1
		out, err = c.peerCLI(ctx, o, append(slices.Clip(args), ord...)...)
		if err != nil && strings.Contains(err.Error(), "SERVICE_UNAVAILABLE") {
			return false, retry(err)
		}
		return err == nil, err
	})
	return out, err
}

// joinPeer joins o's peer to the channel; joining twice is not an error.
func (c Config) joinPeer(ctx context.Context, o Org) error {
	_, err := c.peerCLI(ctx, o, "channel", "join", "-b", c.genesisBlock())
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return c.nodeError(peerNode(o), fmt.Errorf("join channel: %w", err))
	}
	return nil
}

// connectionJSON is the chaincode connection o's peer uses: the external
// builder's release step copies it (path in E2L_CCAAS_CONNECTION), so the
// package holds no address or key and all orgs install the same package ID.
func (c Config) connectionJSON(o Org) string {
	return filepath.Join(c.peerDir(o), "ccaas-connection.json")
}

func (c Config) writeConnectionJSON(o Org) error {
	return writeCCaaSConnection(c.connectionJSON(o), addr(c.port(slotChaincode, o.index(), offMain)),
		filepath.Join(c.peerNodeDir(o), "tls"), c.peerTLSCA(o))
}
