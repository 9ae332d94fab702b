//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/e2l-project/e2l/network"
)

// swarmLookTool finds a Prometheus tool, or skips the test: install Debian's
// package prometheus (.ci/run does).
func swarmLookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found (install the Debian package prometheus): %v", name, err)
	}
	return p
}

// swarmEnsureManager makes this machine's Docker Engine a swarm manager if
// it is in no swarm, and makes it leave again when the test ends. A
// loopback advertise address keeps the one-node swarm off the machine's
// networks (and makes the node's address, the scrape target, 127.0.0.1).
func swarmEnsureManager(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	state, err := docker(ctx, "", "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
	if err != nil {
		t.Fatal(err)
	}
	switch state {
	case "active true":
		t.Log("the Docker Engine is already a swarm manager: using that swarm, leaving it as it is")
		return
	case "inactive false":
	default:
		t.Fatalf("the Docker Engine's swarm state is %q: need a manager or no swarm", state)
	}
	// swarm init creates the docker_gwbridge network and leave keeps it.
	_, gwErr := docker(ctx, "", "network", "inspect", "docker_gwbridge")
	hadGWBridge := gwErr == nil
	if _, err := docker(ctx, "", "swarm", "init", "--advertise-addr", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := docker(ctx, "", "swarm", "leave", "--force"); err != nil {
			t.Errorf("leave the swarm this test created: %v", err)
			return
		}
		if !hadGWBridge {
			if _, err := docker(ctx, "", "network", "rm", "docker_gwbridge"); err != nil {
				t.Logf("remove docker_gwbridge, which the swarm created: %v", err)
			}
		}
	})
}

// swarmBuildImages builds both images with `make image` (static binaries,
// FROM scratch, no registry) under a test tag, checks the chaincode image
// starts its binary, and returns the collector image.
func swarmBuildImages(t *testing.T, root string) string {
	t.Helper()
	ctx := t.Context()
	tag := fmt.Sprintf("it-%d", os.Getpid())
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "image",
		"IMAGE_TAG="+tag, "COLLECTOR_IMAGE=e2l-collector-it", "CHAINCODE_IMAGE=e2l-chaincode-it", "IMAGE_CTX="+t.TempDir())
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	collector, chaincode := "e2l-collector-it:"+tag, "e2l-chaincode-it:"+tag
	t.Cleanup(func() {
		_, _ = docker(context.WithoutCancel(ctx), "", "image", "rm", collector, chaincode,
			"e2l-collector-it:latest", "e2l-chaincode-it:latest")
	})
	for _, img := range []string{collector, chaincode} {
		user, err := docker(ctx, "", "image", "inspect", img, "--format", "{{.Config.User}}")
		if err != nil {
			t.Fatal(err)
		}
		if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
			t.Errorf("image %s runs as %q, want a non-root uid", img, user)
		}
	}
	// Without its environment the chaincode server exits with its
	// configuration error code: the static binary runs on the empty base.
	out, err := dockerCmd(ctx, "", "run", "--rm", "--network", "none", chaincode).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "CHAINCODE_ID") {
		t.Errorf("chaincode image without environment: %v\n%s", err, out)
	}
	return collector
}

// swarmRelay listens on ip and forwards each connection to target. It
// returns the listening address; the relay stops when the test ends.
func swarmRelay(t *testing.T, ip, target string) string {
	t.Helper()
	return tcpRelay(t, net.JoinHostPort(ip, "0"), target)
}

// swarmRelayVia is swarmRelay dialing target with dial (e.g. netnsDialer:
// inside a node's network namespace).
func swarmRelayVia(t *testing.T, ip, target string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) string {
	t.Helper()
	return tcpRelayVia(t, net.JoinHostPort(ip, "0"), target, dial)
}

// tcpRelay listens on addr and forwards each connection to target. It
// returns the listening address; the relay stops when the test ends.
func tcpRelay(t *testing.T, addr, target string) string {
	t.Helper()
	var d net.Dialer
	return tcpRelayVia(t, addr, target, d.DialContext)
}

// tcpRelayVia is tcpRelay dialing target with dial.
func tcpRelayVia(t *testing.T, addr, target string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("relay for %s: %v", target, err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	track := func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, c)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			out, err := dial(ctx, "tcp", target)
			cancel()
			if err != nil {
				_ = in.Close()
				continue
			}
			track(in)
			track(out)
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); _ = out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); _ = in.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// swarmProvision writes an enrolled-host directory (the identity's cert and
// key, collector.env from env) and installs it with
// deploy/swarm/provision-node.sh into a new node-local identity directory.
func swarmProvision(t *testing.T, root string, id network.HostIdentity, nodeName string, env []string) string {
	t.Helper()
	from := t.TempDir()
	for src, dst := range map[string]string{id.CertPath: "cert.pem", id.KeyPath: "key.pem"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(from, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(from, "collector.env"), []byte(strings.Join(env, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The identity directory's parent must be reachable by the container's
	// uid: t.TempDir's parents are 0700.
	parent, err := os.MkdirTemp("", "e2l-it-identity-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	to := filepath.Join(parent, "identity")
	cmd := exec.CommandContext(t.Context(), filepath.Join(root, "deploy", "swarm", "provision-node.sh"),
		"--from", from, "--to", to, "--host", nodeName)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("provision-node.sh: %v\n%s", err, out)
	}
	return to
}

// swarmSocketGID is the group of the Docker socket: the collector's group.
func swarmSocketGID() (string, error) {
	fi, err := os.Stat("/var/run/docker.sock")
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("no owner information for /var/run/docker.sock")
	}
	return strconv.FormatUint(uint64(st.Gid), 10), nil
}

// swarmFreePort returns a TCP port free on this machine now.
func swarmFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// swarmDeploy deploys deploy/swarm/stack.yml with env, and removes the stack
// and its spool volume when the test ends.
func swarmDeploy(t *testing.T, root string, env []string) {
	t.Helper()
	ctx := t.Context()
	cmd := exec.CommandContext(ctx, "docker", "stack", "deploy", "--resolve-image", "never",
		"-c", filepath.Join(root, "deploy", "swarm", "stack.yml"), swarmStack)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := docker(ctx, "", "stack", "rm", swarmStack); err != nil {
			t.Errorf("docker stack rm: %v", err)
			return
		}
		// stack rm returns before the tasks' containers are gone.
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			ids, _ := docker(ctx, "", "ps", "-aq", "--filter", "label=com.docker.stack.namespace="+swarmStack)
			if ids == "" {
				break
			}
			time.Sleep(time.Second)
		}
		for time.Now().Before(deadline) {
			if _, err := docker(ctx, "", "volume", "rm", swarmStack+"_spool"); err == nil || strings.Contains(err.Error(), "no such volume") {
				break
			}
			time.Sleep(time.Second)
		}
	})
}

// swarmCollectorContainer is the ID of the collector task's running container.
func swarmCollectorContainer(t *testing.T) (string, error) {
	ids, err := docker(t.Context(), "", "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+swarmStack+"_collector")
	if err != nil {
		return "", err
	}
	if ids == "" || strings.Contains(ids, "\n") {
		return "", fmt.Errorf("want one running collector container, have %q", ids)
	}
	return ids, nil
}

// swarmDumpLogs logs the collector service's tasks and logs.
func swarmDumpLogs(t *testing.T) {
	ctx := context.WithoutCancel(t.Context())
	ps, _ := dockerCmd(ctx, "", "service", "ps", "--no-trunc", swarmStack+"_collector").CombinedOutput()
	logs, _ := dockerCmd(ctx, "", "service", "logs", "--raw", swarmStack+"_collector").CombinedOutput()
	t.Logf("docker service ps:\n%s\ndocker service logs:\n%s", ps, logs)
}

// swarmStartPrometheus runs Prometheus with config on a free loopback port
// until the test ends, and returns its URL.
func swarmStartPrometheus(t *testing.T, bin, config string) string {
	t.Helper()
	return startPrometheusIn(t, bin, config, "")
}

// startPrometheusIn runs Prometheus with config until the test ends, in the
// network namespace netns if it is not empty (there on 127.0.0.1:9090,
// reached through a relay), and returns its URL.
func startPrometheusIn(t *testing.T, bin, config, netns string) string {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", swarmFreePort(t))
	if netns != "" {
		addr = "127.0.0.1:9090"
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--config.file=" + config, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--log.level=warn"}
	cmd := exec.Command(bin, args...)
	if netns != "" {
		// nsenter execs Prometheus: the process started here is Prometheus.
		cmd = exec.Command("nsenter", append([]string{"--net=/var/run/netns/" + netns, bin}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("prometheus log:\n%s", b)
		}
	})
	promURL := "http://" + addr
	if netns != "" {
		promURL = "http://" + swarmRelayVia(t, "127.0.0.1", addr, netnsDialer(netns))
	}
	eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		code, body, err := swarmGet(promURL + "/-/ready")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/-/ready %d: %s", code, body)
		}
		return nil
	})
	return promURL
}

// swarmQueryScalar runs an instant PromQL query that yields one sample.
func swarmQueryScalar(promURL, query string) (float64, error) {
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := swarmGetJSON(promURL+"/api/v1/query?query="+url.QueryEscape(query), &res); err != nil {
		return 0, err
	}
	if res.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", query, res.Error)
	}
	if len(res.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %d samples", query, len(res.Data.Result))
	}
	s, _ := res.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

var swarmHTTP = &http.Client{Timeout: 10 * time.Second}

func swarmGet(u string) (int, string, error) {
	resp, err := swarmHTTP.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// promTarget is one of a Prometheus server's active scrape targets.
type promTarget struct {
	Labels    map[string]string `json:"labels"`
	ScrapeURL string            `json:"scrapeUrl"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
}

// promActiveTargets asks the Prometheus server at promURL for its active
// targets.
func promActiveTargets(promURL string) ([]promTarget, error) {
	var targets struct {
		Data struct {
			ActiveTargets []promTarget `json:"activeTargets"`
		} `json:"data"`
	}
	if err := swarmGetJSON(promURL+"/api/v1/targets?state=active", &targets); err != nil {
		return nil, err
	}
	return targets.Data.ActiveTargets, nil
}

func swarmGetJSON(u string, into any) error {
	code, body, err := swarmGet(u)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, code, body)
	}
	return json.Unmarshal([]byte(body), into)
}
