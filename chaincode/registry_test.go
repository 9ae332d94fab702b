package chaincode_test

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/wire"
)

func certSHA256(id *fakeIdentity) string {
	sum := sha256.Sum256(id.cert.Raw)
	return hex.EncodeToString(sum[:])
}

func history(reg wire.HostRegistration) []string {
	var out []string
	for _, h := range reg.History {
		s := h.Action + ":" + h.MSP + ":" + h.SwarmRole
		if h.ReleasedTo != "" {
			s += "->" + h.ReleasedTo
		}
		out = append(out, s)
	}
	return out
}

func getHost(t *testing.T, l *fakeLedger, host string) (wire.HostRegistration, error) {
	t.Helper()
	var reg wire.HostRegistration
	err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
		return c.GetHost(txContext(s, nil), host)
	}, &reg)
	return reg, err
}

func TestRegisterHost(t *testing.T) {
	provider := orgAdmin("ProviderMSP")
	l := newLedger()
	reg, stub, err := register(t, l, provider, "node1", wire.SwarmWorker)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("an org admin's first registration makes the host its MSP's", func(t *testing.T) {
		want := wire.HostRegistration{Host: "node1", MSP: "ProviderMSP", SwarmRole: wire.SwarmWorker, TxID: stub.txID,
			AdminCertSHA256: certSHA256(provider),
			History: []wire.HostOwnership{{MSP: "ProviderMSP", SwarmRole: wire.SwarmWorker, TxID: stub.txID, Action: wire.HostRegister,
				AdminCertSHA256: certSHA256(provider), TxTime: t0.UnixNano()}}}
		got, err := getHost(t, l, "node1")
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]wire.HostRegistration{"answer": reg, "GetHost": got} {
			if !equalRegistration(r, want) {
				t.Errorf("%s: %+v\nwant %+v", name, r, want)
			}
		}
		if len(stub.writes) != 1 {
			t.Errorf("%d keys written, want the registry entry alone", len(stub.writes))
		}
	})
	t.Run("the same role again changes nothing and says so", func(t *testing.T) {
		before := l.snapshot()
		again, stub, err := register(t, l, provider, "node1", wire.SwarmWorker)
		if err != nil || !again.Unchanged || again.TxID != reg.TxID {
			t.Fatalf("%+v, %v", again, err)
		}
		if len(stub.writes) != 0 || !maps.Equal(before, l.snapshot()) {
			t.Error("a no-op wrote")
		}
		if stored, _ := getHost(t, l, "node1"); stored.Unchanged {
			t.Error("Unchanged is stored")
		}
	})
	t.Run("the owner's admin changes the role", func(t *testing.T) {
		got := mustRegister(t, l, provider, "node1", wire.SwarmManager)
		if got.SwarmRole != wire.SwarmManager || !slices.Equal(history(got), []string{"register:ProviderMSP:worker", "role:ProviderMSP:manager"}) {
			t.Errorf("%+v", got)
		}
	})
	t.Run("an admin of another org cannot take the host", func(t *testing.T) {
		before := l.snapshot()
		_, _, err := register(t, l, orgAdmin("DeveloperMSP"), "node1", wire.SwarmManager)
		r := refusal(t, err, wire.CodeHostOwned, -1)
		want := `host "node1" is registered to ProviderMSP, not to DeveloperMSP of the signer "x509::CN=Admin@developer.example.com,OU=admin::CN=ca.developer": an admin of ProviderMSP releases it to DeveloperMSP first (ReleaseHost, e2l host release)`
		if r.Message != want {
			t.Errorf("message\n got: %s\nwant: %s", r.Message, want)
		}
		if !maps.Equal(before, l.snapshot()) {
			t.Error("the ledger changed")
		}
	})
	t.Run("a registration is bounded in history", func(t *testing.T) {
		l := newLedger()
		roles := []string{wire.SwarmManager, wire.SwarmWorker}
		for i := range chaincode.MaxHostHistory {
			mustRegister(t, l, provider, "flip", roles[i%2])
		}
		_, _, err := register(t, l, provider, "flip", roles[chaincode.MaxHostHistory%2])
		refusal(t, err, wire.CodeBadArgument, -1)
	})
}

func equalRegistration(a, b wire.HostRegistration) bool {
	return a.Host == b.Host && a.MSP == b.MSP && a.SwarmRole == b.SwarmRole && a.TxID == b.TxID &&
		a.AdminCertSHA256 == b.AdminCertSHA256 && a.ReleasedTo == b.ReleasedTo && a.Unchanged == b.Unchanged &&
		slices.Equal(a.History, b.History)
}

func TestRegistryWritesAreForAdminsOnly(t *testing.T) {
	adminCollector := orgAdmin("ProviderMSP")
	adminCollector.attrs = map[string]string{"e2l.role": "collector", "e2l.host": "node1"}
	cases := []struct {
		name string
		id   *fakeIdentity
		code wire.Code
		want string
	}{
		{"a collector of the org is not an admin", collector("node1", "ProviderMSP"), wire.CodeNotAdmin,
			`identity "x509::CN=node1,OU=client::CN=ca.provider" of ProviderMSP is not an admin of its organisation (its certificate has no OU=admin): the host registry is written by an org admin (Admin@<org>)`},
		{"a client of the org is not an admin", client("User1@provider.example.com", "ProviderMSP"), wire.CodeNotAdmin,
			`identity "x509::CN=User1@provider.example.com,OU=client::CN=ca.provider" of ProviderMSP is not an admin of its organisation (its certificate has no OU=admin): the host registry is written by an org admin (Admin@<org>)`},
		{"an admin certificate with the collector role is still a collector", adminCollector, wire.CodeNotAdmin,
			`identity "x509::CN=Admin@provider.example.com,OU=admin::CN=ca.provider" of ProviderMSP is a collector (e2l.role=collector): a collector never writes the host registry`},
		{"a transaction without identity is denied", nil, wire.CodeAccessDenied, `the client identity is unavailable`},
	}
	calls := map[string]func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error){
		"RegisterHost": func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.RegisterHost(ctx, "node1", wire.SwarmManager)
		},
		"ReleaseHost": func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ReleaseHost(ctx, "node1", "DeveloperMSP")
		},
	}
	for _, c := range cases {
		for fn, call := range calls {
			t.Run(fn+": "+c.name, func(t *testing.T) {
				l := newWorld(t)
				before := l.snapshot()
				_, _, err := registryCall(t, l, c.id, call)
				if r := refusal(t, err, c.code, -1); r.Message != c.want {
					t.Errorf("message\n got: %s\nwant: %s", r.Message, c.want)
				}
				if !maps.Equal(before, l.snapshot()) {
					t.Error("the ledger changed")
				}
			})
		}
	}
}

func TestRegistryRefusesBadArguments(t *testing.T) {
	l := newWorld(t)
	provider := orgAdmin("ProviderMSP")
	cases := []struct {
		name string
		call func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error)
		code wire.Code
		want string
	}{
		{"a role that is neither manager nor worker", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.RegisterHost(ctx, "node9", "boss")
		}, wire.CodeBadArgument, `swarmRole "boss" is neither manager nor worker`},
		{"a host name a record could not carry", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.RegisterHost(ctx, "node 9", wire.SwarmManager)
		}, wire.CodeBadArgument, `host: must be printable ASCII without spaces, found ' '`},
		{"an empty target MSP", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ReleaseHost(ctx, "node1", "")
		}, wire.CodeBadArgument, `toMSP must be 1 to 128 bytes`},
		{"releasing a host nobody registered", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.ReleaseHost(ctx, "node9", "DeveloperMSP")
		}, wire.CodeNotRegistered, `host "node9" is not registered: there is nothing to release`},
		{"reading a host nobody registered", func(c *chaincode.Contract, ctx contractapi.TransactionContextInterface) (string, error) {
			return c.GetHost(ctx, "node9")
		}, wire.CodeNotRegistered, `host "node9" is not registered`},
	}
	for _, c := range cases {
		t.Run("refuses "+c.name, func(t *testing.T) {
			_, _, err := registryCall(t, l, provider, c.call)
			if r := refusal(t, err, c.code, -1); r.Message != c.want {
				t.Errorf("message\n got: %s\nwant: %s", r.Message, c.want)
			}
		})
	}
}

// A host moves between organisations in two explicit steps, each by an
// admin of the organisation concerned; the history keeps both.
func TestHostMovesOnlyWhenReleasedAndTaken(t *testing.T) {
	l := newWorld(t)
	provider, developer, user := orgAdmin("ProviderMSP"), orgAdmin("DeveloperMSP"), orgAdmin("UserMSP")
	g := newChain("node1")
	provCollector, devCollector := collector("node1", "ProviderMSP"), collector("node1", "DeveloperMSP")
	mustInvoke(t, l, provCollector, g.batch(t, start()))

	t.Run("only the owner's admin may release", func(t *testing.T) {
		_, _, err := release(t, l, developer, "node1", "DeveloperMSP")
		refusal(t, err, wire.CodeHostOwned, -1)
	})
	reg, _, err := release(t, l, provider, "node1", "DeveloperMSP")
	if err != nil || reg.ReleasedTo != "DeveloperMSP" || reg.MSP != "ProviderMSP" {
		t.Fatalf("release: %+v, %v", reg, err)
	}
	t.Run("releasing again to the same MSP changes nothing", func(t *testing.T) {
		again, stub, err := release(t, l, provider, "node1", "DeveloperMSP")
		if err != nil || !again.Unchanged || len(stub.writes) != 0 {
			t.Fatalf("%+v, %v", again, err)
		}
	})
	t.Run("until taken, the owner's collector keeps writing and the other's is refused", func(t *testing.T) {
		mustInvoke(t, l, provCollector, g.batch(t, heartbeat()))
		_, _, err := invoke(t, l, devCollector, t0, batchJSON(t, newChain("node1").batch(t, start())))
		refusal(t, err, wire.CodeHostOwned, -1)
	})
	t.Run("a third org cannot take a host released to another", func(t *testing.T) {
		_, _, err := register(t, l, user, "node1", wire.SwarmManager)
		refusal(t, err, wire.CodeHostOwned, -1)
	})
	t.Run("the org it was released to takes it", func(t *testing.T) {
		reg := mustRegister(t, l, developer, "node1", wire.SwarmWorker)
		want := []string{"register:ProviderMSP:manager", "release:ProviderMSP:manager->DeveloperMSP", "move:DeveloperMSP:worker"}
		if reg.MSP != "DeveloperMSP" || reg.ReleasedTo != "" || reg.AdminCertSHA256 != certSHA256(developer) || !slices.Equal(history(reg), want) {
			t.Fatalf("%+v\nhistory %v, want %v", reg, history(reg), want)
		}
	})
	t.Run("then the new owner's collector writes and the old one's is refused", func(t *testing.T) {
		next := g.batch(t, heartbeat())
		_, _, err := invoke(t, l, provCollector, t0, batchJSON(t, next))
		refusal(t, err, wire.CodeHostOwned, -1)
		mustInvoke(t, l, devCollector, next)
	})
	t.Run("the old owner can no longer change it", func(t *testing.T) {
		_, _, err := register(t, l, provider, "node1", wire.SwarmManager)
		refusal(t, err, wire.CodeHostOwned, -1)
		_, _, err = release(t, l, provider, "node1", "ProviderMSP")
		refusal(t, err, wire.CodeHostOwned, -1)
	})
}

func TestAReleaseCanBeWithdrawn(t *testing.T) {
	l := newWorld(t)
	provider := orgAdmin("ProviderMSP")
	if _, _, err := release(t, l, provider, "node1", "DeveloperMSP"); err != nil {
		t.Fatal(err)
	}
	t.Run("a role change keeps the pending release", func(t *testing.T) {
		if reg := mustRegister(t, l, provider, "node1", wire.SwarmWorker); reg.ReleasedTo != "DeveloperMSP" {
			t.Fatalf("%+v", reg)
		}
	})
	reg, _, err := release(t, l, provider, "node1", "ProviderMSP")
	if err != nil || reg.ReleasedTo != "" || reg.History[len(reg.History)-1].Action != wire.HostRelease {
		t.Fatalf("withdraw: %+v, %v", reg, err)
	}
	_, _, err = register(t, l, orgAdmin("DeveloperMSP"), "node1", wire.SwarmManager)
	refusal(t, err, wire.CodeHostOwned, -1)
}

// RecordEvents reads the host's registry entry once per batch and never
// writes it, so that concurrent batches of a host do not conflict on it.
func TestRecordEventsReadsTheRegistryAndNeverWritesIt(t *testing.T) {
	l := newWorld(t)
	k := mustKey(t, "hostreg", "node1")
	_, stub, err := invoke(t, l, collector("node1", "ProviderMSP"), t0, batchJSON(t, newChain("node1").batch(t, start(), heartbeat(), heartbeat())))
	if err != nil {
		t.Fatal(err)
	}
	var registryReads []string
	for _, r := range stub.readLog {
		if strings.HasPrefix(r, "\x00hostreg\x00") {
			registryReads = append(registryReads, r)
		}
	}
	if !slices.Equal(registryReads, []string{k}) || stub.readLog[0] != k {
		t.Errorf("registry reads %q, want %q once, first", registryReads, k)
	}
	if _, ok := stub.writes[k]; ok {
		t.Error("the registry entry was written")
	}
	for w := range stub.writes {
		if strings.HasPrefix(w, "\x00hostreg\x00") {
			t.Errorf("registry key %q written", w)
		}
	}
}

func TestSwarmEventsComeFromManagersOnly(t *testing.T) {
	l := newWorld(t)
	at := t0.Add(time.Minute).UnixNano()
	t.Run("a worker's batch without swarm events is stored", func(t *testing.T) {
		mustInvoke(t, l, collector("wkr1", "ProviderMSP"), newChain("wkr1").batch(t, start(), containerEvent("create", "c1")))
	})
	t.Run("a worker's swarm event is refused", func(t *testing.T) {
		g := newChain("wkr2")
		mustRegister(t, l, orgAdmin("ProviderMSP"), "wkr2", wire.SwarmWorker)
		_, _, err := invoke(t, l, collector("wkr2", "ProviderMSP"), t0, batchJSON(t, g.batch(t, start(), serviceEvent("update", "svc1", at, "2"))))
		r := refusal(t, err, wire.CodeNotAManager, 1)
		if !r.Denied() {
			t.Error("not-a-manager is not a call refusal")
		}
	})
	t.Run("once registered as manager its swarm event is stored", func(t *testing.T) {
		mustRegister(t, l, orgAdmin("ProviderMSP"), "wkr2", wire.SwarmManager)
		res := mustInvoke(t, l, collector("wkr2", "ProviderMSP"), newChain("wkr2").batch(t, start(), serviceEvent("update", "svc1", at, "2")))
		if res.Written != 2 {
			t.Errorf("%+v", res)
		}
	})
}

func TestListRegistry(t *testing.T) {
	l := newWorld(t)
	var got []string
	bookmark := ""
	for range 10 {
		var p wire.RegistryPage
		if err := query(t, l, func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.ListRegistry(txContext(s, nil), 3, bookmark)
		}, &p); err != nil {
			t.Fatal(err)
		}
		if p.Count != len(p.Hosts) || len(p.Hosts) > 3 {
			t.Fatalf("page %+v", p)
		}
		for _, h := range p.Hosts {
			got = append(got, h.Host+"/"+h.MSP+"/"+h.SwarmRole)
		}
		if bookmark = p.Bookmark; bookmark == "" {
			break
		}
	}
	var want []string
	for _, h := range testHosts {
		want = append(want, h.host+"/"+h.msp+"/"+h.role)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("registry %v\nwant %v", got, want)
	}
}

func TestRegistryReadsAreEvaluateTransactions(t *testing.T) {
	ev := chaincode.New().GetEvaluateTransactions()
	for _, fn := range []string{"GetHost", "ListRegistry"} {
		if !slices.Contains(ev, fn) {
			t.Errorf("%s is not an evaluate transaction", fn)
		}
	}
	for _, fn := range []string{"RegisterHost", "ReleaseHost", "RecordEvents"} {
		if slices.Contains(ev, fn) {
			t.Errorf("%s is an evaluate transaction", fn)
		}
	}
}
