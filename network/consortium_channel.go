package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ChannelConfig configures ConsortiumChannel.
type ChannelConfig struct {
	// Dir is the organisation's directory (InitOrg).
	Dir string
	// BinDir holds configtxgen. Default DefaultBinDir.
	BinDir string
	// Shares are the share directories of the three organisations, this
	// one's included, as received.
	Shares []string
	// BatchTimeout is the channel's BatchTimeout. Default DefaultBatchTimeout.
	BatchTimeout time.Duration
	// Genesis makes the genesis block (consortium/e2l.block): done by the
	// one organisation that creates the channel; the others receive the
	// block and check it (CheckGenesis).
	Genesis bool
}

// ConsortiumChannel derives, in the organisation's directory, what the three
// shares determine: consortium/configtx.yaml (the channel's definition:
// the three organisations, their orderers as Raft consenters, anchor peers,
// MAJORITY endorsement), consortium/peers-tlsca.pem and orderers-tlsca.pem
// (TLS root bundles of every peer and every orderer: what its collectors,
// admin and orderer need to reach the others), consortium/peer-endpoints
// (the three peers, its own first: its collectors' E2L_PEER_ENDPOINTS),
// nodes/orderer/cluster-tlsca.pem and, with Genesis, consortium/e2l.block.
func ConsortiumChannel(ctx context.Context, cfg ChannelConfig) error {
	if cfg.BinDir == "" {
		cfg.BinDir = DefaultBinDir
	}
	if cfg.BatchTimeout == 0 {
		cfg.BatchTimeout = DefaultBatchTimeout
	}
	if cfg.BatchTimeout < 10*time.Millisecond || cfg.BatchTimeout > time.Minute {
		return fmt.Errorf("batch timeout %s out of range [10ms, 1m]", cfg.BatchTimeout)
	}
	shares, err := readShares(cfg.Dir, cfg.Shares)
	if err != nil {
		return err
	}
	own, err := ReadShare(orgPath(cfg.Dir, "share"))
	if err != nil {
		return err
	}
	endpoints := []string{own.AnchorPeer}
	for _, s := range shares {
		if s.MSPID != own.MSPID {
			endpoints = append(endpoints, s.AnchorPeer)
		}
	}
	var orgs []orgData
	var peerCAs, ordererCAs []byte
	for _, s := range shares {
		peerHost, peerPort, err := splitHostPort(s.AnchorPeer)
		if err != nil {
			return fmt.Errorf("share of %s: anchor peer: %w", s.Name, err)
		}
		ordHost, clusterPort, err := splitHostPort(s.OrdererCluster)
		if err != nil {
			return fmt.Errorf("share of %s: orderer cluster: %w", s.Name, err)
		}
		o, _ := ParseOrg(s.MSPID)
		orgs = append(orgs, orgData{
			Name: s.Name, Domain: o.domain(), OrdererDomain: o.ordererDomain(),
			MSPDir: s.mspDir(), OrdererMSPDir: s.ordererMSPDir(),
			PeerHost: peerHost, PeerPort: peerPort, OrdererHost: ordHost, ClusterPort: clusterPort,
			OrdererEndpoint: s.Orderer, OrdererTLSCert: s.ordererTLSCert(),
		})
		for _, f := range []struct {
			path string
			into *[]byte
		}{{s.peerTLSCA(), &peerCAs}, {s.ordererTLSCA(), &ordererCAs}} {
			b, err := os.ReadFile(f.path)
			if err != nil {
				return err
			}
			*f.into = append(*f.into, b...)
		}
	}
	out := orgPath(cfg.Dir, "consortium")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for path, b := range map[string][]byte{
		filepath.Join(out, "peers-tlsca.pem"):                     peerCAs,
		filepath.Join(out, "orderers-tlsca.pem"):                  ordererCAs,
		filepath.Join(out, "peer-endpoints"):                      []byte(strings.Join(endpoints, ",") + "\n"),
		orgPath(cfg.Dir, "nodes", "orderer", "cluster-tlsca.pem"): ordererCAs,
	} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	if err := render("configtx.yaml.tmpl", filepath.Join(out, "configtx.yaml"), map[string]any{
		"Orgs": orgs, "BatchTimeout": cfg.BatchTimeout.String(), "MaxMessageCount": BatchMaxMessageCount,
	}); err != nil {
		return err
	}
	if !cfg.Genesis {
		return nil
	}
	block := filepath.Join(out, ChannelName+".block")
	return Config{BinDir: cfg.BinDir}.run(ctx, "configtxgen", nil, "", "-configPath", out, "-profile", "E2LChannel",
		"-channelID", ChannelName, "-outputBlock", block)
}

// readShares reads the three organisations' shares, in Orgs() order, and
// checks that the organisation's own share is among them unchanged.
func readShares(dir string, paths []string) ([]Share, error) {
	own, err := ReadShare(orgPath(dir, "share"))
	if err != nil {
		return nil, fmt.Errorf("the organisation's own share: %w", err)
	}
	byOrg := map[Org]Share{}
	for _, p := range paths {
		s, err := ReadShare(p)
		if err != nil {
			return nil, err
		}
		o, _ := ParseOrg(s.MSPID)
		if _, dup := byOrg[o]; dup {
			return nil, fmt.Errorf("two shares of %s", o)
		}
		byOrg[o] = s
	}
	var out []Share
	var errs []error
	for _, o := range Orgs() {
		s, ok := byOrg[o]
		if !ok {
			errs = append(errs, fmt.Errorf("no share of %s", o))
			continue
		}
		out = append(out, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	o, _ := ParseOrg(own.MSPID)
	if err := sameShare(own, byOrg[o]); err != nil {
		return nil, fmt.Errorf("the share given for %s is not this organisation's own: %w", o, err)
	}
	return out, nil
}

// sameShare compares two shares' endpoints and certificates.
func sameShare(a, b Share) error {
	if a.AnchorPeer != b.AnchorPeer || a.Orderer != b.Orderer || a.OrdererCluster != b.OrdererCluster {
		return fmt.Errorf("endpoints differ: %+v, %+v", a, b)
	}
	for _, f := range []func(Share) string{
		Share.peerTLSCA, Share.ordererTLSCA, Share.ordererTLSCert,
		func(s Share) string { return filepath.Join(s.mspDir(), "cacerts", "ca.pem") },
		func(s Share) string { return filepath.Join(s.ordererMSPDir(), "cacerts", "ca.pem") },
	} {
		x, err := os.ReadFile(f(a))
		if err != nil {
			return err
		}
		y, err := os.ReadFile(f(b))
		if err != nil {
			return err
		}
		if string(x) != string(y) {
			return fmt.Errorf("%s differs from %s", f(b), f(a))
		}
	}
	return nil
}

func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port of %q", hp)
	}
	return h, port, nil
}
