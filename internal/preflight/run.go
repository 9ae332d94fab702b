package preflight

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/docker/docker/client"

	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/deps"
	"github.com/e2l-project/e2l/internal/dockerwatch"
	"github.com/e2l-project/e2l/internal/ledger"
	"github.com/e2l-project/e2l/internal/signer"
)

// ExpiryWarning is how long before its certificate expires the check warns:
// the E2LCertificateExpiringSoon alert's 14 days.
const ExpiryWarning = 14 * 24 * time.Hour

// Deps are the checks' connections to the world. Run fills every nil one
// with the real thing; tests replace them.
type Deps struct {
	Files  FileReader
	Dialer SocketDialer
	// Engine opens the Docker Engine client of an endpoint.
	Engine     func(endpoint string) (Engine, func(), error)
	Handshaker Handshaker
	// Ledger opens the Gateway connection of the collector's configuration
	// as the host's identity.
	Ledger func(ctx context.Context, cfg config.Config, id *signer.Identity) (Evaluator, func(), error)
	HTTP   HTTPDoer
	Free   FreeSpace
	Clock  func() time.Time // time.Now when nil (package deps)
	// Timeout bounds each network check: each peer's handshake, each
	// clock request, each chaincode call (default 5s).
	Timeout time.Duration
}

func (d Deps) withDefaults() Deps {
	if d.Timeout <= 0 {
		d.Timeout = 5 * time.Second
	}
	if d.Files == nil {
		d.Files = osFiles{}
	}
	if d.Dialer == nil {
		d.Dialer = &net.Dialer{Timeout: d.Timeout}
	}
	if d.Engine == nil {
		d.Engine = dockerEngine
	}
	if d.Handshaker == nil {
		d.Handshaker = TLSDialer{Timeout: d.Timeout}
	}
	if d.Ledger == nil {
		d.Ledger = gateway
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: d.Timeout}
	}
	if d.Free == nil {
		d.Free = statfsFree
	}
	d.Clock = deps.Clock(d.Clock)
	return d
}

// Run runs every check with the collector's configuration, in order:
// the identity, the Docker Engine, the spool, each peer, the chaincode,
// the host registry, the clock.
func Run(ctx context.Context, cfg config.Config, deps Deps) Report {
	d := deps.withDefaults()
	var r Report
	ids, id := Identity(d.Files, IdentityConfig{Cert: cfg.Cert, Key: cfg.Key, MSPID: cfg.MSPID, Host: cfg.Host,
		OrgCA: cfg.OrgCA, ExpiryWarning: ExpiryWarning}, d.Clock())
	r = append(r, ids...)

	bounded := func(f func(ctx context.Context)) {
		c, cancel := context.WithTimeout(ctx, d.Timeout)
		defer cancel()
		f(c)
	}
	if dockerwatch.IsSynthetic(cfg.DockerHost) {
		r = append(r, skip("docker", "%s is the benchmarks' synthetic event source", cfg.DockerHost))
	} else if engine, closeEngine, err := d.Engine(cfg.DockerHost); err != nil {
		r = append(r, fail("docker", "%s: %v", cfg.DockerHost, err))
	} else {
		bounded(func(c context.Context) { r = append(r, Docker(c, cfg.DockerHost, d.Dialer, engine, describeSocket)) })
		closeEngine()
	}
	r = append(r, Spool(cfg.SpoolDir, cfg.SpoolMaxBytes, d.Free))
	// Each handshake and each clock request is bounded by Timeout on its
	// own (TLSDialer, the HTTP client): one black-holed peer does not use
	// up the others' time.
	r = append(r, Peers(ctx, d.Files, d.Handshaker, PeersConfig{Endpoints: cfg.PeerEndpoints, TLSRootCA: cfg.PeerTLSCA, ServerName: cfg.PeerTLSName})...)

	if id == nil {
		r = append(r, skip("chaincode", "needs the host's identity"), skip("host registry", "needs the host's identity"))
	} else if ev, closeLedger, err := d.Ledger(ctx, cfg, id); err != nil {
		r = append(r, failLater("chaincode", "Gateway connection: %v", err), skip("host registry", "needs a Gateway connection"))
	} else {
		bounded(func(c context.Context) { r = append(r, Chaincode(c, ev, cfg.Channel, cfg.Chaincode)) })
		bounded(func(c context.Context) { r = append(r, Registration(c, ev, cfg.Host, cfg.MSPID)) })
		closeLedger()
	}
	r = append(r, Clock(ctx, d.HTTP, cfg.ClockURLs, d.Clock, MaxClockSkew)...)
	return r
}

type osFiles struct{}

func (osFiles) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

type dockerPinger struct{ c *client.Client }

func (p dockerPinger) Ping(ctx context.Context) (string, error) {
	ping, err := p.c.Ping(ctx)
	return ping.APIVersion, err
}

func dockerEngine(endpoint string) (Engine, func(), error) {
	c, err := client.NewClientWithOpts(client.WithHost(endpoint), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, nil, fmt.Errorf("docker client: %w", err)
	}
	return dockerPinger{c}, func() { _ = c.Close() }, nil
}

func gateway(ctx context.Context, cfg config.Config, id *signer.Identity) (Evaluator, func(), error) {
	conn, err := ledger.Dial(ctx, ledger.ConnConfig{
		Endpoints: cfg.PeerEndpoints, TLSRootCAFile: cfg.PeerTLSCA, ServerNameOverride: cfg.PeerTLSName,
		ID: id.X509, Sign: id.Sign, Channel: cfg.Channel, Chaincode: cfg.Chaincode,
	})
	if err != nil {
		return nil, nil, err
	}
	return conn, func() { _ = conn.Close() }, nil
}

func statfsFree(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// describeSocket says who may connect to the socket at path and who this
// process is, for the permission hint.
func describeSocket(path string) string {
	groups, _ := os.Getgroups()
	self := fmt.Sprintf("this process: uid %d, gid %d, groups %v", os.Getuid(), os.Getgid(), groups)
	fi, err := os.Stat(path)
	if err != nil {
		return self
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("the socket: uid %d, gid %d, mode %04o; %s", st.Uid, st.Gid, fi.Mode().Perm(), self)
	}
	return self
}
