package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/query"
)

type verifyFlags struct {
	host         string
	from, to     uint64
	since, until string
	archive      string
	factor       float64
	output       string
	quiet        bool
	minOrgs      int
}

func (f *verifyFlags) register(cmd *cobra.Command, withArchive bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.host, "host", "", "only this host (default: every host)")
	fs.Uint64Var(&f.from, "from", 0, "first sequence number (default 1)")
	fs.Uint64Var(&f.to, "to", 0, "last sequence number (default: the latest)")
	fs.StringVar(&f.since, "since", "", "instead of --from/--to: each host's records from the first at or after this time")
	fs.StringVar(&f.until, "until", "", "instead of --from/--to: each host's records up to the last at or before this time")
	if withArchive {
		fs.StringVar(&f.archive, "archive", "", "verify this archive (from export) offline instead of the ledger")
		fs.Float64Var(&f.factor, "heartbeat-factor", audit.DefaultHeartbeatFactor, "a heartbeat older than this many intervals is stale (online only)")
		fs.StringVarP(&f.output, "output", "o", "text", "text or json")
		fs.BoolVarP(&f.quiet, "quiet", "q", false, "print errors and the summary only")
		fs.IntVar(&f.minOrgs, "min-endorsing-orgs", 0, "also require valid peer endorsements from this many distinct organisations (0: the channel's Endorsement policy alone; can only make the check stricter)")
	}
}

// selection turns the flags into what to fetch.
func (f *verifyFlags) selection(now time.Time) (query.Selection, error) {
	sel := query.Selection{Host: f.host, FromSeq: f.from, ToSeq: f.to}
	if (f.since != "" || f.until != "") && (f.from != 0 || f.to != 0) {
		return sel, usageError{errors.New("--from/--to (sequence numbers) and --since/--until (times) cannot be combined")}
	}
	if f.from != 0 && f.to != 0 && f.to < f.from {
		return sel, usageError{fmt.Errorf("--to %d is before --from %d", f.to, f.from)}
	}
	var err error
	if f.since != "" {
		if sel.Since, err = parseTime(f.since, now); err != nil {
			return sel, usageError{err}
		}
	}
	if f.until != "" {
		if sel.Until, err = parseTime(f.until, now); err != nil {
			return sel, usageError{err}
		}
	}
	if sel.Since != 0 && sel.Until != 0 && sel.Until < sel.Since {
		return sel, usageError{fmt.Errorf("--until %s is before --since %s", f.until, f.since)}
	}
	return sel, nil
}

func (a *app) verifyCommand() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify [--host H] [--from SEQ] [--to SEQ | --since T] [--until T] | verify --archive FILE",
		Short: "Verify records, hash chains, transactions, endorsements and blocks",
		Long: `Verify every record of the ledger (or of one host, or a seq range):

  records       canonical encoding, ID and hash recomputed
  chains        seq contiguous from 1 (or --from), no duplicate, listed in seq
                order, each prev the hash of the record before; gaps reported
                as information; a heartbeat older than --heartbeat-factor
                intervals as a warning
  transactions  read from the blocks (qscc GetBlockByTxID): VALID in the block's
                TRANSACTIONS_FILTER; RecordEvents of the chaincode; the record in
                its argument byte for byte; the creator's signature; the creator's
                certificate carries e2l.host = the record's host, has the stored
                certSha256 and chains to its org's CA root in the channel
                configuration the block was ordered under; endorsements that
                satisfy the channel's endorsement policy, whose signatures
                verify and whose certificates chain to their org's root; the
                endorsed proposal hash matches the transaction
  hosts         each record signed by a collector of the organisation that
                owned its host when it was written (the host registry's entry
                and the blocks of its history)
  blocks        data hash matches the header; an orderer organisation's valid
                signature
  configuration every configuration block from the genesis block on, each
                authorized under the configuration before it
  trust anchor  the genesis block's header hash equals the auditor's anchor:
                --genesis, else the trust file's entry for the channel (see
                "e2l trust"). Online, the live genesis block is checked first
                and pinned in the trust file on first use; a changed one is an
                error. --archive refuses to run without an anchor.

--since/--until select, per host, the stretch of its chain from the first
record at or after --since to the last at or before --until (a billing
period); the stretch is checked as a chain from its first seq, so a record
deleted inside it is caught. Heartbeat staleness is judged only when the
selection runs to the chains' ends.

With --index (or E2L_INDEX) the audit index is verified instead, and only
what arrived since its last run is checked again: the index verified each
block when it indexed it (everything above but the chains); verify catches
it up, checks every chain over all its rows in the database, recomputes each
block's digest from its rows and compares it with the digests stored at
indexing and with the root this auditor recorded at its last run (kept in
$XDG_STATE_HOME/e2l, outside the database). A block whose rows changed is
read from the ledger and every row that differs is named.

Missing records at the end of a chain cannot be told from records not yet
written: watch heartbeat staleness for that. Exits 1 when anything fails; each
problem names the record (host, seq, id).`,
		Example: `  e2l verify
  e2l verify --host vm --from 100 --to 200
  e2l verify --since 2026-11-01 --until 2026-12-01
  e2l verify --archive ledger.e2l.gz
  e2l verify --index ~/.cache/e2l/index.db`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.verify(cmd.Context(), f) },
	}
	f.register(cmd, true)
	a.trust.registerGenesis(cmd)
	return cmd
}

func (a *app) verify(ctx context.Context, f verifyFlags) error {
	if f.output != "text" && f.output != formatJSON {
		return usageError{fmt.Errorf("--output %q: want text or json", f.output)}
	}
	if a.indexDSN != "" || a.getenv("E2L_INDEX") != "" {
		switch {
		case f.archive != "":
			return usageError{errors.New("verify: --archive verifies a file; --index (or E2L_INDEX) verifies the index: give one")}
		case f.host != "" || f.from != 0 || f.to != 0 || f.since != "" || f.until != "":
			return usageError{errors.New("verify: --index verifies the whole index, incrementally; --host, --from, --to, --since and --until select what verify fetches from the ledger without --index")}
		case f.minOrgs != 0:
			return usageError{errors.New("verify: --min-endorsing-orgs applies to verification from the ledger or an archive, not --index")}
		}
		return a.verifyIndex(ctx, f)
	}
	opt := audit.VerifyOptions{HeartbeatFactor: f.factor, Tx: audit.TxOptions{MinEndorsingOrgs: f.minOrgs}}
	var arch *audit.Archive
	if f.archive != "" {
		if f.host != "" || f.from != 0 || f.to != 0 || f.since != "" || f.until != "" {
			return usageError{errors.New("verify: --host, --from, --to, --since and --until select what to fetch; an archive is verified whole")}
		}
		fh, err := os.Open(f.archive)
		if err != nil {
			return err
		}
		arch, err = audit.ReadArchive(fh)
		_ = fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.archive, err)
		}
		anc, err := a.offlineAnchor(arch.Channel, evidenceGenesis(arch.ConfigBlocks))
		if err != nil {
			return err
		}
		opt.Anchor = anc.genesis
		if f.output != formatJSON && !f.quiet {
			fmt.Fprintf(a.stdout, "anchor: channel %s genesis sha256:%s (%s)\n", arch.Channel, anc.genesis, anc.source)
		}
	} else {
		var err error
		if arch, opt.Anchor, err = a.fetchArchive(ctx, f); err != nil {
			return err
		}
		// Heartbeat staleness is judged only when the selection runs to
		// the chains' ends.
		if arch.ToSeq == 0 && arch.Until == 0 {
			opt.Now = a.now()
		}
	}
	rep := audit.Verify(arch, opt)
	return a.printReport(rep, f.output, f.quiet)
}

func (a *app) printReport(rep *audit.Report, output string, quiet bool) error {
	if output == formatJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			OK bool `json:"ok"`
			*audit.Report
		}{!rep.Failed(), rep}); err != nil {
			return err
		}
	} else {
		writeFindings(a.stdout, rep, quiet)
	}
	if rep.Failed() {
		return errFailed
	}
	return nil
}

func writeFindings(w io.Writer, rep *audit.Report, quiet bool) {
	for _, f := range rep.Findings {
		if quiet && f.Severity != audit.Error {
			continue
		}
		fmt.Fprintln(w, f.String())
	}
	verdict := "OK"
	if rep.Failed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "%s: %d records of %d hosts in %d transactions and %d blocks; %d errors, %d warnings, %d notes\n",
		verdict, rep.Records, rep.Hosts, rep.Transactions, rep.Blocks, rep.Count(audit.Error), rep.Count(audit.Warning), rep.Count(audit.Info))
}

func (a *app) exportCommand() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "export [--host H] [--from SEQ] [--to SEQ | --since T] [--until T] <file>",
		Short: "Write an archive of records, their blocks and the configuration blocks for offline verification",
		Long: `Write a gzip'd JSON archive: the stored records (per host in seq order), the
raw blocks that carry their transactions, and every configuration block of
the channel from the genesis block on (each block is checked against the CA
roots of the configuration it was ordered under). "e2l verify --archive <file>" runs
the same verification on it with no network.`,
		Example: `  e2l export ledger.e2l.gz
  e2l export --host vm --from 1 --to 500 vm.e2l.gz
  e2l export --since 2026-11-01 --until 2026-12-01 november.e2l.gz`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error { return a.export(cmd.Context(), f, argv[0]) },
	}
	f.register(cmd, false)
	a.trust.registerGenesis(cmd)
	return cmd
}

// fetchArchive checks the live channel against its trust anchor (pinning
// it on first use), then collects from the ledger the evidence the flags
// select. It returns the anchor (hex genesis header hash).
func (a *app) fetchArchive(ctx context.Context, f verifyFlags) (*audit.Archive, string, error) {
	sel, err := f.selection(a.now())
	if err != nil {
		return nil, "", err
	}
	c, err := a.client()
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	anchor, err := a.onlineAnchor(ctx, c, c.Channel())
	if err != nil {
		return nil, "", err
	}
	p := newCountLine(a.stderr, a.now, "verify: fetching the blocks of the records")
	sel.Progress = p.show
	arch, err := c.Archive(ctx, sel, a.now())
	p.done()
	return arch, anchor, err
}

func (a *app) export(ctx context.Context, f verifyFlags, path string) error {
	arch, anchor, err := a.fetchArchive(ctx, f)
	if err != nil {
		return err
	}
	if err := writeFile(path, func(w io.Writer) error { return audit.WriteArchive(w, arch) }); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "exported %d records of %d registered hosts, %d blocks and %d configuration blocks to %s (channel %s genesis sha256:%s)\n",
		len(arch.Records), len(arch.Hosts), len(arch.Blocks), len(arch.ConfigBlocks), path, arch.Channel, anchor)
	return nil
}

// writeFile writes through a temporary file renamed into place.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		_ = fh.Close()
		_ = os.Remove(tmp)
		return err
	}
	if err := fh.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
