//go:build integration

package integration

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"os"
	"slices"
	"testing"
	"time"

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
