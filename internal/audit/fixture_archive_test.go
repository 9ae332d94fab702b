package audit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Fixture helpers for the archive checks: read/write sets like the e2l
// chaincode's, the host registry's transactions by org admins, collectors
// of any organisation, and the trust anchor.

// marshalStored encodes a Stored as the chaincode does (no HTML escaping,
// fields in declaration order).
func marshalStored(t testing.TB, st Stored) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

// rwsetBytes wraps one namespace's reads and writes as a transaction's
// read/write set.
func rwsetBytes(t testing.TB, ns string, kv *kvrwset.KVRWSet) []byte {
	return mustMarshal(t, &rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV,
		NsRwset: []*rwset.NsReadWriteSet{{Namespace: ns, Rwset: mustMarshal(t, kv)}}})
}

// recordKV is what RecordEvents (state layout 3) reads and writes for a
// batch of new records: the chain slot of a batch of one read absent, or
// the range of a longer batch's slots read empty to its end; then each
// slot written with the stored record, and each record's ID key with its
// hash.
func recordKV(t testing.TB, b record.Batch, creator keyPair, txID string, ts time.Time) *kvrwset.KVRWSet {
	kv := &kvrwset.KVRWSet{}
	first, last := b.Records[0].Record, b.Records[len(b.Records)-1].Record
	if len(b.Records) == 1 {
		kv.Reads = append(kv.Reads, &kvrwset.KVRead{Key: wire.SlotKey(first.Host, first.Seq)})
	} else {
		kv.RangeQueriesInfo = append(kv.RangeQueriesInfo, &kvrwset.RangeQueryInfo{
			StartKey: wire.SlotKey(first.Host, first.Seq), EndKey: wire.SlotRangeEnd(first.Host, last.Seq),
			ItrExhausted: true, ReadsInfo: &kvrwset.RangeQueryInfo_RawReads{RawReads: &kvrwset.QueryReads{}}})
	}
	for _, s := range b.Records {
		seq20 := fmt.Sprintf("%020d", s.Record.Seq)
		slot := wire.SlotKey(s.Record.Host, s.Record.Seq)
		id := compositeKey(keyTypeRecord, s.ID, s.Record.Host, seq20)
		kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: slot, Value: marshalStored(t, stored(s, creator, txID, ts))},
			&kvrwset.KVWrite{Key: id, Value: []byte(s.Hash)})
	}
	return kv
}

// recordKVLayout2 is what RecordEvents of state layout 2 read and wrote:
// each composite chain slot read absent, then written with the stored
// record, and the record's ID key written with its hash.
func recordKVLayout2(t testing.TB, b record.Batch, creator keyPair, txID string, ts time.Time) *kvrwset.KVRWSet {
	kv := &kvrwset.KVRWSet{}
	for _, s := range b.Records {
		seq20 := fmt.Sprintf("%020d", s.Record.Seq)
		slot := compositeKey(keyTypeChain, s.Record.Host, seq20)
		id := compositeKey(keyTypeRecord, s.ID, s.Record.Host, seq20)
		kv.Reads = append(kv.Reads, &kvrwset.KVRead{Key: slot})
		kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: slot, Value: marshalStored(t, stored(s, creator, txID, ts))},
			&kvrwset.KVWrite{Key: id, Value: []byte(s.Hash)})
	}
	return kv
}

// recordKVLayout1 is what RecordEvents of state layout 1 read and wrote:
// each record key and chain slot read absent, then the stored record under
// its ID key and its ID in its chain slot.
func recordKVLayout1(t testing.TB, b record.Batch, creator keyPair, txID string, ts time.Time) *kvrwset.KVRWSet {
	kv := &kvrwset.KVRWSet{}
	for _, s := range b.Records {
		rec := compositeKey(keyTypeRecord, s.ID)
		slot := compositeKey(keyTypeChain, s.Record.Host, fmt.Sprintf("%020d", s.Record.Seq))
		kv.Reads = append(kv.Reads, &kvrwset.KVRead{Key: rec}, &kvrwset.KVRead{Key: slot})
		kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: rec, Value: marshalStored(t, stored(s, creator, txID, ts))},
			&kvrwset.KVWrite{Key: slot, Value: []byte(s.ID)})
	}
	return kv
}

// recordResults is the fixture's default RecordEvents read/write set.
func recordResults(t testing.TB, b record.Batch, creator keyPair, txID string, ts time.Time) []byte {
	return rwsetBytes(t, "e2l", recordKV(t, b, creator, txID, ts))
}

// anchorOf is the world's trust anchor: its genesis block header hash.
func anchorOf(t testing.TB, w *world) string {
	b, err := ParseBlock(w.configs[0])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(HeaderHash(b.Block.GetHeader()))
}

// admin issues an admin identity (OU=admin) of an organisation's current CA.
func (w *world) admin(mspID string) keyPair {
	return newCertOU(w.t, mspID, "Admin@"+mspID, w.orgs[mspID].ca, "admin")
}

// collector issues a collector identity for host by an organisation's CA
// (any organisation's CA can name any host).
func (w *world) collector(mspID, host string) keyPair {
	ca := w.orgs[mspID].ca
	return newCert(w.t, mspID, host, &ca, map[string]string{"e2l.host": host, "e2l.role": "collector"})
}

func newCertOU(t testing.TB, mspID, cn string, parent keyPair, ou string) keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial),
		Subject:   pkix.Name{CommonName: cn, Organization: []string{mspID}, OrganizationalUnit: []string{ou}},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.cert, &key.PublicKey, parent.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{cert: cert, key: key, msp: mspID}
}

// nextTx is the ID and time invoke (or tx) gives the next transaction.
func (w *world) nextTx() (string, time.Time) {
	return fmt.Sprintf("%064x", w.txN+1), t0.Add(time.Duration(w.txN+1) * time.Second)
}

// invoke builds an endorsed transaction of the e2l chaincode with any
// arguments and read/write set, signed by creator and endorsed by
// ProviderMSP and UserMSP.
func (w *world) invoke(creator keyPair, args []string, kv *kvrwset.KVRWSet) (env []byte, txID string, ts time.Time) {
	t := w.t
	w.txN++
	txID = fmt.Sprintf("%064x", w.txN)
	ts = t0.Add(time.Duration(w.txN) * time.Second)
	chdr := mustMarshal(t, &common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: "e2l", TxId: txID,
		Timestamp: timestamppb.New(ts)})
	shdr := mustMarshal(t, &common.SignatureHeader{Creator: creator.serialized(t), Nonce: []byte("n")})
	var in [][]byte
	for _, a := range args {
		in = append(in, []byte(a))
	}
	cpp := mustMarshal(t, &peer.ChaincodeProposalPayload{Input: mustMarshal(t, &peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		ChaincodeId: &peer.ChaincodeID{Name: "e2l"}, Input: &peer.ChaincodeInput{Args: in}}})})
	h := sha256.New()
	h.Write(chdr)
	h.Write(shdr)
	h.Write(cpp)
	prp := mustMarshal(t, &peer.ProposalResponsePayload{ProposalHash: h.Sum(nil),
		Extension: mustMarshal(t, &peer.ChaincodeAction{Response: &peer.Response{Status: 200}, Results: rwsetBytes(t, "e2l", kv)})})
	var ends []*peer.Endorsement
	for _, m := range []string{"ProviderMSP", "UserMSP"} {
		p := w.orgs[m].peer
		id := p.serialized(t)
		ends = append(ends, &peer.Endorsement{Endorser: id, Signature: p.sign(t, append(append([]byte{}, prp...), id...))})
	}
	cap := mustMarshal(t, &peer.ChaincodeActionPayload{ChaincodeProposalPayload: cpp,
		Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp, Endorsements: ends}})
	ptx := mustMarshal(t, &peer.Transaction{Actions: []*peer.TransactionAction{{Header: shdr, Payload: cap}}})
	payload := mustMarshal(t, &common.Payload{Header: &common.Header{ChannelHeader: chdr, SignatureHeader: shdr}, Data: ptx})
	return mustMarshal(t, &common.Envelope{Payload: payload, Signature: creator.sign(t, payload)}), txID, ts
}

// registry writes the host registry's transactions, each in its own block,
// like an org admin calling RegisterHost and ReleaseHost.
type registry struct {
	w       *world
	entries map[string]*wire.HostRegistration
	order   []string
	version map[string]*kvrwset.Version // of each host's registry key
}

func newRegistry(w *world) *registry {
	return &registry{w: w, entries: map[string]*wire.HostRegistration{}, version: map[string]*kvrwset.Version{}}
}

// commit writes one registry transaction by an admin of mspID (by,
// when set, instead) and records it in the host's entry.
func (r *registry) commit(host, mspID string, args []string, item wire.HostOwnership, by *keyPair) {
	w := r.w
	e := r.entries[host]
	if e == nil {
		e = &wire.HostRegistration{Host: host}
		r.entries[host] = e
		r.order = append(r.order, host)
	}
	creator := w.admin(mspID)
	if by != nil {
		creator = *by
	}
	next := *e
	next.History = append(append([]wire.HostOwnership{}, e.History...), item)
	switch item.Action {
	case wire.HostRelease:
		next.ReleasedTo = item.ReleasedTo
	default:
		next.MSP, next.SwarmRole, next.ReleasedTo = item.MSP, item.SwarmRole, item.ReleasedTo
	}
	next.AdminCertSHA256 = CertSHA256(creator.cert)
	txID, _ := w.nextTx()
	next.TxID = txID
	next.History[len(next.History)-1].TxID = txID
	v, err := json.Marshal(next)
	if err != nil {
		w.t.Fatal(err)
	}
	key := compositeKey(keyTypeHostReg, host)
	kv := &kvrwset.KVRWSet{Reads: []*kvrwset.KVRead{{Key: key, Version: r.version[host]}},
		Writes: []*kvrwset.KVWrite{{Key: key, Value: v}}}
	env, _, _ := w.invoke(creator, args, kv)
	r.version[host] = &kvrwset.Version{BlockNum: w.height}
	w.blocks = append(w.blocks, w.block([][]byte{env}, nil))
	*e = next
}

func (r *registry) register(host, mspID, role string) {
	r.commit(host, mspID, []string{fnRegisterHost, host, role}, wire.HostOwnership{MSP: mspID, SwarmRole: role, Action: wire.HostRegister}, nil)
}

func (r *registry) release(host, toMSP string) {
	e := r.entries[host]
	r.commit(host, e.MSP, []string{fnReleaseHost, host, toMSP},
		wire.HostOwnership{MSP: e.MSP, SwarmRole: e.SwarmRole, Action: wire.HostRelease, ReleasedTo: toMSP}, nil)
}

func (r *registry) move(host, mspID, role string) {
	r.commit(host, mspID, []string{fnRegisterHost, host, role}, wire.HostOwnership{MSP: mspID, SwarmRole: role, Action: wire.HostMove}, nil)
}

// hosts are the registry's entries, as an archive carries them.
func (r *registry) hosts() []wire.HostRegistration {
	var out []wire.HostRegistration
	for _, h := range r.order {
		out = append(out, *r.entries[h])
	}
	return out
}

// setFlag rewrites the validation flag of a block's transaction i, as
// someone editing an archive would (the metadata is not signed).
func setFlag(t *testing.T, raw []byte, i int, code peer.TxValidationCode) []byte {
	t.Helper()
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][i] = byte(code)
	return mustMarshal(t, &b)
}
