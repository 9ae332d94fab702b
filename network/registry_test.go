package network

import (
	"strings"
	"testing"
)

func TestEnrollHostRefusesAnUnknownSwarmRoleBeforeEnrolling(t *testing.T) {
	c, err := Config{Dir: t.TempDir(), PortBase: 20000}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	n := &Network{cfg: c}
	// No CA runs: an option check that came after contacting it would
	// fail with another error.
	_, err = n.EnrollHost(t.Context(), Provider, "node1", EnrollOptions{SwarmRole: "leader"})
	if err == nil || !strings.Contains(err.Error(), `swarm role "leader"`) {
		t.Fatalf("error %v, want the swarm role refused", err)
	}
}

func TestAdminEnvIsTheOrgAdminsWithItsOwnPeerFirst(t *testing.T) {
	c, err := Config{Dir: t.TempDir(), PortBase: 20000}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	n := &Network{cfg: c}
	env := map[string]string{}
	for _, e := range n.AdminEnv(Developer) {
		env[e.Key] = e.Value
	}
	tests := []struct{ key, want string }{
		{"E2L_MSP_ID", "DeveloperMSP"},
		{"E2L_CERT", c.peerAdminCert(Developer)},
		{"E2L_KEY", c.peerAdminKey(Developer)},
		{"E2L_PEER_TLS_CA", c.peerTLSCABundle()},
		{"E2L_CHANNEL", ChannelName},
	}
	for _, tt := range tests {
		if env[tt.key] != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, env[tt.key], tt.want)
		}
	}
	if first, _, _ := strings.Cut(env["E2L_PEER_ENDPOINTS"], ","); first != n.Peer(Developer).Endpoint {
		t.Errorf("E2L_PEER_ENDPOINTS %s, want Developer's peer %s first", env["E2L_PEER_ENDPOINTS"], n.Peer(Developer).Endpoint)
	}
	if _, ok := env["E2L_HOST"]; ok {
		t.Error("E2L_HOST set for an admin")
	}
}
