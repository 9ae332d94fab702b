// Package pgtest gives tests a real PostgreSQL server: Debian's package
// (postgresql), started by the tests in a directory of their own, or an
// existing server named by E2L_TEST_PG_DSN. Tests get a fresh database
// each (Server.Database, or Start for a test that wants a server of its
// own), so they share nothing but the server.
//
// A server pgtest starts runs as a child of the test process, which it
// never outlives: it is stopped by Stop (a fast shutdown, as pg_ctl stop
// -m fast), and, should the test process die first, by the parent-death
// signal the kernel sends it. PostgreSQL refuses to run as root: under
// root it runs as the postgres user (which the Debian package creates),
// else as nobody.
//
// Tests are never skipped for want of PostgreSQL: without its server
// binaries StartServer fails, naming the package and scripts/deps.sh test.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the environment variable of an existing server's URL
// (postgres://user:password@host:port/db, a superuser or a user who may
// CREATE DATABASE): when set, tests create their databases there instead
// of starting a server.
const EnvDSN = "E2L_TEST_PG_DSN"

// binGlob is where Debian's postgresql package puts the server binaries.
const binGlob = "/usr/lib/postgresql/*/bin"

// Times of a server's life.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
	pollInterval = 50 * time.Millisecond
)

// Server is a PostgreSQL server tests create databases on: one that
// StartServer started, or an existing one (UseServer).
type Server struct {
	base *url.URL // the superuser's URL; its path names the maintenance database
	// For a server this package started; nil proc for an existing one.
	proc   *process
	dir    string
	ownDir bool

	mu  sync.Mutex
	dbs []string // databases CreateDB made and no one dropped yet
}

// Option is an optional setting of StartServer.
type Option func(*options)

type options struct{ durable bool }

// Durable keeps PostgreSQL's crash safety (fsync, synchronous commit, full
// page writes), which a server for unit tests turns off to create and fill
// databases fast. Benchmarks of write speed want it.
func Durable() Option { return func(o *options) { o.durable = true } }

// StartServer creates a cluster in dir/data (initdb) and starts PostgreSQL
// on a free port of 127.0.0.1, its Unix socket in dir/sock. With dir ""
// it works in a new temporary directory, which Stop removes; a dir of the
// caller's (kept) must be reachable by the user PostgreSQL runs as, which
// under root is not root (t.TempDir's parent is not: pass "" there). The
// caller must Stop the server, also when its tests fail.
func StartServer(dir string, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin, err := binDir(binGlob)
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	if dir == "" {
		if s.dir, err = os.MkdirTemp("", "e2l-pgtest-"); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		s.ownDir = true
	}
	if err := s.start(bin, cred, o); err != nil {
		if s.ownDir {
			_ = os.RemoveAll(s.dir)
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) start(bin string, cred *syscall.Credential, o options) error {
	data, sock := filepath.Join(s.dir, "data"), filepath.Join(s.dir, "sock")
	for _, d := range []string{s.dir, sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: %w", err)
			}
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Env = s.dir, childEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb in %s: %w\n%s", data, err, out)
	}
	settings := []string{"listen_addresses=127.0.0.1", "unix_socket_directories=" + sock, "max_connections=100"}
	if !o.durable {
		settings = append(settings, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	}
	// A free port may be taken by someone else before the server binds
	// it: try again with another.
	var err error
	for range 5 {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		var p *process
		p, err = startProcess(filepath.Join(bin, "postgres"), data, port, settings, cred, filepath.Join(s.dir, "postgres.log"))
		if err != nil {
			if errors.Is(err, errPortTaken) {
				continue
			}
			return err
		}
		s.proc = p
		s.base = &url.URL{Scheme: "postgres", User: url.User("postgres"),
			Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/postgres", RawQuery: "sslmode=disable"}
		return nil
	}
	return err
}

// UseServer returns a Server for the existing server at dsn (a postgres://
// URL of a user who may create databases). Its Stop drops the databases
// CreateDB made and leaves the server running.
func UseServer(dsn string) (*Server, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("pgtest: %s is not a postgres:// URL", EnvDSN)
	}
	s := &Server{base: u}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("pgtest: connect to %s: %w", u.Redacted(), err)
	}
	_ = conn.Close(ctx)
	return s, nil
}

// StartOrUse uses the server named by E2L_TEST_PG_DSN when set, else
// starts one (StartServer(dir, opts...)).
func StartOrUse(dir string, opts ...Option) (*Server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return UseServer(dsn)
	}
	return StartServer(dir, opts...)
}

// DSN is the URL of database name on the server, as its superuser (or
// E2L_TEST_PG_DSN's user).
func (s *Server) DSN(name string) string {
	u := *s.base
	u.Path = "/" + name
	return u.String()
}

// CreateDB creates the database name and returns its URL.
func (s *Server) CreateDB(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("pgtest: database name %q: want [a-z_][a-z0-9_]{0,62}", name)
	}
	if err := s.admin("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	s.mu.Lock()
	s.dbs = append(s.dbs, name)
	s.mu.Unlock()
	return s.DSN(name), nil
}

// DropDB drops the database name, closing its connections.
func (s *Server) DropDB(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("pgtest: database name %q: want [a-z_][a-z0-9_]{0,62}", name)
	}
	if err := s.admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, db := range s.dbs {
		if db == name {
			s.dbs = append(s.dbs[:i], s.dbs[i+1:]...)
			break
		}
	}
	return nil
}

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// NewName returns a database name made of prefix (lower-cased, other
// characters than letters, digits and _ replaced) and a random suffix.
func NewName(prefix string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	p := b.String()
	if len(p) > 48 {
		p = p[:48]
	}
	if p == "" || (p[0] >= '0' && p[0] <= '9') {
		p = "db_" + p
	}
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	return p + "_" + hex.EncodeToString(suffix)
}

func (s *Server) admin(stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.base.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// Stop stops a server StartServer started (fast shutdown: open sessions
// are ended) and waits for it to exit, then removes its directory if it
// made it. For an existing server it drops the databases CreateDB made.
func (s *Server) Stop() error {
	if s.proc == nil {
		s.mu.Lock()
		dbs := append([]string(nil), s.dbs...)
		s.mu.Unlock()
		var errs []error
		for _, db := range dbs {
			errs = append(errs, s.DropDB(db))
		}
		return errors.Join(errs...)
	}
	err := s.proc.stop()
	if s.ownDir {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = fmt.Errorf("pgtest: %w", rerr)
		}
	}
	return err
}

// binDir returns the newest of the directories glob matches that hold
// initdb and postgres.
func binDir(glob string) (string, error) {
	dirs, _ := filepath.Glob(glob)
	var found []string
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("pgtest: PostgreSQL's server binaries are not installed (no initdb in %s): "+
			"install Debian's package postgresql (scripts/deps.sh test does), or set %s to an existing server", glob, EnvDSN)
	}
	// The newest major version: /usr/lib/postgresql/15/bin < …/16/bin.
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[j])))
		return vi < vj
	})
	return found[len(found)-1], nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// runAs returns the credentials to run PostgreSQL with: nil when not root,
// else the postgres user's, else nobody's.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, errors.New("pgtest: running as root, and neither the postgres user nor nobody exists to run PostgreSQL as")
}

// childEnv is the environment of initdb and postgres: this process's,
// less the PG* variables that would redirect them, in the C locale.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errPortTaken: the server could not bind its port.
var errPortTaken = errors.New("pgtest: port taken")

// process is a running postgres.
type process struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when postgres has exited
	err  error         // its exit status, once done
}

// startProcess starts postgres and waits until it accepts connections.
//
// The kernel sends postgres SIGQUIT (immediate shutdown) when the thread
// that started it exits; so it is started from a goroutine locked to its
// thread, which lives, waiting for postgres, as long as postgres does,
// and the test process cannot leave a server behind even when it dies.
func startProcess(bin, data string, port int, settings []string, cred *syscall.Credential, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port)}
	for _, kv := range settings {
		args = append(args, "-c", kv)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = filepath.Dir(data), childEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	p := &process{cmd: cmd, log: logPath, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, after
		// postgres has exited.
		runtime.LockOSThread()
		defer logFile.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	if err := p.waitReady(port); err != nil {
		_ = p.stop()
		if bytes.Contains(readFile(logPath), []byte("could not bind")) {
			return nil, errPortTaken
		}
		return nil, err
	}
	return p, nil
}

// waitReady polls the server until it accepts a connection, it exits, or
// startTimeout passes.
func (p *process) waitReady(port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", port)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("pgtest: postgres exited (%v) before accepting connections; its log:\n%s", p.err, tail(readFile(p.log)))
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres did not accept connections within %s (%v); its log:\n%s", startTimeout, err, tail(readFile(p.log)))
		case <-tick.C:
		}
	}
}

// stop asks for a fast shutdown (SIGINT: sessions are ended, the data is
// checkpointed) and waits; a server still running after stopTimeout gets
// an immediate shutdown (SIGQUIT), then SIGKILL.
func (p *process) stop() error {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(sig)
		}
		select {
		case <-p.done:
			if sig != syscall.SIGINT {
				return fmt.Errorf("pgtest: postgres did not stop within %s of a fast shutdown; sent %v", stopTimeout, sig)
			}
			if p.err != nil {
				return fmt.Errorf("pgtest: postgres exited with %w; its log:\n%s", p.err, tail(readFile(p.log)))
			}
			return nil
		case <-time.After(stopTimeout):
		}
	}
	return fmt.Errorf("pgtest: postgres (pid %d) did not exit even on SIGKILL", p.cmd.Process.Pid)
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// tail is the last lines of a log, enough to tell why a server failed.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
