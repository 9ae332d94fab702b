package audit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/record"
)

// Block is a block as committed, parsed once, with its raw bytes.
type Block struct {
	Raw    []byte
	Number uint64
	Block  *common.Block
	// Txs are the block's transactions by position (nil for a position
	// whose envelope is not a transaction at all).
	Txs []*Tx

	writes *blockWrites // Writes' answer, once asked
}

// Identity is a serialized Fabric identity: MSP ID and X.509 certificate.
type Identity struct {
	MSP  string
	Cert *x509.Certificate
	Raw  []byte // the SerializedIdentity bytes, as signed over by endorsers
}

// Tx is one transaction of a block, decoded as far as e2l needs.
type Tx struct {
	ID        string
	Block     uint64
	Index     int
	Code      peer.TxValidationCode
	Type      common.HeaderType
	Channel   string
	Timestamp time.Time
	Envelope  []byte // the raw envelope (the block's data entry)
	Creator   Identity
	// Err is set when the transaction could not be decoded; the fields
	// after it are then incomplete.
	Err error

	Chaincode string   // the invoked chaincode
	Args      [][]byte // function name first
	// Batch is the RecordEvents argument; nil for another function or when
	// it does not decode (BatchErr).
	Batch    *record.Batch
	BatchErr error

	Endorsements    []*peer.Endorsement
	ResponsePayload []byte // the ProposalResponsePayload endorsers signed
	ResponseStatus  int32  // the chaincode's response status
	ProposalHashOK  bool   // the endorsed proposal hash matches the transaction's header and input
	Results         []byte // the ChaincodeAction's read/write set (rwset.TxReadWriteSet), as endorsed

	payload   []byte // the envelope payload the creator signed
	signature []byte // the creator's signature

	rwset   *txRWSet         // Results decoded in one namespace (rwSets)
	batchID map[string][]int // Batch's records by ID (batchRecords)
}

// batchRecords returns the records of the RecordEvents batch with ID id,
// in batch order (none when it holds none).
func (tx *Tx) batchRecords(id string) []int {
	if tx.Batch == nil {
		return nil
	}
	if tx.batchID == nil {
		tx.batchID = make(map[string][]int, len(tx.Batch.Records))
		for i, r := range tx.Batch.Records {
			tx.batchID[r.ID] = append(tx.batchID[r.ID], i)
		}
	}
	return tx.batchID[id]
}

// Function returns the invoked function's name.
func (t *Tx) Function() string {
	if len(t.Args) == 0 {
		return ""
	}
	return string(t.Args[0])
}

// ParseBlock decodes a block and its transactions. Only a block that does
// not decode at all is an error; a transaction that does not decode has Err.
func ParseBlock(raw []byte) (*Block, error) {
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	if b.GetHeader() == nil {
		return nil, errors.New("decode block: no header")
	}
	out := &Block{Raw: raw, Number: b.GetHeader().GetNumber(), Block: &b}
	filter := metadata(&b, common.BlockMetadataIndex_TRANSACTIONS_FILTER)
	for i, data := range b.GetData().GetData() {
		tx := parseTx(data)
		tx.Block, tx.Index = out.Number, i
		tx.Code = peer.TxValidationCode_NOT_VALIDATED
		if i < len(filter) {
			tx.Code = peer.TxValidationCode(filter[i])
		}
		out.Txs = append(out.Txs, tx)
	}
	return out, nil
}

func metadata(b *common.Block, i common.BlockMetadataIndex) []byte {
	md := b.GetMetadata().GetMetadata()
	if int(i) >= len(md) {
		return nil
	}
	return md[i]
}

func parseTx(data []byte) *Tx {
	tx := &Tx{Envelope: data}
	fail := func(format string, args ...any) *Tx {
		tx.Err = fmt.Errorf(format, args...)
		return tx
	}
	var env common.Envelope
	if err := proto.Unmarshal(data, &env); err != nil {
		return fail("decode envelope: %w", err)
	}
	tx.payload, tx.signature = env.GetPayload(), env.GetSignature()
	var payload common.Payload
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		return fail("decode payload: %w", err)
	}
	var chdr common.ChannelHeader
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &chdr); err != nil {
		return fail("decode channel header: %w", err)
	}
	tx.ID, tx.Channel, tx.Type = chdr.GetTxId(), chdr.GetChannelId(), common.HeaderType(chdr.GetType())
	if ts := chdr.GetTimestamp(); ts != nil {
		tx.Timestamp = ts.AsTime()
	}
	var shdr common.SignatureHeader
	if err := proto.Unmarshal(payload.GetHeader().GetSignatureHeader(), &shdr); err != nil {
		return fail("decode signature header: %w", err)
	}
	creator, err := parseIdentity(shdr.GetCreator())
	if err != nil {
		return fail("creator: %w", err)
	}
	tx.Creator = creator
	if tx.Type != common.HeaderType_ENDORSER_TRANSACTION {
		return tx
	}
	var ptx peer.Transaction
	if err := proto.Unmarshal(payload.GetData(), &ptx); err != nil {
		return fail("decode transaction: %w", err)
	}
	if len(ptx.GetActions()) != 1 {
		return fail("transaction has %d actions, want 1", len(ptx.GetActions()))
	}
	var cap peer.ChaincodeActionPayload
	if err := proto.Unmarshal(ptx.GetActions()[0].GetPayload(), &cap); err != nil {
		return fail("decode chaincode action payload: %w", err)
	}
	var cpp peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(cap.GetChaincodeProposalPayload(), &cpp); err != nil {
		return fail("decode chaincode proposal payload: %w", err)
	}
	var cis peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(cpp.GetInput(), &cis); err != nil {
		return fail("decode chaincode invocation: %w", err)
	}
	tx.Chaincode = cis.GetChaincodeSpec().GetChaincodeId().GetName()
	tx.Args = cis.GetChaincodeSpec().GetInput().GetArgs()
	tx.Endorsements = cap.GetAction().GetEndorsements()
	tx.ResponsePayload = cap.GetAction().GetProposalResponsePayload()

	var prp peer.ProposalResponsePayload
	if err := proto.Unmarshal(tx.ResponsePayload, &prp); err != nil {
		return fail("decode proposal response payload: %w", err)
	}
	h := sha256.New()
	h.Write(payload.GetHeader().GetChannelHeader())
	h.Write(payload.GetHeader().GetSignatureHeader())
	h.Write(cap.GetChaincodeProposalPayload())
	tx.ProposalHashOK = bytes.Equal(h.Sum(nil), prp.GetProposalHash())
	var action peer.ChaincodeAction
	if err := proto.Unmarshal(prp.GetExtension(), &action); err != nil {
		return fail("decode chaincode action: %w", err)
	}
	tx.ResponseStatus = action.GetResponse().GetStatus()
	tx.Results = action.GetResults()

	if tx.Function() == "RecordEvents" && len(tx.Args) == 2 {
		b, err := record.DecodeBatch(tx.Args[1])
		if err != nil {
			tx.BatchErr = err
		} else {
			tx.Batch = &b
		}
	}
	return tx
}

func parseIdentity(raw []byte) (Identity, error) {
	var sid msp.SerializedIdentity
	if err := proto.Unmarshal(raw, &sid); err != nil {
		return Identity{}, fmt.Errorf("decode identity: %w", err)
	}
	blk, _ := pem.Decode(sid.GetIdBytes())
	if blk == nil {
		return Identity{}, fmt.Errorf("identity of %s holds no PEM certificate", sid.GetMspid())
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return Identity{}, fmt.Errorf("identity of %s: %w", sid.GetMspid(), err)
	}
	return Identity{MSP: sid.GetMspid(), Cert: cert, Raw: raw}, nil
}

// CertSHA256 is the hex SHA-256 of a certificate's DER, as the chaincode
// stores it.
func CertSHA256(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// verifySignature checks a Fabric signature: ASN.1 ECDSA over SHA-256(msg).
func verifySignature(c *x509.Certificate, msg, sig []byte) error {
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("public key is %T, not ECDSA", c.PublicKey)
	}
	sum := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return errors.New("signature does not verify")
	}
	return nil
}

// DataHash is Fabric's block data hash: SHA-256 over the concatenated data
// entries.
func DataHash(d *common.BlockData) []byte {
	h := sha256.New()
	for _, e := range d.GetData() {
		h.Write(e)
	}
	return h.Sum(nil)
}

// HeaderBytes is the ASN.1 encoding of a block header that orderers sign
// and that the next block's PreviousHash hashes.
func HeaderBytes(h *common.BlockHeader) []byte {
	b, err := asn1.Marshal(struct {
		Number       *big.Int
		PreviousHash []byte
		DataHash     []byte
	}{new(big.Int).SetUint64(h.GetNumber()), h.GetPreviousHash(), h.GetDataHash()})
	if err != nil {
		panic(err) // cannot fail for these types
	}
	return b
}

// LastConfig returns the number of the last configuration block a block
// names in its signature metadata (or the older LAST_CONFIG metadata).
func LastConfig(b *common.Block) (uint64, error) {
	var md common.Metadata
	if err := proto.Unmarshal(metadata(b, common.BlockMetadataIndex_SIGNATURES), &md); err == nil && len(md.GetValue()) > 0 {
		var obm common.OrdererBlockMetadata
		if err := proto.Unmarshal(md.GetValue(), &obm); err == nil && obm.GetLastConfig() != nil {
			return obm.GetLastConfig().GetIndex(), nil
		}
	}
	md.Reset()
	if err := proto.Unmarshal(metadata(b, common.BlockMetadataIndex_LAST_CONFIG), &md); err != nil {
		return 0, fmt.Errorf("block %d: last config metadata: %w", b.GetHeader().GetNumber(), err)
	}
	var lc common.LastConfig
	if err := proto.Unmarshal(md.GetValue(), &lc); err != nil {
		return 0, fmt.Errorf("block %d: last config: %w", b.GetHeader().GetNumber(), err)
	}
	return lc.GetIndex(), nil
}

// Trust is the channel's organisations, their MSPs and policies, as one
// configuration block defines them.
type Trust struct {
	Channel     string
	ConfigBlock uint64
	MSPs        map[string]*MSP
	// Config is the configuration itself: the group tree whose policies
	// EvaluatePolicy resolves, and its sequence.
	Config *common.Config
	// lastUpdate is the CONFIG_UPDATE envelope that produced Config (nil
	// in a genesis block).
	lastUpdate *common.Envelope
}

// TrustFromConfigBlock reads a configuration block: the configuration
// tree, and the application and orderer organisations' MSPs (CAs, admins,
// revocation lists, NodeOUs).
func TrustFromConfigBlock(b *Block) (*Trust, error) {
	data := b.Block.GetData().GetData()
	if len(data) != 1 {
		return nil, fmt.Errorf("block %d is not a configuration block (%d entries)", b.Number, len(data))
	}
	var env common.Envelope
	var payload common.Payload
	var chdr common.ChannelHeader
	var cenv common.ConfigEnvelope
	if err := proto.Unmarshal(data[0], &env); err != nil {
		return nil, fmt.Errorf("config block %d: %w", b.Number, err)
	}
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		return nil, fmt.Errorf("config block %d: %w", b.Number, err)
	}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &chdr); err != nil {
		return nil, fmt.Errorf("config block %d: %w", b.Number, err)
	}
	if common.HeaderType(chdr.GetType()) != common.HeaderType_CONFIG {
		return nil, fmt.Errorf("block %d is not a configuration block (header type %s)", b.Number, common.HeaderType(chdr.GetType()))
	}
	if err := proto.Unmarshal(payload.GetData(), &cenv); err != nil {
		return nil, fmt.Errorf("config block %d: %w", b.Number, err)
	}
	if cenv.GetConfig().GetChannelGroup() == nil {
		return nil, fmt.Errorf("config block %d holds no channel configuration", b.Number)
	}
	t := &Trust{Channel: chdr.GetChannelId(), ConfigBlock: b.Number, MSPs: map[string]*MSP{},
		Config: cenv.GetConfig(), lastUpdate: cenv.GetLastUpdate()}
	groups := cenv.GetConfig().GetChannelGroup().GetGroups()
	// An MSP ID may be defined by several org groups only identically, as
	// Fabric requires: else one org could define another's MSP.
	defined := map[string]struct {
		group string
		raw   []byte
	}{}
	for _, section := range []string{"Application", "Orderer"} {
		g := groups[section]
		for _, name := range sortedKeys(g.GetGroups()) {
			v := g.GetGroups()[name].GetValues()["MSP"]
			if v == nil {
				return nil, fmt.Errorf("config block %d: %s org %s has no MSP", b.Number, section, name)
			}
			m, err := parseMSP(v.GetValue(), section == "Orderer")
			if err != nil {
				return nil, fmt.Errorf("config block %d: org %s: %w", b.Number, name, err)
			}
			if m.ID == "" {
				return nil, fmt.Errorf("config block %d: org %s has an MSP without an ID", b.Number, name)
			}
			where := section + "/" + name
			if d, ok := defined[m.ID]; ok {
				if !bytes.Equal(d.raw, v.GetValue()) {
					return nil, fmt.Errorf("config block %d: org groups %s and %s define MSP %s differently", b.Number, d.group, where, m.ID)
				}
				m.Orderer = m.Orderer || t.MSPs[m.ID].Orderer
			}
			defined[m.ID] = struct {
				group string
				raw   []byte
			}{where, v.GetValue()}
			t.MSPs[m.ID] = m
		}
	}
	if len(t.MSPs) == 0 {
		return nil, fmt.Errorf("config block %d names no organisation", b.Number)
	}
	return t, nil
}

func parsePEMCerts(p []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, p = pem.Decode(p)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// VerifyCert checks that cert is a valid identity of the MSP at the given
// time (the transaction's or block's): it chains to a CA of the MSP, is
// within its validity period, is not revoked by the configuration's CRLs,
// and carries OUs the MSP accepts.
func (t *Trust) VerifyCert(mspID string, cert *x509.Certificate, at time.Time) error {
	m := t.MSPs[mspID]
	if m == nil {
		return fmt.Errorf("MSP %q is not an organisation of channel %s (config block %d)", mspID, t.Channel, t.ConfigBlock)
	}
	return m.Validate(cert, at)
}

// Fingerprints lists each MSP's root CAs as "MSP orderer? sha256:<hex> subject",
// sorted, so an auditor can compare them with a trusted source.
func (t *Trust) Fingerprints() []string {
	var out []string
	for _, m := range t.MSPs {
		kind := "peer org"
		if m.Orderer {
			kind = "orderer org"
		}
		for _, c := range m.Roots {
			out = append(out, fmt.Sprintf("%s (%s) root sha256:%s %s", m.ID, kind, CertSHA256(c), c.Subject.String()))
		}
	}
	sort.Strings(out)
	return out
}
