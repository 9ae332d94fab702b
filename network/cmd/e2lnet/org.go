package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/e2l-project/e2l/network"
)

// The consortium commands (deploy/consortium/org.sh runs them; see
// docs/consortium.md): one organisation's material for the Swarm
// deployment, the channel derived from the three organisations' shares,
// and the chaincode package.
const orgUsage = `
consortium commands (deploy/consortium, docs/consortium.md):
  org-init         generate an organisation's crypto material, node configuration and share
                   (--org, --dir, --san NAME for each extra TLS name of its nodes)
  org-channel      derive the channel definition and TLS bundles from the three shares
                   (--dir, --share DIR x3, --batch-timeout; --genesis: make the genesis block)
  org-check-block  check a received genesis block against the three shares, then keep it
                   (--dir, --block, --share DIR x3)
  cc-package       write the chaincode-as-a-service package of an image and print its package ID
                   (--label e2l_N, --image IMAGE_ID, --out FILE)
`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// isOrgCommand says whether cmd is one of the consortium commands.
func isOrgCommand(cmd string) bool {
	switch cmd {
	case "org-init", "org-channel", "org-check-block", "cc-package":
		return true
	}
	return false
}

func orgCommand(ctx context.Context, cmd string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("e2lnet "+cmd, flag.ContinueOnError)
	var (
		dir, binDir, org, block, label, image, pkgOut string
		sans, shares                                  listFlag
		genesis                                       bool
		batchTimeout                                  time.Duration
	)
	fs.StringVar(&binDir, "bin-dir", "", "directory of the Fabric binaries (default "+network.DefaultBinDir+")")
	if cmd != "cc-package" {
		fs.StringVar(&dir, "dir", "", "the organisation's directory")
	}
	switch cmd {
	case "org-init":
		fs.StringVar(&org, "org", "", "organisation: Provider, Developer or User")
		fs.Var(&sans, "san", "an extra TLS name of the organisation's nodes (repeatable)")
	case "org-channel", "org-check-block":
		fs.Var(&shares, "share", "share directory of an organisation, this one's included (three times)")
		if cmd == "org-channel" {
			fs.BoolVar(&genesis, "genesis", false, "also make the genesis block (the organisation creating the channel)")
			fs.DurationVar(&batchTimeout, "batch-timeout", 0, "orderer BatchTimeout (default "+network.DefaultBatchTimeout.String()+")")
		} else {
			fs.StringVar(&block, "block", "", "the genesis block received from the channel's creator")
		}
	case "cc-package":
		fs.StringVar(&label, "label", "", "package label, e2l_<sequence>")
		fs.StringVar(&image, "image", "", "ID of the chaincode image (docker image inspect --format '{{.Id}}')")
		fs.StringVar(&pkgOut, "out", "", "package file to write")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %v", cmd, fs.Args())
	}
	if cmd != "cc-package" && dir == "" {
		return fmt.Errorf("%s: --dir is required", cmd)
	}
	switch cmd {
	case "org-init":
		o, err := network.ParseOrg(org)
		if err != nil {
			return err
		}
		if err := network.InitOrg(ctx, network.OrgConfig{Org: o, Dir: dir, BinDir: binDir, SANs: sans}); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s's material is in %s; give the others %s only\n", o, dir, filepath.Join(dir, "share"))
	case "org-channel":
		if err := network.ConsortiumChannel(ctx, network.ChannelConfig{
			Dir: dir, BinDir: binDir, Shares: shares, BatchTimeout: batchTimeout, Genesis: genesis,
		}); err != nil {
			return err
		}
		if genesis {
			fmt.Fprintf(out, "genesis block %s written: give it to the other organisations\n", filepath.Join(dir, "consortium", network.ChannelName+".block"))
		}
		fmt.Fprintf(out, "channel definition and TLS bundles written in %s\n", filepath.Join(dir, "consortium"))
	case "org-check-block":
		if err := network.CheckGenesis(ctx, binDir, dir, block, shares); err != nil {
			return err
		}
		keep := filepath.Join(dir, "consortium", network.ChannelName+".block")
		if abs, _ := filepath.Abs(block); abs != keep {
			b, err := os.ReadFile(block)
			if err != nil {
				return err
			}
			if err := os.WriteFile(keep, b, 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "genesis block %s defines the agreed channel; kept as %s\n", block, keep)
	case "cc-package":
		if label == "" || image == "" || pkgOut == "" {
			return fmt.Errorf("%s: --label, --image and --out are required", cmd)
		}
		pkg, id, err := network.CCaaSPackage(label, map[string][]byte{"image": []byte(image + "\n")})
		if err != nil {
			return err
		}
		if err := os.WriteFile(pkgOut, pkg, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(out, id)
	}
	return nil
}
