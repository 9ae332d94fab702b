//go:build integration

package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/network"
)

// A committed transaction of a host (its envelope, signed by the host, as
// any block reader or orderer holds it) broadcast again to an orderer: the
// orderer orders it (it does not de-duplicate), and every peer marks it
// DUPLICATE_TXID, so it writes nothing.
func attackReplay(t *testing.T, f *attackFixture, ev *evidence) {
	id := enrollHost(t, network.Provider, "atk-replay", network.EnrollOptions{})
	ensureRegistered(t, network.Provider, id.Host)
	gw := connectGateway(t, id)
	c := e2lContract(gw)
	chain := newRecordChain(id.Host)
	first := chain.next(t, 1)
	st := submitValid(t, c, "RecordEvents", batchJSON(t, first))
	env := envelopeOf(t, parseBlockTx(t, qsccBlock(t, gw, st.BlockNumber), st.TransactionID))

	// The Developer org's orderer is asked to order it again.
	resp := broadcast(t, testNet.Orderers()[1], env)
	if resp.GetStatus() != common.Status_SUCCESS {
		requireChain(t, c, id.Host, "ProviderMSP", badIDs(first))
		ev.set("the orderer refused the replay: %s %s", resp.GetStatus(), resp.GetInfo())
		return
	}
	var found string
	eventually(t, time.Minute, 250*time.Millisecond, func() error {
		h := qsccHeight(t, gw)
		for n := st.BlockNumber + 1; n < h; n++ {
			b := parseBlock(t, qsccBlock(t, gw, n))
			for _, tx := range b.Txs {
				if tx.ID != st.TransactionID {
					continue
				}
				if tx.Code != peer.TxValidationCode_DUPLICATE_TXID {
					t.Fatalf("the replay of %s was committed in block %d as %s, want DUPLICATE_TXID", tx.ID, n, tx.Code)
				}
				found = fmt.Sprintf("replay of %s ordered in block %d and invalidated %s", tx.ID, n, tx.Code)
				return nil
			}
		}
		return fmt.Errorf("the replay of %s is in none of blocks %d..%d", st.TransactionID, st.BlockNumber+1, h-1)
	})
	requireChain(t, c, id.Host, "ProviderMSP", badIDs(first))
	next := chain.next(t, 1)
	submitRecords(t, c, next)
	requireChain(t, c, id.Host, "ProviderMSP", append(badIDs(first), next.Records[0].ID))
	ev.set("%s (the orderer does not de-duplicate, the peers do); chain unchanged, the host's next record commits", found)
}

// parseBlockTx returns the raw envelope of a transaction of a raw block.
func parseBlockTx(t *testing.T, raw []byte, txID string) []byte {
	t.Helper()
	for _, tx := range parseBlock(t, raw).Txs {
		if tx.ID == txID {
			return tx.Envelope
		}
	}
	t.Fatalf("transaction %s is not in the block", txID)
	return nil
}

func envelopeOf(t *testing.T, raw []byte) *common.Envelope {
	t.Helper()
	var env common.Envelope
	if err := proto.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	return &env
}

// broadcast sends one envelope to an orderer's Broadcast service over TLS
// and returns its answer.
func broadcast(t *testing.T, o network.OrdererInfo, env *common.Envelope) *orderer.BroadcastResponse {
	t.Helper()
	conn, err := fabricconn.Dial(fabricconn.Config{Endpoint: o.Endpoint, TLSRootCAFile: o.TLSCAPath})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := orderer.NewAtomicBroadcastClient(conn).Broadcast(t.Context())
	if err != nil {
		t.Fatalf("broadcast to %s: %v", o.Endpoint, err)
	}
	if err := stream.Send(env); err != nil {
		t.Fatalf("broadcast to %s: %v", o.Endpoint, err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("broadcast to %s: %v", o.Endpoint, err)
	}
	_ = stream.CloseSend()
	t.Logf("orderer %s answered the replay: %s %s", o.Endpoint, resp.GetStatus(), resp.GetInfo())
	return resp
}
