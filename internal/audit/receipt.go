package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"
)

// ReceiptVersion is the version of the receipt format written. Version 2
// adds the configuration history from the genesis block (ConfigBlocks), so
// that a receipt can be matched with a trust anchor; version 1 is still
// read.
const ReceiptVersion = 2

// Receipt is a self-contained proof that one record is on the ledger: the
// stored record, the transaction that wrote it (its envelope, with the
// creator's signature and the endorsements), the block that holds it
// (header, data, orderer signatures in its metadata), the channel
// configuration block the block was ordered under (its LAST_CONFIG), with
// the organisations' and orderers' CA roots of that time, and the
// configuration blocks from the genesis block up to it.
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
	// ConfigBlocks are the channel's configuration blocks up to the
	// block's, the genesis block first (version 2): the genesis block is
	// what a trust anchor is compared with, each later one is checked under
	// the one before, and every pair of consecutive blocks (these and
	// Block) must be linked.
	ConfigBlocks [][]byte `json:"configBlocks,omitempty"`
}

// NewReceipt assembles a receipt for st from the raw block holding its
// transaction and configuration blocks: the one the block names (its
// LAST_CONFIG) and, to anchor the receipt, every one from the genesis
// block up to it (those after the block are left out). It verifies the
// receipt with its own genesis block as the anchor: the caller, who
// fetched the blocks from a network it chose, compares that one with its
// pinned anchor.
func NewReceipt(channel, chaincode string, st Stored, block []byte, configBlocks ...[]byte) (*Receipt, *Report, error) {
	b, err := ParseBlock(block)
	if err != nil {
		return nil, nil, err
	}
	if len(configBlocks) == 0 {
		return nil, nil, fmt.Errorf("receipt: no configuration block")
	}
	named, err := LastConfig(b.Block)
	if err != nil {
		return nil, nil, err
	}
	var cfgs []*Block
	for i, raw := range configBlocks {
		c, err := ParseBlock(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("configuration block %d: %w", i, err)
		}
		if c.Number <= b.Number {
			cfgs = append(cfgs, c)
		}
	}
	sort.Slice(cfgs, func(i, j int) bool { return cfgs[i].Number < cfgs[j].Number })
	if len(cfgs) == 0 {
		return nil, nil, fmt.Errorf("receipt: no configuration block before block %d", b.Number)
	}
	config := cfgs[len(cfgs)-1]
	for _, c := range cfgs {
		if c.Number == named {
			config = c
		}
	}
	trust, err := TrustFromConfigBlock(config)
	if err != nil {
		return nil, nil, err
	}
	r := &Receipt{Version: ReceiptVersion, Channel: channel, Chaincode: chaincode, Record: st, TxID: st.TxID,
		BlockNumber: b.Number, TxIndex: -1, Block: block, ConfigBlock: config.Raw, Roots: trust.Fingerprints()}
	for _, c := range cfgs {
		r.ConfigBlocks = append(r.ConfigBlocks, c.Raw)
	}
	for _, tx := range b.Txs {
		if tx.ID == st.TxID {
			r.TxIndex, r.Envelope = tx.Index, tx.Envelope
		}
	}
	if r.TxIndex < 0 {
		return nil, nil, fmt.Errorf("block %d does not hold transaction %s", b.Number, st.TxID)
	}
	return r, VerifyReceipt(r, ReceiptOptions{selfAnchored: true}), nil
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
	if r.Version < 1 || r.Version > ReceiptVersion {
		return nil, fmt.Errorf("read receipt: version %d is not supported (want 1 to %d)", r.Version, ReceiptVersion)
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
	// Anchor: as VerifyOptions.Anchor, compared with the genesis block of
	// ConfigBlocks.
	Anchor string
	// selfAnchored: the receipt's own genesis block is the anchor (a
	// receipt just made from a network the caller chose).
	selfAnchored bool
}

// VerifyReceipt checks a receipt offline: the record's canonical encoding,
// ID and hash; that the record is in the RecordEvents argument of its
// transaction and that the transaction wrote it; that the transaction is
// VALID in the block's metadata, signed by the identity bound to the
// record's host, endorsed by enough organisations with valid signatures;
// that the block's data hash matches its header and that an orderer
// organisation signed the block; all against the CA roots of the
// configuration block the block names, which must come before it. The
// configuration history from the genesis block (version 2) is checked like
// an archive's, consecutive blocks' links are checked, and the genesis
// block must be the trust anchor.
//
// A receipt proves the block's place only as far as it can: its
// configuration is named by the block and held, and the blocks it holds
// are linked where consecutive. What lies between the configuration block
// and the block is not in it.
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
	configs, genesis, why := receiptConfigs(r, cfg, fail)
	switch {
	case !opt.selfAnchored:
		rep.add(anchorFinding(opt.Anchor, genesis, why))
	case genesis == "":
		rep.add(Finding{Severity: Warning, Problem: fmt.Sprintf("the receipt holds no genesis block (%s): it cannot be matched with a trust anchor", why)})
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
	set := NewBlockSet(BlockGroup{"configuration block", r.ConfigBlocks}, BlockGroup{"configuration block", [][]byte{r.ConfigBlock}}, BlockGroup{"block", [][]byte{r.Block}})
	for _, p := range set.Problems {
		fail("%s", p)
	}
	switch n, err := LastConfig(b.Block); {
	case err != nil:
		fail("block %d: %v", b.Number, err)
	case n != cfg.Number:
		fail("block %d was ordered under configuration block %d, the receipt carries configuration block %d", b.Number, n, cfg.Number)
	case n > b.Number:
		fail("block %d names configuration block %d, which comes after it", b.Number, n)
	case configs != nil:
		if t, err := configs.For(b); err != nil {
			fail("%v", err)
		} else {
			trust = t
		}
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
	for _, p := range recordWriteProblems(tx, st, newRWSets(orDefault(opt.Tx.Chaincode, "e2l"))) {
		fail("%s", p)
	}
	for _, p := range blockProblems(b, trust) {
		fail("%s", p)
	}
	return rep
}

// receiptConfigs checks a version 2 receipt's configuration history (when
// it holds the genesis block) and returns it with the genesis header hash;
// otherwise nil, the genesis hash when the one configuration block is the
// genesis block, and why the receipt cannot be anchored.
func receiptConfigs(r *Receipt, cfg *Block, fail func(string, ...any)) (*Configs, string, string) {
	hasGenesis := false
	for _, raw := range r.ConfigBlocks {
		if b, err := ParseBlock(raw); err == nil && b.Number == 0 {
			hasGenesis = true
		}
	}
	if !hasGenesis {
		return nil, genesisOf(r.ConfigBlock), fmt.Sprintf("the receipt holds only configuration block %d", cfg.Number)
	}
	configs, problems := CheckConfigs(r.ConfigBlocks)
	for _, p := range problems {
		fail("configuration: %s", p)
	}
	if configs == nil {
		return nil, "", "its configuration history does not verify"
	}
	held := false
	for _, n := range configs.Numbers {
		held = held || n == cfg.Number
	}
	if !held {
		fail("the receipt's configuration block %d is not in its configuration history", cfg.Number)
	}
	return configs, configs.Genesis, ""
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
