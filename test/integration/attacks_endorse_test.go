//go:build integration

package integration

import (
	"os"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/network"
)

// The Provider org, holding one Developer client key (a Developer host's
// collector, far less guarded than a peer), makes a transaction of its own
// host endorsed by its own peer and that client, as if by two orgs: the
// Developer peer's endorsement of an honest transaction is replaced by the
// client's signature, the creator re-signs, and the Provider orderer org
// re-signs the block alone (the block after it is not handed over).
func attackClientEndorsement(t *testing.T, f *attackFixture, ev *evidence) {
	h := f.honestEvidence(t)
	client := enrollHost(t, network.Developer, "atk-dev-client", network.EnrollOptions{})
	devClient := signerFromFiles(t, client.MSPID, client.CertPath, client.KeyPath)
	creator := signerFromFiles(t, h.id.MSPID, h.id.CertPath, h.id.KeyPath)
	orderer := ordererSigner(t, testNet, network.Provider)
	txID := h.stored(t)[len(h.records)-1].TxID
	path := tampered(t, h.archive, func(a *audit.Archive) {
		i, b := blockOfTx(t, a, txID)
		a.Blocks[i] = withClientEndorsement(t, b.Raw, txID, devClient, creator, orderer)
		// Only the blocks the records need: none after the forged one.
		var keep [][]byte
		for _, raw := range a.Blocks {
			if parseBlock(t, raw).Number <= b.Number {
				keep = append(keep, raw)
			}
		}
		a.Blocks = keep
	})
	out, code := f.verifyArchive(t, path, f.anchor)
	ev.set("%s", requireDetected(t, "archive with a Developer client's endorsement", out, code, "endorsement", "DeveloperMSP"))
}

func signerFromFiles(t *testing.T, mspID, certPath, keyPath string) orgSigner {
	t.Helper()
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	return orgSigner{mspID: mspID, certPEM: certPEM, sign: sign}
}

// withClientEndorsement replaces the endorsement of a transaction that is
// not by the creator's org with endorser's signature, re-signs the
// envelope as creator and the block as orderer.
func withClientEndorsement(t *testing.T, raw []byte, txID string, endorser, creator, orderer orgSigner) []byte {
	t.Helper()
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	tx, ok := findEndorserTx(t, &b, txID)
	if !ok {
		t.Fatalf("transaction %s is not in block %d", txID, b.Header.Number)
	}
	replaced := false
	for _, e := range tx.action.Action.Endorsements {
		var sid msp.SerializedIdentity
		if err := proto.Unmarshal(e.Endorser, &sid); err != nil {
			t.Fatal(err)
		}
		if sid.Mspid == creator.mspID || replaced {
			continue
		}
		e.Endorser = endorser.creator(t)
		e.Signature = endorser.signMsg(t, append(append([]byte{}, tx.action.Action.ProposalResponsePayload...), e.Endorser...))
		replaced = true
	}
	if !replaced {
		t.Fatalf("transaction %s has no endorsement outside %s", txID, creator.mspID)
	}
	tx.store(t, &b, func(msg []byte) []byte { return creator.signMsg(t, msg) })
	orderer.signBlock(t, &b, signatureValue(t, &b))
	return mustProto(t, &b)
}
