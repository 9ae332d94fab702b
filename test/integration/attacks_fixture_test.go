//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// attackFixture is what several attacks share: the e2l binary with a
// configuration directory of its own (online commands pin the anchor there
// on first use), the real network's trust anchor, an honest host's archive
// and receipt, and an impostor network's, built when first needed.
type attackFixture struct {
	cli    e2lCLI
	env    []string // XDG_CONFIG_HOME and HOME of the CLI: a directory of the test
	anchor string   // hex SHA-256 of the real channel's genesis block header
	dir    string
	// parent is TestAttacks: what an attack makes for later ones is cleaned
	// up when the whole suite ends, not with the subtest.
	parent *testing.T

	honest   *honestEvidence
	impostor *impostorEvidence
}

// honestEvidence is an honest Provider host's records on the real network,
// in three transactions, exported as an archive, with a receipt of one.
type honestEvidence struct {
	host    string
	id      network.HostIdentity
	records []record.Sealed
	archive string
	receipt string
}

// impostorEvidence is the same host name's records on a network built from
// scratch with the same MSP names, exported from it.
type impostorEvidence struct {
	net     *network.Network
	genesis string
	archive string
	receipt string
}

func newAttackFixture(t *testing.T) *attackFixture {
	t.Helper()
	dir := t.TempDir()
	f := &attackFixture{cli: auditorCLI(t), dir: dir, parent: t, env: []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "HOME=" + dir}}
	f.anchor = genesisAnchor(t, testNet)
	t.Logf("real network's trust anchor: genesis sha256:%s", f.anchor)
	return f
}

// genesisAnchor reads the genesis block the network's channel was created
// from (out of band: the file its operator made) and returns its header
// hash, as audit.Configs.Genesis computes it.
func genesisAnchor(t *testing.T, n *network.Network) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(n.Dir(), "channel", network.ChannelName+".block"))
	if err != nil {
		t.Fatalf("the network's genesis block: %v", err)
	}
	c, problems := audit.CheckConfigs([][]byte{raw})
	if c == nil {
		t.Fatalf("the network's genesis block: %v", problems)
	}
	return c.Genesis
}

// online runs the e2l CLI against the real network as the Developer admin.
func (f *attackFixture) online(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return f.onlineAt(t, testNet, args...)
}

// onlineAt runs the e2l CLI against network n as its Developer admin, with
// a trust file of n's own (online commands pin the anchor on first use).
func (f *attackFixture) onlineAt(t *testing.T, n *network.Network, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), f.cli.bin, append(cliConn(n), args...)...)
	trust := filepath.Join(f.dir, fmt.Sprintf("trust-%d", n.Config().PortBase))
	cmd.Env = append(os.Environ(), append(f.env, "E2L_TRUST_FILE="+trust)...)
	return runCmd(t, cmd)
}

// offline runs the e2l CLI with no connection flags and no trust file: an
// anchor only where the arguments give one.
func (f *attackFixture) offline(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), f.cli.bin, args...)
	cmd.Env = append(os.Environ(), append(f.env, "E2L_TRUST_FILE="+filepath.Join(f.dir, "no-trust-file"))...)
	return runCmd(t, cmd)
}

// mustOnline runs an online command against n that must exit 0.
func (f *attackFixture) mustOnline(t *testing.T, n *network.Network, args ...string) string {
	t.Helper()
	out, errOut, code := f.onlineAt(t, n, args...)
	if code != 0 {
		t.Fatalf("e2l %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// anchorFlag is the trust anchor given on the command line.
func anchorFlag(hex string) string { return "--genesis=sha256:" + hex }

// honestEvidence writes, once, an honest Provider host's records in three
// transactions on the real network and exports them.
func (f *attackFixture) honestEvidence(t *testing.T) *honestEvidence {
	t.Helper()
	if f.honest != nil {
		return f.honest
	}
	h := &honestEvidence{host: "atk-honest"}
	id := enrollHost(t, network.Provider, h.host, network.EnrollOptions{})
	h.id = id
	contract := e2lContract(connectGateway(t, id))
	c := &eventChain{host: h.host}
	base := time.Now().Add(-time.Minute)
	ctr := strings.Repeat("a77ac4", 10) + "0001"
	attrs := record.Attributes{Name: "atk-web", Image: "nginx:1"}
	for i := range 3 {
		at := base.Add(time.Duration(i) * 10 * time.Second)
		b := []record.Sealed{c.heartbeat(t, at), c.event(t, at.Add(time.Second), "container", []string{"create", "start", "die"}[i], ctr, attrs)}
		submitRecords(t, contract, record.Batch{Records: b})
		h.records = append(h.records, b...)
	}
	h.archive = filepath.Join(f.dir, "honest.e2l.gz")
	f.mustOnline(t, testNet, "export", "--host", h.host, h.archive)
	h.receipt = filepath.Join(f.dir, "honest-receipt.json")
	f.mustOnline(t, testNet, "receipt", h.records[3].ID, h.receipt)
	f.honest = h
	return h
}

// stored are the honest host's records as the archive holds them.
func (h *honestEvidence) stored(t *testing.T) []audit.Stored {
	t.Helper()
	return readArchive(t, h.archive).Records
}

// impostorEvidence starts, once, a second network from scratch (port base
// E2L_TEST_IMPOSTOR_PORT_BASE, default the package's + 400: the same MSP
// names, its own keys), writes the honest host's name's records there and
// exports an archive and a receipt from it. The network is purged when
// TestAttacks ends.
func (f *attackFixture) impostorEvidence(t *testing.T) *impostorEvidence {
	t.Helper()
	if f.impostor != nil {
		return f.impostor
	}
	cfg := testNet.Config()
	cfg.PortBase = envInt("E2L_TEST_IMPOSTOR_PORT_BASE", cfg.PortBase+400)
	cfg.Dir = filepath.Join(os.TempDir(), fmt.Sprintf("e2l-it-impostor-%d", cfg.PortBase))
	cfg.Fresh = true
	cfg.Log = prefixWriter{"impostor network: "}
	// The chaincode binary the package built is gone after TestMain's
	// start: build it again (cached).
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ChaincodeBin = filepath.Join(f.dir, "e2l-chaincode")
	if err := goBuild(t.Context(), root, cfg.ChaincodeBin, "./cmd/e2l-chaincode"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	n, err := network.Up(t.Context(), cfg)
	if err != nil {
		if o, oerr := network.Open(cfg); oerr == nil {
			_ = o.Down(context.Background())
		}
		t.Fatalf("start the impostor network: %v", err)
	}
	t.Logf("impostor network up in %s (%s)", time.Since(started).Round(100*time.Millisecond), cfg.Dir)
	imp := &impostorEvidence{net: n, genesis: genesisAnchor(t, n)}
	f.impostor = imp
	f.parent.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := n.Purge(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "attacks: purge the impostor network: %v\n", err)
		}
	})

	// The impostor's Provider host of the same name writes a container that
	// never ran on the real one.
	host := "atk-honest"
	id, err := n.EnrollHost(t.Context(), network.Provider, host, network.EnrollOptions{})
	if err != nil {
		t.Fatalf("enroll %s on the impostor network: %v", host, err)
	}
	contract := e2lContract(connectGateway(t, id))
	c := &eventChain{host: host}
	at := time.Now().Add(-time.Minute)
	ctr := strings.Repeat("1b7057", 10) + "0001"
	b := []record.Sealed{c.heartbeat(t, at), c.event(t, at.Add(time.Second), "container", "die", ctr, record.Attributes{Name: "atk-web", Image: "nginx:1", ExitCode: "137"})}
	submitRecords(t, contract, record.Batch{Records: b})
	imp.archive = filepath.Join(f.dir, "impostor.e2l.gz")
	f.mustOnline(t, n, "export", "--host", host, imp.archive)
	imp.receipt = filepath.Join(f.dir, "impostor-receipt.json")
	f.mustOnline(t, n, "receipt", b[1].ID, imp.receipt)
	return imp
}

// cliConn are the e2l CLI's connection flags for a network, as the
// Developer admin asking the Developer peer first.
func cliConn(n *network.Network) []string {
	dev := n.Peer(network.Developer)
	endpoints := []string{dev.Endpoint}
	for _, p := range n.Peers() {
		if p.Org != network.Developer {
			endpoints = append(endpoints, p.Endpoint)
		}
	}
	return []string{"--msp-id", dev.MSPID, "--cert", dev.AdminCertPath, "--key", dev.AdminKeyPath,
		"--peer-endpoints", strings.Join(endpoints, ","), "--peer-tls-ca", n.PeerTLSCABundle(), "--channel", network.ChannelName,
		"--chaincode", network.ChaincodeName}
}
