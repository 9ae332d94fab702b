package indexer

import (
	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
)

// recordRow derives the index's row of a written record. A record that does
// not decode keeps what its stored value claims (host, seq); the run's
// verification reports it.
func recordRow(w audit.WrittenRecord, block uint64) index.Record {
	st := w.Stored
	row := index.Record{
		ID: st.ID, Hash: st.Hash, MSP: st.MSP, CertSHA256: st.CertSHA256, TxID: st.TxID, TxTime: st.TxTime,
		Block: block, Stored: w.Raw,
	}
	if w.Tx != nil {
		row.TxIndex = w.Tx.Index
	}
	r, err := st.Decoded()
	if err != nil {
		row.Host, row.Seq = st.Claimed()
		row.Kind = "undecodable"
		return row
	}
	row.Host, row.Seq, row.PrevHash, row.Kind, row.Time = r.Host, r.Seq, r.Prev, string(r.Kind), r.Time
	switch r.Kind {
	case record.KindEvent:
		e := r.Event
		row.EventID, row.Scope, row.Type, row.Action, row.Actor = r.EventID(), e.Scope, e.Type, e.Action, e.Actor
		row.Name = e.Attrs.Name
		row.Service = e.Attrs.ServiceName
		if e.Type == "service" && row.Service == "" {
			row.Service = e.Attrs.Name
		}
		row.Actors = []string{e.Actor}
	case record.KindSnapshot:
		for _, c := range r.Snapshot.Containers {
			row.Actors = append(row.Actors, c.ID)
		}
	}
	return row
}

// blockRow is the index's row of a block, without its digest and root.
func blockRow(b *audit.Block, records int, keepRaw bool) index.Block {
	h := b.Block.GetHeader()
	row := index.Block{
		Number: b.Number, HeaderHash: audit.HeaderHash(h), PrevHash: h.GetPreviousHash(), DataHash: h.GetDataHash(),
		Txs: len(b.Block.GetData().GetData()), Records: records, Config: isConfig(b),
	}
	if keepRaw || row.Config {
		row.Raw = b.Raw
	}
	return row
}

// isConfig says whether b is a configuration block.
func isConfig(b *audit.Block) bool {
	for _, tx := range b.Txs {
		if tx != nil && tx.Type == common.HeaderType_CONFIG {
			return true
		}
	}
	return false
}

// Rows returns the index's rows of a block as the ledger holds it: the
// records and registry entries its VALID transactions of chaincode wrote,
// in ledger order. verify compares them with the index's rows.
func Rows(b *audit.Block, chaincode string) ([]index.Record, []index.Host) {
	recs, hosts, _ := audit.Writes(b, chaincode)
	out := make([]index.Record, 0, len(recs))
	for _, w := range recs {
		out = append(out, recordRow(w, b.Number))
	}
	hs := make([]index.Host, 0, len(hosts))
	for _, h := range hosts {
		hs = append(hs, hostRow(h))
	}
	return out, hs
}

func hostRow(h audit.WrittenHost) index.Host {
	return index.Host{Host: h.Entry.Host, MSP: h.Entry.MSP, SwarmRole: h.Entry.SwarmRole, TxID: h.Tx.ID, Block: h.Tx.Block, Entry: h.Raw}
}
