//go:build integration

package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/network"
)

// What a dishonest org can sign with the keys it legitimately holds: its
// admin's, and its orderer's (on Raft one orderer signature satisfies the
// channel's BlockValidation policy).

// orgSigner is one identity of an org that the attacker controls.
type orgSigner struct {
	mspID   string
	certPEM []byte
	sign    identity.Sign
}

// loadSigner reads an MSP directory's signing certificate and key.
func loadSigner(t *testing.T, mspID, mspDir string) orgSigner {
	t.Helper()
	certs, _ := filepath.Glob(filepath.Join(mspDir, "signcerts", "*.pem"))
	keys, _ := filepath.Glob(filepath.Join(mspDir, "keystore", "*_sk"))
	if len(certs) != 1 || len(keys) != 1 {
		t.Fatalf("%s: want one certificate and one key, found %v %v", mspDir, certs, keys)
	}
	certPEM, err := os.ReadFile(certs[0])
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	return orgSigner{mspID: mspID, certPEM: certPEM, sign: sign}
}

// ordererSigner is o's orderer node's signing identity (its orderer org's).
func ordererSigner(t *testing.T, n *network.Network, o network.Org) orgSigner {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(n.Dir(), "crypto", "ordererOrganizations", strings.ToLower(string(o))+"-orderer.e2l.local", "orderers", "*", "msp"))
	if len(dirs) != 1 {
		t.Fatalf("orderer MSP of %s: found %v", o, dirs)
	}
	return loadSigner(t, o.OrdererMSPID(), dirs[0])
}

// adminSigner is o's admin.
func adminSigner(t *testing.T, n *network.Network, o network.Org) orgSigner {
	t.Helper()
	return loadSigner(t, o.MSPID(), n.Peer(o).AdminMSPDir)
}

func (s orgSigner) creator(t *testing.T) []byte {
	return mustProto(t, &msp.SerializedIdentity{Mspid: s.mspID, IdBytes: s.certPEM})
}

func (s orgSigner) signatureHeader(t *testing.T) []byte {
	nonce := make([]byte, 24)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return mustProto(t, &common.SignatureHeader{Creator: s.creator(t), Nonce: nonce})
}

// signMsg is a Fabric signature: ECDSA (low S) over SHA-256(msg).
func (s orgSigner) signMsg(t *testing.T, msg []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(msg)
	sig, err := s.sign(sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// signBlock sets the block's data hash and replaces its orderer signatures
// by one of s over value (the OrdererBlockMetadata, naming the last
// configuration block).
func (s orgSigner) signBlock(t *testing.T, b *common.Block, value []byte) {
	t.Helper()
	b.Header.DataHash = audit.DataHash(b.Data)
	shdr := s.signatureHeader(t)
	sig := s.signMsg(t, append(append(append([]byte{}, value...), shdr...), audit.HeaderBytes(b.Header)...))
	for len(b.Metadata.Metadata) < 5 {
		b.Metadata.Metadata = append(b.Metadata.Metadata, nil)
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_SIGNATURES] = mustProto(t, &common.Metadata{Value: value,
		Signatures: []*common.MetadataSignature{{SignatureHeader: shdr, Signature: sig}}})
}

// signatureValue is the OrdererBlockMetadata a block's signatures cover.
func signatureValue(t *testing.T, b *common.Block) []byte {
	t.Helper()
	var md common.Metadata
	if err := proto.Unmarshal(b.GetMetadata().GetMetadata()[common.BlockMetadataIndex_SIGNATURES], &md); err != nil {
		t.Fatal(err)
	}
	return md.GetValue()
}

// withExtraTx is a copy of block b with one more envelope (flagged VALID),
// re-signed by s: a block an orderer org can make alone.
func withExtraTx(t *testing.T, raw, env []byte, s orgSigner) (*common.Block, []byte) {
	t.Helper()
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	b.Data.Data = append(b.Data.Data, env)
	md := b.Metadata.Metadata
	md[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = append(append([]byte{}, md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]...), 0)
	s.signBlock(t, &b, signatureValue(t, &b))
	return &b, mustProto(t, &b)
}

// headerHash is the hash the next block's PreviousHash holds.
func headerHash(h *common.BlockHeader) []byte {
	sum := sha256.Sum256(audit.HeaderBytes(h))
	return sum[:]
}

// ---- configuration ------------------------------------------------------

// configOf reads the channel configuration a configuration block carries.
func configOf(t *testing.T, raw []byte) *common.Config {
	t.Helper()
	var blk common.Block
	var env common.Envelope
	var payload common.Payload
	var cenv common.ConfigEnvelope
	if err := proto.Unmarshal(raw, &blk); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(blk.GetData().GetData()[0], &env); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(payload.GetData(), &cenv); err != nil {
		t.Fatal(err)
	}
	return cenv.GetConfig()
}

// rotateRoot is a configuration update replacing the root CAs of an
// application org by caPEM, and the configuration it leads to.
func rotateRoot(t *testing.T, cfg *common.Config, mspID string, caPEM []byte) (*common.ConfigUpdate, *common.Config) {
	t.Helper()
	next := proto.Clone(cfg).(*common.Config)
	next.Sequence++
	ch := next.GetChannelGroup()
	app := ch.GetGroups()["Application"]
	for name, org := range app.GetGroups() {
		v := org.GetValues()["MSP"]
		var mc msp.MSPConfig
		var fc msp.FabricMSPConfig
		if err := proto.Unmarshal(v.GetValue(), &mc); err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(mc.GetConfig(), &fc); err != nil {
			t.Fatal(err)
		}
		if fc.GetName() != mspID {
			continue
		}
		// The new root, and the NodeOU identifiers that name the root they
		// classify under: a well-formed MSP of a CA the attacker holds.
		fc.RootCerts, fc.IntermediateCerts = [][]byte{caPEM}, nil
		if ous := fc.GetFabricNodeOus(); ous != nil {
			for _, ou := range []*msp.FabricOUIdentifier{ous.GetClientOuIdentifier(), ous.GetPeerOuIdentifier(), ous.GetAdminOuIdentifier(), ous.GetOrdererOuIdentifier()} {
				if ou != nil && len(ou.GetCertificate()) > 0 {
					ou.Certificate = caPEM
				}
			}
		}
		for _, ou := range fc.GetOrganizationalUnitIdentifiers() {
			if len(ou.GetCertificate()) > 0 {
				ou.Certificate = caPEM
			}
		}
		mc.Config = mustProto(t, &fc)
		v.Value = mustProto(t, &mc)
		v.Version++
		update := &common.ConfigUpdate{
			ChannelId: network.ChannelName,
			ReadSet: &common.ConfigGroup{Version: ch.GetVersion(), Groups: map[string]*common.ConfigGroup{
				"Application": {Version: app.GetVersion(), Groups: map[string]*common.ConfigGroup{name: {Version: org.GetVersion()}}}}},
			WriteSet: &common.ConfigGroup{Version: ch.GetVersion(), Groups: map[string]*common.ConfigGroup{
				"Application": {Version: app.GetVersion(), Groups: map[string]*common.ConfigGroup{name: {Version: org.GetVersion(),
					Values: map[string]*common.ConfigValue{"MSP": {Version: v.GetVersion(), Value: v.GetValue(), ModPolicy: v.GetModPolicy()}}}}}}},
		}
		return update, next
	}
	t.Fatalf("no application org %s in the configuration", mspID)
	return nil, nil
}

// signedUpdateEnvelope is a CONFIG_UPDATE envelope carrying update, signed
// (as a config signature and as the envelope's creator) by signers.
func signedUpdateEnvelope(t *testing.T, update *common.ConfigUpdate, signers ...orgSigner) *common.Envelope {
	t.Helper()
	upd := mustProto(t, update)
	cue := &common.ConfigUpdateEnvelope{ConfigUpdate: upd}
	for _, s := range signers {
		shdr := s.signatureHeader(t)
		cue.Signatures = append(cue.Signatures, &common.ConfigSignature{SignatureHeader: shdr, Signature: s.signMsg(t, append(append([]byte{}, shdr...), upd...))})
	}
	hdr := &common.Header{ChannelHeader: mustProto(t, &common.ChannelHeader{Type: int32(common.HeaderType_CONFIG_UPDATE),
		ChannelId: network.ChannelName, Timestamp: timestamppb.Now()})}
	if len(signers) > 0 {
		hdr.SignatureHeader = signers[0].signatureHeader(t)
	}
	payload := mustProto(t, &common.Payload{Header: hdr, Data: mustProto(t, cue)})
	env := &common.Envelope{Payload: payload}
	if len(signers) > 0 {
		env.Signature = signers[0].signMsg(t, payload)
	}
	return env
}

// forgedConfigBlock is configuration block number num carrying next and the
// update that led to it, ordered and signed by orderer alone, linked to
// prev.
func forgedConfigBlock(t *testing.T, num uint64, prev *common.BlockHeader, next *common.Config, lastUpdate *common.Envelope, orderer orgSigner) []byte {
	t.Helper()
	shdr := orderer.signatureHeader(t)
	payload := mustProto(t, &common.Payload{
		Header: &common.Header{ChannelHeader: mustProto(t, &common.ChannelHeader{Type: int32(common.HeaderType_CONFIG),
			ChannelId: network.ChannelName, Timestamp: timestamppb.Now()}), SignatureHeader: shdr},
		Data: mustProto(t, &common.ConfigEnvelope{Config: next, LastUpdate: lastUpdate}),
	})
	env := mustProto(t, &common.Envelope{Payload: payload, Signature: orderer.signMsg(t, payload)})
	b := &common.Block{
		Header:   &common.BlockHeader{Number: num, PreviousHash: headerHash(prev)},
		Data:     &common.BlockData{Data: [][]byte{env}},
		Metadata: &common.BlockMetadata{Metadata: make([][]byte, 5)},
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_LAST_CONFIG] = mustProto(t, &common.Metadata{Value: mustProto(t, &common.LastConfig{Index: num})})
	b.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = []byte{0}
	orderer.signBlock(t, b, mustProto(t, &common.OrdererBlockMetadata{LastConfig: &common.LastConfig{Index: num}}))
	return mustProto(t, b)
}

// selfMadeCA is a new root CA certificate (PEM) named like an org's.
func selfMadeCA(t *testing.T, org network.Org) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	name := "ca." + strings.ToLower(string(org)) + ".e2l.local"
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name, Organization: []string{name}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
