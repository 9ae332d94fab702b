//go:build integration

package integration

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/network"
)

// TestTheCollectorCheckSaysWhatIsWrong runs `e2l-collector check` against
// the real network and the machine's Docker Engine: all ok on a good
// set-up, and one clear FAIL line for each of a certificate of another
// host, an expired certificate (made with the organisation's CA key), an
// unreachable peer and no access to the Docker socket. --gate (the unit's
// ExecStartPre) exits non-zero for the identity and socket problems, and
// not for the peer, which the collector outlives by spooling.
func TestTheCollectorCheckSaysWhatIsWrong(t *testing.T) {
	id := enrollHost(t, network.Provider, "it-check", network.EnrollOptions{})
	other := enrollHost(t, network.Provider, "it-check-other", network.EnrollOptions{})
	bin := collectorBin(t)
	base := map[string]string{}
	for _, kv := range id.Env {
		base[kv.Key] = kv.Value
	}
	base["E2L_DOCKER_HOST"] = "unix:///var/run/docker.sock"
	base["E2L_LISTEN"] = freeListenAddr(t)
	if base["E2L_ORG_CA"] == "" || base["E2L_CLOCK_URLS"] == "" {
		t.Fatalf("the enrolled collector.env names no org CA or clock URLs: %v", id.Env)
	}
	with := func(changes map[string]string) map[string]string {
		env := map[string]string{"E2L_SPOOL_DIR": t.TempDir()}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range changes {
			env[k] = v
		}
		return env
	}
	closed := closedPort(t)

	tests := []struct {
		name     string
		env      map[string]string
		as       []string // setpriv credentials; root when empty
		want     []string // lines the output must hold
		exit     int
		gateExit int
	}{
		{name: "a good set-up passes every check", env: with(nil),
			want: []string{"ok   certificate host: e2l.host=it-check", "ok   certificate chain: issued under", "ok   docker:", "ok   spool:",
				"ok   chaincode: e2l on channel e2l answers Ping", "ok   host registry: host it-check is registered to ProviderMSP as manager",
				"ok   clock http://", "e2l-collector check: all passed"}},
		{name: "a certificate of another host fails its host line", env: with(map[string]string{"E2L_CERT": other.CertPath, "E2L_KEY": other.KeyPath}),
			want: []string{`FAIL certificate host: the certificate is for e2l.host "it-check-other", this host is "it-check" (E2L_HOST)`},
			exit: 1, gateExit: 1},
		{name: "an expired certificate fails its validity line", env: with(map[string]string{"E2L_CERT": expiredCopy(t, id, base["E2L_ORG_CA"])}),
			want: []string{"FAIL certificate validity: expired at", "ok   certificate chain: issued under"}, exit: 1, gateExit: 1},
		{name: "an unreachable peer fails its own line and does not stop a start", env: with(map[string]string{"E2L_PEER_ENDPOINTS": closed + "," + base["E2L_PEER_ENDPOINTS"]}),
			want: []string{"FAIL peer " + closed + ": unreachable: connect: connection refused", "ok   chaincode:"}, exit: 1, gateExit: 0},
	}
	socketless := unprivilegedIdentity(t, id, base)
	tests = append(tests, struct {
		name     string
		env      map[string]string
		as       []string
		want     []string
		exit     int
		gateExit int
	}{name: "a user without the socket's group fails the docker line", env: socketless, as: []string{"--reuid=65534", "--regid=65534", "--clear-groups"},
		want: []string{"ok   certificate: ", "FAIL docker: no permission to connect to /var/run/docker.sock (the socket: uid 0, gid"}, exit: 1, gateExit: 1})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, gate := range []bool{false, true} {
				out, code := runCheck(t, bin, tc.env, tc.as, gate)
				want := tc.exit
				if gate {
					want = tc.gateExit
				}
				if code != want {
					t.Errorf("check (gate %v) exited %d, want %d:\n%s", gate, code, want, out)
				}
				if gate {
					continue
				}
				t.Logf("e2l-collector check:\n%s", out)
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("the output has no line with %q", w)
					}
				}
			}
		})
	}
}

// runCheck runs `e2l-collector check [--gate]` with exactly env, as root
// or through setpriv with the credentials as.
func runCheck(t *testing.T, bin string, env map[string]string, as []string, gate bool) (string, int) {
	t.Helper()
	argv := []string{bin, "check"}
	if gate {
		argv = append(argv, "--gate")
	}
	if len(as) > 0 {
		argv = append(append(append([]string{"setpriv"}, as...), "--"), argv...)
	}
	cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("run %v: %v", argv, err)
	return "", -1
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// expiredCopy issues, with the organisation's CA key (cryptogen's priv_sk
// beside the CA certificate), a copy of id's certificate that expired an
// hour ago: same subject, key and attributes. It returns its PEM file.
func expiredCopy(t *testing.T, id network.HostIdentity, orgCA string) string {
	t.Helper()
	ca := mustCert(t, orgCA)
	keyPEM, err := os.ReadFile(filepath.Join(filepath.Dir(orgCA), "priv_sk"))
	if err != nil {
		t.Fatalf("the org CA's key: %v", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatal("the org CA's key is not PEM")
	}
	caKey, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	orig := mustCert(t, id.CertPath)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: orig.Subject,
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		KeyUsage: orig.KeyUsage, BasicConstraintsValid: true,
	}
	for _, ext := range orig.Extensions {
		if ext.Id.Equal(signer.OIDAttributes) {
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, orig.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "expired.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// unprivilegedIdentity copies id's files where uid 65534 (nobody) can read
// them, its key owned by that uid as provision-node.sh would make it, with
// a spool directory of its own: only the socket stays out of its reach.
func unprivilegedIdentity(t *testing.T, id network.HostIdentity, base map[string]string) map[string]string {
	t.Helper()
	dir, err := os.MkdirTemp("", "e2l-it-check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	files := map[string]string{"E2L_CERT": id.CertPath, "E2L_KEY": id.KeyPath, "E2L_PEER_TLS_CA": base["E2L_PEER_TLS_CA"], "E2L_ORG_CA": base["E2L_ORG_CA"]}
	for key, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, strings.ToLower(key)+".pem")
		if err := os.WriteFile(dst, b, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dst, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		env[key] = dst
	}
	spool := filepath.Join(dir, "spool")
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{spool, dir} {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env["E2L_SPOOL_DIR"] = spool
	if _, err := os.Stat("/var/run/docker.sock"); errors.Is(err, syscall.ENOENT) {
		t.Fatal("no Docker socket at /var/run/docker.sock")
	}
	return env
}
