package audit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/signer"
)

// TxOptions say what a record's transaction must look like.
//
// The endorsement policy is the channel's own: e2l's chaincode is deployed
// with the channel's default (no --signature-policy), so Fabric validated
// each transaction against /Channel/Application/Endorsement of the
// configuration its block was ordered under (on e2l's network MAJORITY
// Endorsement, each org's Endorsement being OR('<org>.peer')), and that is
// what txProblems evaluates: endorsers must be peers (NodeOU) of their
// organisation, not revoked, valid at the transaction's time.
type TxOptions struct {
	Channel   string // "e2l" when empty
	Chaincode string // "e2l" when empty
	// MinEndorsingOrgs, when above 0, additionally requires valid peer
	// endorsements from that many distinct organisations: an explicit
	// override that can only make the check stricter. 0: the channel's
	// Endorsement policy alone.
	MinEndorsingOrgs int
}

func (o TxOptions) withDefaults() TxOptions {
	if o.Channel == "" {
		o.Channel = "e2l"
	}
	if o.Chaincode == "" {
		o.Chaincode = "e2l"
	}
	return o
}

// txProblems checks what holds for every record of a transaction: valid in
// its block, the e2l chaincode's RecordEvents on the channel, the creator's
// signature and certificate, the endorsements and the policy.
func txProblems(tx *Tx, trust *Trust, opt TxOptions) []string {
	opt = opt.withDefaults()
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if tx.Err != nil {
		add("transaction %s in block %d does not decode: %v", tx.ID, tx.Block, tx.Err)
		return p
	}
	if tx.Code != peer.TxValidationCode_VALID {
		add("transaction %s in block %d is %s, not VALID", tx.ID, tx.Block, tx.Code)
	}
	if tx.Type != common.HeaderType_ENDORSER_TRANSACTION || tx.Channel != opt.Channel || tx.Chaincode != opt.Chaincode || tx.Function() != "RecordEvents" {
		add("transaction %s is %s %s/%s %q, not RecordEvents of chaincode %s on channel %s",
			tx.ID, tx.Type, tx.Channel, tx.Chaincode, tx.Function(), opt.Chaincode, opt.Channel)
	}
	// The creator: signature over the envelope and certificate chain.
	if err := verifySignature(tx.Creator.Cert, tx.payload, tx.signature); err != nil {
		add("creator %s (%s): transaction signature: %v", tx.Creator.MSP, tx.Creator.Cert.Subject.CommonName, err)
	}
	if err := trust.VerifyCert(tx.Creator.MSP, tx.Creator.Cert, tx.Timestamp); err != nil {
		add("creator: %v", err)
	}
	if !tx.ProposalHashOK {
		add("the endorsed proposal hash does not match the transaction's header and input")
	}
	if tx.ResponseStatus != 200 {
		add("the chaincode answered status %d, not 200", tx.ResponseStatus)
	}
	p = append(p, endorsementProblems(tx, trust)...)
	if opt.MinEndorsingOrgs > 0 {
		signers, _ := trust.Signers(endorsements(tx), endorsementName)
		orgs := map[string]bool{}
		for _, s := range signers {
			if m := trust.MSPs[s.ID.MSP]; m != nil && m.HasRole(s.ID.Cert, msp.MSPRole_PEER, tx.Timestamp) == nil {
				orgs[s.ID.MSP] = true
			}
		}
		if len(orgs) < opt.MinEndorsingOrgs {
			add("endorsement policy not met: valid peer endorsements from %d organisation(s) %s, the override asks for %d",
				len(orgs), keys(orgs), opt.MinEndorsingOrgs)
		}
	}
	return p
}

// endorsementProblems checks a transaction's endorsements against the
// channel's Endorsement policy of the configuration it was ordered under:
// signatures that verify, by peers (NodeOU) of their organisations, not
// revoked, valid at the transaction's time. Record and registry
// transactions are endorsed alike.
func endorsementProblems(tx *Tx, trust *Trust) []string {
	var p []string
	signers, rejected := trust.Signers(endorsements(tx), endorsementName)
	var dups []string
	for _, r := range rejected {
		if strings.HasSuffix(r, "counted once") {
			dups = append(dups, r)
		} else {
			p = append(p, r) // an honest peer's endorsement always verifies
		}
	}
	if err := trust.evaluate(EndorsementPolicy, signers, dups, tx.Timestamp, endorsementName); err != nil {
		p = append(p, fmt.Sprintf("endorsement policy not met: %v", err))
	}
	return p
}

// endorsements are what each endorser signed: the proposal response
// payload followed by its serialized identity.
func endorsements(tx *Tx) []SignedData {
	var signed []SignedData
	for _, e := range tx.Endorsements {
		signed = append(signed, SignedData{Identity: e.GetEndorser(),
			Data: append(append([]byte{}, tx.ResponsePayload...), e.GetEndorser()...), Signature: e.GetSignature()})
	}
	return signed
}

func endorsementName(i int) string { return fmt.Sprintf("endorsement %d", i) }

// recordProblems checks what ties one stored record to its transaction:
// the record is in the RecordEvents argument with the same bytes, and the
// creator is the identity bound to the record's host.
func recordProblems(tx *Tx, st Stored) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if tx.Err != nil {
		return nil
	}
	host, _ := st.Claimed()
	if tx.Creator.MSP != st.MSP {
		add("creator MSP is %s, the ledger says %s", tx.Creator.MSP, st.MSP)
	}
	if got := CertSHA256(tx.Creator.Cert); got != st.CertSHA256 {
		add("creator certificate sha256 %s is not the stored certSha256 %s", short(got), short(st.CertSHA256))
	}
	attrs, err := signer.Attributes(tx.Creator.Cert)
	switch {
	case err != nil:
		add("creator certificate: %v", err)
	case attrs[signer.AttrHost] != host:
		add("creator %q is bound to host %q (e2l.host), not to %q", tx.Creator.Cert.Subject.CommonName, attrs[signer.AttrHost], host)
	}
	switch {
	case tx.BatchErr != nil:
		add("the RecordEvents argument does not decode: %v", tx.BatchErr)
	case tx.Batch == nil:
		add("transaction %s carries no RecordEvents batch", tx.ID)
	default:
		found := tx.batchRecords(st.ID)
		for _, i := range found {
			r := tx.Batch.Records[i]
			if r.Hash != st.Hash || !bytes.Equal(r.Record.Canonical(), st.Record) {
				add("differs from the record submitted in transaction %s (hash there %s)", tx.ID, short(r.Hash))
			}
		}
		if len(found) == 0 {
			add("is not in the RecordEvents batch of transaction %s", tx.ID)
		}
	}
	return p
}

// blockProblems checks a block on its own: the data hash in its header and
// the orderers' signatures over it, which must satisfy the BlockValidation
// policy of the configuration it was ordered under, each signer's
// certificate judged at the block's time.
func blockProblems(b *Block, trust *Trust) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if !bytes.Equal(DataHash(b.Block.GetData()), b.Block.GetHeader().GetDataHash()) {
		add("block %d: the data hash in its header does not match its transactions", b.Number)
	}
	var md common.Metadata
	if err := proto.Unmarshal(metadata(b.Block, common.BlockMetadataIndex_SIGNATURES), &md); err != nil {
		add("block %d: signature metadata: %v", b.Number, err)
		return p
	}
	at, ok := blockTime(b)
	if !ok {
		add("block %d carries no timestamp to judge its signers' certificates at", b.Number)
		return p
	}
	header := HeaderBytes(b.Block.GetHeader())
	var signed []SignedData
	for i, s := range md.GetSignatures() {
		if len(s.GetSignatureHeader()) == 0 {
			add("block %d: orderer signature %d has no signature header (BFT identifiers are not supported)", b.Number, i)
			continue
		}
		var shdr common.SignatureHeader
		if err := proto.Unmarshal(s.GetSignatureHeader(), &shdr); err != nil {
			add("block %d: orderer signature %d: %v", b.Number, i, err)
			continue
		}
		signed = append(signed, SignedData{Identity: shdr.GetCreator(),
			Data: bytes.Join([][]byte{md.GetValue(), s.GetSignatureHeader(), header}, nil), Signature: s.GetSignature()})
	}
	name := func(i int) string { return fmt.Sprintf("orderer signature %d", i) }
	signers, rejected := trust.Signers(signed, name)
	if err := trust.evaluate(BlockValidationPolicy, signers, rejected, at, name); err != nil {
		add("block %d: orderer signatures do not satisfy the channel's block validation policy: %v", b.Number, err)
	}
	return p
}

func keys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return "[" + strings.Join(ks, ", ") + "]"
}

// blockTime is the timestamp of the block's first transaction that has
// one: when the orderer cut it, near enough to judge its signers'
// certificates at; false when no transaction carries a timestamp.
func blockTime(b *Block) (time.Time, bool) {
	for _, tx := range b.Txs {
		if !tx.Timestamp.IsZero() {
			return tx.Timestamp, true
		}
	}
	return time.Time{}, false
}
