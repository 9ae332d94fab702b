// Command e2l-probe is the health check of e2l's Fabric and chaincode
// images, which have no shell and no curl: one static program that Docker's
// HEALTHCHECK runs inside the container.
//
//	e2l-probe [--timeout 3s] http://127.0.0.1:9443/healthz   healthy when the GET answers 200
//	e2l-probe [--timeout 3s] tcp 127.0.0.1:9999              healthy when a TCP connection opens
//
// The first form reads a Fabric node's operations endpoint (peer, orderer,
// fabric-ca-server all serve /healthz there: 200 when every registered
// checker passes, 503 with the failing ones otherwise). The second serves
// servers without an HTTP endpoint (the chaincode server). Exit status 0
// healthy, 1 unhealthy (Docker's HEALTHCHECK convention), 2 wrong usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/buildinfo"
)

// Exit codes.
const (
	exitHealthy   = 0
	exitUnhealthy = 1
	exitUsage     = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks a wrong command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("e2l-probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: e2l-probe [--timeout 3s] http://HOST:PORT/PATH | tcp HOST:PORT")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.Get("e2l-probe"))
		return exitHealthy
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	err := probe(ctx, fs.Args())
	if err == nil {
		return exitHealthy
	}
	fmt.Fprintf(stderr, "e2l-probe: %v\n", err)
	if _, ok := errors.AsType[*usageError](err); ok {
		return exitUsage
	}
	return exitUnhealthy
}

// probe checks one target: an http URL or "tcp" and an address.
func probe(ctx context.Context, args []string) error {
	switch {
	case len(args) == 2 && args[0] == "tcp":
		return probeTCP(ctx, args[1])
	case len(args) == 1:
		u, err := url.Parse(args[0])
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return &usageError{fmt.Errorf("%q: want an http:// URL or tcp HOST:PORT", args[0])}
		}
		return probeHTTP(ctx, u.String())
	}
	return &usageError{fmt.Errorf("want an http:// URL or tcp HOST:PORT, have %q", strings.Join(args, " "))}
}

func probeTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func probeHTTP(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	// No proxy from the environment: the target is in this container.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
