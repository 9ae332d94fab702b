//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

// scriptCollector is a host's collector as `make up` runs it:
// scripts/collector.sh, with the network's directory and the host's name,
// in a collector directory of its own (spool/, collector.log,
// collector.pid) and on a listen address of the test's choosing.
type scriptCollector struct {
	t      *testing.T
	root   string
	env    []string
	dir    string
	listen string
}

// newScriptCollector prepares scripts/collector.sh for the enrolled host
// id, listening on listen. What it started is stopped when the test ends.
func newScriptCollector(t *testing.T, root string, id network.HostIdentity, listen string) *scriptCollector {
	t.Helper()
	s := &scriptCollector{t: t, root: root, dir: t.TempDir(), listen: listen}
	// The script's settings and the host's heartbeat interval; nothing of
	// the test's environment (a DOCKER_HOST, E2L_*) leaks in.
	s.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"NET_DIR=" + filepath.Dir(filepath.Dir(filepath.Dir(id.EnvPath))), // <net>/hosts/<host>/collector.env
		"HOST=" + id.Host,
		"COLLECTOR_DIR=" + s.dir,
		"COLLECTOR_LISTEN=" + listen,
		"COLLECTOR_BIN=" + collectorBin(t),
		"E2L_HEARTBEAT_INTERVAL=5s",
	}
	t.Cleanup(func() {
		if out, err := s.run("stop"); err != nil {
			t.Errorf("scripts/collector.sh stop: %v\n%s", err, out)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(s.dir, "collector.log"))
			t.Logf("scripts/collector.sh collector log:\n%s", b)
		}
	})
	return s
}

// run runs `scripts/collector.sh verb` and returns its output.
func (s *scriptCollector) run(verb string) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.t.Context()), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "scripts", "collector.sh"), verb)
	cmd.Dir = s.root
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs `scripts/collector.sh verb` and fails the test unless it succeeds.
func (s *scriptCollector) must(verb string) {
	s.t.Helper()
	out, err := s.run(verb)
	if err != nil {
		s.t.Fatalf("scripts/collector.sh %s: %v\n%s", verb, err, out)
	}
	s.t.Logf("scripts/collector.sh %s: %s", verb, out)
}
