package network

import (
	"fmt"
	"path/filepath"
)

// Paths inside the state directory. Everything the network writes is under
// Config.Dir; every path handed to a Fabric program is absolute.

func (c Config) path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

func (c Config) bin(name string) string { return filepath.Join(c.BinDir, name) }

func (c Config) logPath(node string) string { return c.path("logs", node+".log") }
func (c Config) pidPath(node string) string { return c.path("run", node+".pid") }
func (c Config) statePath() string          { return c.path("network.json") }
func (c Config) cryptoDir() string          { return c.path("crypto") }
func (c Config) genesisBlock() string       { return c.path("channel", ChannelName+".block") }
func (c Config) builderDir() string         { return c.path("builder") }
func (c Config) hostDir(host string) string { return c.path("hosts", host) }

// PeerTLSCABundle is one PEM file holding the TLS root CAs of all peers.
func (c Config) peerTLSCABundle() string { return c.path("tls", "peers-ca.pem") }

// OrdererTLSCABundle is one PEM file holding the TLS root CAs of all orderers.
func (c Config) ordererTLSCABundle() string { return c.path("tls", "orderers-ca.pem") }

// Node names: they name log and pid files.
func ordererNode(i int) string   { return "orderer-" + Orgs()[i].lower() }
func peerNode(o Org) string      { return "peer-" + o.lower() }
func caNode(o Org) string        { return "ca-" + o.lower() }
func chaincodeNode(o Org) string { return "chaincode-" + o.lower() }

// Peer organisation material (cryptogen layout).
func (c Config) peerOrgDir(o Org) string {
	return filepath.Join(c.cryptoDir(), "peerOrganizations", o.domain())
}
func (c Config) peerHost(o Org) string { return "peer0." + o.domain() }
func (c Config) peerNodeDir(o Org) string {
	return filepath.Join(c.peerOrgDir(o), "peers", c.peerHost(o))
}
func (c Config) peerTLSCA(o Org) string {
	return filepath.Join(c.peerOrgDir(o), "tlsca", "tlsca."+o.domain()+"-cert.pem")
}
func (c Config) peerOrgCACert(o Org) string {
	return filepath.Join(c.peerOrgDir(o), "ca", "ca."+o.domain()+"-cert.pem")
}
func (c Config) peerOrgCAKey(o Org) string { return filepath.Join(c.peerOrgDir(o), "ca", "priv_sk") }
func (c Config) peerAdminDir(o Org) string {
	return filepath.Join(c.peerOrgDir(o), "users", "Admin@"+o.domain())
}
func (c Config) peerAdminMSP(o Org) string { return filepath.Join(c.peerAdminDir(o), "msp") }
func (c Config) peerAdminCert(o Org) string {
	return filepath.Join(c.peerAdminMSP(o), "signcerts", "Admin@"+o.domain()+"-cert.pem")
}
func (c Config) peerAdminKey(o Org) string {
	return filepath.Join(c.peerAdminMSP(o), "keystore", "priv_sk")
}
func (c Config) serviceTLSDir(o Org, svc string) string {
	return filepath.Join(c.peerOrgDir(o), "peers", svc+"."+o.domain(), "tls")
}

// Per-node working directories.
func (c Config) peerDir(o Org) string { return c.path("peers", o.lower()) }
func (c Config) caDir(o Org) string   { return c.path("cas", o.lower()) }
func (c Config) ordererDir(i int) string {
	return c.path("orderers", fmt.Sprintf("%d-%s", i, Orgs()[i].lower()))
}

// Orderer organisation material (cryptogen layout).
func (c Config) ordererOrgDir(i int) string {
	return filepath.Join(c.cryptoDir(), "ordererOrganizations", Orgs()[i].ordererDomain())
}
func (c Config) ordererHost(i int) string { return "orderer." + Orgs()[i].ordererDomain() }
func (c Config) ordererNodeDir(i int) string {
	return filepath.Join(c.ordererOrgDir(i), "orderers", c.ordererHost(i))
}
func (c Config) ordererTLSCA(i int) string {
	return filepath.Join(c.ordererOrgDir(i), "tlsca", "tlsca."+Orgs()[i].ordererDomain()+"-cert.pem")
}
func (c Config) ordererAdminTLS(i int) string {
	return filepath.Join(c.ordererOrgDir(i), "users", "Admin@"+Orgs()[i].ordererDomain(), "tls")
}
