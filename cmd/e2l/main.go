// Command e2l is the auditor's CLI for the e2l ledger: it queries the
// records Docker hosts committed to the Fabric channel, verifies their hash
// chains, transactions, endorsements and blocks, computes container usage,
// and exports archives and receipts that verify offline. It only reads:
// queries are evaluated, never submitted.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // an error, or a verification that found a problem
	exitUsage  = 2 // bad flags or arguments
)

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	app := newApp(getenv, stdout, stderr)
	cmd := app.rootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.ExecuteContext(ctx); err != nil {
		return app.exitCode(err)
	}
	return exitOK
}
