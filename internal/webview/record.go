package webview

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"

	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/proof"
)

// Endorser is an identity that endorsed a record's transaction.
type Endorser struct {
	MSP     string `json:"msp"`
	Subject string `json:"subject"`
}

// RecordPage is one record: as stored, its transaction and block, the
// organisations that endorsed it, and what verification says of it.
type RecordPage struct {
	Record    index.Record
	Stored    string // the stored value, indented
	Block     *index.Block
	Sealed    string // "" when the record's hash and ID verify, else why not
	Findings  []index.Finding
	Endorsers []Endorser `json:"endorsers,omitempty"`
	// LedgerNote says why the endorsers are not shown (no ledger, or it
	// could not be read).
	LedgerNote string         `json:"ledgerNote,omitempty"`
	Receipts   bool           // a receipt can be downloaded
	Others     []index.Record `json:"-"` // more records with this ID (one event at two seqs)
}

func (p RecordPage) PageTitle() string { return "Record " + p.Record.ID[:min(12, len(p.Record.ID))] }

// lookup finds the record named by an ID or a unique prefix of it.
func (s *Server) lookup(ctx context.Context, id string) ([]index.Record, error) {
	id = strings.ToLower(id)
	if len(id) < 4 || len(id) > 64 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, badRequest("record ID %q: want its hex digits, at least 4", id)
	}
	recs, err := s.st.RecordsByPrefix(ctx, id, 20)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no record ID starts with %s: %w", id, errNotFound)
	}
	for _, r := range recs[1:] {
		if r.ID != recs[0].ID {
			return nil, badRequest("record ID prefix %s is ambiguous: %s, %s, …", id, recs[0].ID, r.ID)
		}
	}
	return recs, nil
}

func (s *Server) recordPage(r *http.Request) (any, error) {
	ctx := r.Context()
	recs, err := s.lookup(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	rec := recs[0]
	if h := r.URL.Query().Get("host"); h != "" {
		for _, o := range recs {
			if o.Host == h {
				rec = o
			}
		}
	}
	page := RecordPage{Record: rec, Receipts: s.opt.Ledger != nil}
	for _, o := range recs {
		if o.Host != rec.Host || o.Seq != rec.Seq {
			page.Others = append(page.Others, o)
		}
	}
	var ind bytes.Buffer
	if json.Indent(&ind, rec.Stored, "", "  ") == nil {
		page.Stored = ind.String()
	}
	var st audit.Stored
	if err := json.Unmarshal(rec.Stored, &st); err != nil {
		page.Sealed = err.Error()
	} else if _, err := st.Sealed(); err != nil {
		page.Sealed = err.Error()
	}
	if err := s.st.Blocks(ctx, rec.Block, rec.Block, func(b index.Block) error { page.Block = &b; return nil }); err != nil {
		return nil, err
	}
	fs, err := s.st.HostFindings(ctx, rec.Host, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.RecordID == rec.ID || (f.TxID == rec.TxID && f.RecordID == "") {
			page.Findings = append(page.Findings, f)
		}
	}
	page.Endorsers, page.LedgerNote = s.endorsers(ctx, rec.TxID)
	return page, nil
}

// endorsers reads the transaction's block from the ledger (the index keeps
// only some blocks whole) and lists who endorsed it.
func (s *Server) endorsers(ctx context.Context, txID string) ([]Endorser, string) {
	if s.opt.Ledger == nil {
		return nil, "the view has no connection to the ledger: endorsements and receipts need the transaction's block"
	}
	raw, err := s.opt.Ledger.BlockByTxID(ctx, txID)
	if err != nil {
		return nil, "the transaction's block could not be read from the ledger: " + err.Error()
	}
	b, err := audit.ParseBlock(raw)
	if err != nil {
		return nil, err.Error()
	}
	var out []Endorser
	for _, tx := range b.Txs {
		if tx == nil || tx.ID != txID {
			continue
		}
		for _, e := range tx.Endorsements {
			var id mspproto.SerializedIdentity
			if proto.Unmarshal(e.GetEndorser(), &id) != nil {
				continue
			}
			en := Endorser{MSP: id.GetMspid()}
			if p, _ := pem.Decode(id.GetIdBytes()); p != nil {
				if c, err := x509.ParseCertificate(p.Bytes); err == nil {
					en.Subject = c.Subject.String()
				}
			}
			out = append(out, en)
		}
	}
	return out, ""
}

// receipt serves the record's receipt, made from the ledger and verified
// against the trust anchor first: what e2l verify-receipt checks offline.
func (s *Server) receipt(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.opt.Ledger == nil {
		s.fail(w, r, fmt.Errorf("receipts need the ledger, and this view has no connection to it: %w", errNotFound))
		return
	}
	recs, err := s.lookup(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var st audit.Stored
	if err := json.Unmarshal(recs[0].Stored, &st); err != nil {
		s.fail(w, r, err)
		return
	}
	rc, rep, err := proof.Receipt(ctx, s.opt.Ledger, s.opt.Channel, s.opt.Chaincode, s.opt.Anchor, st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rep.Failed() {
		s.fail(w, r, fmt.Errorf("the receipt does not verify against the trust anchor: %v", rep.Findings))
		return
	}
	var b bytes.Buffer
	if err := audit.WriteReceipt(&b, rc); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="receipt-%s.json"`, st.ID[:min(12, len(st.ID))]))
	_, _ = w.Write(b.Bytes())
}
