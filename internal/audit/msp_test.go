package audit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// mspOf builds an MSP from the fixture's configuration of an org, edited.
func mspOf(t *testing.T, w *world, o *org, edit func(fc *msp.FabricMSPConfig)) *MSP {
	t.Helper()
	var mc msp.MSPConfig
	var fc msp.FabricMSPConfig
	if err := proto.Unmarshal(w.mspConfig(o), &mc); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(mc.Config, &fc); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&fc)
	}
	mc.Config = mustMarshal(t, &fc)
	m, err := parseMSP(mustMarshal(t, &mc), false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMSPRoles(t *testing.T) {
	w := newWorld(t)
	p := w.orgs["ProviderMSP"]
	client := w.host("node1")
	inter := issue(t, certSpec{msp: "ProviderMSP", cn: "ica.ProviderMSP", parent: &p.ca, ca: true})
	viaInter := issue(t, certSpec{msp: "ProviderMSP", cn: "peer9", parent: &inter, ou: "peer"})
	both := issue(t, certSpec{msp: "ProviderMSP", cn: "both", parent: &p.ca, ou: "peer,client"})
	none := issue(t, certSpec{msp: "ProviderMSP", cn: "plain", parent: &p.ca})
	withInter := func(fc *msp.FabricMSPConfig) { fc.IntermediateCerts = [][]byte{inter.pem()} }
	type want struct {
		roles []msp.MSPRole_MSPRoleType
		err   string
	}
	tests := []struct {
		name string
		m    *MSP
		cert keyPair
		at   time.Time
		want want
	}{
		{"a peer is a member and a peer", mspOf(t, w, p, nil), p.peer, t0, want{roles: []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER, msp.MSPRole_PEER}}},
		{"a client is a member and a client", mspOf(t, w, p, nil), client, t0, want{roles: []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER, msp.MSPRole_CLIENT}}},
		{"an admin OU makes an admin", mspOf(t, w, p, nil), p.admin, t0, want{roles: []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER, msp.MSPRole_ADMIN}}},
		{"a listed admin certificate makes an admin", mspOf(t, w, p, func(fc *msp.FabricMSPConfig) { fc.Admins = [][]byte{client.pem()} }),
			client, t0, want{roles: []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER, msp.MSPRole_ADMIN, msp.MSPRole_CLIENT}}},
		{"without NodeOUs a peer is only a member", mspOf(t, w, p, func(fc *msp.FabricMSPConfig) { fc.FabricNodeOus = nil }),
			p.peer, t0, want{roles: []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER}}},
		{"an identity with two node OUs is no member", mspOf(t, w, p, nil), both, t0, want{err: "must carry exactly one node OU of ProviderMSP"}},
		{"an identity with no node OU is no member", mspOf(t, w, p, nil), none, t0, want{err: "it carries OU none"}},
		{"an identity from an intermediate CA is a peer when the NodeOUs name no certificate", mspOf(t, w, p, func(fc *msp.FabricMSPConfig) {
			withInter(fc)
			fc.FabricNodeOus.PeerOuIdentifier.Certificate = nil
		}), viaInter, t0, want{roles: []msp.MSPRole_MSPRoleType{msp.MSPRole_MEMBER, msp.MSPRole_PEER}}},
		{"an identity from an intermediate CA is refused when its NodeOU is bound to the root", mspOf(t, w, p, withInter), viaInter, t0,
			want{err: "has OU peer from another certification chain"}},
		{"an expired identity is no member at a later time", mspOf(t, w, p, nil), p.peer, t0.Add(48 * time.Hour),
			want{err: "is not valid at 2026-01-04T03:04:05Z"}},
		{"an identity of another CA is no member", mspOf(t, w, w.orgs["UserMSP"], nil), p.peer, t0,
			want{err: "does not chain to a UserMSP root CA"}},
		{"a CA certificate is no identity", mspOf(t, w, p, nil), p.ca, t0, want{err: "is a CA certificate"}},
		{"a revoked identity is no member", mspOf(t, w, p, func(fc *msp.FabricMSPConfig) { fc.RevocationList = [][]byte{w.crl(p, p.peer)} }),
			p.peer, t0, want{err: "is revoked by a CRL of CN=ca.ProviderMSP"}},
		{"a revoked listed admin is no admin", mspOf(t, w, p, func(fc *msp.FabricMSPConfig) {
			fc.Admins = [][]byte{client.pem()}
			fc.RevocationList = [][]byte{w.crl(p, client)}
		}), client, t0, want{err: "is revoked"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.m.Roles(tc.cert.cert, tc.at)
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("roles %v, error %v; want an error containing %q", got, err, tc.want.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want.roles) {
				t.Fatalf("roles %v, error %v; want %v", got, err, tc.want.roles)
			}
		})
	}
}

func TestHasRoleSaysWhatIsMissing(t *testing.T) {
	w := newWorld(t)
	d := w.orgs["DeveloperMSP"]
	client := issue(t, certSpec{msp: "DeveloperMSP", cn: "client1", parent: &d.ca, ou: "client"})
	m := mspOf(t, w, d, nil)
	noOUs := mspOf(t, w, d, func(fc *msp.FabricMSPConfig) { fc.FabricNodeOus = nil })
	for _, tc := range []struct {
		name string
		m    *MSP
		role msp.MSPRole_MSPRoleType
		want string
	}{
		{"a client is not a peer", m, msp.MSPRole_PEER, "not a peer of DeveloperMSP (OU client)"},
		{"a client is not an orderer", m, msp.MSPRole_ORDERER, "not an orderer of DeveloperMSP (OU client)"},
		{"a client is not an admin", m, msp.MSPRole_ADMIN, "not an admin of DeveloperMSP (OU client)"},
		{"without NodeOUs nobody is a peer", noOUs, msp.MSPRole_PEER, "NodeOUs are not enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.HasRole(client.cert, tc.role, t0)
			if err == nil || err.Error() != tc.want && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
