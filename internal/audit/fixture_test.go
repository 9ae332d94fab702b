package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/signer"
)

// The fixture is a small Fabric world made in memory: three peer orgs and
// an orderer org with their CAs, a configuration block, and blocks of
// RecordEvents transactions signed and endorsed like the real network's.

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	msp  string
}

func (k keyPair) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})
}

func (k keyPair) serialized(t testing.TB) []byte {
	b, err := proto.Marshal(&msp.SerializedIdentity{Mspid: k.msp, IdBytes: k.pem()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k keyPair) sign(t testing.TB, msg []byte) []byte {
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

var serial int64

// newCert issues a certificate: a self-signed root CA when parent is nil,
// else a client identity (OU client) signed by parent.
func newCert(t testing.TB, mspID, cn string, parent *keyPair, attrs map[string]string) keyPair {
	ou := "client"
	if parent == nil {
		ou = ""
	}
	return issue(t, certSpec{msp: mspID, cn: cn, parent: parent, attrs: attrs, ou: ou})
}

// certSpec describes a certificate to issue; zero fields take defaults.
type certSpec struct {
	msp, cn  string
	parent   *keyPair          // nil: a self-signed root CA
	attrs    map[string]string // Fabric CA attributes
	ou       string            // subject OUs, comma-separated (NodeOU: client, peer, admin, orderer)
	ca       bool              // an intermediate CA (with parent)
	notAfter time.Time         // default t0 + 24h
}

func issue(t testing.TB, s certSpec) keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: s.cn, Organization: []string{s.msp}},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if !s.notAfter.IsZero() {
		tmpl.NotAfter = s.notAfter
	}
	if s.ou != "" {
		tmpl.Subject.OrganizationalUnit = strings.Split(s.ou, ",")
	}
	if s.attrs != nil {
		v, _ := json.Marshal(map[string]any{"attrs": s.attrs})
		tmpl.ExtraExtensions = []pkix.Extension{{Id: signer.OIDAttributes, Value: v}}
	}
	signerCert, signerKey := tmpl, key
	if s.parent != nil {
		signerCert, signerKey = s.parent.cert, s.parent.key
	}
	if s.parent == nil || s.ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{cert: cert, key: key, msp: s.msp}
}

// org is an organisation's CA and identities: for a peer org its peer,
// for the orderer org its orderer node (peer), and its admin.
type org struct {
	ca, peer, admin keyPair
	group           string   // its group name in the configuration
	crls            [][]byte // PEM CRLs its MSP carries
}

type world struct {
	t          testing.TB
	orgs       map[string]*org // peer orgs
	orderer    org
	hosts      map[string]keyPair
	cfg        *common.Config   // the configuration in force
	lastUpdate *common.Envelope // the update that produced it (nil for genesis)
	config     []byte           // the latest configuration block
	configs    [][]byte         // every configuration block, genesis first
	lastCfg    uint64           // its number, named by the blocks cut after it
	blocks     [][]byte
	prevHash   []byte
	height     uint64
	txN        int
	// afterSign, when set, alters each configuration update once signed.
	afterSign func(cue *common.ConfigUpdateEnvelope)
}

func newWorld(t testing.TB) *world { return newWorldWith(t, nil) }

// newWorldWith makes the world with its genesis configuration edited.
func newWorldWith(t testing.TB, edit func(ch *common.ConfigGroup)) *world {
	w := &world{t: t, orgs: map[string]*org{}, hosts: map[string]keyPair{}}
	for _, m := range []string{"ProviderMSP", "DeveloperMSP", "UserMSP"} {
		w.orgs[m] = newOrg(t, m, m, "peer0."+m, "peer")
	}
	o := newOrg(t, "OrdererMSP", "OrdererOrg", "orderer0", "orderer")
	w.orderer = *o
	w.cfg = w.genesisConfig()
	if edit != nil {
		edit(w.cfg.ChannelGroup)
	}
	w.config = w.configBlock()
	w.configs = [][]byte{w.config}
	return w
}

func newOrg(t testing.TB, mspID, group, node, ou string) *org {
	ca := issue(t, certSpec{msp: mspID, cn: "ca." + mspID})
	return &org{ca: ca, group: group, peer: issue(t, certSpec{msp: mspID, cn: node, parent: &ca, ou: ou}),
		admin: issue(t, certSpec{msp: mspID, cn: "Admin@" + mspID, parent: &ca, ou: "admin"})}
}

// org returns an organisation by MSP ID, the orderer org included.
func (w *world) org(mspID string) *org {
	if mspID == w.orderer.ca.msp {
		return &w.orderer
	}
	return w.orgs[mspID]
}

// rotate replaces an organisation's root CA (and so its peer's, admin's
// and hosts' identities; for the orderer org, the orderer's) with a new
// one, in a configuration update signed by the organisation's own admin
// (its MSP's mod_policy), ordered by the orderer of the configuration
// before. The old root is gone from the new configuration.
func (w *world) rotate(mspID string) { w.reconfigure(mspID, false, nil) }

// rotateSignedBy is rotate with the update signed by the given identities.
func (w *world) rotateSignedBy(mspID string, signers ...keyPair) {
	w.reconfigure(mspID, false, signers)
}

// forgeOrdererRotation is an orderer CA rotation whose configuration block
// the new, not yet trusted, orderer signs itself: what someone who does not
// hold an orderer key of the channel could produce.
func (w *world) forgeOrdererRotation() { w.reconfigure(w.orderer.ca.msp, true, nil) }

func (w *world) reconfigure(mspID string, selfSigned bool, signers []keyPair) {
	o := w.org(mspID)
	if signers == nil {
		signers = []keyPair{o.admin}
	}
	var next keyPair
	if mspID == w.orderer.ca.msp {
		ca := issue(w.t, certSpec{msp: mspID, cn: "ca2.orderer"})
		next = issue(w.t, certSpec{msp: mspID, cn: "orderer0-2", parent: &ca, ou: "orderer"})
		o.ca = ca
	} else {
		o.ca = issue(w.t, certSpec{msp: mspID, cn: "ca2." + mspID})
		o.peer = issue(w.t, certSpec{msp: mspID, cn: "peer0-2." + mspID, parent: &o.ca, ou: "peer"})
		for h, k := range w.hosts {
			if k.msp == mspID {
				delete(w.hosts, h)
			}
		}
	}
	o.admin = issue(w.t, certSpec{msp: mspID, cn: "Admin2@" + mspID, parent: &o.ca, ou: "admin"})
	o.crls = nil
	if selfSigned {
		w.orderer.peer, next = next, keyPair{}
	}
	w.update(signers, func(ch *common.ConfigGroup) { w.setMSP(ch, mspID) })
	if next.cert != nil {
		w.orderer.peer = next // signs the blocks after the configuration block
	}
}

// host enrolls a collector identity for host in ProviderMSP.
func (w *world) host(name string) keyPair {
	if k, ok := w.hosts[name]; ok {
		return k
	}
	ca := w.orgs["ProviderMSP"].ca
	k := newCert(w.t, "ProviderMSP", name, &ca, map[string]string{"e2l.host": name, "e2l.role": "collector"})
	w.hosts[name] = k
	return k
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *world) configBlock() []byte {
	cfg := &common.ConfigEnvelope{Config: w.cfg, LastUpdate: w.lastUpdate}
	payload := &common.Payload{Header: &common.Header{
		ChannelHeader: mustMarshal(w.t, &common.ChannelHeader{Type: int32(common.HeaderType_CONFIG), ChannelId: "e2l",
			Timestamp: timestamppb.New(t0.Add(time.Duration(w.height) * time.Second))}),
		SignatureHeader: mustMarshal(w.t, &common.SignatureHeader{Creator: w.orderer.peer.serialized(w.t), Nonce: []byte("c")})},
		Data: mustMarshal(w.t, cfg)}
	env := mustMarshal(w.t, &common.Envelope{Payload: mustMarshal(w.t, payload)})
	return w.block([][]byte{env}, nil)
}

// txOpts vary a transaction from the valid default.
type txOpts struct {
	creator   *keyPair  // default: the host's identity
	endorsers []string  // default: ProviderMSP, UserMSP (their peers)
	endorse   []keyPair // when set, these endorse instead
	code      peer.TxValidationCode
}

// tx builds a RecordEvents transaction envelope for the batch.
func (w *world) tx(b record.Batch, opt txOpts) (env []byte, txID string, ts time.Time) {
	t := w.t
	w.txN++
	txID = fmt.Sprintf("%064x", w.txN)
	ts = t0.Add(time.Duration(w.txN) * time.Second)
	creator := w.host(b.Records[0].Record.Host)
	if opt.creator != nil {
		creator = *opt.creator
	}
	endorsers := opt.endorsers
	if endorsers == nil {
		endorsers = []string{"ProviderMSP", "UserMSP"}
	}
	chdr := mustMarshal(t, &common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: "e2l", TxId: txID,
		Timestamp: timestamppb.New(ts)})
	shdr := mustMarshal(t, &common.SignatureHeader{Creator: creator.serialized(t), Nonce: []byte("n")})
	batch, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	cis := mustMarshal(t, &peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		ChaincodeId: &peer.ChaincodeID{Name: "e2l"}, Input: &peer.ChaincodeInput{Args: [][]byte{[]byte("RecordEvents"), batch}}}})
	cpp := mustMarshal(t, &peer.ChaincodeProposalPayload{Input: cis})
	h := sha256.New()
	h.Write(chdr)
	h.Write(shdr)
	h.Write(cpp)
	prp := mustMarshal(t, &peer.ProposalResponsePayload{ProposalHash: h.Sum(nil),
		Extension: mustMarshal(t, &peer.ChaincodeAction{Response: &peer.Response{Status: 200}, Results: recordResults(t, b, creator, txID, ts)})})
	keys := opt.endorse
	if keys == nil {
		for _, m := range endorsers {
			keys = append(keys, w.orgs[m].peer)
		}
	}
	var ends []*peer.Endorsement
	for _, p := range keys {
		id := p.serialized(t)
		ends = append(ends, &peer.Endorsement{Endorser: id, Signature: p.sign(t, append(append([]byte{}, prp...), id...))})
	}
	cap := mustMarshal(t, &peer.ChaincodeActionPayload{ChaincodeProposalPayload: cpp,
		Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp, Endorsements: ends}})
	ptx := mustMarshal(t, &peer.Transaction{Actions: []*peer.TransactionAction{{Header: shdr, Payload: cap}}})
	payload := mustMarshal(t, &common.Payload{Header: &common.Header{ChannelHeader: chdr, SignatureHeader: shdr}, Data: ptx})
	return mustMarshal(t, &common.Envelope{Payload: payload, Signature: creator.sign(t, payload)}), txID, ts
}

// block cuts a block of envelopes signed by the orderer; codes are the
// validation codes (VALID when nil).
func (w *world) block(envs [][]byte, codes []peer.TxValidationCode) []byte {
	t := w.t
	hdr := &common.BlockHeader{Number: w.height, PreviousHash: w.prevHash}
	data := &common.BlockData{Data: envs}
	hdr.DataHash = DataHash(data)
	value := mustMarshal(t, &common.OrdererBlockMetadata{LastConfig: &common.LastConfig{Index: w.lastCfg}})
	sh := mustMarshal(t, &common.SignatureHeader{Creator: w.orderer.peer.serialized(t), Nonce: []byte("o")})
	sig := w.orderer.peer.sign(t, append(append(append([]byte{}, value...), sh...), HeaderBytes(hdr)...))
	filter := make([]byte, len(envs))
	for i := range filter {
		if i < len(codes) {
			filter[i] = byte(codes[i])
		}
	}
	md := [][]byte{
		mustMarshal(t, &common.Metadata{Value: value, Signatures: []*common.MetadataSignature{{SignatureHeader: sh, Signature: sig}}}),
		nil, filter, nil, nil,
	}
	if w.height == 0 {
		md[0] = nil // a genesis block carries no orderer signature
	}
	raw := mustMarshal(t, &common.Block{Header: hdr, Data: data, Metadata: &common.BlockMetadata{Metadata: md}})
	hb := sha256.Sum256(HeaderBytes(hdr))
	w.prevHash = hb[:]
	w.height++
	return raw
}

// commit writes a batch in its own transaction and block, returning the
// stored records as the chaincode would.
func (w *world) commit(b record.Batch, opt txOpts) []Stored {
	env, txID, ts := w.tx(b, opt)
	w.blocks = append(w.blocks, w.block([][]byte{env}, []peer.TxValidationCode{opt.code}))
	creator := w.host(b.Records[0].Record.Host)
	if opt.creator != nil {
		creator = *opt.creator
	}
	var out []Stored
	for _, s := range b.Records {
		out = append(out, stored(s, creator, txID, ts))
	}
	return out
}

func stored(s record.Sealed, creator keyPair, txID string, ts time.Time) Stored {
	return Stored{ID: s.ID, Hash: s.Hash, Record: s.Record.Canonical(), MSP: creator.msp, CertSHA256: CertSHA256(creator.cert),
		TxID: txID, TxTime: ts.UnixNano()}
}

// chain makes records of one host from payload makers; seq from 1.
type chainer struct {
	t    testing.TB
	host string
	seq  uint64
	prev string
	tm   int64
}

func newChainer(t testing.TB, host string) *chainer {
	return &chainer{t: t, host: host, prev: record.GenesisPrev, tm: t0.UnixNano()}
}

// at sets the time of the next record.
func (c *chainer) at(d time.Duration) *chainer { c.tm = t0.Add(d).UnixNano(); return c }

func (c *chainer) add(r record.Record) record.Sealed {
	c.t.Helper()
	c.seq++
	r.V, r.Host, r.Seq, r.Prev, r.Time = record.SchemaVersion, c.host, c.seq, c.prev, c.tm
	if r.Event != nil {
		r.Event.TimeNano = r.Time
	}
	s, err := record.Seal(r)
	if err != nil {
		c.t.Fatalf("seal %d: %v", c.seq, err)
	}
	c.prev = s.Hash
	c.tm++
	return s
}

func (c *chainer) skip() { c.seq++ }

func (c *chainer) event(typ, action, actor, name string, labels map[string]string) record.Sealed {
	scope := record.ScopeLocal
	if typ == "service" {
		scope = record.ScopeSwarm
	}
	return c.add(record.Record{Kind: record.KindEvent, Event: &record.Event{Type: typ, Action: action, Actor: actor, Scope: scope,
		Attrs: record.Attributes{Name: name, Labels: labels}}})
}

func (c *chainer) heartbeat() record.Sealed {
	return c.add(record.Record{Kind: record.KindHeartbeat, Heartbeat: &record.Heartbeat{IntervalMs: 1000}})
}

func (c *chainer) gap(from, to time.Duration) record.Sealed {
	return c.add(record.Record{Kind: record.KindGap, Gap: &record.Gap{From: t0.Add(from).UnixNano(), To: t0.Add(to).UnixNano(),
		Reason: record.GapStreamError}})
}

func (c *chainer) start() record.Sealed {
	return c.add(record.Record{Kind: record.KindStart, Lifecycle: &record.Lifecycle{Version: "test"}})
}
