//go:build integration

package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

const (
	debPackage  = "e2l-collector"
	debUnit     = "/lib/systemd/system/e2l-collector.service"
	debEnvFile  = "/etc/e2l/collector.env"
	debIdentity = "/etc/e2l/identity"
	debStateDir = "/var/lib/e2l-collector"
)

// TestTheDebianPackageRecordsEvents installs the collector's .deb on this
// machine (dpkg -i), configures it as docs/operations.md tells an operator
// (provision-node.sh into /etc/e2l/identity, E2L_HOST in the conffile
// /etc/e2l/collector.env), starts it as its unit does, sees this host's
// container events committed, stops it, then removes and purges the
// package and checks that nothing of it is left on the machine.
//
// Where systemd is PID 1 the unit is started with systemctl. This machine's
// container has no systemd as PID 1: the test then runs the installed unit's
// ExecStartPre= and ExecStart= exactly as written in the installed unit
// file, with its Environment= and EnvironmentFile=, its StateDirectory=, and
// its User=, Group=, SupplementaryGroups=, NoNewPrivileges= and empty
// CapabilityBoundingSet= through setpriv (systemd_unit_helpers_test.go);
// the sandboxing directives are left to `systemd-analyze verify`, which
// checks the installed unit offline.
func TestTheDebianPackageRecordsEvents(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installs a Debian package: needs root")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb", "setpriv", "adduser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (a Debian machine has it)", tool, err)
		}
	}
	if exec.Command("dpkg", "-s", debPackage).Run() == nil {
		t.Fatalf("%s is already installed on this machine: the test installs and purges it, and leaves an installation it did not make alone", debPackage)
	}
	if _, err := os.Stat(debIdentity); err == nil {
		t.Fatalf("%s exists: the test provisions an identity there and leaves the machine's own alone", debIdentity)
	}
	if err := ensureTestImage(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	deb, version := buildDeb(t)

	const host = "it-deb"
	id := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	chain := newLedgerChain(t, id, 50)

	t.Cleanup(func() { purgeDeb(t) })
	out := mustRun(t, "dpkg", "-i", deb)
	t.Logf("dpkg -i: %s", strings.TrimSpace(out))
	if got := mustRun(t, "/usr/bin/e2l-collector", "--version"); !strings.Contains(got, version) {
		t.Errorf("the installed collector says %q, want version %s", got, version)
	}
	if _, err := user.Lookup(debPackage); err != nil {
		t.Fatalf("the package made no system user: %v", err)
	}
	verifyUnitOffline(t)

	// Configure as an operator: the identity, then the settings.
	mustRun(t, "/usr/share/e2l-collector/provision-node.sh", "--from", filepath.Dir(id.CertPath), "--uid", debPackage, "--host", host)
	listen := freeListenAddr(t)
	editEnvFile(t, debEnvFile, map[string]string{
		"E2L_HOST": host, "E2L_LISTEN": listen, "E2L_HEARTBEAT_INTERVAL": "5s",
		"E2L_CLOCK_URLS": id.Lookup("E2L_CLOCK_URLS"),
	})

	unit, err := parseUnitFile(debUnit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Fatal("systemd runs on this machine: start the unit with systemctl here (not written: no such machine was at hand)")
	}
	usr, err := user.Lookup(unit.one("Service", "User"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := unitEnvironment(unit, usr)
	if err != nil {
		t.Fatal(err)
	}
	unitStateDirectories(t, unit)
	for _, pre := range unitCommands(t, unit, "ExecStartPre") {
		cmd := exec.CommandContext(t.Context(), pre.argv[0], pre.argv[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		t.Logf("ExecStartPre=%s (as %s, groups %s):\n%s", strings.Join(pre.argv[slices.Index(pre.argv, "--")+1:], " "), usr.Username,
			unit.one("Service", "SupplementaryGroups"), out)
		if err != nil && !pre.ignoreFailure {
			t.Fatalf("ExecStartPre failed: %v", err)
		}
		if !strings.Contains(string(out), "e2l-collector check: all passed") {
			t.Errorf("the preflight did not pass every check on a good installation")
		}
	}
	starts := unitCommands(t, unit, "ExecStart")
	if len(starts) != 1 {
		t.Fatalf("%d ExecStart= lines, want 1", len(starts))
	}
	c := &collectorProc{t: t, id: id, env: env, listen: listen, spoolDir: debStateDir, argv: starts[0].argv,
		logPath: filepath.Join(artifactsDir(t), "collector-deb.log")}
	if err := os.WriteFile(c.logPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmdStart("")
	t.Cleanup(func() {
		if c.running() {
			c.Stop()
		}
		if t.Failed() {
			t.Logf("the package's collector log: %s\n%s", c.logPath, c.logTail(30))
		}
	})
	c.waitStreamUp(2 * time.Minute)
	// Ground truth from here on: the Engine is shared with the other
	// tests, whose events before this collector's stream opened are not
	// its to record (a first start replays nothing).
	gt := watchGroundTruth(t, "")

	runs := startChurn(t, "", "e2l-it-deb", 2)
	runs.waitRuns(t, 2, 2*time.Minute)
	runs.stop()
	until := gt.sync()
	check, err := chain.awaitLedger(id, gt.recorded(until), gt.start, until, 2*time.Minute)
	if err != nil {
		t.Error(err)
	}
	requireFaithful(t, check, false)

	// The spool is in the unit's state directory, the unit's user's.
	st, err := os.Stat(filepath.Join(debStateDir, "spool.db"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)); uid != usr.Uid {
		t.Errorf("spool.db is owned by uid %s, want the unit's user (%s)", uid, usr.Uid)
	}
	if err := c.signal(syscall.SIGTERM, 40*time.Second); err != nil {
		t.Errorf("the collector did not stop cleanly within the unit's TimeoutStopSec: %v", err)
	}
}

// buildDeb builds the collector statically and packs it with scripts/deb.sh,
// as make deb does; it returns the .deb and the version in it.
func buildDeb(t *testing.T) (deb, version string) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command(filepath.Join(root, "scripts", "version.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/version.sh: %v", err)
	}
	version = strings.TrimSpace(string(v))
	bin := staticCollectorBin(t, version)
	dir := t.TempDir()
	pack := exec.CommandContext(t.Context(), filepath.Join(root, "scripts", "deb.sh"), version, runtime.GOARCH, bin, dir)
	pack.Dir = root
	out, err := pack.Output()
	if err != nil {
		t.Fatalf("scripts/deb.sh: %v", err)
	}
	return strings.TrimSpace(string(out)), version
}

// verifyUnitOffline runs systemd-analyze verify on the installed unit (it
// checks every directive and that the commands exist), and requires its
// offline security score to stay "OK" (exposure below 3.0 of 10).
func verifyUnitOffline(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Logf("systemd-analyze not installed: the unit is not verified offline")
		return
	}
	out, err := exec.CommandContext(t.Context(), "systemd-analyze", "verify", debUnit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", debUnit, err, out)
	}
	out, _ = exec.CommandContext(t.Context(), "systemd-analyze", "security", "--offline=true", debUnit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for e2l-collector.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level >= 3.0 {
		t.Errorf("the unit's exposure level is %.1f, want below 3.0 (\"OK\"):\n%s", level, out)
	}
	t.Logf("systemd-analyze verify: clean; security exposure %s", m[1])
}

// editEnvFile sets KEY=value lines in an environment file as an operator
// would: a line of the key (set or commented out) is replaced, a new key
// appended.
func editEnvFile(t *testing.T, path string, set map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	done := map[string]bool{}
	for i, l := range lines {
		k, _, _ := strings.Cut(strings.TrimPrefix(l, "#"), "=")
		if v, ok := set[k]; ok && !done[k] && !strings.Contains(k, " ") {
			lines[i], done[k] = k+"="+v, true
		}
	}
	for k, v := range set {
		if !done[k] {
			lines = append(lines, k+"="+v)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// purgeDeb removes the package (dpkg -r), deletes the identity the test
// provisioned (the operator's, not the package's), purges the package and
// fails the test for anything of it left on the machine.
func purgeDeb(t *testing.T) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if out, err := exec.CommandContext(ctx, "dpkg", "-r", debPackage).CombinedOutput(); err != nil {
		t.Errorf("dpkg -r: %v\n%s", err, out)
	}
	if _, err := os.Stat("/usr/bin/e2l-collector"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dpkg -r left /usr/bin/e2l-collector (%v)", err)
	}
	if _, err := os.Stat(debEnvFile); err != nil {
		t.Errorf("dpkg -r removed the conffile %s (only a purge may): %v", debEnvFile, err)
	}
	if err := os.RemoveAll(debIdentity); err != nil {
		t.Error(err)
	}
	if out, err := exec.CommandContext(ctx, "dpkg", "--purge", debPackage).CombinedOutput(); err != nil {
		t.Errorf("dpkg --purge: %v\n%s", err, out)
	}
	var left []string
	for _, p := range []string{"/usr/bin/e2l-collector", debUnit, debEnvFile, "/etc/e2l", debStateDir, "/usr/share/e2l-collector", "/usr/share/doc/e2l-collector"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			left = append(left, p)
		}
	}
	if _, err := user.Lookup(debPackage); err == nil {
		left = append(left, "user "+debPackage)
	}
	if _, err := user.LookupGroup(debPackage); err == nil {
		left = append(left, "group "+debPackage)
	}
	if out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${db:Status-Status}", debPackage).Output(); err == nil && string(out) != "not-installed" && string(out) != "" {
		left = append(left, "dpkg status "+string(out))
	}
	if len(left) > 0 {
		t.Errorf("the purged package left: %s", strings.Join(left, ", "))
	}
}

// mustRun runs a command and fails the test on error.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
