// Package proof makes a record's receipt (audit.Receipt) from the ledger:
// the block that holds its transaction and the channel's configuration
// blocks, verified against the auditor's trust anchor before it is handed
// out. The CLI (e2l receipt) and the web view (e2l serve) share it.
package proof

import (
	"context"
	"fmt"

	"github.com/e2l-project/e2l/internal/audit"
)

// Ledger is what a receipt needs of the channel (query.Client is one).
type Ledger interface {
	BlockByTxID(ctx context.Context, txID string) ([]byte, error)
	ConfigBlocks(ctx context.Context) ([][]byte, error)
}

// Receipt assembles the receipt of st: the block of its transaction and the
// configuration blocks up to it, read from the ledger, and verifies it
// against anchor (the hex SHA-256 of the channel's genesis block header).
// The report says what the verification found; a receipt whose report has
// errors is not to be handed out as a proof.
func Receipt(ctx context.Context, l Ledger, channel, chaincode, anchor string, st audit.Stored) (*audit.Receipt, *audit.Report, error) {
	block, err := l.BlockByTxID(ctx, st.TxID)
	if err != nil {
		return nil, nil, fmt.Errorf("block of transaction %s: %w", st.TxID, err)
	}
	cfgs, err := l.ConfigBlocks(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration blocks: %w", err)
	}
	r, _, err := audit.NewReceipt(channel, chaincode, st, block, cfgs...)
	if err != nil {
		return nil, nil, err
	}
	return r, audit.VerifyReceipt(r, audit.ReceiptOptions{Anchor: anchor}), nil
}
