package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Each organisation runs a Fabric CA started from the organisation CA key
// pair cryptogen made, so the identities it enrolls belong to the
// organisation's MSP. Its bootstrap admin is the registrar of host identities.

const caAdmin = "admin"

func caName(o Org) string { return "ca-" + o.lower() }

func (c Config) caURL(o Org) string {
	return "https://" + addr(c.port(slotCA, o.index(), offMain))
}

func (c Config) caSecretPath(o Org) string { return filepath.Join(c.caDir(o), "admin.secret") }

// caSecret returns the CA bootstrap admin's password, creating it once.
func (c Config) caSecret(o Org) (string, error) {
	b, err := os.ReadFile(c.caSecretPath(o))
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	s, err := randomSecret()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.caDir(o), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(c.caSecretPath(o), []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (c Config) caNode(o Org, secret string) node {
	i := o.index()
	tlsDir := c.serviceTLSDir(o, "ca")
	return node{
		name: caNode(o),
		bin:  c.bin("fabric-ca-server"),
		args: []string{"start",
			"--home", filepath.Join(c.caDir(o), "server"),
			"-b", caAdmin + ":" + secret,
			"--address", "127.0.0.1",
			"--port", fmt.Sprint(c.port(slotCA, i, offMain)),
			"--ca.name", caName(o),
			"--ca.certfile", c.peerOrgCACert(o),
			"--ca.keyfile", c.peerOrgCAKey(o),
			"--tls.enabled",
			"--tls.certfile", filepath.Join(tlsDir, "server.crt"),
			"--tls.keyfile", filepath.Join(tlsDir, "server.key"),
			"--operations.listenaddress", addr(c.port(slotCA, i, offOperations)),
			"--registry.maxenrollments", "-1",
		},
		dir:   c.caDir(o),
		ports: []int{c.port(slotCA, i, offMain), c.port(slotCA, i, offOperations)},
	}
}

// caClient runs fabric-ca-client against o's CA with home as its home.
func (c Config) caClient(ctx context.Context, o Org, home string, args ...string) ([]byte, error) {
	args = append(args, "--caname", caName(o), "--tls.certfiles", c.peerTLSCA(o), "-H", home)
	return c.output(ctx, "fabric-ca-client", nil, home, args...)
}

func (c Config) registrarHome(o Org) string { return filepath.Join(c.caDir(o), "registrar") }

// ensureRegistrar enrolls o's CA bootstrap admin once.
func (c Config) ensureRegistrar(ctx context.Context, o Org) error {
	home := c.registrarHome(o)
	if _, err := os.Stat(filepath.Join(home, "msp", "signcerts", "cert.pem")); err == nil {
		return nil
	}
	secret, err := c.caSecret(o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	u := "https://" + caAdmin + ":" + secret + "@" + addr(c.port(slotCA, o.index(), offMain))
	if _, err := c.caClient(ctx, o, home, "enroll", "-u", u); err != nil {
		return c.nodeError(caNode(o), fmt.Errorf("enroll registrar: %w", err))
	}
	return nil
}

// awaitCA waits until o's CA listens.
func (c Config) awaitCA(ctx context.Context, o Org) error {
	secret, err := c.caSecret(o)
	if err != nil {
		return err
	}
	return c.awaitUp(ctx, c.caNode(o, secret), time.Minute)
}
