package network

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// orgCrypto is one organisation's cryptogen output (crypto/ of its
// directory), in cryptogen's layout.
type orgCrypto struct {
	dir string
	o   Org
}

func (k orgCrypto) peerOrg() string {
	return filepath.Join(k.dir, "peerOrganizations", k.o.domain())
}
func (k orgCrypto) ordererOrg() string {
	return filepath.Join(k.dir, "ordererOrganizations", k.o.ordererDomain())
}

// node is the cryptogen directory of one of the peer organisation's hosts
// (peer0, chaincode, ca).
func (k orgCrypto) node(host string) string {
	return filepath.Join(k.peerOrg(), "peers", host+"."+k.o.domain())
}
func (k orgCrypto) nodeTLS(host string) string { return filepath.Join(k.node(host), "tls") }
func (k orgCrypto) ordererNode() string {
	return filepath.Join(k.ordererOrg(), "orderers", "orderer."+k.o.ordererDomain())
}
func (k orgCrypto) tlsCA() string {
	return filepath.Join(k.peerOrg(), "tlsca", "tlsca."+k.o.domain()+"-cert.pem")
}
func (k orgCrypto) adminMSP() string {
	return filepath.Join(k.peerOrg(), "users", "Admin@"+k.o.domain(), "msp")
}
func (k orgCrypto) adminCert() string {
	return filepath.Join(k.adminMSP(), "signcerts", "Admin@"+k.o.domain()+"-cert.pem")
}
func (k orgCrypto) ordererAdminTLS() string {
	return filepath.Join(k.ordererOrg(), "users", "Admin@"+k.o.ordererDomain(), "tls")
}

// writeNodes lays out what each node's container mounts, under fixed names
// (the stack file names them): nodes/peer and nodes/orderer hold msp/
// (cacerts/ca.pem, signcerts/cert.pem, keystore/priv_sk,
// tlscacerts/tlsca.pem, config.yaml) and tls/ (server.crt, server.key,
// ca.crt); nodes/ca the CA's key pair and TLS pair; nodes/chaincode the
// chaincode server's TLS pair and the CA of the peer's client certificate.
func (k orgCrypto) writeNodes(dir string) error {
	type copyJob struct {
		src, dst string
		mode     os.FileMode
	}
	var jobs []copyJob
	pub := func(src, dst string) { jobs = append(jobs, copyJob{src, dst, 0o644}) }
	key := func(src, dst string) { jobs = append(jobs, copyJob{src, dst, 0o600}) }
	tlsOf := func(src, dst string) {
		pub(filepath.Join(src, "server.crt"), filepath.Join(dst, "server.crt"))
		key(filepath.Join(src, "server.key"), filepath.Join(dst, "server.key"))
		pub(filepath.Join(src, "ca.crt"), filepath.Join(dst, "ca.crt"))
	}
	tlsOf(k.nodeTLS("peer0"), filepath.Join(dir, "peer", "tls"))
	tlsOf(filepath.Join(k.ordererNode(), "tls"), filepath.Join(dir, "orderer", "tls"))
	pub(filepath.Join(k.peerOrg(), "ca", "ca."+k.o.domain()+"-cert.pem"), filepath.Join(dir, "ca", "ca-cert.pem"))
	key(filepath.Join(k.peerOrg(), "ca", "priv_sk"), filepath.Join(dir, "ca", "ca-key.pem"))
	pub(filepath.Join(k.nodeTLS("ca"), "server.crt"), filepath.Join(dir, "ca", "tls-cert.pem"))
	key(filepath.Join(k.nodeTLS("ca"), "server.key"), filepath.Join(dir, "ca", "tls-key.pem"))
	pub(filepath.Join(k.nodeTLS("chaincode"), "server.crt"), filepath.Join(dir, "chaincode", "server.crt"))
	key(filepath.Join(k.nodeTLS("chaincode"), "server.key"), filepath.Join(dir, "chaincode", "server.key"))
	pub(k.tlsCA(), filepath.Join(dir, "chaincode", "client-ca.pem"))
	for _, j := range jobs {
		if err := copyInto(j.src, j.dst, j.mode); err != nil {
			return err
		}
	}
	if err := flatMSP(filepath.Join(k.node("peer0"), "msp"), filepath.Join(dir, "peer", "msp"), true); err != nil {
		return err
	}
	return flatMSP(filepath.Join(k.ordererNode(), "msp"), filepath.Join(dir, "orderer", "msp"), true)
}

// writeShare writes the organisation's share: its two verifying MSPs
// (no signing identity, no key), its orderer's TLS certificate and
// share.json.
func (k orgCrypto) writeShare(dir string) error {
	if err := flatMSP(filepath.Join(k.peerOrg(), "msp"), filepath.Join(dir, "msp"), false); err != nil {
		return err
	}
	if err := flatMSP(filepath.Join(k.ordererOrg(), "msp"), filepath.Join(dir, "orderer-msp"), false); err != nil {
		return err
	}
	if err := copyInto(filepath.Join(k.ordererNode(), "tls", "server.crt"), filepath.Join(dir, "orderer-tls.crt"), 0o644); err != nil {
		return err
	}
	h := SwarmHostsOf(k.o)
	return writeJSON(filepath.Join(dir, "share.json"), Share{
		Name: string(k.o), MSPID: k.o.MSPID(), OrdererMSPID: k.o.OrdererMSPID(),
		AnchorPeer:     fmt.Sprintf("%s:%d", h.Peer, SwarmPeerPort),
		Orderer:        fmt.Sprintf("%s:%d", h.Orderer, SwarmOrdererPort),
		OrdererCluster: fmt.Sprintf("%s:%d", h.Orderer, SwarmOrdererClusterPort),
	})
}

// flatMSP copies a cryptogen MSP directory under fixed file names, and
// points config.yaml's NodeOU identifiers at cacerts/ca.pem. With signer,
// the signing certificate and key are copied too.
func flatMSP(src, dst string, signer bool) error {
	one := func(sub string) (string, error) {
		entries, err := os.ReadDir(filepath.Join(src, sub))
		if err != nil {
			return "", err
		}
		if len(entries) != 1 {
			return "", fmt.Errorf("%s: want one file, found %d", filepath.Join(src, sub), len(entries))
		}
		return entries[0].Name(), nil
	}
	ca, err := one("cacerts")
	if err != nil {
		return err
	}
	tlsca, err := one("tlscacerts")
	if err != nil {
		return err
	}
	files := [][3]string{
		{"cacerts/" + ca, "cacerts/ca.pem", "0644"},
		{"tlscacerts/" + tlsca, "tlscacerts/tlsca.pem", "0644"},
	}
	if signer {
		cert, err := one("signcerts")
		if err != nil {
			return err
		}
		files = append(files, [3]string{"signcerts/" + cert, "signcerts/cert.pem", "0644"},
			[3]string{"keystore/priv_sk", "keystore/priv_sk", "0600"})
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f[2] == "0600" {
			mode = 0o600
		}
		if err := copyInto(filepath.Join(src, f[0]), filepath.Join(dst, f[1]), mode); err != nil {
			return err
		}
	}
	cfg, err := os.ReadFile(filepath.Join(src, "config.yaml"))
	if err != nil {
		return err
	}
	cfg = bytes.ReplaceAll(cfg, []byte("cacerts/"+ca), []byte("cacerts/ca.pem"))
	return os.WriteFile(filepath.Join(dst, "config.yaml"), cfg, 0o644)
}

// copyInto copies a file, creating the destination's directory.
func copyInto(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyFile(src, dst, mode)
}

// writeCCaaSConnection writes the connection.json a peer's external
// builder releases (network/builder.go, internal/ccaas): the chaincode
// server's address, and the peer's TLS pair as its client identity.
func writeCCaaSConnection(dst, address, peerTLSDir, rootCA string) error {
	read := func(p string) (string, error) {
		b, err := os.ReadFile(p)
		return string(b), err
	}
	cert, err := read(filepath.Join(peerTLSDir, "server.crt"))
	if err != nil {
		return err
	}
	key, err := read(filepath.Join(peerTLSDir, "server.key"))
	if err != nil {
		return err
	}
	root, err := read(rootCA)
	if err != nil {
		return err
	}
	return writeJSON(dst, map[string]any{
		"address":              address,
		"dial_timeout":         "10s",
		"tls_required":         true,
		"client_auth_required": true,
		"client_cert":          cert,
		"client_key":           key,
		"root_cert":            root,
	})
}

// unmarshalStrict decodes JSON, refusing unknown fields.
func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
