package preflight

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"syscall"
)

// Engine is the Docker Engine as the docker check needs it: its ping.
type Engine interface {
	// Ping returns the Engine's API version.
	Ping(ctx context.Context) (string, error)
}

// SocketDialer connects to a Unix socket (net.Dialer).
type SocketDialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Docker checks that the collector can use the Docker Engine at endpoint
// (E2L_DOCKER_HOST): for a unix:// endpoint it connects to the socket
// first, so that a permission problem is told apart from an Engine that
// is down; then it pings the Engine. describeSocket, when not nil, says
// who may use the socket (owner, group, mode) for the permission hint.
func Docker(ctx context.Context, endpoint string, dialer SocketDialer, engine Engine, describeSocket func(path string) string) Result {
	const check = "docker"
	if path, isUnix := strings.CutPrefix(endpoint, "unix://"); isUnix {
		conn, err := dialer.DialContext(ctx, "unix", path)
		switch {
		case errors.Is(err, fs.ErrPermission):
			hint := ""
			if describeSocket != nil {
				hint = " (" + describeSocket(path) + ")"
			}
			return fail(check, "no permission to connect to %s%s: run the collector with the socket's group (the unit's SupplementaryGroups=docker, the stack's E2L_DOCKER_GID)", path, hint)
		case errors.Is(err, fs.ErrNotExist):
			return failLater(check, "no socket at %s: is dockerd running? The collector waits for it", path)
		case errors.Is(err, syscall.ECONNREFUSED):
			return failLater(check, "nothing listens on %s: is dockerd running? The collector waits for it", path)
		case err != nil:
			return failLater(check, "connect to %s: %v", path, err)
		}
		_ = conn.Close()
	}
	version, err := engine.Ping(ctx)
	if err != nil {
		return failLater(check, "the Docker Engine at %s does not answer: %v", endpoint, err)
	}
	return ok(check, "the Docker Engine at %s answers (API %s)", endpoint, version)
}
