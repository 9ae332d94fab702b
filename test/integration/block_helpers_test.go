//go:build integration

package integration

import (
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

// endorserTx is one endorser transaction of a block, decoded down to its
// chaincode action payload for a test to alter (a forged archive) and to
// encode back into the block.
type endorserTx struct {
	index   int // its position in the block's data
	env     common.Envelope
	payload common.Payload
	ptx     peer.Transaction
	action  peer.ChaincodeActionPayload
}

// findEndorserTx decodes transaction txID of b; ok is false when b does not
// hold it.
func findEndorserTx(t *testing.T, b *common.Block, txID string) (tx *endorserTx, ok bool) {
	t.Helper()
	for di, data := range b.Data.Data {
		e := &endorserTx{index: di}
		var chdr common.ChannelHeader
		if proto.Unmarshal(data, &e.env) != nil || proto.Unmarshal(e.env.Payload, &e.payload) != nil ||
			proto.Unmarshal(e.payload.Header.ChannelHeader, &chdr) != nil || chdr.TxId != txID {
			continue
		}
		if err := proto.Unmarshal(e.payload.Data, &e.ptx); err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(e.ptx.Actions[0].Payload, &e.action); err != nil {
			t.Fatal(err)
		}
		return e, true
	}
	return nil, false
}

// store encodes the altered action back into b's data entry; sign, when
// set, signs the new envelope payload as the creator (else the old
// signature stays, and no longer verifies).
func (e *endorserTx) store(t *testing.T, b *common.Block, sign func(msg []byte) []byte) {
	t.Helper()
	e.ptx.Actions[0].Payload = mustProto(t, &e.action)
	e.payload.Data = mustProto(t, &e.ptx)
	e.env.Payload = mustProto(t, &e.payload)
	if sign != nil {
		e.env.Signature = sign(e.env.Payload)
	}
	b.Data.Data[e.index] = mustProto(t, &e.env)
}
