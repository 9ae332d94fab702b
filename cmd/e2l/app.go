package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/query"
)

// app holds what every command shares.
type app struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	conn           connFlags
	trust          trustFlags
	indexDSN       string
	runBlocks      int
	logger         *zap.Logger
	now            func() time.Time
}

func newApp(getenv func(string) string, stdout, stderr io.Writer) *app {
	return &app{getenv: getenv, stdout: stdout, stderr: stderr, now: time.Now, logger: zap.NewNop()}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "e2l",
		Short: "Query and verify the e2l ledger of Docker events",
		Long: `e2l reads the records Docker hosts committed to the e2l Fabric channel and
verifies them: hash chains, the transactions and blocks that carry them,
endorsements and orderer signatures, from a trust anchor: the channel's
genesis block hash, recorded by "e2l trust" (or pinned on first use) in the
trust file, or given with --genesis. It only evaluates queries and reads
blocks, except "e2l host register|release", which an org admin submits.

Connection settings come from flags, E2L_* variables or --env-file (the
collector.env format), in that order of precedence. Any member identity of
the channel will do (an org admin, a user, a host).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Get("e2l").String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	a.conn.register(root)
	a.trust.registerFile(root)
	a.registerIndexFlag(root)
	root.AddCommand(a.eventsCommand(), a.timelineCommand(), a.usageCommand(), a.hostsCommand(),
		a.verifyCommand(), a.exportCommand(), a.receiptCommand(), a.verifyReceiptCommand(),
		a.trustCommand(), a.hostCommand(), a.indexCommand())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	return root
}

// client dials the peers with the resolved settings.
func (a *app) client() (*query.Client, error) {
	cfg, err := a.conn.config(a.getenv)
	if err != nil {
		return nil, err
	}
	return query.Dial(cfg, a.now())
}

// exitCode prints err (unless already reported) and maps it to an exit code.
func (a *app) exitCode(err error) int {
	if errors.Is(err, errFailed) {
		return exitFailed
	}
	fmt.Fprintln(a.stderr, "e2l:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		return exitFailed
	}
	return exitFailed
}

// args wraps cobra's argument checks as usage errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}
