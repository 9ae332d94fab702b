package chaincode_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math"
	"math/big"
	"slices"
	"strconv"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/attrmgr"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/wire"
)

// creator returns a serialized X.509 client identity like the ones Fabric
// CA enrolls: the attributes in the certificate's 1.2.3.4.5.6.7.8.1
// extension.
func creator(t *testing.T, mspID, cn string, attrs map[string]string) []byte {
	t.Helper()
	return creatorOU(t, mspID, cn, "client", attrs)
}

// creatorOU is creator with the NodeOU of the identity: client, admin, peer.
func creatorOU(t *testing.T, mspID, cn, ou string, attrs map[string]string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{ou}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0),
	}
	if attrs != nil {
		ext, err := json.Marshal(attrmgr.Attributes{Attrs: attrs})
		if err != nil {
			t.Fatal(err)
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: attrmgr.AttrOID, Value: ext}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Through contractapi's Invoke, as the peer calls the chaincode: real
// client identity parsing, argument conversion and result serialisation.
func TestInvokeThroughContractAPI(t *testing.T) {
	cc, err := contractapi.NewChaincode(chaincode.New())
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	host1 := creator(t, "ProviderMSP", "node1", map[string]string{"e2l.role": "collector", "e2l.host": "node1"})
	reader := creator(t, "UserMSP", "auditor", map[string]string{"e2l.role": "auditor"})
	providerAdmin := creatorOU(t, "ProviderMSP", "Admin@provider.example.com", "admin", nil)
	userAdmin := creatorOU(t, "UserMSP", "Admin@user.example.com", "admin", nil)
	rs := newChain("node1").batch(t, start(), containerEvent("create", "c1"), heartbeat())

	call := func(who []byte, fn string, args ...string) (int32, string, *fakeStub) {
		stub := l.tx(t0)
		stub.fn, stub.args, stub.creator = fn, args, who
		resp := cc.Invoke(stub)
		if resp.Status == 200 {
			stub.commit()
		}
		return resp.Status, string(resp.Payload) + resp.Message, stub
	}

	t.Run("a collector's batch of an unregistered host is refused", func(t *testing.T) {
		status, out, _ := call(host1, "RecordEvents", batchJSON(t, rs))
		if r, ok := wire.ParseRefusal(out); status != 500 || !ok || r.Code != wire.CodeNotRegistered {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("a collector cannot register its host", func(t *testing.T) {
		status, out, _ := call(host1, "RegisterHost", "node1", "manager")
		if r, ok := wire.ParseRefusal(out); status != 500 || !ok || r.Code != wire.CodeNotAdmin {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("the org admin registers the host", func(t *testing.T) {
		status, out, _ := call(providerAdmin, "RegisterHost", "node1", "manager")
		var reg wire.HostRegistration
		if status != 200 || json.Unmarshal([]byte(out), &reg) != nil || reg.MSP != "ProviderMSP" || reg.SwarmRole != "manager" || len(reg.History) != 1 {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("another org's admin cannot take it", func(t *testing.T) {
		status, out, _ := call(userAdmin, "RegisterHost", "node1", "worker")
		if r, ok := wire.ParseRefusal(out); status != 500 || !ok || r.Code != wire.CodeHostOwned {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("a collector's batch is recorded", func(t *testing.T) {
		status, out, _ := call(host1, "RecordEvents", batchJSON(t, rs))
		var res chaincode.Result
		if status != 200 || json.Unmarshal([]byte(out), &res) != nil || res.Written != 3 {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("the contract name prefix works too", func(t *testing.T) {
		if status, out, _ := call(host1, "e2l:Ping"); status != 200 || out != "pong" {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("an identity without the collector role is denied", func(t *testing.T) {
		status, out, _ := call(reader, "RecordEvents", batchJSON(t, rs))
		want := `e2l-refusal access-denied: identity "x509::CN=auditor,OU=client::CN=auditor,OU=client" of UserMSP has e2l.role="auditor", not collector`
		if status != 500 || out != want {
			t.Fatalf("%d %s\nwant %s", status, out, want)
		}
	})
	t.Run("an unparseable creator is denied, not a panic", func(t *testing.T) {
		status, out, _ := call([]byte("garbage"), "RecordEvents", batchJSON(t, rs))
		if status != 500 || out != "e2l-refusal access-denied: the client identity is unavailable" {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("numeric arguments convert at their bounds", func(t *testing.T) {
		status, out, _ := call(reader, "QueryChain", "node1", "0", strconv.FormatUint(math.MaxUint64, 10), "1000", "")
		var p page
		if status != 200 || json.Unmarshal([]byte(out), &p) != nil || p.Count != 3 || !slices.Equal(p.seqs(t), []uint64{1, 2, 3}) {
			t.Fatalf("%d %s", status, out)
		}
		max := strconv.FormatUint(math.MaxUint64, 10)
		status, out, _ = call(reader, "QueryChain", "node1", max, max, "1", "")
		if status != 200 || out != `{"records":[],"bookmark":"","count":0}` {
			t.Fatalf("%d %s", status, out)
		}
	})
	t.Run("every query answers through Invoke", func(t *testing.T) {
		for _, c := range [][]string{
			{"Ping"}, {"GetRecord", rs[1].ID}, {"QueryChain", "node1", "1", "3", "0", ""}, {"GetHost", "node1"}, {"ListRegistry", "0", ""},
		} {
			if status, out, stub := call(reader, c[0], c[1:]...); status != 200 || len(stub.writes) != 0 {
				t.Errorf("%s: %d %s", c[0], status, out)
			}
		}
	})
	t.Run("the queries of state layout 1 are gone", func(t *testing.T) {
		for _, c := range [][]string{
			{"QueryTimeline", "c1", "0", ""}, {"QueryByType", "container", "", "0", "1", "0", ""}, {"ListHosts", "0", ""}, {"GetEvent", rs[1].ID},
		} {
			status, out, _ := call(reader, c[0], c[1:]...)
			if want := "Function " + c[0] + " not found in contract e2l"; status != 500 || out != want {
				t.Errorf("%s: %d %s, want 500 %s", c[0], status, out, want)
			}
		}
	})
}
