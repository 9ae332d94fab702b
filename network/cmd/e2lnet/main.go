// Command e2lnet runs e2l's local Fabric network as native processes.
//
//	e2lnet up        [flags]                 create or restart the network; returns when ready
//	e2lnet down      [--purge]               stop every node (and delete the state)
//	e2lnet status                            list the nodes and whether they run
//	e2lnet enroll    --org ORG --host NAME [--role collector|none|ROLE]
//	e2lnet deploy-cc [--chaincode-bin PATH]  deploy the chaincode as the next sequence
//	e2lnet env       --org ORG               print the peer CLI environment of ORG's admin
//	e2lnet stop|start NODE                   stop or start one node (orderer-provider, peer-user, ...)
//
// Common flags: --dir (default .e2l/network, env E2L_NET_DIR).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/e2l-project/e2l/network"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2lnet: %v\n", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

const usage = `usage: e2lnet <command> [flags]

commands:
  up         create the network, or restart the one in --dir; returns when ready
  down       stop every node (--purge also deletes the state directory)
  status     list the nodes and whether they run
  enroll     enroll a host identity (--org, --host, --role) and write its collector.env
  deploy-cc  deploy the chaincode binary as the next definition sequence
  env        print the peer CLI environment for an org's admin (--org)
  stop NODE  stop one node (see status for names)
  start NODE start one node

Run "e2lnet <command> -h" for the flags of a command.
`

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("e2lnet "+cmd, flag.ContinueOnError)
	cfg := network.Config{Log: out}
	dir := getenv("E2L_NET_DIR")
	if dir == "" {
		dir = network.DefaultDir
	}
	fs.StringVar(&cfg.Dir, "dir", dir, "state directory (env E2L_NET_DIR)")
	fs.StringVar(&cfg.BinDir, "bin-dir", "", "directory of the Fabric binaries (default "+network.DefaultBinDir+")")
	fs.StringVar(&cfg.ChaincodeBin, "chaincode-bin", "", "chaincode server binary built from ./cmd/e2l-chaincode")
	var (
		org, host, role string
		purge           bool
		timeout         time.Duration
	)
	switch cmd {
	case "up":
		fs.IntVar(&cfg.PortBase, "port-base", 0, fmt.Sprintf("first of the %d ports used (default %d)", 120, network.DefaultPortBase))
		fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", 0, "orderer BatchTimeout (default "+network.DefaultBatchTimeout.String()+")")
		fs.BoolVar(&cfg.Fresh, "fresh", false, "discard the existing network and create a new one")
		fs.DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	case "down":
		fs.BoolVar(&purge, "purge", false, "also delete the state directory")
	case "enroll":
		fs.StringVar(&org, "org", "", "organisation: Provider, Developer or User")
		fs.StringVar(&host, "host", "", "host name (the certificate's e2l.host)")
		fs.StringVar(&role, "role", network.RoleCollector, "e2l.role attribute; none leaves it out")
	case "env":
		fs.StringVar(&org, "org", "", "organisation: Provider, Developer or User")
	case "deploy-cc", "status", "stop", "start":
	default:
		fmt.Fprint(out, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if cmd == "up" {
		if _, err := network.Up(ctx, cfg); err != nil {
			return fmt.Errorf("%w\n(nodes that started still run: read their logs, then run e2lnet down)", err)
		}
		return nil
	}
	n, err := network.Open(cfg)
	if errors.Is(err, network.ErrNoNetwork) && cmd == "down" {
		fmt.Fprintf(out, "no network in %s: nothing to stop\n", cfg.Dir)
		return nil
	}
	if err != nil {
		return err
	}
	switch cmd {
	case "down":
		if purge {
			if err := n.Purge(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "network stopped, %s deleted\n", n.Dir())
			return nil
		}
		if err := n.Down(ctx); err != nil {
			return err
		}
		fmt.Fprintf(out, "network stopped (state kept in %s)\n", n.Dir())
	case "status":
		return status(ctx, n, out)
	case "enroll":
		o, err := network.ParseOrg(org)
		if err != nil {
			return err
		}
		if host == "" {
			return errors.New("enroll: --host is required")
		}
		id, err := n.EnrollHost(ctx, o, host, network.EnrollOptions{Role: role})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "enrolled host %s in %s (role %s): %s\n", id.Host, id.MSPID, id.Role, id.EnvPath)
	case "deploy-cc":
		info, err := n.DeployChaincode(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "chaincode %s sequence %d committed: %s\n", info.Name, info.Sequence, info.PackageID)
	case "env":
		o, err := network.ParseOrg(org)
		if err != nil {
			return err
		}
		for _, kv := range n.PeerCLIEnv(o) {
			fmt.Fprintf(out, "export %s\n", kv)
		}
		if ord, err := n.OrdererCLIArgs(); err == nil {
			fmt.Fprintf(out, "# orderer flags: %s\n", strings.Join(ord, " "))
		}
	case "stop", "start":
		if fs.NArg() != 1 {
			return fmt.Errorf("%s: want one node name (see e2lnet status)", cmd)
		}
		return startStop(ctx, n, cmd, fs.Arg(0), out)
	}
	return nil
}

func status(ctx context.Context, n *network.Network, out io.Writer) error {
	cc := n.Chaincode()
	fmt.Fprintf(out, "network %s, chaincode %s sequence %d\n", n.Dir(), cc.Name, cc.Sequence)
	for _, s := range n.Status() {
		state := "stopped"
		if s.Running {
			state = fmt.Sprintf("running (pid %d)", s.PID)
		}
		fmt.Fprintf(out, "  %-20s %-20s ports %v\n", s.Name, state, s.Ports)
	}
	if err := n.Healthy(ctx); err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	fmt.Fprintln(out, "healthy")
	return nil
}

func startStop(ctx context.Context, n *network.Network, cmd, name string, out io.Writer) error {
	kind, orgName, ok := strings.Cut(name, "-")
	if !ok {
		return fmt.Errorf("node %q: want KIND-ORG, e.g. orderer-provider", name)
	}
	o, err := network.ParseOrg(orgName)
	if err != nil {
		return err
	}
	ops := map[string][2]func(context.Context) error{
		"orderer": {
			func(ctx context.Context) error { return n.StopOrderer(ctx, indexOf(o)) },
			func(ctx context.Context) error { return n.StartOrderer(ctx, indexOf(o)) },
		},
		"peer": {
			func(ctx context.Context) error { return n.StopPeer(ctx, o) },
			func(ctx context.Context) error { return n.StartPeer(ctx, o) },
		},
		"chaincode": {
			func(ctx context.Context) error { return n.StopChaincode(ctx, o) },
			func(ctx context.Context) error { return n.StartChaincode(ctx, o) },
		},
	}
	op, ok := ops[kind]
	if !ok {
		return fmt.Errorf("node %q: kind must be orderer, peer or chaincode", name)
	}
	f := op[0]
	if cmd == "start" {
		f = op[1]
	}
	if err := f(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s done\n", name, cmd)
	return nil
}

func indexOf(o network.Org) int {
	for i, x := range network.Orgs() {
		if x == o {
			return i
		}
	}
	return -1
}
