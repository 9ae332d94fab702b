package proof

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/audit"
)

type fakeLedger struct {
	block            []byte
	blockErr, cfgErr error
}

func (f fakeLedger) BlockByTxID(context.Context, string) ([]byte, error) { return f.block, f.blockErr }
func (f fakeLedger) ConfigBlocks(context.Context) ([][]byte, error)      { return nil, f.cfgErr }

func TestReceiptFailsWithWhatTheLedgerCouldNotGive(t *testing.T) {
	errDown := errors.New("peers unreachable")
	st := audit.Stored{ID: "r1", TxID: "tx1"}
	tests := []struct {
		name string
		l    fakeLedger
		want string
	}{
		{"the block of the transaction", fakeLedger{blockErr: errDown}, "block of transaction tx1: peers unreachable"},
		{"the configuration blocks", fakeLedger{cfgErr: errDown}, "configuration blocks: peers unreachable"},
		{"a block that does not parse", fakeLedger{block: []byte("not a block")}, "block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, rep, err := Receipt(t.Context(), tt.l, "e2l", "e2l", strings.Repeat("0", 64), st)
			if err == nil || !strings.Contains(err.Error(), tt.want) || r != nil || rep != nil {
				t.Errorf("Receipt = %v, %v, %v; want an error with %q", r, rep, err, tt.want)
			}
			if tt.l.blockErr != nil && !errors.Is(err, errDown) {
				t.Errorf("the ledger's error does not unwrap: %v", err)
			}
		})
	}
}
