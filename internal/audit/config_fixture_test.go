package audit

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// The fixture's channel configuration is shaped like the one configtxgen
// makes from network/templates/configtx.yaml.tmpl: implicit meta policies
// at the channel, Application and Orderer levels, signature policies in
// each organisation, mod_policy Admins everywhere, MSPs with NodeOUs.

func role(mspID string, r msp.MSPRole_MSPRoleType) *msp.MSPPrincipal {
	b, _ := proto.Marshal(&msp.MSPRole{MspIdentifier: mspID, Role: r})
	return &msp.MSPPrincipal{PrincipalClassification: msp.MSPPrincipal_ROLE, Principal: b}
}

// outOf is a signature policy: n of the principals, each SignedBy once.
func outOf(n int32, ps ...*msp.MSPPrincipal) *common.ConfigPolicy {
	var rules []*common.SignaturePolicy
	for i := range ps {
		rules = append(rules, &common.SignaturePolicy{Type: &common.SignaturePolicy_SignedBy{SignedBy: int32(i)}})
	}
	env := &common.SignaturePolicyEnvelope{Rule: &common.SignaturePolicy{Type: &common.SignaturePolicy_NOutOf_{
		NOutOf: &common.SignaturePolicy_NOutOf{N: n, Rules: rules}}}, Identities: ps}
	b, _ := proto.Marshal(env)
	return &common.ConfigPolicy{ModPolicy: "Admins", Policy: &common.Policy{Type: int32(common.Policy_SIGNATURE), Value: b}}
}

func anyOf(ps ...*msp.MSPPrincipal) *common.ConfigPolicy { return outOf(1, ps...) }

func implicit(rule common.ImplicitMetaPolicy_Rule, sub string) *common.ConfigPolicy {
	b, _ := proto.Marshal(&common.ImplicitMetaPolicy{Rule: rule, SubPolicy: sub})
	return &common.ConfigPolicy{ModPolicy: "Admins", Policy: &common.Policy{Type: int32(common.Policy_IMPLICIT_META), Value: b}}
}

// mspConfig is an organisation's MSP value content: its root CA, NodeOUs
// bound to it, and its CRLs.
func (w *world) mspConfig(o *org) []byte {
	ou := func(name string) *msp.FabricOUIdentifier {
		return &msp.FabricOUIdentifier{Certificate: o.ca.pem(), OrganizationalUnitIdentifier: name}
	}
	fc := mustMarshal(w.t, &msp.FabricMSPConfig{Name: o.ca.msp, RootCerts: [][]byte{o.ca.pem()}, RevocationList: o.crls,
		CryptoConfig: &msp.FabricCryptoConfig{SignatureHashFamily: "SHA2", IdentityIdentifierHashFunction: "SHA256"},
		FabricNodeOus: &msp.FabricNodeOUs{Enable: true, ClientOuIdentifier: ou("client"), PeerOuIdentifier: ou("peer"),
			AdminOuIdentifier: ou("admin"), OrdererOuIdentifier: ou("orderer")}})
	return mustMarshal(w.t, &msp.MSPConfig{Config: fc})
}

func (w *world) orgGroup(o *org, orderer bool) *common.ConfigGroup {
	m := o.ca.msp
	g := &common.ConfigGroup{ModPolicy: "Admins", Values: map[string]*common.ConfigValue{
		"MSP": {ModPolicy: "Admins", Value: w.mspConfig(o)}}}
	if orderer {
		g.Policies = map[string]*common.ConfigPolicy{
			"Readers": anyOf(role(m, msp.MSPRole_MEMBER)),
			"Writers": anyOf(role(m, msp.MSPRole_MEMBER)),
			"Admins":  anyOf(role(m, msp.MSPRole_ADMIN)),
		}
		return g
	}
	g.Policies = map[string]*common.ConfigPolicy{
		"Readers":     anyOf(role(m, msp.MSPRole_ADMIN), role(m, msp.MSPRole_PEER), role(m, msp.MSPRole_CLIENT)),
		"Writers":     anyOf(role(m, msp.MSPRole_ADMIN), role(m, msp.MSPRole_CLIENT)),
		"Admins":      anyOf(role(m, msp.MSPRole_ADMIN)),
		"Endorsement": anyOf(role(m, msp.MSPRole_PEER)),
	}
	return g
}

func (w *world) genesisConfig() *common.Config {
	metas := func(extra map[string]*common.ConfigPolicy) map[string]*common.ConfigPolicy {
		p := map[string]*common.ConfigPolicy{
			"Readers": implicit(common.ImplicitMetaPolicy_ANY, "Readers"),
			"Writers": implicit(common.ImplicitMetaPolicy_ANY, "Writers"),
			"Admins":  implicit(common.ImplicitMetaPolicy_MAJORITY, "Admins"),
		}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	app := &common.ConfigGroup{ModPolicy: "Admins", Groups: map[string]*common.ConfigGroup{},
		Values: map[string]*common.ConfigValue{"Capabilities": {ModPolicy: "Admins", Value: []byte("V2_5")}},
		Policies: metas(map[string]*common.ConfigPolicy{
			"Endorsement":          implicit(common.ImplicitMetaPolicy_MAJORITY, "Endorsement"),
			"LifecycleEndorsement": implicit(common.ImplicitMetaPolicy_MAJORITY, "Endorsement"),
		})}
	for _, o := range w.orgs {
		app.Groups[o.group] = w.orgGroup(o, false)
	}
	ord := &common.ConfigGroup{ModPolicy: "Admins",
		Groups: map[string]*common.ConfigGroup{w.orderer.group: w.orgGroup(&w.orderer, true)},
		Values: map[string]*common.ConfigValue{"BatchSize": {ModPolicy: "Admins", Value: []byte("10")}},
		Policies: metas(map[string]*common.ConfigPolicy{
			"BlockValidation": implicit(common.ImplicitMetaPolicy_ANY, "Writers"),
		})}
	return &common.Config{ChannelGroup: &common.ConfigGroup{ModPolicy: "Admins", Policies: metas(nil),
		Groups: map[string]*common.ConfigGroup{"Application": app, "Orderer": ord}}}
}

// orgPath is the section and group of an organisation.
func (w *world) orgGroupIn(ch *common.ConfigGroup, mspID string) *common.ConfigGroup {
	if mspID == w.orderer.ca.msp {
		return ch.Groups["Orderer"].Groups[w.orderer.group]
	}
	return ch.Groups["Application"].Groups[w.orgs[mspID].group]
}

// setMSP writes an organisation's current MSP (CA, CRLs) into its MSP
// value at the next version.
func (w *world) setMSP(ch *common.ConfigGroup, mspID string) {
	g := w.orgGroupIn(ch, mspID)
	v := g.Values["MSP"]
	g.Values["MSP"] = &common.ConfigValue{Version: v.Version + 1, ModPolicy: v.ModPolicy, Value: w.mspConfig(w.org(mspID))}
}

// update edits the configuration and orders it in a configuration block
// whose update (read set: the configuration before; write set: the whole
// edited one) the signers sign.
func (w *world) update(signers []keyPair, edit func(ch *common.ConfigGroup)) {
	w.updateWith(signers, edit, nil)
}

// updateWith is update with the configuration update (and the next
// configuration) altered by tweak before signing; tweak returning false
// leaves the block without its update.
func (w *world) updateWith(signers []keyPair, edit func(ch *common.ConfigGroup), tweak func(cu *common.ConfigUpdate, next *common.Config) bool) {
	next := proto.Clone(w.cfg).(*common.Config)
	edit(next.ChannelGroup)
	next.Sequence++
	cu := &common.ConfigUpdate{ChannelId: "e2l", ReadSet: proto.Clone(w.cfg.ChannelGroup).(*common.ConfigGroup),
		WriteSet: proto.Clone(next.ChannelGroup).(*common.ConfigGroup)}
	w.lastUpdate = nil
	if tweak == nil || tweak(cu, next) {
		w.lastUpdate = w.signUpdate(cu, signers)
	}
	w.cfg = next
	w.lastCfg = w.height // the configuration block names itself
	w.config = w.configBlock()
	w.configs = append(w.configs, w.config)
	w.blocks = append(w.blocks, w.config)
}

func (w *world) signUpdate(cu *common.ConfigUpdate, signers []keyPair) *common.Envelope {
	upd := mustMarshal(w.t, cu)
	cue := &common.ConfigUpdateEnvelope{ConfigUpdate: upd}
	for _, k := range signers {
		sh := mustMarshal(w.t, &common.SignatureHeader{Creator: k.serialized(w.t), Nonce: []byte("u")})
		cue.Signatures = append(cue.Signatures, &common.ConfigSignature{SignatureHeader: sh,
			Signature: k.sign(w.t, append(append([]byte{}, sh...), upd...))})
	}
	if w.afterSign != nil {
		w.afterSign(cue)
	}
	payload := mustMarshal(w.t, &common.Payload{Header: &common.Header{
		ChannelHeader: mustMarshal(w.t, &common.ChannelHeader{Type: int32(common.HeaderType_CONFIG_UPDATE), ChannelId: "e2l"})},
		Data: mustMarshal(w.t, cue)})
	return &common.Envelope{Payload: payload}
}

// crl is a PEM CRL of the organisation's CA revoking the certificates.
func (w *world) crl(o *org, revoked ...keyPair) []byte {
	var entries []x509.RevocationListEntry
	for _, k := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: k.cert.SerialNumber, RevocationTime: t0})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: t0,
		NextUpdate: t0.Add(time.Hour), RevokedCertificateEntries: entries}, o.ca.cert, o.ca.key)
	if err != nil {
		w.t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// revoke adds a CRL revoking k to its organisation's MSP, in an update
// signed by the organisation's admin.
func (w *world) revoke(k keyPair) {
	o := w.org(k.msp)
	o.crls = append(o.crls, w.crl(o, k))
	w.update([]keyPair{o.admin}, func(ch *common.ConfigGroup) { w.setMSP(ch, k.msp) })
}
