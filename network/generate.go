package network

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templateFS embed.FS // read-only: the embedded configuration templates

// orgData is what the templates know of one organisation.
type orgData struct {
	Name, Domain, OrdererDomain, MSPDir, OrdererMSPDir string
	// PeerHost:PeerPort is the anchor peer, OrdererHost:ClusterPort the
	// orderer's Raft cluster endpoint, OrdererEndpoint its client endpoint.
	PeerHost, OrdererHost           string
	PeerPort, ClusterPort           int
	OrdererEndpoint, OrdererTLSCert string
}

// localSANS are the extra TLS names of the native network's nodes, all
// dialed on the loopback.
const localSANS = "localhost, 127.0.0.1"

func (c Config) orgData() []orgData {
	var out []orgData
	for i, o := range Orgs() {
		out = append(out, orgData{
			Name:            string(o),
			Domain:          o.domain(),
			OrdererDomain:   o.ordererDomain(),
			MSPDir:          filepath.Join(c.peerOrgDir(o), "msp"),
			OrdererMSPDir:   filepath.Join(c.ordererOrgDir(i), "msp"),
			PeerHost:        "127.0.0.1",
			OrdererHost:     "127.0.0.1",
			PeerPort:        c.port(slotPeer, i, offMain),
			ClusterPort:     c.port(slotOrderer, i, offCluster),
			OrdererEndpoint: addr(c.port(slotOrderer, i, offMain)),
			OrdererTLSCert:  filepath.Join(c.ordererNodeDir(i), "tls", "server.crt"),
		})
	}
	return out
}

// render executes an embedded template into a file.
func render(name, dst string, data any) error {
	t, err := template.New(name).Option("missingkey=error").ParseFS(templateFS, "templates/"+name)
	if err != nil {
		return fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return fmt.Errorf("template %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// generate creates the network's crypto material, node configurations,
// genesis block and chaincode builder under an empty Dir.
func (c Config) generate(ctx context.Context) error {
	orgs := c.orgData()
	if err := render("crypto-config.yaml.tmpl", c.path("crypto-config.yaml"), map[string]any{"Orgs": orgs, "SANS": localSANS}); err != nil {
		return err
	}
	if err := c.run(ctx, "cryptogen", nil, "", "generate", "--config", c.path("crypto-config.yaml"), "--output", c.cryptoDir()); err != nil {
		return err
	}
	if err := c.writeBundles(); err != nil {
		return err
	}
	cfgDir := c.path("configtx")
	err := render("configtx.yaml.tmpl", filepath.Join(cfgDir, "configtx.yaml"), map[string]any{
		"Orgs": orgs, "BatchTimeout": c.BatchTimeout.String(), "MaxMessageCount": BatchMaxMessageCount,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.genesisBlock()), 0o755); err != nil {
		return err
	}
	err = c.run(ctx, "configtxgen", nil, "", "-configPath", cfgDir, "-profile", "E2LChannel",
		"-channelID", ChannelName, "-outputBlock", c.genesisBlock())
	if err != nil {
		return err
	}
	for i := range Orgs() {
		if err := c.writeOrdererConfig(i); err != nil {
			return err
		}
	}
	for _, o := range Orgs() {
		if err := c.writePeerConfig(o); err != nil {
			return err
		}
		if err := c.writeConnectionJSON(o); err != nil {
			return err
		}
	}
	return c.writeBuilder()
}

// writeBundles writes the PEM bundles of all peers' and all orderers' TLS CAs.
func (c Config) writeBundles() error {
	var peers, orderers []byte
	for i, o := range Orgs() {
		p, err := os.ReadFile(c.peerTLSCA(o))
		if err != nil {
			return err
		}
		peers = append(peers, p...)
		q, err := os.ReadFile(c.ordererTLSCA(i))
		if err != nil {
			return err
		}
		orderers = append(orderers, q...)
	}
	if err := os.MkdirAll(filepath.Dir(c.peerTLSCABundle()), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.peerTLSCABundle(), peers, 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.ordererTLSCABundle(), orderers, 0o644)
}

// run executes a Fabric tool to completion; its output goes to the error on failure.
func (c Config) run(ctx context.Context, tool string, env []string, dir string, args ...string) error {
	_, err := c.output(ctx, tool, env, dir, args...)
	return err
}

// output executes a Fabric tool and returns its standard output.
func (c Config) output(ctx context.Context, tool string, env []string, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.bin(tool), args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return nil, &ToolError{Tool: tool, Args: args, Output: msg, Err: err}
	}
	return stdout.Bytes(), nil
}

// ToolError is a failed run of a Fabric command-line tool.
type ToolError struct {
	Tool   string
	Args   []string
	Output string // the end of its standard error (or output)
	Err    error
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("%s %s: %v: %s", e.Tool, firstArgs(e.Args), e.Err, e.Output)
}

func (e *ToolError) Unwrap() error { return e.Err }

func firstArgs(args []string) string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
