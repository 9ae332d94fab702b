package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// ReceiptVersion is the version of the receipt format.
const ReceiptVersion = 1

// Receipt is a self-contained proof that one record is on the ledger: the
// stored record, the transaction that wrote it (its envelope, with the
// creator's signature and the endorsements), the block that holds it
// (header, data, orderer signatures in its metadata) and the channel
// configuration block the block was ordered under (its LAST_CONFIG), with
// the organisations' and orderers' CA roots of that time.
// VerifyReceipt checks it with no network.
type Receipt struct {
	Version     int      `json:"version"`
	Channel     string   `json:"channel"`
	Chaincode   string   `json:"chaincode"`
	Record      Stored   `json:"record"`
	TxID        string   `json:"txId"`
	BlockNumber uint64   `json:"blockNumber"`
	TxIndex     int      `json:"txIndex"`
	Envelope    []byte   `json:"envelope"` // the transaction envelope, equal to the block's data entry TxIndex
	Block       []byte   `json:"block"`
	ConfigBlock []byte   `json:"configBlock"`
	Roots       []string `json:"roots"` // Trust.Fingerprints of the configuration block, for reading
}

// NewReceipt assembles a receipt for st from the raw block holding its
// transaction and the configuration block, and verifies it.
func NewReceipt(channel, chaincode string, st Stored, block, configBlock []byte) (*Receipt, *Report, error) {
	b, err := ParseBlock(block)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ParseBlock(configBlock)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration block: %w", err)
	}
	trust, err := TrustFromConfigBlock(cfg)
	if err != nil {
		return nil, nil, err
	}
	r := &Receipt{Version: ReceiptVersion, Channel: channel, Chaincode: chaincode, Record: st, TxID: st.TxID,
		BlockNumber: b.Number, TxIndex: -1, Block: block, ConfigBlock: configBlock, Roots: trust.Fingerprints()}
	for _, tx := range b.Txs {
		if tx.ID == st.TxID {
			r.TxIndex, r.Envelope = tx.Index, tx.Envelope
		}
	}
	if r.TxIndex < 0 {
		return nil, nil, fmt.Errorf("block %d does not hold transaction %s", b.Number, st.TxID)
	}
	return r, VerifyReceipt(r, ReceiptOptions{}), nil
}

// WriteReceipt writes r as JSON. It is not indented: encoding/json would
// re-indent the record's canonical bytes too.
func WriteReceipt(w io.Writer, r *Receipt) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write receipt: %w", err)
	}
	return nil
}

// ReadReceipt reads a receipt WriteReceipt wrote.
func ReadReceipt(rd io.Reader) (*Receipt, error) {
	var r Receipt
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("read receipt: %w", err)
	}
	if r.Version != ReceiptVersion {
		return nil, fmt.Errorf("read receipt: version %d is not supported (want %d)", r.Version, ReceiptVersion)
	}
	return &r, nil
}

// ReceiptOptions configure VerifyReceipt.
type ReceiptOptions struct {
	Tx TxOptions
	// TrustedConfigBlock, when set, is a configuration block obtained from a
	// trusted source: the receipt's must be the same block. Otherwise the
	// receipt's own configuration block is the trust anchor, and the caller
	// should show Trust.Fingerprints to be compared out of band.
	TrustedConfigBlock []byte
	// Anchor: as VerifyOptions.Anchor.
	Anchor string
}

// VerifyReceipt checks a receipt offline: the record's canonical encoding,
// ID and hash; that the record is in the RecordEvents argument of its
// transaction; that the transaction is VALID in the block's metadata, signed
// by the identity bound to the record's host, endorsed by enough
// organisations with valid signatures; that the block's data hash matches
// its header and that an orderer organisation signed the block; all against
// the CA roots of the configuration block.
func VerifyReceipt(r *Receipt, opt ReceiptOptions) *Report {
	rep := &Report{Records: 1, Hosts: 1, Transactions: 1, Blocks: 1}
	st := r.Record
	fail := func(format string, args ...any) { rep.add(about(Error, st, format, args...)) }
	if opt.Tx.Channel == "" {
		opt.Tx.Channel = r.Channel
	}
	if opt.Tx.Chaincode == "" {
		opt.Tx.Chaincode = r.Chaincode
	}
	if opt.TrustedConfigBlock != nil && !bytes.Equal(opt.TrustedConfigBlock, r.ConfigBlock) {
		fail("the receipt's configuration block is not the trusted one")
	}
	cfg, err := ParseBlock(r.ConfigBlock)
	var trust *Trust
	if err == nil {
		trust, err = TrustFromConfigBlock(cfg)
	}
	if err != nil {
		fail("configuration block: %v", err)
		return rep
	}
	if !slices.Equal(trust.Fingerprints(), r.Roots) {
		fail("the roots listed in the receipt are not those of its configuration block")
	}
	if _, err := st.Sealed(); err != nil {
		fail("altered: %v", err)
	}
	if r.TxID != st.TxID {
		fail("the receipt is for transaction %s, the record names %s", r.TxID, st.TxID)
	}
	b, err := ParseBlock(r.Block)
	if err != nil {
		fail("block: %v", err)
		return rep
	}
	if b.Number != r.BlockNumber {
		fail("the block is number %d, the receipt says %d", b.Number, r.BlockNumber)
	}
	if n, err := LastConfig(b.Block); err != nil {
		fail("block %d: %v", b.Number, err)
	} else if n != cfg.Number {
		fail("block %d was ordered under configuration block %d, the receipt carries configuration block %d", b.Number, n, cfg.Number)
	}
	if r.TxIndex < 0 || r.TxIndex >= len(b.Txs) {
		fail("transaction index %d is outside block %d", r.TxIndex, b.Number)
		return rep
	}
	tx := b.Txs[r.TxIndex]
	if !bytes.Equal(tx.Envelope, r.Envelope) {
		fail("the receipt's envelope is not the block's entry %d", r.TxIndex)
	}
	if tx.ID != st.TxID {
		fail("entry %d of block %d is transaction %s, not %s", r.TxIndex, b.Number, tx.ID, st.TxID)
	}
	for _, p := range txProblems(tx, trust, opt.Tx) {
		fail("%s", p)
	}
	for _, p := range recordProblems(tx, st) {
		fail("%s", p)
	}
	for _, p := range blockProblems(b, trust) {
		fail("%s", p)
	}
	return rep
}

// ReceiptSummary describes a verified receipt for people.
func ReceiptSummary(r *Receipt) []string {
	host, seq := r.Record.Claimed()
	out := []string{
		fmt.Sprintf("record   %s (host %s seq %d)", r.Record.ID, host, seq),
		fmt.Sprintf("tx       %s in block %d at index %d, %s", r.TxID, r.BlockNumber, r.TxIndex, time.Unix(0, r.Record.TxTime).UTC().Format(time.RFC3339)),
	}
	if b, err := ParseBlock(r.Block); err == nil && r.TxIndex >= 0 && r.TxIndex < len(b.Txs) {
		tx := b.Txs[r.TxIndex]
		out = append(out, fmt.Sprintf("creator  %s %s", tx.Creator.MSP, tx.Creator.Cert.Subject.CommonName))
		for _, e := range tx.Endorsements {
			if id, err := parseIdentity(e.GetEndorser()); err == nil {
				out = append(out, fmt.Sprintf("endorser %s %s", id.MSP, id.Cert.Subject.CommonName))
			}
		}
	}
	for _, f := range r.Roots {
		out = append(out, "trusted  "+f)
	}
	return out
}
