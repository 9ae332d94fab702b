package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/config"
	"github.com/e2l-project/e2l/internal/preflight"
)

// check is `e2l-collector check [--gate] [collector flags]`: the preflight
// checks with the collector's own configuration (the same flags, E2L_*
// environment and file), one line per check on stdout. Exit codes: 0 when
// nothing failed, 1 when a check failed, 2 on a configuration error. With
// --gate (the systemd unit's ExecStartPre), only a failure that keeps the
// collector from working whatever happens elsewhere exits 1 (a wrong
// identity, no permission on the Docker socket, an unwritable spool); a
// peer down or a host not registered yet is printed and does not stop the
// start, since the collector records into its spool meanwhile.
func check(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	gate := slices.Contains(args, "--gate")
	args = slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--gate" })
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprintln(stderr, "\ne2l-collector check [--gate] [flags]: check the configuration above before starting (one line per check)")
		return 0
	}
	if err != nil {
		fmt.Fprintln(stdout, preflight.Result{Check: "configuration", Status: preflight.Fail, Detail: oneLine(err)})
		return 2
	}
	fmt.Fprintln(stdout, preflight.Result{Check: "configuration", Status: preflight.OK, Detail: "host " + cfg.Host + ", " + cfg.MSPID})
	report := preflight.Run(ctx, cfg, preflight.Deps{})
	fmt.Fprint(stdout, report)
	switch {
	case report.Blocked():
		fmt.Fprintln(stdout, "e2l-collector check: FAILED: the collector cannot work as configured")
		return 1
	case report.Failed() && gate:
		fmt.Fprintln(stdout, "e2l-collector check: failures above do not stop the start: the collector records into its spool until they are fixed")
		return 0
	case report.Failed():
		fmt.Fprintln(stdout, "e2l-collector check: FAILED")
		return 1
	}
	fmt.Fprintln(stdout, "e2l-collector check: all passed")
	return 0
}

// preflightPasses is the daemon's --preflight: the checks, logged one
// entry each; false when one that blocks the start failed.
func preflightPasses(ctx context.Context, cfg config.Config, logger *zap.Logger) bool {
	report := preflight.Run(ctx, cfg, preflight.Deps{})
	for _, r := range report {
		fields := []zap.Field{zap.String("check", r.Check), zap.String("status", string(r.Status)), zap.String("detail", r.Detail)}
		switch {
		case r.Status == preflight.Fail && r.Blocks:
			logger.Error("preflight check failed", fields...)
		case r.Status == preflight.Fail || r.Status == preflight.Warn:
			logger.Warn("preflight check", fields...)
		default:
			logger.Info("preflight check", fields...)
		}
	}
	if report.Blocked() {
		logger.Error("refusing to start: a preflight check failed that waiting cannot fix")
		return false
	}
	return true
}

// oneLine joins a multi-line error (config.Validate reports every problem).
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
