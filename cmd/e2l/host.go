package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/query/hostadmin"
	"github.com/e2l-project/e2l/internal/wire"
)

func (a *app) hostCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "The host registry: which organisation owns each host, and its Swarm role",
		Long: `Every host belongs to one organisation, declared on the ledger by an admin
of that organisation; the chaincode accepts a host's records only from
collectors of its owning organisation, and swarm-scope events only from hosts
registered as managers.

register and release SUBMIT a transaction with the configured identity,
which must be an admin of its organisation (the chaincode refuses others with
not-admin), and wait for it to commit. show and list only read.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{errors.New("host: give register, release, show or list")}
		},
	}
	cmd.AddCommand(a.hostRegisterCommand(), a.hostReleaseCommand(), a.hostShowCommand(), a.hostListCommand())
	return cmd
}

func (a *app) hostRegisterCommand() *cobra.Command {
	var host, role string
	cmd := &cobra.Command{
		Use:   "register --host H --role manager|worker",
		Short: "Declare a host as your organisation's (or change its Swarm role, or take over a host released to you)",
		Long: `Submit RegisterHost as your organisation's admin: an unregistered host becomes
your organisation's; a host of yours gets the role (the same role again
changes nothing); a host another organisation released to yours moves to
yours. A host of another organisation that was not released to yours is
refused (host-owned).`,
		Example: `  e2l --env-file admin.env host register --host node1 --role manager`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if host == "" || role == "" {
				return usageError{errors.New("host register: --host and --role are required")}
			}
			if role != wire.SwarmManager && role != wire.SwarmWorker {
				return usageError{fmt.Errorf("host register: --role %q: want %s or %s", role, wire.SwarmManager, wire.SwarmWorker)}
			}
			return a.hostSubmit(cmd.Context(), "register", host, func(ctx context.Context, adm *hostadmin.Admin) (hostadmin.Result, error) {
				return adm.Register(ctx, host, role)
			})
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "the host's name (its collector certificate's e2l.host)")
	cmd.Flags().StringVar(&role, "role", "", "its Swarm role: manager (may report swarm-scope events) or worker")
	return cmd
}

func (a *app) hostReleaseCommand() *cobra.Command {
	var host, to string
	cmd := &cobra.Command{
		Use:   "release --host H --to MSP",
		Short: "Allow another organisation to take over one of your hosts",
		Long: `Submit ReleaseHost as the admin of the organisation that owns the host: the
organisation --to may then register it (its admin runs "e2l host register").
Until it does, your organisation keeps the host and its collectors keep
writing. Releasing to your own MSP withdraws a pending release.`,
		Example: `  e2l --env-file admin.env host release --host node1 --to UserMSP`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if host == "" || to == "" {
				return usageError{errors.New("host release: --host and --to are required")}
			}
			return a.hostSubmit(cmd.Context(), "release", host, func(ctx context.Context, adm *hostadmin.Admin) (hostadmin.Result, error) {
				return adm.Release(ctx, host, to)
			})
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "the host's name")
	cmd.Flags().StringVar(&to, "to", "", "MSP ID of the organisation that may take it over")
	return cmd
}

// hostSubmit submits one registry transaction and prints its outcome and
// the host's entry.
func (a *app) hostSubmit(ctx context.Context, verb, host string, submit func(context.Context, *hostadmin.Admin) (hostadmin.Result, error)) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := submit(ctx, hostadmin.New(c))
	if err != nil {
		return refused(fmt.Sprintf("host %s %s", verb, host), err)
	}
	var reg wire.HostRegistration
	if err := json.Unmarshal(res.Payload, &reg); err != nil || reg.Host == "" {
		fmt.Fprintf(a.stdout, "host %s %s: committed in transaction %s (peer %s): %s\n", verb, host, res.TxID, res.Endpoint, res.Payload)
		return nil
	}
	if reg.TxID != res.TxID {
		fmt.Fprintf(a.stdout, "host %s %s: nothing to change (transaction %s committed, the entry is unchanged)\n", verb, host, res.TxID)
	} else {
		fmt.Fprintf(a.stdout, "host %s %s: committed in transaction %s (peer %s)\n", verb, host, res.TxID, res.Endpoint)
	}
	writeRegistration(a.stdout, reg)
	return nil
}

func (a *app) hostShowCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "show <host>",
		Short:   "A host's registry entry: owner, Swarm role, pending release, history",
		Example: `  e2l host show node1 -o json`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if output != "text" && output != formatJSON {
				return usageError{fmt.Errorf("--output %q: want text or json", output)}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			reg, err := c.HostRegistration(cmd.Context(), argv[0])
			if err != nil {
				return refused("host show "+argv[0], err)
			}
			if output == formatJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(reg)
			}
			writeRegistration(a.stdout, reg)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func (a *app) hostListCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "Every registered host, its owner and Swarm role",
		Example: `  e2l host list -o csv`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(output); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			regs, err := c.Registry(cmd.Context())
			if err != nil {
				return err
			}
			full := output != formatTable
			t := newTable(a.stdout, output, "HOST", "MSP", "ROLE", "RELEASED TO", "CHANGES", "TX")
			for _, r := range regs {
				t.row(r, r.Host, r.MSP, r.SwarmRole, r.ReleasedTo, fmt.Sprint(len(r.History)), cut(r.TxID, full))
			}
			return t.flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", formatTable, "table, json or csv")
	return cmd
}

// refused says what the chaincode refused, by its typed refusal's code and
// message, when err carries one; other errors keep their detail.
func refused(what string, err error) error {
	if r, ok := query.Refusal(err); ok {
		return &refusalError{what: what, r: r, err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// refusalError is a call the chaincode refused.
type refusalError struct {
	what string
	r    *wire.Refusal
	err  error
}

func (e *refusalError) Error() string {
	return fmt.Sprintf("%s: refused by the chaincode (%s): %s", e.what, string(e.r.Code), e.r.Message)
}

func (e *refusalError) Unwrap() []error { return []error{e.r, e.err} }

// writeRegistration prints a registry entry for people.
func writeRegistration(w io.Writer, r wire.HostRegistration) {
	fmt.Fprintf(w, "host        %s\nowner       %s\nswarm role  %s\n", r.Host, r.MSP, r.SwarmRole)
	if r.ReleasedTo != "" {
		fmt.Fprintf(w, "released to %s (until its admin registers the host, %s keeps it)\n", r.ReleasedTo, r.MSP)
	}
	fmt.Fprintf(w, "entry       transaction %s, admin certificate sha256:%s\n", r.TxID, r.AdminCertSHA256)
	for i, h := range r.History {
		line := []string{fmt.Sprintf("%-3d", i+1), fmt.Sprintf("%-8s", h.Action), h.MSP, h.SwarmRole}
		if h.ReleasedTo != "" {
			line = append(line, "released to "+h.ReleasedTo)
		}
		line = append(line, "tx "+h.TxID)
		prefix := "history     "
		if i > 0 {
			prefix = "            "
		}
		fmt.Fprintln(w, prefix+strings.Join(line, " "))
	}
}
