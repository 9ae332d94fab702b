package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/e2l-project/e2l/internal/webview"
)

type serveFlags struct {
	listen      string
	tls         webview.TLSFiles
	follow      bool
	statusEvery time.Duration
	period      time.Duration
}

func (a *app) serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR [--tls-cert F --tls-key F] [--client-ca F]",
		Short: "Serve a read-only web view and JSON API of the audit index",
		Long: `Serve the audit index to people: hosts with their coverage over a period (recorded
time, heartbeat silences, gaps by reason), each host's chain, findings and
certificates, container and service timelines, usage with its CSV (what "e2l
usage -o csv" prints for the same period), records with their receipts, and a
search. /api/... serves the same as JSON. Only GET and HEAD are answered: the
view writes nothing.

The index (--index, as for the other commands) follows the channel in the
background (--follow=false: serve it as it stands), verifying every new block.

TLS: --tls-cert and --tls-key; without them the view is served over plain HTTP,
which is allowed on a loopback address only. --client-ca (the organisations' CA
bundle) requires a client certificate that chains to it: an auditor of any org
logs in with their own certificate, and the page shows who (subject, MSP).`,
		Example: `  e2l serve --listen 127.0.0.1:8080
  e2l serve --listen :8443 --tls-cert web.crt --tls-key web.key --client-ca orgs-ca.pem`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd.Context(), f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve on")
	fs.StringVar(&f.tls.Cert, "tls-cert", "", "PEM certificate of the server")
	fs.StringVar(&f.tls.Key, "tls-key", "", "PEM private key of the server")
	fs.StringVar(&f.tls.ClientCA, "client-ca", "", "PEM bundle of the CAs whose client certificates may log in (requires TLS)")
	fs.BoolVar(&f.follow, "follow", true, "keep the index following the channel while serving")
	fs.DurationVar(&f.statusEvery, "status-every", 5*time.Second, "how often the chains are checked again when the index moved")
	fs.DurationVar(&f.period, "period", 24*time.Hour, "the period pages cover unless asked")
	cmd.Flags().IntVar(&a.runBlocks, "run-blocks", 100, "blocks verified and applied in one database transaction")
	return cmd
}

// check refuses plain HTTP beyond the loopback interface and a
// client CA without TLS.
func (f serveFlags) check() error {
	if (f.tls.Cert == "") != (f.tls.Key == "") {
		return usageError{errors.New("serve: --tls-cert and --tls-key go together")}
	}
	if f.tls.Cert != "" {
		return nil
	}
	if f.tls.ClientCA != "" {
		return usageError{errors.New("serve: --client-ca needs TLS (--tls-cert, --tls-key)")}
	}
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return usageError{fmt.Errorf("serve: --listen %q: %w", f.listen, err)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageError{fmt.Errorf("serve: plain HTTP on %s: give --tls-cert and --tls-key, or listen on a loopback address", f.listen)}
	}
	return nil
}

func (a *app) serve(ctx context.Context, f serveFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if f.tls.Cert != "" {
		var err error
		if tlsCfg, err = webview.TLSConfig(f.tls); err != nil {
			return err
		}
	}
	logger, err := zap.NewProduction()
	if err != nil {
		return err
	}
	defer func() { _ = logger.Sync() }()
	a.logger = logger.Named("indexer")
	li, err := a.dialIndex(ctx)
	if err != nil {
		return err
	}
	defer li.Close()
	view, err := webview.New(webview.Options{Store: li.st, Ledger: li.c, Channel: li.c.Channel(), Chaincode: li.c.Chaincode(),
		Anchor: li.anchor, Logger: logger.Named("webview"), StatusEvery: f.statusEvery, DefaultPeriod: f.period,
		RequireClientCert: f.tls.ClientCA != ""})
	if err != nil {
		return err
	}
	ln, err := webview.Listen(f.listen, view.Handler(), tlsCfg, logger.Named("webview"))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "e2l serve: %s (index %s, channel %s%s)\n", ln.URL(), li.where, li.c.Channel(),
		map[bool]string{true: ", following it", false: ", as it stands"}[f.follow])
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ln.Run(gctx) })
	g.Go(func() error { return view.Run(gctx) })
	if f.follow {
		g.Go(func() error {
			if _, err := a.catchUp(gctx, li, true, nil); err != nil && gctx.Err() == nil {
				return err
			}
			return nil
		})
	}
	return g.Wait()
}
