// Command e2lnet runs e2l's local Fabric network as native processes.
//
//	e2lnet up        [flags]                 create or restart the network; returns when ready
//	e2lnet down      [--purge]               stop every node (and delete the state)
//	e2lnet status                            list the nodes and whether they run
//	e2lnet enroll    --org ORG --host NAME [--role collector|none|ROLE] [--swarm-role manager|worker] [--no-register]
//	e2lnet register-host --org ORG --host NAME [--swarm-role manager|worker]
//	e2lnet release-host  --org ORG --host NAME --to ORG
//	e2lnet show-host     --host NAME [--org ORG]
//	e2lnet deploy-cc [--chaincode-bin PATH]  deploy the chaincode as the next sequence
//	e2lnet env       --org ORG               print the peer CLI environment of ORG's admin
//	e2lnet admin-env --org ORG               print the e2l CLI settings (E2L_*) of ORG's admin
//	e2lnet stop|start NODE                   stop or start one node (orderer-provider, peer-user, ...)
//	e2lnet org-init|org-channel|org-check-block|cc-package   the Swarm consortium (org.go)
//
// Common flags: --dir (default .e2l/network, env E2L_NET_DIR).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/wire"
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
  up             create the network, or restart the one in --dir; returns when ready
  down           stop every node (--purge also deletes the state directory)
  status         list the nodes and whether they run
  enroll         enroll a host identity (--org, --host, --role) and write its collector.env,
                 then register the host as the org's (--swarm-role; --no-register skips it)
  register-host  register a host in the chaincode's host registry as the org's admin
                 (--org, --host, --swarm-role); again with the same role: no change
  release-host   let another org (--to) take over the org's host (--org, --host)
  show-host      print a host's registry entry and history (JSON; --host, --org)
  deploy-cc      deploy the chaincode binary as the next definition sequence
  env            print the peer CLI environment for an org's admin (--org)
  admin-env      print the e2l CLI settings (E2L_*, an --env-file) of an org's admin (--org)
  stop NODE      stop one node (see status for names)
  start NODE     start one node

Run "e2lnet <command> -h" for the flags of a command.
` + orgUsage

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		return nil
	}
	if args[0] == "--version" || args[0] == "version" {
		fmt.Fprintln(out, buildinfo.Get("e2lnet"))
		return nil
	}
	cmd, args := args[0], args[1:]
	if isOrgCommand(cmd) {
		return orgCommand(ctx, cmd, args, out)
	}
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
		org, host, role, swarmRole, to string
		purge, noRegister              bool
		timeout                        time.Duration
	)
	hostFlags := func() {
		fs.StringVar(&org, "org", "", "organisation: Provider, Developer or User")
		fs.StringVar(&host, "host", "", "host name (the certificate's e2l.host)")
	}
	switch cmd {
	case "up":
		fs.IntVar(&cfg.PortBase, "port-base", 0, fmt.Sprintf("first of the %d ports used (default %d)", 120, network.DefaultPortBase))
		fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", 0, "orderer BatchTimeout (default "+network.DefaultBatchTimeout.String()+")")
		fs.BoolVar(&cfg.Fresh, "fresh", false, "discard the existing network and create a new one")
		fs.DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	case "down":
		fs.BoolVar(&purge, "purge", false, "also delete the state directory")
	case "enroll":
		hostFlags()
		fs.StringVar(&role, "role", network.RoleCollector, "e2l.role attribute; none leaves it out")
		fs.StringVar(&swarmRole, "swarm-role", wire.SwarmManager, "the host's Swarm role in the host registry: manager or worker")
		fs.BoolVar(&noRegister, "no-register", false, "do not register the host in the host registry")
	case "register-host":
		hostFlags()
		fs.StringVar(&swarmRole, "swarm-role", wire.SwarmManager, "the host's Swarm role: manager or worker")
	case "release-host":
		hostFlags()
		fs.StringVar(&to, "to", "", "the organisation that may take the host over")
	case "show-host":
		hostFlags()
	case "env", "admin-env":
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
	case "enroll", "register-host", "release-host", "show-host":
		return hostCommand(ctx, n, cmd, hostArgs{org, host, role, swarmRole, to, noRegister}, out)
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
	case "admin-env":
		o, err := network.ParseOrg(org)
		if err != nil {
			return err
		}
		for _, e := range n.AdminEnv(o) {
			fmt.Fprintf(out, "%s=%s\n", e.Key, e.Value)
		}
	case "stop", "start":
		if fs.NArg() != 1 {
			return fmt.Errorf("%s: want one node name (see e2lnet status)", cmd)
		}
		return startStop(ctx, n, cmd, fs.Arg(0), out)
	}
	return nil
}

// hostArgs are the flags of the host commands.
type hostArgs struct {
	org, host, role, swarmRole, to string
	noRegister                     bool
}

// hostCommand runs enroll, register-host, release-host or show-host.
func hostCommand(ctx context.Context, n *network.Network, cmd string, a hostArgs, out io.Writer) error {
	if a.host == "" {
		return fmt.Errorf("%s: --host is required", cmd)
	}
	if a.org == "" && cmd == "show-host" {
		a.org = string(network.Provider)
	}
	o, err := network.ParseOrg(a.org)
	if err != nil {
		return err
	}
	switch cmd {
	case "enroll":
		id, err := n.EnrollHost(ctx, o, a.host, network.EnrollOptions{Role: a.role, SwarmRole: a.swarmRole, NoRegister: a.noRegister})
		if err != nil {
			return err
		}
		registered := "not registered"
		if id.SwarmRole != "" {
			registered = "registered as " + id.SwarmRole
		}
		fmt.Fprintf(out, "enrolled host %s in %s (role %s, %s): %s\n", id.Host, id.MSPID, id.Role, registered, id.EnvPath)
	case "register-host":
		if err := n.RegisterHost(ctx, o, a.host, a.swarmRole); err != nil {
			return err
		}
		fmt.Fprintf(out, "host %s registered to %s as %s\n", a.host, o.MSPID(), a.swarmRole)
	case "release-host":
		dest, err := network.ParseOrg(a.to)
		if err != nil {
			return fmt.Errorf("release-host --to: %w", err)
		}
		if err := n.ReleaseHost(ctx, o, a.host, dest.MSPID()); err != nil {
			return err
		}
		fmt.Fprintf(out, "host %s released by %s to %s (its admin registers it next)\n", a.host, o.MSPID(), dest.MSPID())
	case "show-host":
		reg, err := n.GetHost(ctx, o, a.host)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(reg)
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
