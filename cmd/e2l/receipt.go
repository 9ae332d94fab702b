package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/e2l-project/e2l/internal/audit"
)

func (a *app) receiptCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt <record-id> <file>",
		Short: "Write a self-contained proof that a record is on the ledger",
		Long: `Write a receipt (JSON) for one record: the stored record, its transaction
envelope (creator signature, endorsements), the whole block that holds it
(header, data, orderer signatures in its metadata) and the channel
configuration block that block was ordered under, with the organisations'
and orderers' CA roots of that time. The
receipt is verified before it is written; "e2l verify-receipt" checks it with
no network.`,
		Example: `  e2l receipt 6c1f...9a receipt.json`,
		Args:    args(cobra.ExactArgs(2)),
		RunE:    func(cmd *cobra.Command, argv []string) error { return a.receipt(cmd.Context(), argv[0], argv[1]) },
	}
	return cmd
}

func (a *app) receipt(ctx context.Context, id, path string) error {
	if !isHex64(id) {
		return usageError{fmt.Errorf("receipt: record ID %q is not 64 lower-case hex characters", id)}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Record(ctx, id)
	if err != nil {
		return err
	}
	block, err := c.BlockByTxID(ctx, st.TxID)
	if err != nil {
		return fmt.Errorf("block of transaction %s: %w", st.TxID, err)
	}
	cfg, err := c.ConfigBlockOf(ctx, block)
	if err != nil {
		return fmt.Errorf("configuration block: %w", err)
	}
	r, rep, err := audit.NewReceipt(c.Channel(), c.Chaincode(), st, block, cfg)
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

The roots come from the receipt's configuration block: compare the printed
fingerprints with a trusted source, or pass --config-block with a
configuration block obtained independently (it must be the same block).`,
		Example: `  e2l verify-receipt receipt.json
  e2l verify-receipt --config-block e2l-config.block receipt.json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error { return a.verifyReceipt(argv[0], trusted) },
	}
	cmd.Flags().StringVar(&trusted, "config-block", "", "a trusted channel configuration block (raw protobuf) the receipt's must equal")
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
	var opt audit.ReceiptOptions
	if trusted != "" {
		if opt.TrustedConfigBlock, err = os.ReadFile(trusted); err != nil {
			return err
		}
	}
	for _, line := range audit.ReceiptSummary(r) {
		fmt.Fprintln(a.stdout, line)
	}
	rep := audit.VerifyReceipt(r, opt)
	err = a.printReport(rep, "text", false)
	if errors.Is(err, errFailed) {
		return err
	}
	return err
}
