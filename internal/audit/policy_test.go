package audit

import (
	"errors"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
)

// policyWorld is the fixture world with a few more policies to evaluate.
func policyWorld(t *testing.T) (*world, *Trust) {
	w := newWorldWith(t, func(ch *common.ConfigGroup) {
		app := ch.Groups["Application"]
		app.Policies["AllAdmins"] = implicit(common.ImplicitMetaPolicy_ALL, "Admins")
		app.Policies["AnyAdmins"] = implicit(common.ImplicitMetaPolicy_ANY, "Admins")
		app.Policies["Missing"] = implicit(common.ImplicitMetaPolicy_ANY, "NoSuchPolicy")
		p := app.Groups["ProviderMSP"]
		p.Policies["TwoAdmins"] = outOf(2, role("ProviderMSP", msp.MSPRole_ADMIN), role("ProviderMSP", msp.MSPRole_ADMIN))
		p.Policies["AdminAndPeer"] = outOf(2, role("ProviderMSP", msp.MSPRole_MEMBER), role("ProviderMSP", msp.MSPRole_PEER))
	})
	b, err := ParseBlock(w.config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := TrustFromConfigBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	return w, tr
}

func TestPolicyEvaluation(t *testing.T) {
	w, tr := policyWorld(t)
	msg := []byte("the update")
	sig := func(k keyPair) SignedData {
		return SignedData{Identity: k.serialized(t), Data: msg, Signature: k.sign(t, msg)}
	}
	adm := func(m string) SignedData { return sig(w.org(m).admin) }
	ca := w.orgs["ProviderMSP"].ca
	secondAdmin := issue(t, certSpec{msp: "ProviderMSP", cn: "Admin2@ProviderMSP", parent: &ca, ou: "admin"})
	bad := adm("UserMSP")
	bad.Signature = w.orgs["UserMSP"].admin.sign(t, []byte("something else"))
	tests := []struct {
		name   string
		path   string
		signed []SignedData
		want   string // "" when satisfied
	}{
		{"MAJORITY of three org admins is met by two", "/Channel/Application/Admins", []SignedData{adm("ProviderMSP"), adm("UserMSP")}, ""},
		{"MAJORITY of three org admins is not met by one", "/Channel/Application/Admins", []SignedData{adm("ProviderMSP")},
			"/Channel/Application/Admins: MAJORITY of 3 sub-policies Admins: need 2, satisfied 1 (ProviderMSP)"},
		{"a duplicate signer is counted once", "/Channel/Application/Admins", []SignedData{adm("ProviderMSP"), adm("ProviderMSP")},
			"signature 1 by ProviderMSP (CN=Admin@ProviderMSP): the same identity as signature 0, counted once"},
		{"a signature that does not verify is not counted", "/Channel/Application/Admins", []SignedData{adm("ProviderMSP"), bad},
			"signature 1 by UserMSP (CN=Admin@UserMSP): signature does not verify"},
		{"ALL of three org admins is not met by two", "/Channel/Application/AllAdmins", []SignedData{adm("ProviderMSP"), adm("UserMSP")},
			"ALL of 3 sub-policies Admins: need 3, satisfied 2 (ProviderMSP, UserMSP)"},
		{"ALL of three org admins is met by three", "/Channel/Application/AllAdmins",
			[]SignedData{adm("ProviderMSP"), adm("UserMSP"), adm("DeveloperMSP")}, ""},
		{"ANY org admin is met by one", "/Channel/Application/AnyAdmins", []SignedData{adm("DeveloperMSP")}, ""},
		{"ANY org admin is not met by a peer", "/Channel/Application/AnyAdmins", []SignedData{sig(w.orgs["DeveloperMSP"].peer)},
			"signature 0 by DeveloperMSP (CN=peer0.DeveloperMSP): not an admin of DeveloperMSP (OU peer)"},
		{"ANY Writers is met by a client", "/Channel/Application/Writers", []SignedData{sig(w.host("node1"))}, ""},
		{"ANY Writers is not met by a peer", "/Channel/Application/Writers", []SignedData{sig(w.orgs["UserMSP"].peer)},
			"ANY of 3 sub-policies Writers: need 1, satisfied 0 (none)"},
		{"nested MAJORITY: the channel's Admins need the orderer org's admin too", "/Channel/Admins",
			[]SignedData{adm("ProviderMSP"), adm("UserMSP")}, "/Channel/Admins: MAJORITY of 2 sub-policies Admins: need 2, satisfied 1 (Application)"},
		{"nested MAJORITY met by application and orderer admins", "/Channel/Admins",
			[]SignedData{adm("ProviderMSP"), adm("UserMSP"), adm("OrdererMSP")}, ""},
		{"2 of the same principal needs two identities", "/Channel/Application/ProviderMSP/TwoAdmins", []SignedData{adm("ProviderMSP")},
			"/Channel/Application/ProviderMSP/TwoAdmins: AND('ProviderMSP.admin', 'ProviderMSP.admin') not satisfied"},
		{"2 of the same principal is met by two admins", "/Channel/Application/ProviderMSP/TwoAdmins",
			[]SignedData{adm("ProviderMSP"), sig(secondAdmin)}, ""},
		{"a signer used for one principal is not used again", "/Channel/Application/ProviderMSP/AdminAndPeer",
			[]SignedData{sig(w.orgs["ProviderMSP"].peer)}, "AND('ProviderMSP.member', 'ProviderMSP.peer') not satisfied"},
		{"member then peer is met by an admin and a peer", "/Channel/Application/ProviderMSP/AdminAndPeer",
			[]SignedData{adm("ProviderMSP"), sig(w.orgs["ProviderMSP"].peer)}, ""},
		{"a missing sub-policy counts as not satisfied", "/Channel/Application/Missing", []SignedData{adm("ProviderMSP")},
			"ANY of 3 sub-policies NoSuchPolicy: need 1, satisfied 0 (none)"},
		{"a missing policy fails", "/Channel/Application/Nothing", []SignedData{adm("ProviderMSP")},
			"/Channel/Application/Nothing: the configuration has no such policy"},
		{"a signer outside the channel is not counted", "/Channel/Application/AnyAdmins",
			[]SignedData{sig(newOrg(t, "EvilMSP", "EvilMSP", "peer0", "peer").admin)}, "EvilMSP is not an organisation of channel e2l"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tr.EvaluatePolicy(tc.path, tc.signed, t0)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("not satisfied: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("a policy error names the signers", func(t *testing.T) {
		var pe *PolicyError
		err := tr.EvaluatePolicy("/Channel/Application/Admins", []SignedData{adm("ProviderMSP")}, t0)
		if !errors.As(err, &pe) || pe.Path != "/Channel/Application/Admins" || pe.SignedBy() != "ProviderMSP.admin (CN=Admin@ProviderMSP)" {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("an empty group satisfies an implicit meta policy, as in Fabric", func(t *testing.T) {
		delete(tr.Config.ChannelGroup.Groups["Application"].Groups, "ProviderMSP")
		delete(tr.Config.ChannelGroup.Groups["Application"].Groups, "DeveloperMSP")
		delete(tr.Config.ChannelGroup.Groups["Application"].Groups, "UserMSP")
		if err := tr.EvaluatePolicy("/Channel/Application/AllAdmins", nil, t0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestResolvePolicy(t *testing.T) {
	for _, tc := range []struct{ group, mod, want string }{
		{"/Channel/Application/ProviderMSP", "Admins", "/Channel/Application/ProviderMSP/Admins"},
		{"/Channel", "Application/Admins", "/Channel/Application/Admins"},
		{"/Channel/Application/ProviderMSP", "/Channel/Application/Admins", "/Channel/Application/Admins"},
	} {
		t.Run(tc.mod+" in "+tc.group+" is "+tc.want, func(t *testing.T) {
			if got := ResolvePolicy(tc.group, tc.mod); got != tc.want {
				t.Fatalf("got %s", got)
			}
		})
	}
}
