//go:build integration

package integration

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// The e2l contract on the real network: identity binding, idempotency,
// queries, refusals through the Gateway and the peer CLI, and concurrent
// batches of one host.
func TestChaincodeContract(t *testing.T) {
	host := enrollHost(t, network.Provider, "it-cc-host", network.EnrollOptions{})
	gw := connectGateway(t, host)
	contract := e2lContract(gw)
	chain := newRecordChain(host.Host)

	// seq 1 start, 2 container create, 3 swarm service create, 4 heartbeat.
	first := chain.next(t, 1)
	now := time.Now().UnixNano()
	first.Records = append(first.Records,
		sealNext(t, chain, record.Record{Kind: record.KindEvent, Time: now, Event: &record.Event{
			Type: "container", Action: "create", Actor: "it-cc-container", Scope: record.ScopeLocal, TimeNano: now,
			Attrs: record.Attributes{Name: "web", Image: "nginx:1.27"}}}),
		sealNext(t, chain, record.Record{Kind: record.KindEvent, Time: now + 1, Event: &record.Event{
			Type: "service", Action: "create", Actor: "it-cc-service", Scope: record.ScopeSwarm, TimeNano: now + 1,
			Attrs: record.Attributes{Name: "api", ReplicasNew: "2"}}}))
	first.Records = append(first.Records, chain.next(t, 1).Records...)

	t.Run("a host's batch commits VALID and every record is written", func(t *testing.T) {
		res := submitRecords(t, contract, first)
		if res.Written != 4 || res.Duplicates != 0 {
			t.Fatalf("result %+v, want 4 written", res)
		}
	})

	t.Run("the records are readable by ID and through the host's chain", func(t *testing.T) {
		for _, s := range first.Records {
			p := evaluatePage(t, contract, "GetRecord", s.ID)
			if p.Count != 1 {
				t.Fatalf("GetRecord %s: %d records", s.ID, p.Count)
			}
			st := p.Records[0]
			sealed, err := st.Sealed()
			if err != nil || sealed.Hash != s.Hash {
				t.Fatalf("record %s does not re-verify from the ledger: %v", s.ID, err)
			}
			if st.MSP != "ProviderMSP" || len(st.CertSHA256) != 64 || st.TxID == "" {
				t.Errorf("record %s: signer %s %s tx %s", s.ID, st.MSP, st.CertSHA256, st.TxID)
			}
		}
		if got := seqs(t, evaluatePage(t, contract, "QueryChain", host.Host, "0", strconv.FormatUint(math.MaxUint64, 10), "2", "")); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("QueryChain first page %v, want [1 2]", got)
		}
		if got := seqs(t, evaluatePage(t, contract, "QueryChain", host.Host, "3", "4", "0", "")); !slices.Equal(got, []uint64{3, 4}) {
			t.Errorf("QueryChain 3..4 %v", got)
		}
	})

	t.Run("the audit index answers what the ledger no longer indexes", func(t *testing.T) {
		slotsOf := func(q index.Query) []uint64 {
			var got []uint64
			if err := caughtUpIndex(t).Records(t.Context(), q, func(r index.Record) error {
				if r.Host == host.Host {
					got = append(got, r.Seq)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := slotsOf(index.Query{Actor: "it-cc-container", OrderBy: index.ByTime}); !slices.Equal(got, []uint64{2}) {
			t.Errorf("timeline of it-cc-container %v, want [2]", got)
		}
		if got := slotsOf(index.Query{Type: "service", Action: "create", Since: now, Until: now + 1, OrderBy: index.ByTime}); !slices.Equal(got, []uint64{3}) {
			t.Errorf("service create events %v, want [3]", got)
		}
		if got := slotsOf(index.Query{Type: "container", Since: now, Until: now + 1, OrderBy: index.ByTime}); !slices.Equal(got, []uint64{2}) {
			t.Errorf("container events %v, want [2]", got)
		}
		if reps := indexWitnesses(t, first.Records[2].Record.EventID()); len(reps) != 1 || reps[0].ID != first.Records[2].ID {
			t.Errorf("reports of the swarm event %+v, want record %s", reps, first.Records[2].ID)
		}
		found := false
		for _, h := range indexHosts(t) {
			if h.Host == host.Host {
				found = true
				if h.MSP != "ProviderMSP" || h.LastHeartbeat == nil || h.LastHeartbeat.Seq != 4 {
					t.Errorf("index host %+v, last heartbeat %+v", h, h.LastHeartbeat)
				}
			}
		}
		if !found {
			t.Errorf("the index does not list %s", host.Host)
		}
	})

	t.Run("re-sending the batch is a VALID no-op reported as duplicates", func(t *testing.T) {
		res := submitRecords(t, contract, first)
		if res.Duplicates != 4 || res.Written != 0 {
			t.Fatalf("result %+v, want 4 duplicates", res)
		}
		if got := seqs(t, evaluatePage(t, contract, "QueryChain", host.Host, "0", "100", "0", "")); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Errorf("chain after re-sending %v", got)
		}
	})

	t.Run("a collector's batch commits through the peer CLI", func(t *testing.T) {
		b := chain.next(t, 1)
		if out, err := peerInvoke(t, host, batchJSON(t, b)); err != nil {
			t.Fatalf("peer chaincode invoke: %v\n%s", err, out)
		}
		// --waitForEvent returned: committed VALID.
		if p := evaluatePage(t, contract, "GetRecord", b.Records[0].ID); p.Count != 1 {
			t.Fatalf("record %s not on the ledger after the CLI invoke", b.Records[0].ID)
		}
	})

	other := newRecordChain("it-cc-somebody-else").next(t, 1)
	wantOther := `e2l-refusal access-denied record 0 (` + other.Records[0].ID + `): the record is for host "it-cc-somebody-else" but the signer's e2l.host is "it-cc-host"`
	t.Run("another host's records are refused through the Gateway", func(t *testing.T) {
		expectEndorseRefusal(t, contract, batchJSON(t, other), wantOther)
	})
	t.Run("another host's records are refused through the peer CLI", func(t *testing.T) {
		out, err := peerInvoke(t, host, batchJSON(t, other))
		if err == nil || !strings.Contains(out, cliQuoted(wantOther)) {
			t.Fatalf("peer chaincode invoke: %v\n%s\nwant the message %s", err, out, wantOther)
		}
	})

	noRole := enrollHost(t, network.Provider, "it-cc-norole", network.EnrollOptions{Role: network.RoleNone})
	ownBatch := newRecordChain(noRole.Host).next(t, 1)
	wantNoRole := `of ProviderMSP has no e2l.role=collector attribute`
	t.Run("an identity without the collector role is refused through the Gateway", func(t *testing.T) {
		expectEndorseRefusal(t, e2lContract(connectGateway(t, noRole)), batchJSON(t, ownBatch), `e2l-refusal access-denied: identity "x509::CN=it-cc-norole`, wantNoRole)
	})
	t.Run("an identity without the collector role is refused through the peer CLI", func(t *testing.T) {
		out, err := peerInvoke(t, noRole, batchJSON(t, ownBatch))
		if err == nil || !strings.Contains(out, wantNoRole) {
			t.Fatalf("peer chaincode invoke: %v\n%s\nwant the message %s", err, out, wantNoRole)
		}
	})

	t.Run("two concurrent batches of one host commit VALID in the same block", func(t *testing.T) {
		var blocks [][2]uint64
		for attempt := 0; attempt < 3; attempt++ {
			a, b := chain.next(t, 2), chain.next(t, 2)
			_, commitA, err := contract.SubmitAsync("RecordEvents", client.WithArguments(batchJSON(t, a)))
			if err != nil {
				t.Fatalf("submit batch A: %v", describeGatewayError(err))
			}
			_, commitB, err := contract.SubmitAsync("RecordEvents", client.WithArguments(batchJSON(t, b)))
			if err != nil {
				t.Fatalf("submit batch B: %v", describeGatewayError(err))
			}
			var got [2]uint64
			for i, c := range []*client.Commit{commitA, commitB} {
				st, err := c.StatusWithContext(t.Context())
				if err != nil {
					t.Fatalf("commit status: %v", err)
				}
				if st.Code != peer.TxValidationCode_VALID {
					t.Fatalf("batch %c committed as %s in block %d, want VALID", 'A'+i, st.Code, st.BlockNumber)
				}
				got[i] = st.BlockNumber
			}
			if got[0] == got[1] {
				return
			}
			blocks = append(blocks, got)
		}
		t.Errorf("both batches VALID, but never in the same block (blocks %v)", blocks)
	})
}

// sealNext seals r as the chain's next record.
func sealNext(t *testing.T, c *recordChain, r record.Record) record.Sealed {
	t.Helper()
	c.seq++
	r.V, r.Host, r.Seq, r.Prev = record.SchemaVersion, c.host, c.seq, c.prev
	s, err := record.Seal(r)
	if err != nil {
		t.Fatalf("seal record %d: %v", c.seq, err)
	}
	c.prev = s.Hash
	return s
}

// submitRecords submits a batch, requires VALID and returns the contract's result.
func submitRecords(t *testing.T, contract *client.Contract, b record.Batch) wire.Result {
	t.Helper()
	out, commit, err := contract.SubmitAsync("RecordEvents", client.WithArguments(batchJSON(t, b)))
	if err != nil {
		t.Fatalf("submit: %v", describeGatewayError(err))
	}
	st, err := commit.StatusWithContext(t.Context())
	if err != nil {
		t.Fatalf("commit status: %v", err)
	}
	if st.Code != peer.TxValidationCode_VALID {
		t.Fatalf("transaction %s committed as %s, want VALID", st.TransactionID, st.Code)
	}
	var res wire.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("result %s: %v", out, err)
	}
	return res
}

// expectEndorseRefusal submits a batch that the chaincode must refuse at
// endorsement with a message containing every part of want.
func expectEndorseRefusal(t *testing.T, contract *client.Contract, batch string, want ...string) {
	t.Helper()
	_, err := contract.Submit("RecordEvents", client.WithArguments(batch))
	if err == nil {
		t.Fatal("the batch was accepted")
	}
	var endorseErr *client.EndorseError
	if !errors.As(err, &endorseErr) {
		t.Fatalf("error %T %v, want an EndorseError", err, err)
	}
	msg := describeGatewayError(err).Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %s\ndoes not say %s", msg, w)
		}
	}
}

func evaluateJSON(t *testing.T, contract *client.Contract, into any, fn string, args ...string) {
	t.Helper()
	out, err := contract.EvaluateWithContext(t.Context(), fn, client.WithArguments(args...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", fn, describeGatewayError(err))
	}
	if err := json.Unmarshal(out, into); err != nil {
		t.Fatalf("%s result %s: %v", fn, out, err)
	}
}

type storedPage struct {
	Records  []wire.Stored `json:"records"`
	Bookmark string        `json:"bookmark"`
	Count    int           `json:"count"`
}

func evaluatePage(t *testing.T, contract *client.Contract, fn string, args ...string) storedPage {
	t.Helper()
	var p storedPage
	evaluateJSON(t, contract, &p, fn, args...)
	return p
}

func seqs(t *testing.T, p storedPage) []uint64 {
	t.Helper()
	var out []uint64
	for _, st := range p.Records {
		s, err := st.Sealed()
		if err != nil {
			t.Fatalf("record %s does not re-verify: %v", st.ID, err)
		}
		out = append(out, s.Record.Seq)
	}
	return out
}

// peerInvoke runs `peer chaincode invoke RecordEvents` as the host identity,
// endorsed by two orgs, waiting for the commit. It returns the CLI's
// combined output.
func peerInvoke(t *testing.T, id network.HostIdentity, batch string) (string, error) {
	t.Helper()
	ctorJSON, err := json.Marshal(map[string][]string{"Args": {"RecordEvents", batch}})
	if err != nil {
		t.Fatal(err)
	}
	ordererArgs, err := testNet.OrdererCLIArgs()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"chaincode", "invoke", "-C", network.ChannelName, "-n", network.ChaincodeName,
		"-c", string(ctorJSON), "--waitForEvent"}, ordererArgs...)
	for _, o := range []network.Org{id.Org, otherOrg(id.Org)} {
		p := testNet.Peer(o)
		args = append(args, "--peerAddresses", p.Endpoint, "--tlsRootCertFiles", p.TLSCAPath)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(testNet.Config().BinDir, "peer"), args...)
	cmd.Env = append(os.Environ(), testNet.PeerCLIEnv(id.Org)...)
	cmd.Env = append(cmd.Env, "CORE_PEER_LOCALMSPID="+id.MSPID, "CORE_PEER_MSPCONFIGPATH="+hostMSPDir(t, id))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// hostMSPDir lays out the host identity as a local MSP directory for the
// peer CLI: its certificate and key, with the org's CA certificates and
// NodeOU configuration taken from the org admin's MSP.
func hostMSPDir(t *testing.T, id network.HostIdentity) string {
	t.Helper()
	admin := testNet.Peer(id.Org).AdminMSPDir
	dir := t.TempDir()
	copyInto := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cas, err := filepath.Glob(filepath.Join(admin, "cacerts", "*"))
	if err != nil || len(cas) == 0 {
		t.Fatalf("no CA certificates in %s: %v", admin, err)
	}
	for _, ca := range cas {
		copyInto(ca, filepath.Join(dir, "cacerts", filepath.Base(ca)))
	}
	copyInto(filepath.Join(admin, "config.yaml"), filepath.Join(dir, "config.yaml"))
	copyInto(id.CertPath, filepath.Join(dir, "signcerts", "cert.pem"))
	copyInto(id.KeyPath, filepath.Join(dir, "keystore", "priv_sk"))
	return dir
}

// cliQuoted is how the peer CLI prints a chaincode message: quotes escaped.
func cliQuoted(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }

func otherOrg(o network.Org) network.Org {
	for _, x := range network.Orgs() {
		if x != o {
			return x
		}
	}
	return o
}
