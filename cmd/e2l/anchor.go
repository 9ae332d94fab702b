package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
)

// trustFlags locate the trust anchors: --trust-file (every command) and
// --genesis (the verifying commands), which overrides the file.
type trustFlags struct {
	file    string
	genesis string
}

func (f *trustFlags) registerFile(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.file, "trust-file", "",
		"trust anchors file (default $XDG_CONFIG_HOME/e2l/trust or ~/.config/e2l/trust) [E2L_TRUST_FILE]")
}

func (f *trustFlags) registerGenesis(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.genesis, "genesis", "",
		"trust anchor: sha256:<hex> of the channel's genesis block header, obtained out of band (overrides the trust file)")
}

// trustPath is --trust-file, E2L_TRUST_FILE, $XDG_CONFIG_HOME/e2l/trust or
// $HOME/.config/e2l/trust.
func (a *app) trustPath() (string, error) {
	switch {
	case a.trust.file != "":
		return a.trust.file, nil
	case a.getenv("E2L_TRUST_FILE") != "":
		return a.getenv("E2L_TRUST_FILE"), nil
	case a.getenv("XDG_CONFIG_HOME") != "":
		return filepath.Join(a.getenv("XDG_CONFIG_HOME"), "e2l", "trust"), nil
	case a.getenv("HOME") != "":
		return filepath.Join(a.getenv("HOME"), ".config", "e2l", "trust"), nil
	}
	return "", usageError{errors.New("no trust file: set --trust-file, E2L_TRUST_FILE, XDG_CONFIG_HOME or HOME")}
}

// anchor is a channel's trust anchor and where it comes from.
type anchor struct {
	genesis string // hex
	source  string // "--genesis" or "trust file <path> line <n>"
}

// resolveAnchor returns the channel's anchor: --genesis, else the trust
// file's entry; found is false when there is neither.
func (a *app) resolveAnchor(channel string) (anc anchor, found bool, err error) {
	if a.trust.genesis != "" {
		g, err := parseGenesis(a.trust.genesis)
		if err != nil {
			return anchor{}, false, usageError{fmt.Errorf("--genesis: %w", err)}
		}
		return anchor{genesis: g, source: "--genesis"}, true, nil
	}
	path, err := a.trustPath()
	if err != nil {
		return anchor{}, false, err
	}
	tf, err := readTrustFile(path)
	if err != nil {
		return anchor{}, false, err
	}
	if e, ok := tf.lookup(channel); ok {
		return anchor{genesis: e.genesis, source: fmt.Sprintf("trust file %s line %d", path, e.line)}, true, nil
	}
	return anchor{}, false, nil
}

// offlineAnchor is the anchor offline verification needs: without one it
// refuses, saying how to obtain one. evidenceGenesis is the genesis header
// hash the evidence carries ("" when it carries no genesis block), shown
// so that it can be compared out of band.
func (a *app) offlineAnchor(channel, evidenceGenesis string) (anchor, error) {
	anc, found, err := a.resolveAnchor(channel)
	if err != nil || found {
		return anc, err
	}
	path, _ := a.trustPath()
	return anchor{}, &noAnchorError{channel: channel, path: path, evidence: evidenceGenesis}
}

// noAnchorError is offline verification refused for want of an anchor.
type noAnchorError struct {
	channel, path, evidence string
}

func (e *noAnchorError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no trust anchor for channel %s: the trust file %s has no entry for it and no --genesis was given, so the evidence cannot be told from a copy made on another network.\n", e.channel, e.path)
	b.WriteString("  Obtain the channel's genesis hash out of band: run \"e2l trust\" against a network you trust (it records it in the trust file),\n")
	b.WriteString("  or ask the channel's organisations for it and pass --genesis sha256:<hex>.")
	if e.evidence != "" {
		fmt.Fprintf(&b, "\n  This evidence's genesis block header is sha256:%s: it proves nothing until it matches what they give you.", e.evidence)
	}
	return b.String()
}

// anchorMismatch is a live network whose genesis block is not the trusted
// one.
type anchorMismatch struct {
	channel, source, trusted, live string
}

func (e *anchorMismatch) Error() string {
	return fmt.Sprintf("trust anchor mismatch for channel %s: the peers serve a genesis block with header sha256:%s, but %s says sha256:%s. "+
		"The channel was re-created, or these peers are not the network you trusted; if you have confirmed sha256:%s out of band, run \"e2l trust --replace\"",
		e.channel, e.live, e.source, e.trusted, e.live)
}

// pinAnchor checks the live network's genesis header hash against the
// channel's anchor: --genesis, else the trust file's entry, else it pins it
// in the trust file on first use, saying so on stderr. It returns the
// anchor to verify with.
func (a *app) pinAnchor(channel, live string) (string, error) {
	anc, found, err := a.resolveAnchor(channel)
	if err != nil {
		return "", err
	}
	if found {
		if anc.genesis != live {
			return "", &anchorMismatch{channel: channel, source: anc.source, trusted: anc.genesis, live: live}
		}
		return live, nil
	}
	path, err := a.trustPath()
	if err != nil {
		return "", err
	}
	tf, err := readTrustFile(path)
	if err != nil {
		return "", err
	}
	if _, err := tf.set(channel, live, false); err != nil {
		return "", err
	}
	if err := tf.write(); err != nil {
		return "", err
	}
	fmt.Fprintf(a.stderr, "pinned channel %s genesis sha256:%s (first use) in %s\n", channel, live, path)
	return live, nil
}

// blockReader reads a block of the channel by number.
type blockReader interface {
	BlockByNumber(ctx context.Context, n uint64) ([]byte, error)
}

// liveGenesis fetches the channel's genesis block (qscc GetBlockByNumber
// 0) and checks it (a configuration block numbered 0 whose data hash
// matches its header), returning its header hash and the configuration it
// defines.
func liveGenesis(ctx context.Context, c blockReader) (string, *audit.Trust, error) {
	raw, err := c.BlockByNumber(ctx, 0)
	if err != nil {
		return "", nil, fmt.Errorf("genesis block: %w", err)
	}
	return checkGenesis(raw)
}

// checkGenesis checks a genesis block (audit.CheckConfigs on it alone).
func checkGenesis(raw []byte) (string, *audit.Trust, error) {
	cfgs, problems := audit.CheckConfigs([][]byte{raw})
	if cfgs == nil {
		return "", nil, fmt.Errorf("genesis block: %s", strings.Join(problems, "; "))
	}
	return cfgs.Genesis, cfgs.Latest(), nil
}

// evidenceGenesis returns the genesis header hash of the configuration
// blocks evidence carries, "" when it carries no sound genesis block.
func evidenceGenesis(configBlocks [][]byte) string {
	for _, raw := range configBlocks {
		if b, err := audit.ParseBlock(raw); err == nil && b.Number == 0 {
			if g, _, err := checkGenesis(raw); err == nil {
				return g
			}
		}
	}
	return ""
}

// onlineAnchor fetches and checks the live genesis block and pins or
// compares it (pinAnchor) before anything else is fetched.
func (a *app) onlineAnchor(ctx context.Context, c blockReader, channel string) (string, error) {
	live, _, err := liveGenesis(ctx, c)
	if err != nil {
		return "", err
	}
	return a.pinAnchor(channel, live)
}
