//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// as returns the CLI's arguments for an org's admin (later flags win).
func (c e2lCLI) as(o network.Org, args ...string) []string {
	p := testNet.Peer(o)
	return append(append(append([]string{}, c.conn...), "--msp-id", p.MSPID, "--cert", p.AdminCertPath, "--key", p.AdminKeyPath), args...)
}

// withTrust returns the CLI's arguments with another trust file.
func (c e2lCLI) withTrust(path string, args ...string) []string {
	return append(append(append([]string{}, c.conn...), "--trust-file", path), args...)
}

// The auditor's trust anchor on the real network: pinned on first use by
// online commands, a changed genesis refused, e2l trust's entry replaced
// only on request, offline receipts refused without it.
func TestAuditorTrustAnchor(t *testing.T) {
	cli := auditorCLI(t)
	const host = "trust-node"
	id := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	c := &eventChain{host: host}
	hb := c.heartbeat(t, time.Now())
	submitValid(t, e2lContract(connectGateway(t, id)), "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{hb}}))
	other := "sha256:" + strings.Repeat("0", 64)

	t.Run("online verify pins the genesis on first use, then checks it quietly", func(t *testing.T) {
		tf := filepath.Join(t.TempDir(), "e2l", "trust")
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(tf, "verify", "--host", host)...))
		if want := "pinned channel e2l genesis " + cli.genesis + " (first use)"; code != 0 || !strings.Contains(errOut, want) {
			t.Fatalf("first verify: exit %d, want 0 and %q\n%s\n%s", code, want, out, errOut)
		}
		b, err := os.ReadFile(tf)
		if err != nil || string(b) != "e2l genesis "+cli.genesis+"\n" {
			t.Fatalf("trust file after pinning: %q, %v", b, err)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(tf, "verify", "--host", host)...))
		if code != 0 || strings.Contains(errOut, "pinned") {
			t.Fatalf("second verify: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("a changed genesis fails every online command, naming both hashes", func(t *testing.T) {
		tf := filepath.Join(t.TempDir(), "trust")
		if err := os.WriteFile(tf, []byte("e2l genesis "+other+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(t.TempDir(), "x.e2l.gz")
		for _, args := range [][]string{{"verify", "--host", host}, {"export", "--host", host, archive}, {"receipt", hb.ID, filepath.Join(t.TempDir(), "r.json")}} {
			out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(tf, args...)...))
			if code != 1 || !strings.Contains(errOut, "trust anchor mismatch for channel e2l") || !strings.Contains(errOut, cli.genesis) || !strings.Contains(errOut, other) {
				t.Errorf("%s with another genesis pinned: exit %d, want 1 naming both hashes\n%s\n%s", args[0], code, out, errOut)
			}
		}
		if _, err := os.Stat(archive); !os.IsNotExist(err) {
			t.Errorf("export wrote an archive despite the mismatch (%v)", err)
		}
		// --genesis overrides the file.
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(tf, "verify", "--host", host, "--genesis", cli.genesis)...))
		if code != 0 {
			t.Errorf("verify --genesis (the right one) over a wrong trust file: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("e2l trust replaces a different entry only with --replace", func(t *testing.T) {
		tf := filepath.Join(t.TempDir(), "trust")
		if err := os.WriteFile(tf, []byte("# mine\ne2l genesis "+other+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(tf, "trust")...))
		if code != 1 || !strings.Contains(errOut, "channel e2l is trusted with genesis "+other) || !strings.Contains(errOut, "--replace") {
			t.Fatalf("trust over a different entry: exit %d, want 1\n%s\n%s", code, out, errOut)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(tf, "trust", "--replace", "--genesis", cli.genesis)...))
		if code != 0 || !strings.Contains(out, "replaced "+other) || !strings.Contains(out, "root     ProviderMSP (peer org) root sha256:") {
			t.Fatalf("trust --replace: exit %d\n%s\n%s", code, out, errOut)
		}
		if b, _ := os.ReadFile(tf); string(b) != "# mine\ne2l genesis "+cli.genesis+"\n" {
			t.Fatalf("trust file after --replace: %q", b)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.withTrust(filepath.Join(t.TempDir(), "t"), "trust", "--genesis", other)...))
		if code != 1 || !strings.Contains(errOut, "not the "+other+" given with --genesis: nothing recorded") {
			t.Fatalf("trust --genesis (another network's): exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("a receipt is verified only against a trust anchor", func(t *testing.T) {
		receipt := filepath.Join(t.TempDir(), "r.json")
		cli.mustRun(t, "receipt", strings.ToUpper(hb.ID[:10]), receipt)
		empty := filepath.Join(t.TempDir(), "trust")
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, "--trust-file", empty, "verify-receipt", receipt))
		if code != 1 || !strings.Contains(errOut, "no trust anchor for channel e2l") || strings.Contains(out, "OK") {
			t.Fatalf("verify-receipt without an anchor: exit %d, want 1\n%s\n%s", code, out, errOut)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, "--trust-file", empty, "verify-receipt", "--genesis", cli.genesis, receipt))
		if code != 0 || !strings.Contains(out, "OK: 1 records") {
			t.Fatalf("verify-receipt --genesis: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("a record ID prefix that matches nothing or is too short is refused", func(t *testing.T) {
		_, errOut, code := cli.run(t, "receipt", "--host", host, "0000000000000000", filepath.Join(t.TempDir(), "r.json"))
		if code != 1 || !strings.Contains(errOut, "no record ID starts with 0000000000000000 (1 records of host trust-node scanned)") {
			t.Fatalf("unknown prefix: exit %d, stderr %s", code, errOut)
		}
		_, errOut, code = cli.run(t, "receipt", hb.ID[:3], filepath.Join(t.TempDir(), "r.json"))
		if code != 2 || !strings.Contains(errOut, "a prefix of at least 4") {
			t.Fatalf("short prefix: exit %d, stderr %s", code, errOut)
		}
	})
}

// The host registry through the CLI with the orgs' admins: show, list,
// register, a role change, a refusal of another org's host and of a
// non-admin, a release and the move it allows.
func TestAuditorHostRegistry(t *testing.T) {
	cli := auditorCLI(t) // the Developer admin
	const provHost, devHost = "reg-prov", "reg-dev"
	enrollHost(t, network.Provider, provHost, network.EnrollOptions{})
	showJSON := func(t *testing.T, host string) wire.HostRegistration {
		t.Helper()
		out := cli.mustRun(t, "host", "show", host, "-o", "json")
		var reg wire.HostRegistration
		if err := json.Unmarshal([]byte(out), &reg); err != nil {
			t.Fatalf("host show json: %v\n%s", err, out)
		}
		return reg
	}

	t.Run("show names a host's owner and role", func(t *testing.T) {
		if reg := showJSON(t, provHost); reg.MSP != "ProviderMSP" || reg.SwarmRole != wire.SwarmManager {
			t.Fatalf("entry %+v, want ProviderMSP manager", reg)
		}
		_, errOut, code := cli.run(t, "host", "show", "never-registered")
		if code != 1 || !strings.Contains(errOut, "refused by the chaincode (not-registered): ") {
			t.Fatalf("show of an unregistered host: exit %d, stderr %s", code, errOut)
		}
	})

	t.Run("an admin registers a host of its org and changes its role", func(t *testing.T) {
		out := cli.mustRun(t, "host", "register", "--host", devHost, "--role", "worker")
		if !strings.Contains(out, "host register "+devHost+": committed in transaction") || !strings.Contains(out, "owner       DeveloperMSP") {
			t.Fatalf("register:\n%s", out)
		}
		if out := cli.mustRun(t, "host", "register", "--host", devHost, "--role", "worker"); !strings.Contains(out, "nothing to change") {
			t.Fatalf("register again:\n%s", out)
		}
		cli.mustRun(t, "host", "register", "--host", devHost, "--role", "manager")
		reg := showJSON(t, devHost)
		if reg.MSP != "DeveloperMSP" || reg.SwarmRole != wire.SwarmManager || len(reg.History) != 2 || reg.History[1].Action != wire.HostRole {
			t.Fatalf("entry after a role change %+v", reg)
		}
	})

	t.Run("another org's host is refused with the chaincode's code", func(t *testing.T) {
		out, errOut, code := cli.run(t, "host", "register", "--host", provHost, "--role", "worker")
		if code != 1 || !strings.Contains(errOut, "refused by the chaincode (host-owned): ") {
			t.Fatalf("register of the Provider's host by the Developer admin: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("a collector identity is not an admin", func(t *testing.T) {
		col := enrollHost(t, network.Developer, "reg-dev-collector", network.EnrollOptions{})
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, "--env-file", col.EnvPath, "host", "register", "--host", "reg-dev-2", "--role", "worker"))
		if code != 1 || !strings.Contains(errOut, "refused by the chaincode (not-admin): ") {
			t.Fatalf("register by a collector: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("a released host moves when the receiving org's admin registers it", func(t *testing.T) {
		out := cli.mustRun(t, "host", "release", "--host", devHost, "--to", "UserMSP")
		if !strings.Contains(out, "released to UserMSP") {
			t.Fatalf("release:\n%s", out)
		}
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.as(network.User, "host", "register", "--host", devHost, "--role", "worker")...))
		if code != 0 || !strings.Contains(out, "owner       UserMSP") {
			t.Fatalf("register by the User admin after the release: exit %d\n%s\n%s", code, out, errOut)
		}
		if reg := showJSON(t, devHost); reg.History[len(reg.History)-1].Action != wire.HostMove {
			t.Fatalf("history %+v, want a move last", reg.History)
		}
		out = cli.mustRun(t, "host", "list", "-o", "csv")
		if !strings.Contains(out, devHost+",UserMSP,worker,") || !strings.Contains(out, provHost+",ProviderMSP,manager,") {
			t.Fatalf("host list:\n%s", out)
		}
	})
}
