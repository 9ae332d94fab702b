package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The consortium on Docker Swarm (deploy/consortium, docs/consortium.md):
// each organisation generates its own nodes' crypto material and
// configuration (InitOrg), gives the others only its share directory
// (public certificates and endpoints), and derives from the three shares
// the TLS root bundles and, for the one that creates the channel, the
// genesis block (ConsortiumChannel). Its nodes are containers reached by DNS
// names (the services' aliases on the consortium's overlay network, or DNS
// records when the organisations run separate clusters) on the fixed
// container ports below, distinct within an organisation so that one host
// can publish them all unchanged.
const (
	SwarmOrdererPort        = 7050
	SwarmPeerPort           = 7051
	SwarmPeerChaincodePort  = 7052 // the peer's chaincode listener (unused: chaincode as a service)
	SwarmOrdererAdminPort   = 7053
	SwarmCAPort             = 7054
	SwarmOrdererClusterPort = 7055
	SwarmPeerOpsPort        = 9443
	SwarmOrdererOpsPort     = 9444
	SwarmCAOpsPort          = 9445
	SwarmChaincodePort      = 9999
)

// Paths inside the containers of deploy/docker/fabric-*.Dockerfile.
const (
	swarmConfigDir  = "/etc/hyperledger/fabric"
	swarmDataDir    = "/var/hyperledger/production"
	swarmBuilderDir = "/opt/e2l/ccaas"
)

// OrgConfig describes one organisation's part of the Swarm consortium.
type OrgConfig struct {
	Org Org
	// Dir receives the organisation's material (see InitOrg); it must be
	// empty or absent.
	Dir string
	// BinDir holds cryptogen (and configtxgen for ConsortiumChannel).
	// Default DefaultBinDir.
	BinDir string
	// SANs are extra TLS names of every node, besides its DNS name: e.g.
	// localhost and 127.0.0.1 when the admin reaches the nodes through
	// ports published on the machine it works on.
	SANs []string
}

func (c OrgConfig) withDefaults() (OrgConfig, error) {
	if err := c.Org.valid(); err != nil {
		return c, err
	}
	if c.Dir == "" {
		return c, errors.New("org directory not set")
	}
	if c.BinDir == "" {
		c.BinDir = DefaultBinDir
	}
	var err error
	for _, p := range []*string{&c.Dir, &c.BinDir} {
		if *p, err = filepath.Abs(*p); err != nil {
			return c, err
		}
	}
	for _, s := range c.SANs {
		if s == "" || strings.ContainsAny(s, ", []\n") {
			return c, fmt.Errorf("TLS name %q: want a host name or an IP address", s)
		}
	}
	return c, nil
}

// SwarmHosts are the DNS names of an organisation's nodes.
type SwarmHosts struct{ Peer, Orderer, CA, Chaincode string }

// SwarmHostsOf returns the DNS names of o's nodes: those of the native
// network's certificates (peer0.<org>.e2l.local, ...).
func SwarmHostsOf(o Org) SwarmHosts {
	return SwarmHosts{
		Peer:      "peer0." + o.domain(),
		Orderer:   "orderer." + o.ordererDomain(),
		CA:        "ca." + o.domain(),
		Chaincode: "chaincode." + o.domain(),
	}
}

// The organisation directory (OrgConfig.Dir):
//
//	org.env          the organisation's settings, for deploy/consortium/org.sh and the stack
//	crypto/          cryptogen's output: every key of the organisation (keep it secret)
//	nodes/<node>/    what each node's container mounts (Swarm configs, and secrets for keys)
//	share/           what the organisation gives the others: public only
//	consortium/      what it derives from all shares (bundles, configtx.yaml, e2l.block)
func orgPath(dir string, elem ...string) string {
	return filepath.Join(append([]string{dir}, elem...)...)
}

// Share is what one organisation gives the others (share/ of its
// directory): its MSP definitions (root and TLS root certificates, NodeOU
// configuration, no key), its orderer's TLS certificate (its Raft
// consenter identity) and its nodes' endpoints (share.json).
type Share struct {
	Name         string `json:"name"`
	MSPID        string `json:"mspId"`
	OrdererMSPID string `json:"ordererMspId"`
	// AnchorPeer is host:port of its peer, the channel's anchor peer.
	AnchorPeer string `json:"anchorPeer"`
	// Orderer is host:port of its orderer's Broadcast/Deliver service,
	// OrdererCluster of its Raft cluster service.
	Orderer        string `json:"orderer"`
	OrdererCluster string `json:"ordererCluster"`

	dir string // where it was read from
}

func (s Share) mspDir() string        { return filepath.Join(s.dir, "msp") }
func (s Share) ordererMSPDir() string { return filepath.Join(s.dir, "orderer-msp") }
func (s Share) ordererTLSCert() string {
	return filepath.Join(s.dir, "orderer-tls.crt")
}
func (s Share) peerTLSCA() string { return filepath.Join(s.mspDir(), "tlscacerts", "tlsca.pem") }
func (s Share) ordererTLSCA() string {
	return filepath.Join(s.ordererMSPDir(), "tlscacerts", "tlsca.pem")
}

// ReadShare reads a share directory.
func ReadShare(dir string) (Share, error) {
	var s Share
	b, err := os.ReadFile(filepath.Join(dir, "share.json"))
	if err != nil {
		return s, fmt.Errorf("share %s: %w", dir, err)
	}
	if err := unmarshalStrict(b, &s); err != nil {
		return s, fmt.Errorf("share %s: share.json: %w", dir, err)
	}
	if s.dir, err = filepath.Abs(dir); err != nil {
		return s, err
	}
	o, err := ParseOrg(s.MSPID)
	if err != nil {
		return s, fmt.Errorf("share %s: %w", dir, err)
	}
	if s.Name != string(o) || s.OrdererMSPID != o.OrdererMSPID() {
		return s, fmt.Errorf("share %s: name %q, MSP IDs %s and %s do not belong together", dir, s.Name, s.MSPID, s.OrdererMSPID)
	}
	for _, f := range []string{s.peerTLSCA(), s.ordererTLSCA(), s.ordererTLSCert(),
		filepath.Join(s.mspDir(), "cacerts", "ca.pem"), filepath.Join(s.ordererMSPDir(), "cacerts", "ca.pem")} {
		if _, err := os.Stat(f); err != nil {
			return s, fmt.Errorf("share %s: %w", dir, err)
		}
	}
	return s, nil
}

// InitOrg generates one organisation's material in an empty directory:
// its crypto material (cryptogen: the organisation's CA, TLS CA, peer,
// orderer, CA and chaincode server identities, admins), what each node's
// container mounts (node configuration from the native network's
// templates, with container paths and DNS names), the bootstrap secret of
// its Fabric CA, its share and org.env.
func InitOrg(ctx context.Context, cfg OrgConfig) error {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(c.Dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: an organisation directory is made once (remove it to start again)", c.Dir)
	}
	o, h := c.Org, SwarmHostsOf(c.Org)
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	ccfg := orgPath(c.Dir, "crypto-config.yaml")
	data := []orgData{{Name: string(o), Domain: o.domain(), OrdererDomain: o.ordererDomain()}}
	if err := render("crypto-config.yaml.tmpl", ccfg, map[string]any{"Orgs": data, "SANS": strings.Join(c.SANs, ", ")}); err != nil {
		return err
	}
	tools := Config{BinDir: c.BinDir}
	if err := tools.run(ctx, "cryptogen", nil, "", "generate", "--config", ccfg, "--output", orgPath(c.Dir, "crypto")); err != nil {
		return err
	}
	k := orgCrypto{dir: orgPath(c.Dir, "crypto"), o: o}
	steps := []func() error{
		func() error { return k.writeNodes(orgPath(c.Dir, "nodes")) },
		func() error { return writeSwarmPeerConfig(o, orgPath(c.Dir, "nodes", "peer", "core.yaml")) },
		func() error { return writeSwarmOrdererConfig(o, orgPath(c.Dir, "nodes", "orderer", "orderer.yaml")) },
		func() error {
			conn := orgPath(c.Dir, "nodes", "peer", "ccaas-connection.json")
			if err := writeCCaaSConnection(conn, fmt.Sprintf("%s:%d", h.Chaincode, SwarmChaincodePort), k.nodeTLS("peer0"), k.tlsCA()); err != nil {
				return err
			}
			return os.Chmod(conn, 0o600) // it holds the peer's TLS key
		},
		func() error { return writeSwarmCAConfig(o, orgPath(c.Dir, "nodes", "ca")) },
		func() error { return k.writeShare(orgPath(c.Dir, "share")) },
		func() error { return writeOrgEnv(c, k) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("init %s in %s: %w", o, c.Dir, err)
		}
	}
	return nil
}

// writeSwarmPeerConfig renders o's core.yaml for the peer image.
func writeSwarmPeerConfig(o Org, dst string) error {
	addr := fmt.Sprintf("%s:%d", SwarmHostsOf(o).Peer, SwarmPeerPort)
	return render("core.yaml.tmpl", dst, map[string]any{
		"ID":                     SwarmHostsOf(o).Peer,
		"MSPID":                  o.MSPID(),
		"Address":                addr,
		"ListenAddress":          fmt.Sprintf("0.0.0.0:%d", SwarmPeerPort),
		"ChaincodeListenAddress": fmt.Sprintf("0.0.0.0:%d", SwarmPeerChaincodePort),
		"OperationsAddress":      fmt.Sprintf("0.0.0.0:%d", SwarmPeerOpsPort),
		"TLSDir":                 swarmConfigDir + "/tls",
		"MSPDir":                 swarmConfigDir + "/msp",
		"DataDir":                swarmDataDir,
		"BuilderDir":             swarmBuilderDir,
	})
}

// writeSwarmOrdererConfig renders o's orderer.yaml for the orderer image.
// The cluster's TLS roots are one bundle of the three orderer
// organisations' TLS CAs, written by ConsortiumChannel.
func writeSwarmOrdererConfig(o Org, dst string) error {
	return render("orderer.yaml.tmpl", dst, map[string]any{
		"ID":                SwarmHostsOf(o).Orderer,
		"MSPID":             o.OrdererMSPID(),
		"ListenHost":        "0.0.0.0",
		"Port":              SwarmOrdererPort,
		"ClusterPort":       SwarmOrdererClusterPort,
		"AdminAddress":      fmt.Sprintf("0.0.0.0:%d", SwarmOrdererAdminPort),
		"OperationsAddress": fmt.Sprintf("0.0.0.0:%d", SwarmOrdererOpsPort),
		"TLSDir":            swarmConfigDir + "/tls",
		"MSPDir":            swarmConfigDir + "/msp",
		"DataDir":           swarmDataDir + "/orderer",
		"ClusterCAs":        []string{swarmConfigDir + "/cluster-tlsca.pem"},
	})
}

// writeOrgEnv writes org.env: KEY=value lines (no quoting needed: the
// values hold no spaces) that deploy/consortium/org.sh sources.
func writeOrgEnv(c OrgConfig, k orgCrypto) error {
	o, h := c.Org, SwarmHostsOf(c.Org)
	for _, p := range []string{c.Dir} {
		if strings.ContainsAny(p, " \t\n'\"$") {
			return fmt.Errorf("directory %q: no spaces, quotes or $ please (org.env is sourced by a shell)", p)
		}
	}
	vars := [][2]string{
		{"E2L_ORG", o.lower()},
		{"E2L_ORG_NAME", string(o)},
		{"E2L_ORG_MSP", o.MSPID()},
		{"E2L_ORDERER_MSP", o.OrdererMSPID()},
		{"E2L_ORG_DIR", c.Dir},
		{"E2L_PEER_HOST", h.Peer},
		{"E2L_ORDERER_HOST", h.Orderer},
		{"E2L_CA_HOST", h.CA},
		{"E2L_CHAINCODE_HOST", h.Chaincode},
		{"E2L_CA_NAME", caName(o)},
		{"E2L_ADMIN_MSP", k.adminMSP()},
		{"E2L_ADMIN_CERT", k.adminCert()},
		{"E2L_ADMIN_KEY", filepath.Join(k.adminMSP(), "keystore", "priv_sk")},
		{"E2L_ORDERER_ADMIN_TLS_CERT", filepath.Join(k.ordererAdminTLS(), "client.crt")},
		{"E2L_ORDERER_ADMIN_TLS_KEY", filepath.Join(k.ordererAdminTLS(), "client.key")},
		{"E2L_PEER_TLSCA", orgPath(c.Dir, "share", "msp", "tlscacerts", "tlsca.pem")},
		{"E2L_ORDERER_TLSCA", orgPath(c.Dir, "share", "orderer-msp", "tlscacerts", "tlsca.pem")},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by e2lnet org-init: %s's settings for deploy/consortium (org.sh, org.yml).\n", o)
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s\n", v[0], v[1])
	}
	return os.WriteFile(orgPath(c.Dir, "org.env"), []byte(b.String()), 0o644)
}
