package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) trustCommand() *cobra.Command {
	var replace, show bool
	cmd := &cobra.Command{
		Use:   "trust [--replace] [--genesis sha256:HEX] | trust --show",
		Short: "Record the channel's trust anchor (its genesis block hash) from a network you trust",
		Long: `Fetch the channel's genesis block from the configured peers (qscc
GetBlockByNumber 0), check it, print its header hash and the organisations'
root CA fingerprints it defines, and record

  <channel> genesis sha256:<hex>

in the trust file (--trust-file, E2L_TRUST_FILE, default
$XDG_CONFIG_HOME/e2l/trust or ~/.config/e2l/trust), as SSH's known_hosts
records host keys. Offline verification (verify --archive, verify-receipt)
refuses to say OK without such an anchor; online verification pins it on
first use and fails when it changed.

The hash is only as good as the peers you asked: compare it (or the root
fingerprints) with what the other organisations see, out of band, before
relying on it. With --genesis, the live network must answer that hash.

An entry that differs from the live network is refused unless --replace
(a channel re-created under the same name: confirm the new hash first).`,
		Example: `  e2l --env-file .e2l/network/hosts/vm/collector.env trust
  e2l trust --genesis sha256:3f1c…9a
  e2l trust --show`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if show {
				if replace || a.trust.genesis != "" {
					return usageError{errors.New("trust: --show takes no other flag")}
				}
				return a.showTrust()
			}
			return a.recordTrust(cmd.Context(), replace)
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "replace a different recorded anchor of the channel")
	cmd.Flags().BoolVar(&show, "show", false, "list the recorded anchors")
	a.trust.registerGenesis(cmd)
	return cmd
}

func (a *app) showTrust() error {
	path, err := a.trustPath()
	if err != nil {
		return err
	}
	tf, err := readTrustFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "# %s\n", path)
	for _, e := range tf.sorted() {
		fmt.Fprintf(a.stdout, "%s %s sha256:%s\n", e.channel, trustKind, e.genesis)
	}
	return nil
}

func (a *app) recordTrust(ctx context.Context, replace bool) error {
	var want string
	if a.trust.genesis != "" {
		g, err := parseGenesis(a.trust.genesis)
		if err != nil {
			return usageError{fmt.Errorf("--genesis: %w", err)}
		}
		want = g
	}
	path, err := a.trustPath()
	if err != nil {
		return err
	}
	tf, err := readTrustFile(path)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	live, trust, err := liveGenesis(ctx, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "channel  %s\n", c.Channel())
	if trust.Channel != c.Channel() {
		return fmt.Errorf("the genesis block the peers serve for channel %s is of channel %s", c.Channel(), trust.Channel)
	}
	fmt.Fprintf(a.stdout, "genesis  sha256:%s\n", live)
	for _, f := range trust.Fingerprints() {
		fmt.Fprintf(a.stdout, "root     %s\n", f)
	}
	if want != "" && want != live {
		return fmt.Errorf("the peers serve genesis sha256:%s, not the sha256:%s given with --genesis: nothing recorded", live, want)
	}
	old, had := tf.lookup(c.Channel())
	changed, err := tf.set(c.Channel(), live, replace)
	var conflict *anchorConflict
	if errors.As(err, &conflict) {
		return fmt.Errorf("%w. If the channel was re-created and you have confirmed sha256:%s out of band, run \"e2l trust --replace\"", err, live)
	}
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintf(a.stdout, "already trusted: %s genesis sha256:%s (%s line %d)\n", c.Channel(), live, path, old.line)
		return nil
	}
	if err := tf.write(); err != nil {
		return err
	}
	if had {
		fmt.Fprintf(a.stdout, "replaced sha256:%s: %s genesis sha256:%s recorded in %s\n", old.genesis, c.Channel(), live, path)
	} else {
		fmt.Fprintf(a.stdout, "recorded %s genesis sha256:%s in %s\n", c.Channel(), live, path)
	}
	if want == "" {
		fmt.Fprintln(a.stdout, "compare the genesis hash (or the roots) with the other organisations, out of band, before relying on it")
	}
	return nil
}
