package audit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/signer"
)

// TxOptions say what a record's transaction must look like.
type TxOptions struct {
	Channel   string // "e2l" when empty
	Chaincode string // "e2l" when empty
	// MinEndorsingOrgs is how many distinct organisations must have endorsed
	// with a valid signature (2 when 0: MAJORITY of three).
	MinEndorsingOrgs int
}

func (o TxOptions) withDefaults() TxOptions {
	if o.Channel == "" {
		o.Channel = "e2l"
	}
	if o.Chaincode == "" {
		o.Chaincode = "e2l"
	}
	if o.MinEndorsingOrgs == 0 {
		o.MinEndorsingOrgs = 2
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
	// Endorsements: each must verify; distinct valid orgs must satisfy the policy.
	orgs := map[string]bool{}
	for i, e := range tx.Endorsements {
		id, err := parseIdentity(e.GetEndorser())
		if err != nil {
			add("endorsement %d: %v", i, err)
			continue
		}
		msg := append(append([]byte{}, tx.ResponsePayload...), e.GetEndorser()...)
		if err := verifySignature(id.Cert, msg, e.GetSignature()); err != nil {
			add("endorsement %d by %s (%s): %v", i, id.MSP, id.Cert.Subject.CommonName, err)
			continue
		}
		if err := trust.VerifyCert(id.MSP, id.Cert, tx.Timestamp); err != nil {
			add("endorsement %d by %s: %v", i, id.MSP, err)
			continue
		}
		if m := trust.MSPs[id.MSP]; m != nil && m.Orderer {
			add("endorsement %d is by orderer organisation %s", i, id.MSP)
			continue
		}
		orgs[id.MSP] = true
	}
	if len(orgs) < opt.MinEndorsingOrgs {
		add("endorsement policy not met: valid endorsements from %d organisation(s) %s, need %d",
			len(orgs), keys(orgs), opt.MinEndorsingOrgs)
	}
	return p
}

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
		found := false
		for _, r := range tx.Batch.Records {
			if r.ID != st.ID {
				continue
			}
			found = true
			if r.Hash != st.Hash || !bytes.Equal(r.Record.Canonical(), st.Record) {
				add("differs from the record submitted in transaction %s (hash there %s)", tx.ID, short(r.Hash))
			}
		}
		if !found {
			add("is not in the RecordEvents batch of transaction %s", tx.ID)
		}
	}
	return p
}

// blockProblems checks a block on its own: the data hash in its header and
// the orderers' signatures over it (at least one, each from an orderer
// organisation's identity that verifies).
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
	header := HeaderBytes(b.Block.GetHeader())
	valid := 0
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
		id, err := parseIdentity(shdr.GetCreator())
		if err != nil {
			add("block %d: orderer signature %d: %v", b.Number, i, err)
			continue
		}
		msg := bytes.Join([][]byte{md.GetValue(), s.GetSignatureHeader(), header}, nil)
		if err := verifySignature(id.Cert, msg, s.GetSignature()); err != nil {
			add("block %d: orderer signature %d by %s: %v", b.Number, i, id.MSP, err)
			continue
		}
		m := trust.MSPs[id.MSP]
		if m == nil || !m.Orderer {
			add("block %d: signed by %s, not an orderer organisation", b.Number, id.MSP)
			continue
		}
		if err := trust.VerifyCert(id.MSP, id.Cert, blockTime(b)); err != nil {
			add("block %d: orderer signature %d: %v", b.Number, i, err)
			continue
		}
		valid++
	}
	if valid == 0 {
		add("block %d: no valid orderer signature", b.Number)
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

// blockTime is the timestamp of the block's first transaction: when the
// orderer cut it, near enough to check its certificate's validity.
func blockTime(b *Block) time.Time {
	for _, tx := range b.Txs {
		if !tx.Timestamp.IsZero() {
			return tx.Timestamp
		}
	}
	return time.Now()
}
