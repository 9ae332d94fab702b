package query

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/wire"
)

// testBlock is a block numbered n holding transactions with these IDs
// (envelopes with a channel header only), naming configuration block 0.
func testBlock(t *testing.T, n uint64, txIDs ...string) []byte {
	t.Helper()
	m := func(msg proto.Message) []byte {
		b, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := &common.Block{Header: &common.BlockHeader{Number: n}, Data: &common.BlockData{},
		Metadata: &common.BlockMetadata{Metadata: [][]byte{m(&common.Metadata{Value: m(&common.OrdererBlockMetadata{LastConfig: &common.LastConfig{Index: 0}})})}}}
	for _, id := range txIDs {
		b.Data.Data = append(b.Data.Data, m(&common.Envelope{Payload: m(&common.Payload{Header: &common.Header{
			ChannelHeader: m(&common.ChannelHeader{TxId: id, ChannelId: "e2l", Type: int32(common.HeaderType_ENDORSER_TRANSACTION)})}})}))
	}
	return m(b)
}

func TestArchiveHoldsTheRegistryOfItsHostsAndTheBlocksOfTheirHistory(t *testing.T) {
	stored := func(id, host string, seq uint64, tx string) audit.Stored {
		return audit.Stored{ID: id, Record: json.RawMessage(fmt.Sprintf(`{"host":%q,"seq":%d}`, host, seq)), TxID: tx}
	}
	recs := []audit.Stored{stored("r1", "h1", 1, "tx1"), stored("r2", "h1", 2, "tx1b"), stored("r3", "h1", 3, "tx2")}
	regH1 := wire.HostRegistration{Host: "h1", MSP: "ProviderMSP", SwarmRole: "manager", TxID: "role1",
		History: []wire.HostOwnership{{MSP: "ProviderMSP", SwarmRole: "worker", TxID: "reg1", Action: "register"},
			{MSP: "ProviderMSP", SwarmRole: "manager", TxID: "role1", Action: "role"}}}
	regH2 := wire.HostRegistration{Host: "h2", MSP: "UserMSP", SwarmRole: "worker", TxID: "reg2",
		History: []wire.HostOwnership{{MSP: "UserMSP", SwarmRole: "worker", TxID: "reg2", Action: "register"}}}
	blocks := map[string][]byte{ // by transaction
		"reg1": testBlock(t, 2, "reg1", "reg2"), "tx1": testBlock(t, 3, "tx1", "tx1b"), "tx1b": testBlock(t, 3, "tx1", "tx1b"),
		"tx2": testBlock(t, 4, "tx2", "role1"), "role1": testBlock(t, 4, "tx2", "role1"),
	}
	info, err := proto.Marshal(&common.BlockchainInfo{Height: 5})
	if err != nil {
		t.Fatal(err)
	}
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := &fakePeer{answer: func(c call) ([]byte, error) {
		switch c.fn {
		case "QueryChain":
			return mustJSON(page{Records: recs}), nil
		case "ListRegistry":
			return mustJSON(wire.RegistryPage{Hosts: []wire.HostRegistration{regH1, regH2}}), nil
		case "GetBlockByTxID":
			if b, ok := blocks[c.args[1]]; ok {
				return b, nil
			}
		case "GetChainInfo":
			return info, nil
		case "GetBlockByNumber":
			switch c.args[1] {
			case "4":
				return blocks["tx2"], nil
			case "0":
				return testBlock(t, 0, "genesis"), nil
			}
		}
		return nil, status.Errorf(codes.Unknown, "unexpected call %s", c)
	}}
	a, err := newTestClient(p).Archive(t.Context(), Selection{}, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Hosts) != 1 || a.Hosts[0].Host != "h1" || len(a.Hosts[0].History) != 2 {
		t.Errorf("archive hosts %+v, want h1's entry alone (h2 wrote none of its records)", a.Hosts)
	}
	var nums []uint64
	for _, raw := range a.Blocks {
		b, err := audit.ParseBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		nums = append(nums, b.Number)
	}
	if want := []uint64{3, 4, 2}; !slices.Equal(nums, want) {
		t.Errorf("archive blocks %v, want %v: the records' blocks, then the registry history's, each once", nums, want)
	}
	var byTx []string
	for _, c := range p.calls {
		if c.fn == "GetBlockByTxID" {
			byTx = append(byTx, c.args[1])
		}
	}
	if want := []string{"tx1", "tx2", "reg1"}; !slices.Equal(byTx, want) {
		t.Errorf("blocks fetched for %v, want %v: a transaction of a block already fetched is not asked again", byTx, want)
	}
	if len(a.ConfigBlocks) != 1 {
		t.Errorf("archive has %d configuration blocks, want the genesis block", len(a.ConfigBlocks))
	}
}
