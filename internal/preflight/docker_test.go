package preflight

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fakeDialer fails with err, or connects to one end of a pipe.
type fakeDialer struct{ err error }

func (d fakeDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	if d.err != nil {
		return nil, d.err
	}
	c1, c2 := net.Pipe()
	_ = c2.Close()
	return c1, nil
}

type fakeEngine struct {
	version string
	err     error
	pinged  bool
}

func (e *fakeEngine) Ping(context.Context) (string, error) { e.pinged = true; return e.version, e.err }

func dialErr(errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
}

func TestDockerCheck(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		dial     error
		ping     error
		want     string // "status: detail substring"
		blocks   bool
		pinged   bool
	}{
		{name: "a socket the Engine answers on passes", endpoint: "unix:///run/docker.sock", want: "ok: answers (API 1.51)", pinged: true},
		{name: "no permission on the socket fails and blocks the start", endpoint: "unix:///run/docker.sock", dial: dialErr(syscall.EACCES),
			want: "FAIL: no permission to connect to /run/docker.sock (socket owned by root:docker): run the collector with the socket's group", blocks: true},
		{name: "no socket fails without blocking: dockerd may be starting", endpoint: "unix:///run/docker.sock", dial: dialErr(syscall.ENOENT),
			want: "FAIL: no socket at /run/docker.sock"},
		{name: "a socket nobody listens on fails without blocking", endpoint: "unix:///run/docker.sock", dial: dialErr(syscall.ECONNREFUSED),
			want: "FAIL: nothing listens on /run/docker.sock"},
		{name: "an Engine that does not answer its ping fails without blocking", endpoint: "unix:///run/docker.sock", ping: errors.New("EOF"),
			want: "FAIL: the Docker Engine at unix:///run/docker.sock does not answer: EOF", pinged: true},
		{name: "a TCP endpoint is only pinged", endpoint: "tcp://127.0.0.1:2375", dial: errors.New("must not dial"), want: "ok: tcp://127.0.0.1:2375 answers", pinged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			engine := &fakeEngine{version: "1.51", err: tc.ping}
			r := Docker(t.Context(), tc.endpoint, fakeDialer{tc.dial}, engine, func(string) string { return "socket owned by root:docker" })
			requireResults(t, []Result{r}, map[string]string{"docker": tc.want})
			if r.Blocks != tc.blocks {
				t.Errorf("blocks = %v, want %v", r.Blocks, tc.blocks)
			}
			if engine.pinged != tc.pinged {
				t.Errorf("pinged = %v, want %v", engine.pinged, tc.pinged)
			}
		})
	}
}

func TestDockerCheckOnARealSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	var d net.Dialer
	r := Docker(t.Context(), "unix://"+sock, &d, &fakeEngine{version: "1.51"}, describeSocket)
	requireResults(t, []Result{r}, map[string]string{"docker": "ok: answers"})
	r = Docker(t.Context(), "unix://"+filepath.Join(dir, "none.sock"), &d, &fakeEngine{}, describeSocket)
	requireResults(t, []Result{r}, map[string]string{"docker": "FAIL: no socket at"})
	if d := describeSocket(sock); !strings.Contains(d, "the socket: uid ") || !strings.Contains(d, "this process: uid ") {
		t.Errorf("describeSocket = %q", d)
	}
}
