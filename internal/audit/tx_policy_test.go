package audit

import (
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/e2l-project/e2l/internal/record"
)

func TestEndorsementsSatisfyTheChannelsEndorsementPolicy(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world) (txOpts, TxOptions)
		want  []string // nil when the transaction verifies
	}{
		{"peers of two organisations satisfy MAJORITY Endorsement", func(w *world) (txOpts, TxOptions) {
			return txOpts{}, TxOptions{}
		}, nil},
		{"peers of all three organisations satisfy it", func(w *world) (txOpts, TxOptions) {
			return txOpts{endorsers: []string{"ProviderMSP", "DeveloperMSP", "UserMSP"}}, TxOptions{}
		}, nil},
		{"a client-signed endorsement is not counted", func(w *world) (txOpts, TxOptions) {
			ca := w.orgs["DeveloperMSP"].ca
			client := issue(t, certSpec{msp: "DeveloperMSP", cn: "client1", parent: &ca, ou: "client"})
			return txOpts{endorse: []keyPair{w.orgs["ProviderMSP"].peer, client}}, TxOptions{}
		}, []string{"endorsement policy not met", "need 2, satisfied 1 (ProviderMSP)",
			"endorsement 1 by DeveloperMSP (CN=client1): not a peer of DeveloperMSP (OU client)"}},
		{"an admin-signed endorsement is not counted", func(w *world) (txOpts, TxOptions) {
			return txOpts{endorse: []keyPair{w.orgs["ProviderMSP"].peer, w.orgs["UserMSP"].admin}}, TxOptions{}
		}, []string{"endorsement 1 by UserMSP (CN=Admin@UserMSP): not a peer of UserMSP (OU admin)"}},
		{"a revoked peer's endorsement is not counted", func(w *world) (txOpts, TxOptions) {
			w.revoke(w.orgs["UserMSP"].peer)
			return txOpts{}, TxOptions{}
		}, []string{"endorsement 1 by UserMSP (CN=peer0.UserMSP)", "is revoked by a CRL of CN=ca.UserMSP"}},
		{"a CRL that the peer's CA did not sign revokes nothing", func(w *world) (txOpts, TxOptions) {
			u := w.orgs["UserMSP"]
			forger := &org{ca: issue(t, certSpec{msp: "UserMSP", cn: "ca.UserMSP"})}
			u.crls = append(u.crls, w.crl(forger, u.peer))
			w.update([]keyPair{u.admin}, func(ch *common.ConfigGroup) { w.setMSP(ch, "UserMSP") })
			return txOpts{}, TxOptions{}
		}, nil},
		{"an endorser expired at the transaction's time is refused", func(w *world) (txOpts, TxOptions) {
			u := w.orgs["UserMSP"]
			u.peer = issue(t, certSpec{msp: "UserMSP", cn: "peer0.UserMSP", parent: &u.ca, ou: "peer", notAfter: t0})
			return txOpts{}, TxOptions{}
		}, []string{"endorsement 1 by UserMSP (CN=peer0.UserMSP)", "is not valid at 2026-01-02T03:04:06Z (valid from 2026-01-02T02:04:05Z to 2026-01-02T03:04:05Z)"}},
		{"the same peer endorsing twice counts once", func(w *world) (txOpts, TxOptions) {
			return txOpts{endorsers: []string{"ProviderMSP", "ProviderMSP"}}, TxOptions{}
		}, []string{"need 2, satisfied 1 (ProviderMSP)", "endorsement 1 by ProviderMSP (CN=peer0.ProviderMSP): the same identity as endorsement 0, counted once"}},
		{"two peers of one organisation are one organisation", func(w *world) (txOpts, TxOptions) {
			p := w.orgs["ProviderMSP"]
			other := issue(t, certSpec{msp: "ProviderMSP", cn: "peer1.ProviderMSP", parent: &p.ca, ou: "peer"})
			return txOpts{endorse: []keyPair{p.peer, other}}, TxOptions{}
		}, []string{"need 2, satisfied 1 (ProviderMSP)"}},
		{"an orderer's endorsement is not counted", func(w *world) (txOpts, TxOptions) {
			return txOpts{endorse: []keyPair{w.orgs["ProviderMSP"].peer, w.orderer.peer}}, TxOptions{}
		}, []string{"endorsement 1 by OrdererMSP (CN=orderer0): counts for no principal"}},
		{"a peer of an organisation outside the channel is not counted", func(w *world) (txOpts, TxOptions) {
			evil := newOrg(t, "EvilMSP", "EvilMSP", "peer0.EvilMSP", "peer")
			return txOpts{endorse: []keyPair{w.orgs["ProviderMSP"].peer, evil.peer}}, TxOptions{}
		}, []string{"endorsement 1 by EvilMSP (CN=peer0.EvilMSP): EvilMSP is not an organisation of channel e2l"}},
		{"the override can require all three organisations", func(w *world) (txOpts, TxOptions) {
			return txOpts{}, TxOptions{MinEndorsingOrgs: 3}
		}, []string{"valid peer endorsements from 2 organisation(s) [ProviderMSP, UserMSP], the override asks for 3"}},
		{"the override cannot loosen the policy", func(w *world) (txOpts, TxOptions) {
			return txOpts{endorsers: []string{"UserMSP"}}, TxOptions{MinEndorsingOrgs: 1}
		}, []string{"need 2, satisfied 1 (UserMSP)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			opt, txo := tc.setup(w)
			c := newChainer(t, "node1")
			// Version 2: these blocks carry no host registry (owners_test.go covers it).
			a := &Archive{Version: 2, Channel: "e2l", Chaincode: "e2l"}
			a.Records = w.commit(record.Batch{Records: []record.Sealed{c.start()}}, opt)
			a.Blocks, a.ConfigBlocks = w.blocks, w.configs
			rep := Verify(a, VerifyOptions{Tx: txo, Anchor: anchorOf(t, w)})
			if tc.want == nil {
				if rep.Failed() {
					t.Fatalf("verification fails:\n%s", strings.Join(errorsOf(rep), "\n"))
				}
				return
			}
			wantError(t, rep, "node1", 1, tc.want...)
		})
	}
}

func TestBlocksSatisfyTheBlockValidationPolicy(t *testing.T) {
	tests := []struct {
		name   string
		signer func(w *world) keyPair
		want   []string
	}{
		{"a block signed by a peer organisation's peer is refused", func(w *world) keyPair { return w.orgs["ProviderMSP"].peer },
			[]string{"block 1: orderer signatures do not satisfy the channel's block validation policy: /Channel/Orderer/BlockValidation: ANY of 1 sub-policies Writers: need 1, satisfied 0 (none)",
				"orderer signature 0 by ProviderMSP (CN=peer0.ProviderMSP): counts for no principal"}},
		{"a block signed by an orderer expired at the block's time is refused", func(w *world) keyPair {
			return issue(t, certSpec{msp: "OrdererMSP", cn: "orderer0", parent: &w.orderer.ca, ou: "orderer", notAfter: t0})
		}, []string{"orderer signature 0 by OrdererMSP (CN=orderer0)", "certificate has expired or is not yet valid"}},
		{"a block signed by a revoked orderer is refused", func(w *world) keyPair {
			k := w.orderer.peer
			w.revoke(k)
			return k
		}, []string{"orderer signature 0 by OrdererMSP (CN=orderer0)", "is revoked by a CRL of CN=ca.OrdererMSP"}},
		{"a block signed by a member of the orderer organisation passes, as BlockValidation (ANY Writers) says", func(w *world) keyPair {
			return issue(t, certSpec{msp: "OrdererMSP", cn: "orderer1", parent: &w.orderer.ca, ou: "orderer"})
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.orderer.peer = tc.signer(w)
			c := newChainer(t, "node1")
			a := &Archive{Version: 2, Channel: "e2l", Chaincode: "e2l"}
			a.Records = w.commit(record.Batch{Records: []record.Sealed{c.start()}}, txOpts{})
			a.Blocks, a.ConfigBlocks = w.blocks, w.configs
			rep := Verify(a, VerifyOptions{Anchor: anchorOf(t, w)})
			if tc.want == nil {
				if rep.Failed() {
					t.Fatalf("verification fails:\n%s", strings.Join(errorsOf(rep), "\n"))
				}
				return
			}
			wantError(t, rep, "node1", 1, tc.want...)
		})
	}
}
