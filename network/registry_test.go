package network

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/wire"
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

func TestChaincodeErrorUnwrapsToTheRefusalOfAPeer(t *testing.T) {
	refused := wire.Refuse(wire.CodeHostOwned, `host "n1" is registered to ProviderMSP`)
	st, err := status.New(codes.Aborted, "failed to endorse transaction, see attached details for more info").WithDetails(
		&gateway.ErrorDetail{Address: "127.0.0.1:7040", MspId: "DeveloperMSP", Message: "chaincode response 500, " + refused.Error()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want wire.Code // "" when no refusal
	}{
		{"a refusal in a peer's detail", fmt.Errorf("endorse: %w", st.Err()), wire.CodeHostOwned},
		{"a refusal in the status message", status.Error(codes.Unknown, "evaluate call to endorser returned error: chaincode response 500, "+
			wire.Refuse(wire.CodeNotRegistered, `host "n2" is not registered`).Error()), wire.CodeNotRegistered},
		{"no refusal", status.Error(codes.Unavailable, "connection refused"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := chaincodeError("RegisterHost(n1, manager)", tt.err)
			var r *wire.Refusal
			if got := errors.As(err, &r); got != (tt.want != "") || (got && !errors.Is(err, tt.want)) {
				t.Fatalf("error %v: refusal %v, want %q", err, r, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "RegisterHost(n1, manager): ") {
				t.Fatalf("error %q does not name the call", err)
			}
			if tt.want == "" && !errors.Is(err, tt.err) {
				t.Fatalf("error %v does not wrap the gateway's", err)
			}
		})
	}
}
