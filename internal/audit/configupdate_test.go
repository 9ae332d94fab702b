package audit

import (
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// majorityForProvider makes ProviderMSP's MSP value modifiable only by a
// majority of the application orgs' admins.
func majorityForProvider(ch *common.ConfigGroup) {
	ch.Groups["Application"].Groups["ProviderMSP"].Values["MSP"].ModPolicy = "/Channel/Application/Admins"
}

func admin(w *world, mspID string) keyPair { return w.org(mspID).admin }

func TestConfigurationUpdatesNeedTheirModPolicy(t *testing.T) {
	tests := []struct {
		name    string
		genesis func(ch *common.ConfigGroup)
		change  func(w *world)
		want    string // "" when the history is accepted
	}{
		{"an org rotating its own MSP signed by its own admin is accepted", nil,
			func(w *world) { w.rotate("ProviderMSP") }, ""},
		{"the orderer org rotating its own MSP signed by its own admin is accepted", nil,
			func(w *world) { w.rotate("OrdererMSP") }, ""},
		{"a rotation of another org's root signed by one org is refused", nil,
			func(w *world) { w.rotateSignedBy("ProviderMSP", admin(w, "DeveloperMSP")) },
			"configuration block 1 changes /Channel/Application/ProviderMSP/MSP (mod_policy Admins = /Channel/Application/ProviderMSP/Admins, " +
				"OR('ProviderMSP.admin')) but the update is signed only by DeveloperMSP.admin (CN=Admin@DeveloperMSP)"},
		{"a rotation of another org's root signed by the two other orgs is refused when the org's own admins decide", nil,
			func(w *world) { w.rotateSignedBy("ProviderMSP", admin(w, "DeveloperMSP"), admin(w, "UserMSP")) },
			"/Channel/Application/ProviderMSP/Admins: OR('ProviderMSP.admin') not satisfied"},
		{"a rotation signed by a majority of admins is accepted when that is the mod_policy", majorityForProvider,
			func(w *world) { w.rotateSignedBy("ProviderMSP", admin(w, "DeveloperMSP"), admin(w, "UserMSP")) }, ""},
		{"a rotation signed by one admin is refused when the mod_policy is a majority", majorityForProvider,
			func(w *world) { w.rotateSignedBy("ProviderMSP", admin(w, "DeveloperMSP")) },
			"/Channel/Application/Admins: MAJORITY of 3 sub-policies Admins: need 2, satisfied 1 (DeveloperMSP)"},
		{"a duplicated admin signature is counted once", majorityForProvider,
			func(w *world) { w.rotateSignedBy("ProviderMSP", admin(w, "DeveloperMSP"), admin(w, "DeveloperMSP")) },
			"update signature 1 by DeveloperMSP (CN=Admin@DeveloperMSP): the same identity as update signature 0, counted once"},
		{"an org's peer does not sign for its admins", nil,
			func(w *world) { w.rotateSignedBy("ProviderMSP", w.orgs["ProviderMSP"].peer) },
			"update signature 0 by ProviderMSP (CN=peer0.ProviderMSP): not an admin of ProviderMSP (OU peer)"},
		{"a revoked admin's signature is not counted", nil,
			func(w *world) {
				old := admin(w, "ProviderMSP")
				w.revoke(old)
				w.rotateSignedBy("ProviderMSP", old)
			}, "is revoked by a CRL of CN=ca.ProviderMSP"},
		{"a signature over another update is not counted", nil,
			func(w *world) {
				k := admin(w, "ProviderMSP")
				w.afterSign = func(cue *common.ConfigUpdateEnvelope) {
					cue.Signatures[0].Signature = k.sign(w.t, []byte("another update"))
				}
				w.rotate("ProviderMSP")
			}, "update signature 0 by ProviderMSP (CN=Admin@ProviderMSP): signature does not verify"},
		{"adding an organisation signed by one org is refused", nil,
			func(w *world) { w.update([]keyPair{admin(w, "DeveloperMSP")}, addOrg(w, "EvilMSP")) },
			"configuration block 1 changes /Channel/Application, adds /Channel/Application/EvilMSP (mod_policy Admins = /Channel/Application/Admins, MAJORITY Admins)"},
		{"adding an organisation signed by a majority of admins is accepted", nil,
			func(w *world) {
				w.update([]keyPair{admin(w, "DeveloperMSP"), admin(w, "UserMSP")}, addOrg(w, "EvilMSP"))
			}, ""},
		{"removing an organisation signed by one org is refused", nil,
			func(w *world) {
				w.update([]keyPair{admin(w, "DeveloperMSP")}, func(ch *common.ConfigGroup) {
					app := ch.Groups["Application"]
					delete(app.Groups, "ProviderMSP")
					app.Version++
				})
			}, "removes /Channel/Application/ProviderMSP"},
		{"a change missing from the update's write set is refused", nil,
			func(w *world) {
				w.updateWith([]keyPair{admin(w, "ProviderMSP")}, changeMSP(w, "ProviderMSP"),
					func(cu *common.ConfigUpdate, next *common.Config) bool {
						cu.WriteSet.Groups["Application"].Groups["ProviderMSP"].Values["MSP"] = cu.ReadSet.Groups["Application"].Groups["ProviderMSP"].Values["MSP"]
						return true
					})
			}, "value /Channel/Application/ProviderMSP/MSP differs from configuration block 0 but not as its update's write set says"},
		{"an update applied only in part is refused", nil,
			func(w *world) {
				w.updateWith([]keyPair{admin(w, "ProviderMSP")}, changeMSP(w, "ProviderMSP"),
					func(cu *common.ConfigUpdate, next *common.Config) bool {
						// the update also revokes a UserMSP certificate; the block leaves that out
						u := w.orgs["UserMSP"]
						v := cu.WriteSet.Groups["Application"].Groups["UserMSP"].Values["MSP"]
						u.crls = append(u.crls, w.crl(u, u.peer))
						cu.WriteSet.Groups["Application"].Groups["UserMSP"].Values["MSP"] = &common.ConfigValue{Version: v.Version + 1,
							ModPolicy: v.ModPolicy, Value: w.mspConfig(u)}
						return true
					})
			}, "configuration block 1 does not hold value /Channel/Application/UserMSP/MSP as its update writes it"},
		{"a changed element keeping its version is refused", nil,
			func(w *world) {
				w.update([]keyPair{admin(w, "ProviderMSP")}, func(ch *common.ConfigGroup) {
					changeMSP(w, "ProviderMSP")(ch)
					ch.Groups["Application"].Groups["ProviderMSP"].Values["MSP"].Version = 0
				})
			}, "value /Channel/Application/ProviderMSP/MSP changed from version 0 to 0"},
		{"a configuration block without its update is refused", nil,
			func(w *world) {
				w.updateWith(nil, changeMSP(w, "ProviderMSP"),
					func(*common.ConfigUpdate, *common.Config) bool { return false })
			}, "configuration block 1 carries no configuration update (last_update)"},
		{"a configuration block skipping a sequence is refused", nil,
			func(w *world) {
				w.updateWith([]keyPair{admin(w, "ProviderMSP")}, changeMSP(w, "ProviderMSP"),
					func(_ *common.ConfigUpdate, next *common.Config) bool { next.Sequence++; return true })
			}, "configuration block 1 has sequence 2"},
		{"an update for another channel is refused", nil,
			func(w *world) {
				w.updateWith([]keyPair{admin(w, "ProviderMSP")}, changeMSP(w, "ProviderMSP"),
					func(cu *common.ConfigUpdate, _ *common.Config) bool { cu.ChannelId = "other"; return true })
			}, `its configuration update is for channel "other"`},
		{"a configuration block changing nothing is refused", nil,
			func(w *world) { w.update([]keyPair{admin(w, "ProviderMSP")}, func(*common.ConfigGroup) {}) },
			"configuration block 1 changes nothing"},
		{"changing the block validation policy needs the orderer's admins", nil,
			func(w *world) {
				w.update([]keyPair{admin(w, "ProviderMSP")}, func(ch *common.ConfigGroup) {
					p := ch.Groups["Orderer"].Policies["BlockValidation"]
					ch.Groups["Orderer"].Policies["BlockValidation"] = implicit(common.ImplicitMetaPolicy_ANY, "Readers")
					ch.Groups["Orderer"].Policies["BlockValidation"].Version = p.Version + 1
				})
			}, "changes /Channel/Orderer/BlockValidation (mod_policy Admins = /Channel/Orderer/Admins, MAJORITY Admins)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, tc.genesis)
			tc.change(w)
			c, problems := CheckConfigs(w.configs)
			if tc.want == "" {
				if c == nil || len(problems) > 0 {
					t.Fatalf("history refused:\n%s", strings.Join(problems, "\n"))
				}
				return
			}
			if c != nil {
				t.Fatalf("history accepted, want a problem containing %q", tc.want)
			}
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Fatalf("want a problem containing %q; problems:\n%s", tc.want, strings.Join(problems, "\n"))
		})
	}
}

// addOrg adds a new application organisation with its own CA.
func addOrg(w *world, mspID string) func(ch *common.ConfigGroup) {
	return func(ch *common.ConfigGroup) {
		o := newOrg(w.t, mspID, mspID, "peer0."+mspID, "peer")
		app := ch.Groups["Application"]
		app.Groups[mspID] = w.orgGroup(o, false)
		app.Version++
	}
}

// changeMSP changes an organisation's MSP value: a CRL revoking a
// certificate nobody uses.
func changeMSP(w *world, mspID string) func(ch *common.ConfigGroup) {
	return func(ch *common.ConfigGroup) {
		o := w.org(mspID)
		o.crls = append(o.crls, w.crl(o, issue(w.t, certSpec{msp: mspID, cn: "unused", parent: &o.ca, ou: "client"})))
		w.setMSP(ch, mspID)
	}
}

func TestAnOrgCannotDefineAnotherOrgsMSP(t *testing.T) {
	w := newWorld(t)
	d := w.orgs["DeveloperMSP"]
	// Developer's own group, its own admin signing (its mod_policy), but
	// an MSP named ProviderMSP under a CA Developer holds.
	fake := &org{ca: issue(t, certSpec{msp: "ProviderMSP", cn: "ca.fake"})}
	w.update([]keyPair{d.admin}, func(ch *common.ConfigGroup) {
		g := ch.Groups["Application"].Groups["DeveloperMSP"]
		g.Values["MSP"] = &common.ConfigValue{Version: g.Values["MSP"].Version + 1, ModPolicy: "Admins", Value: w.mspConfig(fake)}
	})
	_, problems := CheckConfigs(w.configs)
	want := "org groups Application/DeveloperMSP and Application/ProviderMSP define MSP ProviderMSP differently"
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), want) {
		t.Fatalf("want %q; problems: %v", want, problems)
	}
}
