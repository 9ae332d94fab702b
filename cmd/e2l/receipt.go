package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/proof"
)

func (a *app) receiptCommand() *cobra.Command {
	var host string
	cmd := &cobra.Command{
		Use:   "receipt <record-id-or-prefix> <file>",
		Short: "Write a self-contained proof that a record is on the ledger",
		Long: `Write a receipt (JSON) for one record: the stored record, its transaction
envelope (creator signature, endorsements), the whole block that holds it
(header, data, orderer signatures in its metadata), the channel
configuration block that block was ordered under, with the organisations'
and orderers' CA roots of that time, and the configuration blocks from the
genesis block up to it (what a trust anchor is compared with). The
receipt is verified before it is written; "e2l verify-receipt" checks it with
no network.

The record is named by its whole ID or any unique prefix of at least 4 hex
digits (as git names commits). A prefix is matched against every host's
chain (--host: that host's only), so its cost grows with the ledger; an
unknown or ambiguous prefix is an error listing what matched.

The channel's genesis block is checked against the trust anchor first
(--genesis, or the trust file's entry, pinned on first use).`,
		Example: `  e2l receipt 6c1f0a9e2b7d receipt.json
  e2l receipt --host vm 6c1f receipt.json`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error { return a.receipt(cmd.Context(), argv[0], host, argv[1]) },
	}
	cmd.Flags().StringVar(&host, "host", "", "look a record ID prefix up in this host's chain only")
	a.trust.registerGenesis(cmd)
	return cmd
}

func (a *app) receipt(ctx context.Context, id, host, path string) error {
	if _, err := normalizeRecordID(id); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	anchor, err := a.onlineAnchor(ctx, c, c.Channel())
	if err != nil {
		return err
	}
	st, err := resolveRecord(ctx, c, id, host)
	if err != nil {
		return err
	}
	r, rep, err := proof.Receipt(ctx, c, c.Channel(), c.Chaincode(), anchor, st)
	if err != nil {
		return err
	}
	if err := writeFile(path, func(w io.Writer) error { return audit.WriteReceipt(w, r) }); err != nil {
		return err
	}
	for _, line := range audit.ReceiptSummary(r) {
		fmt.Fprintln(a.stdout, line)
	}
	fmt.Fprintf(a.stdout, "receipt written to %s\n", path)
	return a.printReport(rep, "text", true)
}

func (a *app) verifyReceiptCommand() *cobra.Command {
	var trusted string
	cmd := &cobra.Command{
		Use:   "verify-receipt <file>",
		Short: "Check a receipt offline",
		Long: `Check a receipt with no network: the record's hash and ID; the record is in
its transaction's RecordEvents argument; the transaction is VALID in the
block's metadata; the block's data hash matches its header; an orderer
organisation's signature on the block verifies against the orderer roots;
the creator is bound to the record's host; endorsements from at least 2
organisations verify against their roots.

It refuses to say OK without a trust anchor for the receipt's channel: the
genesis block hash given with --genesis or recorded in the trust file by
"e2l trust" (--trust-file). --config-block adds a configuration block
obtained independently, which the receipt's must equal.`,
		Example: `  e2l verify-receipt receipt.json
  e2l verify-receipt --genesis sha256:3f1c…9a receipt.json
  e2l verify-receipt --config-block e2l-config.block receipt.json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error { return a.verifyReceipt(argv[0], trusted) },
	}
	cmd.Flags().StringVar(&trusted, "config-block", "", "a trusted channel configuration block (raw protobuf) the receipt's must equal")
	a.trust.registerGenesis(cmd)
	return cmd
}

func (a *app) verifyReceipt(path, trusted string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	r, err := audit.ReadReceipt(fh)
	_ = fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	anc, err := a.offlineAnchor(r.Channel, evidenceGenesis(slices.Concat(r.ConfigBlocks, [][]byte{r.ConfigBlock})))
	if err != nil {
		return err
	}
	opt := audit.ReceiptOptions{Anchor: anc.genesis}
	if trusted != "" {
		if opt.TrustedConfigBlock, err = os.ReadFile(trusted); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "anchor   channel %s genesis sha256:%s (%s)\n", r.Channel, anc.genesis, anc.source)
	for _, line := range audit.ReceiptSummary(r) {
		fmt.Fprintln(a.stdout, line)
	}
	return a.printReport(audit.VerifyReceipt(r, opt), "text", false)
}
