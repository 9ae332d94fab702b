package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/e2l-project/e2l/internal/wire"
)

// Roles of an enrolled host (the certificate attribute e2l.role).
const (
	// RoleCollector is the role the chaincode requires of a recording host.
	RoleCollector = "collector"
	// RoleNone enrolls an identity without the e2l.role attribute.
	RoleNone = "none"
)

// EnrollOptions are the optional settings of EnrollHost.
type EnrollOptions struct {
	// Role is the e2l.role attribute put in the certificate: RoleCollector
	// when empty; RoleNone leaves the attribute out.
	Role string
	// SwarmRole is the host's role in the host registry: wire.SwarmManager
	// when empty, or wire.SwarmWorker.
	SwarmRole string
	// NoRegister leaves the host out of the host registry (the chaincode
	// then refuses its records: for tests of that refusal).
	NoRegister bool
}

// HostIdentity is an enrolled host's identity and collector environment.
type HostIdentity struct {
	Org   Org
	MSPID string
	Host  string // the certificate's e2l.host attribute
	Role  string // the certificate's e2l.role attribute, RoleNone if absent
	// SwarmRole is the host's registered Swarm role, empty if not registered.
	SwarmRole string
	CertPath  string // <Dir>/hosts/<host>/cert.pem
	KeyPath   string // <Dir>/hosts/<host>/key.pem
	EnvPath   string // <Dir>/hosts/<host>/collector.env
	// Env is the content of collector.env (docs/TEAM-CONTRACTS.md), in file order.
	Env []EnvVar
}

// EnvVar is one KEY=value line of collector.env.
type EnvVar struct{ Key, Value string }

// Lookup returns the value of key in env.
func (h HostIdentity) Lookup(key string) string {
	for _, e := range h.Env {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}

// validHostName accepts 1-63 letters, digits, '.', '_' and '-', starting
// with a letter or digit: safe as a path element, a CA enrollment ID and an
// attribute value.
func validHostName(h string) bool {
	if len(h) == 0 || len(h) > 63 {
		return false
	}
	for i, r := range h {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '.' && r != '_' && r != '-')) {
			return false
		}
	}
	return true
}

// EnrollHost registers a client identity for host with o's CA, carrying the
// attributes e2l.host=<host> and e2l.role=<role> (both ecert attributes,
// explicitly requested at enrollment), enrolls it and writes
// hosts/<host>/{cert.pem,key.pem,collector.env}. Enrolling a host again
// replaces its key and certificate. Then, unless opts.NoRegister, it
// registers the host as o's in the chaincode's host registry with
// opts.SwarmRole (RegisterHost): whatever its e2l.role, so that the
// chaincode judges an identity without the collector role by its role.
// Enrolling a registered host again with the same Swarm role leaves the
// registry as it is; with another role, it updates the role.
func (n *Network) EnrollHost(ctx context.Context, o Org, host string, opts EnrollOptions) (HostIdentity, error) {
	c := n.cfg
	id := HostIdentity{Org: o, MSPID: o.MSPID(), Host: host, Role: opts.Role}
	if err := o.valid(); err != nil {
		return id, err
	}
	if !validHostName(host) {
		return id, fmt.Errorf("host name %q: want letters, digits, '.', '_' or '-' (at most 63)", host)
	}
	if id.Role == "" {
		id.Role = RoleCollector
	}
	if strings.ContainsAny(id.Role, ",=:") {
		return id, fmt.Errorf("role %q: must not contain ',', '=' or ':'", id.Role)
	}
	swarmRole := opts.SwarmRole
	if swarmRole == "" {
		swarmRole = wire.SwarmManager
	}
	if swarmRole != wire.SwarmManager && swarmRole != wire.SwarmWorker {
		return id, fmt.Errorf("swarm role %q: want %s or %s", swarmRole, wire.SwarmManager, wire.SwarmWorker)
	}
	if err := c.awaitCA(ctx, o); err != nil {
		return id, err
	}
	if err := c.ensureRegistrar(ctx, o); err != nil {
		return id, err
	}
	attrs, requested := "e2l.host="+host+":ecert", "e2l.host"
	if id.Role != RoleNone {
		attrs = "e2l.role=" + id.Role + ":ecert," + attrs
		requested = "e2l.role," + requested
	}
	secret, err := randomSecret()
	if err != nil {
		return id, err
	}
	reg := c.registrarHome(o)
	url := c.caURL(o)
	_, err = c.caClient(ctx, o, reg, "register", "-u", url, "--id.name", host, "--id.secret", secret,
		"--id.type", "client", "--id.attrs", attrs)
	if err != nil && strings.Contains(err.Error(), "already registered") {
		// Known host: give it a new secret and these attributes.
		_, err = c.caClient(ctx, o, reg, "identity", "modify", host, "-u", url, "--secret", secret, "--attrs", attrs)
	}
	if err != nil {
		return id, fmt.Errorf("register host %s with %s: %w", host, caNode(o), err)
	}

	dir := c.hostDir(host)
	home := filepath.Join(dir, "ca-client")
	if err := os.RemoveAll(filepath.Join(home, "msp")); err != nil {
		return id, err
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return id, err
	}
	enrollURL := "https://" + host + ":" + secret + "@" + strings.TrimPrefix(url, "https://")
	if _, err := c.caClient(ctx, o, home, "enroll", "-u", enrollURL, "--enrollment.attrs", requested,
		"--csr.cn", host, "--csr.names", "O="+string(o), "--mspdir", "msp"); err != nil {
		return id, fmt.Errorf("enroll host %s with %s: %w", host, caNode(o), err)
	}
	id.CertPath, id.KeyPath, id.EnvPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "collector.env")
	if err := copyFile(filepath.Join(home, "msp", "signcerts", "cert.pem"), id.CertPath, 0o644); err != nil {
		return id, err
	}
	keys, err := filepath.Glob(filepath.Join(home, "msp", "keystore", "*_sk"))
	if err != nil {
		return id, err
	}
	if len(keys) != 1 {
		return id, fmt.Errorf("enroll host %s: want one private key in %s, found %d", host, filepath.Join(home, "msp", "keystore"), len(keys))
	}
	if err := copyFile(keys[0], id.KeyPath, 0o600); err != nil {
		return id, err
	}
	id.Env = n.collectorEnv(o, id)
	var b strings.Builder
	for _, e := range id.Env {
		fmt.Fprintf(&b, "%s=%s\n", e.Key, e.Value)
	}
	if err := os.WriteFile(id.EnvPath, []byte(b.String()), 0o644); err != nil {
		return id, fmt.Errorf("write %s: %w", id.EnvPath, err)
	}
	if opts.NoRegister {
		return id, nil
	}
	if err := n.RegisterHost(ctx, o, host, swarmRole); err != nil {
		return id, fmt.Errorf("enrolled host %s, but not in the host registry: %w", host, err)
	}
	id.SwarmRole = swarmRole
	return id, nil
}

// collectorEnv is the collector's environment for an identity of o: peer
// endpoints of o first, then the others.
// E2L_ORG_CA (o's root CA, which issued the certificate) and E2L_CLOCK_URLS
// (the peers' operations endpoints, whose Date header tells their time)
// serve `e2l-collector check`.
func (n *Network) collectorEnv(o Org, id HostIdentity) []EnvVar {
	env := append([]EnvVar{{"E2L_HOST", id.Host}}, n.clientEnv(o, id.CertPath, id.KeyPath)...)
	var clocks []string
	for _, p := range n.Peers() {
		clocks = append(clocks, "http://"+p.OperationsEndpoint+"/healthz")
	}
	return append(env, EnvVar{"E2L_ORG_CA", n.cfg.peerOrgCACert(o)}, EnvVar{"E2L_CLOCK_URLS", strings.Join(clocks, ",")})
}

// AdminEnv is the e2l CLI's environment (E2L_* settings, the format of
// collector.env) for o's admin, the identity that writes the host registry
// (e2l host register|release).
func (n *Network) AdminEnv(o Org) []EnvVar {
	return n.clientEnv(o, n.cfg.peerAdminCert(o), n.cfg.peerAdminKey(o))
}

// clientEnv is the connection environment of a client identity of o: peer
// endpoints of o first, then the others.
func (n *Network) clientEnv(o Org, cert, key string) []EnvVar {
	endpoints := []string{n.Peer(o).Endpoint}
	for _, p := range n.Peers() {
		if p.Org != o {
			endpoints = append(endpoints, p.Endpoint)
		}
	}
	return []EnvVar{
		{"E2L_MSP_ID", o.MSPID()},
		{"E2L_CERT", cert},
		{"E2L_KEY", key},
		{"E2L_PEER_ENDPOINTS", strings.Join(endpoints, ",")},
		{"E2L_PEER_TLS_CA", n.PeerTLSCABundle()},
		{"E2L_CHANNEL", ChannelName},
		{"E2L_CHAINCODE", ChaincodeName},
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
