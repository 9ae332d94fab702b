package network

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A node is one long-running process of the network.
type node struct {
	name  string   // names the log and pid files
	bin   string   // absolute path of the program
	args  []string // arguments
	env   []string // added to a minimal environment
	dir   string   // working directory
	ports []int    // ports that listen once it is up
}

// Stop grace: after SIGTERM a node gets this long before SIGKILL.
const stopGrace = 10 * time.Second

// start runs the node in its own session (setsid) so it outlives this
// process, appends its output to its log and records its pid. A goroutine
// reaps it if it exits while this process lives.
func (c Config) start(n node) error {
	if err := os.MkdirAll(filepath.Dir(c.logPath(n.name)), 0o755); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	if err := os.MkdirAll(filepath.Dir(c.pidPath(n.name)), 0o755); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	logf, err := os.OpenFile(c.logPath(n.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "==== e2lnet: starting %s at %s\n", n.name, time.Now().Format(time.RFC3339))
	cmd := exec.Command(n.bin, n.args...)
	cmd.Env = append(baseEnv(), n.env...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	go func() { _ = cmd.Wait() }() // reap; the node's fate is read from its pid file
	bin, err := filepath.EvalSymlinks(n.bin)
	if err != nil {
		bin = n.bin
	}
	pid := strconv.Itoa(cmd.Process.Pid) + "\n" + bin + "\n"
	if err := os.WriteFile(c.pidPath(n.name), []byte(pid), 0o644); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	return nil
}

// baseEnv is the environment every node starts from: enough for Go programs
// and shell scripts, none of the caller's Fabric settings (CORE_*, ORDERER_*,
// FABRIC_*), which would override the generated configuration.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// pid returns the node's process ID if it is running. A pid file whose
// process has gone, or now runs another program, reads as not running.
func (c Config) pid(name string) (int, bool) {
	b, err := os.ReadFile(c.pidPath(name))
	if err != nil {
		return 0, false
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !processAlive(pid) {
		return 0, false
	}
	if len(lines) > 1 && lines[1] != "" {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") != lines[1] {
			return 0, false
		}
	}
	return pid, true
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after "(comm)"; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || (stat[i+2] != 'Z' && stat[i+2] != 'X')
}

// running reports whether the node runs.
func (c Config) running(name string) bool {
	_, ok := c.pid(name)
	return ok
}

// stop sends SIGTERM to the node's process group, SIGKILL after stopGrace,
// waits for it to exit and for its ports to close, and removes its pid file.
// Stopping a node that does not run is not an error.
func (c Config) stop(ctx context.Context, n node) error {
	if pid, ok := c.pid(n.name); ok {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		grace, cancel := context.WithTimeout(ctx, stopGrace)
		err := poll(grace, 20*time.Millisecond, func() (bool, error) { return !processAlive(pid), nil })
		cancel()
		if err != nil {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if err := poll(ctx, 20*time.Millisecond, func() (bool, error) { return !processAlive(pid), nil }); err != nil {
				return fmt.Errorf("stop %s (pid %d): %w", n.name, pid, err)
			}
		}
	}
	_ = os.Remove(c.pidPath(n.name))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := waitPorts(wctx, n.ports, false, nil); err != nil {
		return fmt.Errorf("stop %s: ports %v still listening: %w", n.name, n.ports, err)
	}
	return nil
}

// awaitUp waits for the node's ports to listen, failing fast if it exits.
func (c Config) awaitUp(ctx context.Context, n node, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := waitPorts(ctx, n.ports, true, func() error {
		if !c.running(n.name) {
			return errors.New("exited")
		}
		return nil
	})
	if err != nil {
		return c.nodeError(n.name, fmt.Errorf("not listening on %v: %w", n.ports, err))
	}
	return nil
}

// NodeError says which node failed and where its log is.
type NodeError struct {
	Node string   // node name, e.g. peer-provider
	Log  string   // path of its log
	Tail []string // last lines of the log
	Err  error
}

func (e *NodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v (log %s)", e.Node, e.Err, e.Log)
	for _, l := range e.Tail {
		b.WriteString("\n    | ")
		b.WriteString(l)
	}
	return b.String()
}

func (e *NodeError) Unwrap() error { return e.Err }

func (c Config) nodeError(name string, err error) error {
	if _, ok := errors.AsType[*NodeError](err); ok {
		return err
	}
	return &NodeError{Node: name, Log: c.logPath(name), Tail: tail(c.logPath(name), 8), Err: err}
}

// tail returns up to n last lines of a file.
func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 64<<10 {
		_, _ = f.Seek(st.Size()-64<<10, 0)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}
