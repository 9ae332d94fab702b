package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/network"
)

// connectHost connects to the Gateway of an enrolled host's own
// organisation's peer, as that host.
func connectHost(id network.HostIdentity) (*fabricconn.Conn, error) {
	host, err := signer.Load(id.CertPath, id.KeyPath, id.MSPID)
	if err != nil {
		return nil, err
	}
	endpoint, _, _ := strings.Cut(id.Lookup("E2L_PEER_ENDPOINTS"), ",")
	return fabricconn.Connect(fabricconn.Config{
		Endpoint: endpoint, TLSRootCAFile: id.Lookup("E2L_PEER_TLS_CA"), ID: host.X509, Sign: host.Sign,
		Timeouts: fabricconn.Timeouts{Evaluate: 30 * time.Second, Endorse: 30 * time.Second, Submit: 30 * time.Second, CommitStatus: 2 * time.Minute},
	})
}

// e2lContract is the e2l chaincode on the e2l channel.
func e2lContract(g *fabricconn.Conn) *client.Contract {
	return g.Contract(network.ChannelName, network.ChaincodeName)
}

// committed is one record seen in a VALID RecordEvents transaction of a
// delivered block.
type committed struct {
	Host string
	Seq  uint64
	Kind record.Kind
	Time int64 // record.Time, unix ns
	// Event identity, for comparing with Docker's ground truth.
	Type, Action, Actor string
	TimeNano            int64
	Seen                time.Time // when the block reached the listener
}

// ledgerWatch follows the channel's blocks and keeps every committed record
// by host, once: a record submitted again (after a timeout, say) is in a
// VALID transaction too, but the chaincode answers it "duplicate" and
// writes nothing, so a seq already seen is not counted again. (Two records
// of one event at different seqs would be a real duplicate: they are kept.)
type ledgerWatch struct {
	mu     sync.Mutex
	byHost map[string][]committed
	seqs   map[string]map[uint64]bool
	blocks uint64
	errs   []error
	notify chan struct{}
}

// watchLedger listens to blocks from the next one on until ctx ends.
func watchLedger(ctx context.Context, g *fabricconn.Conn) (*ledgerWatch, error) {
	blocks, err := g.Gateway.GetNetwork(network.ChannelName).BlockEvents(ctx)
	if err != nil {
		return nil, fmt.Errorf("block events: %w", err)
	}
	w := newLedgerWatch()
	go func() {
		for b := range blocks {
			seen := time.Now()
			recs, err := blockRecords(b)
			w.add(seen, recs, err)
		}
	}()
	return w, nil
}

func newLedgerWatch() *ledgerWatch {
	return &ledgerWatch{byHost: map[string][]committed{}, seqs: map[string]map[uint64]bool{}, notify: make(chan struct{}, 1)}
}

// add keeps a block's records, seen at seen, each (host, seq) once.
func (w *ledgerWatch) add(seen time.Time, recs []committed, err error) {
	w.mu.Lock()
	w.blocks++
	if err != nil && len(w.errs) < 10 {
		w.errs = append(w.errs, err)
	}
	for _, r := range recs {
		if w.seqs[r.Host] == nil {
			w.seqs[r.Host] = map[uint64]bool{}
		}
		if w.seqs[r.Host][r.Seq] {
			continue
		}
		w.seqs[r.Host][r.Seq] = true
		r.Seen = seen
		w.byHost[r.Host] = append(w.byHost[r.Host], r)
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// host returns the records of host committed so far.
func (w *ledgerWatch) host(h string) []committed {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]committed(nil), w.byHost[h]...)
}

// count returns how many records of host committed, by kind (all kinds for "").
func (w *ledgerWatch) count(h string, k record.Kind) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.byHost[h] {
		if k == "" || c.Kind == k {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds, for at most timeout; it reports whether it held.
func (w *ledgerWatch) waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-w.notify:
		case <-poll.C:
		}
	}
	return true
}

// batchArg is the part of a record.Batch the bench reads.
type batchArg struct {
	Records []struct {
		Record struct {
			Kind  record.Kind `json:"kind"`
			Host  string      `json:"host"`
			Seq   uint64      `json:"seq"`
			Time  int64       `json:"time"`
			Event *struct {
				Type     string `json:"type"`
				Action   string `json:"action"`
				Actor    string `json:"actor"`
				TimeNano int64  `json:"timeNano"`
			} `json:"event"`
		} `json:"record"`
	} `json:"records"`
}

// blockRecords returns the records of the block's VALID RecordEvents transactions.
func blockRecords(b *common.Block) ([]committed, error) {
	var filter []byte
	if md := b.GetMetadata().GetMetadata(); len(md) > int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		filter = md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
	}
	var out []committed
	var errs []error
	for i, data := range b.GetData().GetData() {
		if i >= len(filter) || peer.TxValidationCode(filter[i]) != peer.TxValidationCode_VALID {
			continue
		}
		args, err := txArgs(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("block %d tx %d: %w", b.GetHeader().GetNumber(), i, err))
			continue
		}
		if len(args) != 2 || !strings.HasSuffix(string(args[0]), "RecordEvents") {
			continue
		}
		var batch batchArg
		if err := json.Unmarshal(args[1], &batch); err != nil {
			errs = append(errs, fmt.Errorf("block %d tx %d: batch: %w", b.GetHeader().GetNumber(), i, err))
			continue
		}
		for _, r := range batch.Records {
			c := committed{Host: r.Record.Host, Seq: r.Record.Seq, Kind: r.Record.Kind, Time: r.Record.Time}
			if r.Record.Event != nil {
				c.Type, c.Action, c.Actor, c.TimeNano = r.Record.Event.Type, r.Record.Event.Action, r.Record.Event.Actor, r.Record.Event.TimeNano
			}
			out = append(out, c)
		}
	}
	return out, errors.Join(errs...)
}

// txArgs returns the chaincode arguments of an endorser transaction
// envelope (nil for other transaction types).
func txArgs(envelope []byte) ([][]byte, error) {
	var env common.Envelope
	if err := proto.Unmarshal(envelope, &env); err != nil {
		return nil, err
	}
	var payload common.Payload
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		return nil, err
	}
	var ch common.ChannelHeader
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch); err != nil {
		return nil, err
	}
	if common.HeaderType(ch.GetType()) != common.HeaderType_ENDORSER_TRANSACTION {
		return nil, nil
	}
	var tx peer.Transaction
	if err := proto.Unmarshal(payload.GetData(), &tx); err != nil {
		return nil, err
	}
	if len(tx.GetActions()) == 0 {
		return nil, nil
	}
	var cap peer.ChaincodeActionPayload
	if err := proto.Unmarshal(tx.GetActions()[0].GetPayload(), &cap); err != nil {
		return nil, err
	}
	var cpp peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(cap.GetChaincodeProposalPayload(), &cpp); err != nil {
		return nil, err
	}
	var cis peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(cpp.GetInput(), &cis); err != nil {
		return nil, err
	}
	return cis.GetChaincodeSpec().GetInput().GetArgs(), nil
}
