//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

func TestTransactionsCommitThroughTheGateway(t *testing.T) {
	id := enrollHost(t, network.Provider, "it-gateway-host", network.EnrollOptions{})
	gw := connectGateway(t, id)
	contract := e2lContract(gw)
	chain := newRecordChain(id.Host)

	t.Run("a host's batch commits VALID, endorsed by at least two orgs", func(t *testing.T) {
		status := submitValid(t, contract, "RecordEvents", batchJSON(t, chain.next(t, 3)))
		msps := endorsingMSPs(t, gw, status.TransactionID)
		slices.Sort(msps)
		if len(slices.Compact(msps)) < 2 {
			t.Fatalf("transaction %s endorsed by %v, want at least 2 orgs", status.TransactionID, msps)
		}
	})

	t.Run("a batch still commits VALID with the Raft leader and another org's peer down", func(t *testing.T) {
		ctx := t.Context()
		leader, err := testNet.RaftLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := testNet.StopOrderer(ctx, leader); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			restore(t, "orderer", func(ctx context.Context) error { return testNet.StartOrderer(ctx, leader) })
		})
		down := network.User // not the gateway's peer (Provider)
		if err := testNet.StopPeer(ctx, down); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { restore(t, "peer", func(ctx context.Context) error { return testNet.StartPeer(ctx, down) }) })

		// A Raft election takes about ElectionTick × TickInterval (5 s).
		eventually(t, time.Minute, 200*time.Millisecond, func() error {
			_, err := testNet.RaftLeader(ctx)
			return err
		})
		status := submitValid(t, contract, "RecordEvents", batchJSON(t, chain.next(t, 2)))
		msps := endorsingMSPs(t, gw, status.TransactionID)
		if slices.Contains(msps, down.MSPID()) || len(msps) < 2 {
			t.Fatalf("transaction %s endorsed by %v, want Provider and Developer", status.TransactionID, msps)
		}
	})
}

// restore restarts a node from t.Cleanup (where t.Context is already
// canceled), reporting failure on t.
func restore(t *testing.T, what string, start func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := start(ctx); err != nil {
		t.Errorf("restart %s: %v", what, err)
	}
}

func TestEnrollHost(t *testing.T) {
	t.Run("a collector's certificate carries its host and role", func(t *testing.T) {
		id := enrollHost(t, network.Developer, "it-enroll-collector", network.EnrollOptions{})
		attrs := certAttrs(t, id.CertPath)
		if attrs["e2l.host"] != "it-enroll-collector" || attrs["e2l.role"] != network.RoleCollector {
			t.Fatalf("attributes %v, want e2l.host=it-enroll-collector e2l.role=collector", attrs)
		}
		if id.MSPID != "DeveloperMSP" || id.Lookup("E2L_MSP_ID") != "DeveloperMSP" {
			t.Fatalf("MSP %s / %s, want DeveloperMSP", id.MSPID, id.Lookup("E2L_MSP_ID"))
		}
		if got, want := id.Lookup("E2L_PEER_ENDPOINTS")[:len(testNet.Peer(network.Developer).Endpoint)], testNet.Peer(network.Developer).Endpoint; got != want {
			t.Fatalf("first endpoint %s, want the own org's %s", got, want)
		}
	})
	t.Run("enrolling a host again gives it a new certificate", func(t *testing.T) {
		first := enrollHost(t, network.User, "it-enroll-again", network.EnrollOptions{})
		before, err := os.ReadFile(first.CertPath)
		if err != nil {
			t.Fatal(err)
		}
		second := enrollHost(t, network.User, "it-enroll-again", network.EnrollOptions{})
		after, err := os.ReadFile(second.CertPath)
		if err != nil {
			t.Fatal(err)
		}
		if string(before) == string(after) {
			t.Fatal("certificate unchanged after enrolling again")
		}
	})
	t.Run("an identity enrolled with role none has no e2l.role", func(t *testing.T) {
		id := enrollHost(t, network.User, "it-enroll-norole", network.EnrollOptions{Role: network.RoleNone})
		attrs := certAttrs(t, id.CertPath)
		if _, ok := attrs["e2l.role"]; ok || attrs["e2l.host"] != "it-enroll-norole" {
			t.Fatalf("attributes %v, want only e2l.host", attrs)
		}
	})
}

// certAttrs reads the Fabric CA attributes extension (OID 1.2.3.4.5.6.7.8.1) of a certificate.
func certAttrs(t *testing.T, path string) map[string]string {
	t.Helper()
	cert := certFile(t, path)
	oid := asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oid) {
			var v struct {
				Attrs map[string]string `json:"attrs"`
			}
			if err := json.Unmarshal(ext.Value, &v); err != nil {
				t.Fatal(err)
			}
			return v.Attrs
		}
	}
	return map[string]string{}
}

func TestChaincodeUpgradeKeepsTheLedgerWritable(t *testing.T) {
	before := testNet.Chaincode()
	info, err := testNet.DeployChaincode(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Sequence != before.Sequence+1 || info.PackageID == before.PackageID {
		t.Fatalf("deployed sequence %d package %s after sequence %d package %s", info.Sequence, info.PackageID, before.Sequence, before.PackageID)
	}
	id := enrollHost(t, network.Developer, "it-upgrade-host", network.EnrollOptions{})
	gw := connectGateway(t, id)
	submitValid(t, e2lContract(gw), "RecordEvents", batchJSON(t, newRecordChain(id.Host).next(t, 1)))
}

// The host registry on the real network: a host belongs to the org whose
// admin registered it; another org's admin cannot take it, nor another
// org's collector write it; a release by the owner and a registration by
// the new owner move it, and its history shows each step.
func TestHostRegistry(t *testing.T) {
	ctx := t.Context()
	t.Run("every org's admin certificate has OU admin", func(t *testing.T) {
		for _, p := range testNet.Peers() {
			if ous := certFile(t, p.AdminCertPath).Subject.OrganizationalUnit; !slices.Contains(ous, "admin") {
				t.Errorf("%s admin %s: OU %v, want admin", p.Org, p.AdminCertPath, ous)
			}
		}
	})

	host := "it-registry-" + randomSuffix()
	provider := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	// Connect now: enrolling the host in another org replaces its files.
	providerRecords := e2lContract(connectGateway(t, provider))
	chain := newRecordChain(host)
	submitValid(t, providerRecords, "RecordEvents", batchJSON(t, chain.next(t, 1)))
	first := getHost(t, network.Provider, host)

	t.Run("enrolling registers the host as its org's manager, signed by its admin", func(t *testing.T) {
		want := wire.HostRegistration{Host: host, MSP: "ProviderMSP", SwarmRole: wire.SwarmManager}
		if first.Host != want.Host || first.MSP != want.MSP || first.SwarmRole != want.SwarmRole || first.ReleasedTo != "" {
			t.Fatalf("registry entry %+v, want %+v", first, want)
		}
		if got := historyOf(first); !slices.Equal(got, []string{"register ProviderMSP manager"}) {
			t.Fatalf("history %v, want one registration", got)
		}
		if sum := sha256.Sum256(certFile(t, testNet.Peer(network.Provider).AdminCertPath).Raw); first.AdminCertSHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("written by certificate %s, want the Provider admin's %x", first.AdminCertSHA256, sum)
		}
	})

	t.Run("registering it again with its role changes nothing", func(t *testing.T) {
		if err := testNet.RegisterHost(ctx, network.Provider, host, wire.SwarmManager); err != nil {
			t.Fatal(err)
		}
		enrollHost(t, network.Provider, host, network.EnrollOptions{}) // re-enrollment
		if again := getHost(t, network.Provider, host); again.TxID != first.TxID || len(again.History) != 1 {
			t.Fatalf("entry %+v after registering again, want %+v", again, first)
		}
	})

	// A collector identity of Developer for the host, not registered by it.
	developer := enrollHost(t, network.Developer, host, network.EnrollOptions{NoRegister: true})
	developerRecords := e2lContract(connectGateway(t, developer))

	t.Run("another org's admin cannot register it", func(t *testing.T) {
		requireRefusal(t, testNet.RegisterHost(ctx, network.Developer, host, wire.SwarmManager), wire.CodeHostOwned)
		requireRefusal(t, testNet.ReleaseHost(ctx, network.Developer, host, "DeveloperMSP"), wire.CodeHostOwned)
	})

	t.Run("another org's collector cannot write its records", func(t *testing.T) {
		claim := *chain
		expectEndorseRefusal(t, developerRecords, batchJSON(t, claim.next(t, 1)), "e2l-refusal host-owned")
	})

	t.Run("released, the host stays its owner's until the new owner registers it", func(t *testing.T) {
		if err := testNet.ReleaseHost(ctx, network.Provider, host, "DeveloperMSP"); err != nil {
			t.Fatal(err)
		}
		if reg := getHost(t, network.User, host); reg.MSP != "ProviderMSP" || reg.ReleasedTo != "DeveloperMSP" {
			t.Fatalf("entry %+v after the release, want ProviderMSP's, released to DeveloperMSP", reg)
		}
		submitValid(t, providerRecords, "RecordEvents", batchJSON(t, chain.next(t, 1)))
		requireRefusal(t, testNet.RegisterHost(ctx, network.User, host, wire.SwarmManager), wire.CodeHostOwned)
	})

	t.Run("the new owner's admin registers it: the host moves", func(t *testing.T) {
		if err := testNet.RegisterHost(ctx, network.Developer, host, wire.SwarmWorker); err != nil {
			t.Fatal(err)
		}
		reg := getHost(t, network.Provider, host)
		if reg.MSP != "DeveloperMSP" || reg.SwarmRole != wire.SwarmWorker || reg.ReleasedTo != "" {
			t.Fatalf("entry %+v after the move, want DeveloperMSP's worker", reg)
		}
		want := []string{"register ProviderMSP manager", "release ProviderMSP manager", "move DeveloperMSP worker"}
		if got := historyOf(reg); !slices.Equal(got, want) {
			t.Fatalf("history %v, want %v", got, want)
		}
	})

	t.Run("after the move only the new owner's collector writes the host's chain", func(t *testing.T) {
		old := *chain
		expectEndorseRefusal(t, providerRecords, batchJSON(t, old.next(t, 1)), "e2l-refusal host-owned")
		submitValid(t, developerRecords, "RecordEvents", batchJSON(t, chain.next(t, 1)))
	})

	t.Run("a host registered as worker cannot report a swarm event", func(t *testing.T) {
		now := time.Now().UnixNano()
		swarmEvent := sealNext(t, chain, record.Record{Kind: record.KindEvent, Time: now, Event: &record.Event{
			Type: "service", Action: "create", Actor: "it-registry-service", Scope: record.ScopeSwarm, TimeNano: now,
			Attrs: record.Attributes{Name: "api"}}})
		expectEndorseRefusal(t, developerRecords, batchJSON(t, record.Batch{Records: []record.Sealed{swarmEvent}}), "e2l-refusal not-a-manager")
	})

	t.Run("an unregistered host is refused", func(t *testing.T) {
		loose := enrollHost(t, network.User, "it-registry-loose-"+randomSuffix(), network.EnrollOptions{NoRegister: true})
		expectEndorseRefusal(t, e2lContract(connectGateway(t, loose)), batchJSON(t, newRecordChain(loose.Host).next(t, 1)),
			"e2l-refusal not-registered")
		_, err := testNet.GetHost(ctx, network.User, loose.Host)
		requireRefusal(t, err, wire.CodeNotRegistered)
	})
}

// getHost reads a host's registry entry as org's admin.
func getHost(t *testing.T, org network.Org, host string) wire.HostRegistration {
	t.Helper()
	reg, err := testNet.GetHost(t.Context(), org, host)
	if err != nil {
		t.Fatalf("GetHost %s as %s: %v", host, org, err)
	}
	return reg
}

// historyOf lists a registry entry's history as "<action> <msp> <role>".
func historyOf(reg wire.HostRegistration) []string {
	var out []string
	for _, h := range reg.History {
		out = append(out, h.Action+" "+h.MSP+" "+h.SwarmRole)
	}
	return out
}

// requireRefusal fails the test unless err carries the chaincode's refusal
// with code.
func requireRefusal(t *testing.T, err error, code wire.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want the refusal %s", code)
	}
	r, ok := wire.ParseRefusal(err.Error())
	if !ok || r.Code != code || !errors.Is(err, code) {
		t.Fatalf("error %v, want the refusal %s (errors.Is)", err, code)
	}
}

// certFile reads a PEM certificate.
func certFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
