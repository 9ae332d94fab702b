//go:build integration

package integration

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/ledger"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// adminIdentity is o's admin (cryptogen's Admin@<org>, NodeOU admin) as a
// Gateway client of o's peer.
func adminIdentity(n *network.Network, o network.Org) network.HostIdentity {
	p := n.Peer(o)
	return network.HostIdentity{Org: o, MSPID: p.MSPID, Host: "Admin@" + p.Name, Role: network.RoleNone,
		CertPath: p.AdminCertPath, KeyPath: p.AdminKeyPath,
		Env: []network.EnvVar{{Key: "E2L_PEER_ENDPOINTS", Value: p.Endpoint}, {Key: "E2L_PEER_TLS_CA", Value: n.PeerTLSCABundle()}}}
}

// registerHost registers host to o as o's admin with the chaincode's
// RegisterHost (the same role again is a no-op), and requires VALID.
func registerHost(t *testing.T, o network.Org, host, swarmRole string) {
	t.Helper()
	submitValid(t, e2lContract(connectGateway(t, adminIdentity(testNet, o))), "RegisterHost", host, swarmRole)
}

// ensureRegistered registers host to o as a manager unless the registry
// already holds it (network.EnrollHost registers the hosts it enrolls).
func ensureRegistered(t *testing.T, o network.Org, host string) {
	t.Helper()
	admin := e2lContract(connectGateway(t, adminIdentity(testNet, o)))
	out, err := admin.EvaluateWithContext(t.Context(), "GetHost", client.WithArguments(host))
	if err == nil {
		t.Logf("%s already registered: %s", host, out)
		return
	}
	submitValid(t, admin, "RegisterHost", host, wire.SwarmManager)
}

// keepIdentity copies an identity's key and certificate out of the
// network's hosts/<host> directory, which enrolling the same host name in
// another org overwrites.
func keepIdentity(t *testing.T, id network.HostIdentity) network.HostIdentity {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []*string{&id.CertPath, &id.KeyPath} {
		b, err := os.ReadFile(*p)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(*p))
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		*p = dst
	}
	return id
}

// submitRefused submits a transaction that the chaincode must refuse at
// endorsement. It fails the test when it committed (the attack worked) and
// returns the typed refusal's code and text.
func submitRefused(t *testing.T, contract *client.Contract, fn string, args ...string) (code, msg string) {
	t.Helper()
	out, err := contract.SubmitWithContext(t.Context(), fn, client.WithArguments(args...))
	if err == nil {
		t.Fatalf("%s was accepted and committed VALID: the attack worked (result %s)", fn, out)
	}
	msg = describeGatewayError(err).Error()
	var endorseErr *client.EndorseError
	if !errors.As(err, &endorseErr) {
		t.Fatalf("%s: error %T %s, want a refusal at endorsement", fn, err, msg)
	}
	r, ok := ledger.FindRefusal(err)
	if !ok {
		t.Fatalf("%s: no typed refusal (e2l-refusal <code>) in %s", fn, msg)
	}
	t.Logf("%s refused: %s", fn, msg)
	return string(r.Code), r.Error()
}

// requireRefused submits and requires a refusal with one of the codes.
func requireRefused(t *testing.T, contract *client.Contract, want []string, fn string, args ...string) string {
	t.Helper()
	code, msg := submitRefused(t, contract, fn, args...)
	if !slices.Contains(want, code) {
		t.Fatalf("%s refused with %s, want %v: %s", fn, code, want, msg)
	}
	return msg
}

// chainIDs are the IDs and signers' MSPs of a host's stored chain.
func chainIDs(t *testing.T, reader *client.Contract, host string) (ids, msps []string) {
	t.Helper()
	for bookmark, n := "", 0; n < 100; n++ {
		p := evaluatePage(t, reader, "QueryChain", host, "0", strconv.FormatUint(math.MaxUint64, 10), "0", bookmark)
		for _, st := range p.Records {
			ids, msps = append(ids, st.ID), append(msps, st.MSP)
		}
		if bookmark = p.Bookmark; bookmark == "" {
			break
		}
	}
	return ids, msps
}

// requireChain requires a host's stored chain to be exactly ids, every
// record written by msp.
func requireChain(t *testing.T, reader *client.Contract, host, msp string, ids []string) {
	t.Helper()
	got, msps := chainIDs(t, reader, host)
	if !slices.Equal(got, ids) {
		t.Fatalf("chain of %s holds %d records %v, want %v", host, len(got), got, ids)
	}
	for i, m := range msps {
		if m != msp {
			t.Fatalf("chain of %s: record %s written by %s, want %s", host, got[i], m, msp)
		}
	}
}

// hostRegistration reads the registry entry of a host.
func hostRegistration(t *testing.T, reader *client.Contract, host string) wire.HostRegistration {
	t.Helper()
	var reg wire.HostRegistration
	evaluateJSON(t, reader, &reg, "GetHost", host)
	return reg
}

// ---- blocks ------------------------------------------------------------

// qsccBlock reads a raw block of the real channel by number.
func qsccBlock(t *testing.T, gw *client.Gateway, num uint64) []byte {
	t.Helper()
	qscc := gw.GetNetwork(network.ChannelName).GetContract("qscc")
	b, err := qscc.EvaluateWithContext(t.Context(), "GetBlockByNumber", client.WithArguments(network.ChannelName, strconv.FormatUint(num, 10)))
	if err != nil {
		t.Fatalf("qscc GetBlockByNumber %d: %v", num, describeGatewayError(err))
	}
	return b
}

// qsccHeight is the number of blocks of the real channel.
func qsccHeight(t *testing.T, gw *client.Gateway) uint64 {
	t.Helper()
	qscc := gw.GetNetwork(network.ChannelName).GetContract("qscc")
	b, err := qscc.EvaluateWithContext(t.Context(), "GetChainInfo", client.WithArguments(network.ChannelName))
	if err != nil {
		t.Fatalf("qscc GetChainInfo: %v", describeGatewayError(err))
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	return info.GetHeight()
}

// parseBlock parses a raw block or fails the test.
func parseBlock(t *testing.T, raw []byte) *audit.Block {
	t.Helper()
	b, err := audit.ParseBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blockOfTx finds the archive block holding a transaction.
func blockOfTx(t *testing.T, a *audit.Archive, txID string) (index int, b *audit.Block) {
	t.Helper()
	for i, raw := range a.Blocks {
		b := parseBlock(t, raw)
		for _, tx := range b.Txs {
			if tx.ID == txID {
				return i, b
			}
		}
	}
	t.Fatalf("transaction %s is in no block of the archive", txID)
	return -1, nil
}

// firstLine is the first line of out holding want, or out's first line.
func firstLine(out, want string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.Contains(l, want) {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[0])
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// headOf is a refusal's text up to its explanation ("e2l-refusal <code> …").
func headOf(refusal string) string {
	head, _, _ := strings.Cut(refusal, ": ")
	return head
}
