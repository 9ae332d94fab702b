//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// 7. A host's deliberate double submit: two different records for one chain
// slot, both endorsed before either is ordered, so one commits and the
// other is invalidated MVCC_READ_CONFLICT. Then an archive in which the
// stored record is the loser and the loser's flag byte (unsigned block
// metadata) reads VALID.
func attackFlippedMVCCLoser(t *testing.T, f *attackFixture, ev *evidence) {
	flippedLoser(t, f, ev, "atk-mvcc", 1, peer.TxValidationCode_MVCC_READ_CONFLICT)
}

// 7b. The same with batches of three records, which read their chain
// slots with one range query (state layout 3): the loser is invalidated
// PHANTOM_READ_CONFLICT, and the flipped archive is caught by replaying
// its range.
func attackFlippedRangeLoser(t *testing.T, f *attackFixture, ev *evidence) {
	flippedLoser(t, f, ev, "atk-range", 3, peer.TxValidationCode_PHANTOM_READ_CONFLICT)
}

// flippedLoser double-submits two batches of n records of host for the
// same chain slots, differing in their last record, wants the loser
// invalidated with code, and has an archive with the loser flipped to
// VALID detected.
func flippedLoser(t *testing.T, f *attackFixture, ev *evidence, host string, n int, want peer.TxValidationCode) {
	id := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	ensureRegistered(t, network.Provider, id.Host)
	gw := connectGateway(t, id)
	c := e2lContract(gw)
	chain := newRecordChain(id.Host)
	submitRecords(t, c, chain.next(t, 1))
	x, y := *chain, *chain
	rx := x.next(t, n)
	ry := y.next(t, n)
	last := &ry.Records[n-1]
	last.Record.Heartbeat.IntervalMs = 2000
	s, err := record.Seal(last.Record)
	if err != nil {
		t.Fatal(err)
	}
	*last = s

	var txs []*client.Transaction
	for _, b := range []record.Batch{rx, ry} {
		p, err := c.NewProposal("RecordEvents", client.WithArguments(batchJSON(t, b)))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := p.EndorseWithContext(t.Context())
		if err != nil {
			t.Fatalf("endorse: %v", describeGatewayError(err))
		}
		txs = append(txs, tx)
	}
	var sts []*client.Status
	var commits []*client.Commit
	for _, tx := range txs {
		cm, err := tx.SubmitWithContext(t.Context())
		if err != nil {
			t.Fatalf("submit: %v", describeGatewayError(err))
		}
		commits = append(commits, cm)
	}
	for _, cm := range commits {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		st, err := cm.StatusWithContext(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	win, lose := 0, 1
	if sts[0].Code != peer.TxValidationCode_VALID {
		win, lose = 1, 0
	}
	if sts[win].Code != peer.TxValidationCode_VALID || sts[lose].Code != want {
		t.Fatalf("double submit committed %s and %s, want one VALID and one %s", sts[0].Code, sts[1].Code, want)
	}
	loser := []record.Batch{rx, ry}[lose].Records[n-1]
	loserTx := sts[lose].TransactionID
	t.Logf("winner %s (block %d), loser %s (block %d) %s", sts[win].TransactionID, sts[win].BlockNumber, loserTx, sts[lose].BlockNumber, sts[lose].Code)

	archive := filepath.Join(t.TempDir(), "mvcc.e2l.gz")
	f.mustOnline(t, testNet, "export", "--host", id.Host, archive)
	out, code := f.verifyArchive(t, archive, f.anchor)
	if code != 0 {
		t.Fatalf("the honest archive does not verify: exit %d\n%s", code, out)
	}
	path := tampered(t, archive, func(a *audit.Archive) {
		if !archiveHasBlock(t, a, sts[lose].BlockNumber) {
			a.Blocks = append(a.Blocks, qsccBlock(t, gw, sts[lose].BlockNumber))
		}
		i, b := blockOfTx(t, a, loserTx)
		var tx *audit.Tx
		for _, x := range b.Txs {
			if x.ID == loserTx {
				tx = x
			}
		}
		var blk common.Block
		if err := proto.Unmarshal(b.Raw, &blk); err != nil {
			t.Fatal(err)
		}
		blk.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER][tx.Index] = byte(peer.TxValidationCode_VALID)
		a.Blocks[i] = mustProto(t, &blk)
		last := &a.Records[len(a.Records)-1]
		*last = wire.Stored{ID: loser.ID, Hash: loser.Hash, Record: loser.Record.Canonical(), MSP: last.MSP, CertSHA256: last.CertSHA256,
			TxID: loserTx, TxTime: tx.Timestamp.UnixNano()}
	})
	out, code = f.verifyArchive(t, path, f.anchor)
	ev.set("real loser %s committed %s; flipped archive: %s", loserTx, sts[lose].Code,
		requireDetected(t, "archive with the MVCC loser flagged VALID", out, code, loserTx))
}

// 8. A configuration update rotating the Developer org's root CA, signed by
// the Provider admin alone: the real orderer refuses it; a configuration
// block carrying it, ordered and signed by the Provider orderer org alone,
// put into an archive, is detected.
func attackConfigRotation(t *testing.T, f *attackFixture, ev *evidence) {
	dir := t.TempDir()
	ordererArgs, err := testNet.OrdererCLIArgs()
	if err != nil {
		t.Fatal(err)
	}
	peerCLI := func(o network.Org, args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), filepath.Join(testNet.Config().BinDir, "peer"), args...)
		cmd.Env = append(os.Environ(), testNet.PeerCLIEnv(o)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	fetchConfig := func() []byte {
		path := filepath.Join(dir, "config.block")
		if out, err := peerCLI(network.Provider, append([]string{"channel", "fetch", "config", path, "-c", network.ChannelName}, ordererArgs...)...); err != nil {
			t.Fatalf("peer channel fetch config: %v\n%s", err, out)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	current := fetchConfig()
	caPEM := selfMadeCA(t, network.Developer)
	update, _ := rotateRoot(t, configOf(t, current), network.Developer.MSPID(), caPEM)
	file := filepath.Join(dir, "rotate.tx")
	if err := os.WriteFile(file, mustProto(t, signedUpdateEnvelope(t, update)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := peerCLI(network.Provider, append([]string{"channel", "update", "-f", file, "-c", network.ChannelName}, ordererArgs...)...)
	if err == nil {
		t.Fatalf("the orderer accepted a rotation of DeveloperMSP's root signed by the Provider admin alone:\n%s", out)
	}
	t.Logf("the orderer refused the update:\n%s", out)
	refusal := firstLine(out, "Error")
	if !strings.Contains(out, "DeveloperMSP") || !strings.Contains(out, "not satisfied") {
		t.Fatalf("the orderer refused the update, but not by DeveloperMSP's policy:\n%s", out)
	}
	if after := fetchConfig(); parseBlock(t, after).Number != parseBlock(t, current).Number {
		t.Fatalf("the channel's configuration block moved from %d to %d", parseBlock(t, current).Number, parseBlock(t, after).Number)
	}

	// The same update in a configuration block the Provider orderer org
	// orders and signs alone, in an otherwise honest archive.
	h := f.honestEvidence(t)
	var num uint64
	path := tampered(t, h.archive, func(a *audit.Archive) {
		last := a.ConfigBlocks[len(a.ConfigBlocks)-1]
		update, next := rotateRoot(t, configOf(t, last), network.Developer.MSPID(), caPEM)
		var prev *common.BlockHeader
		for _, raw := range a.Blocks {
			if b := parseBlock(t, raw); prev == nil || b.Number > prev.GetNumber() {
				prev = b.Block.GetHeader()
			}
		}
		num = prev.GetNumber() + 1
		lastUpdate := signedUpdateEnvelope(t, update, adminSigner(t, testNet, network.Provider))
		a.ConfigBlocks = append(a.ConfigBlocks, forgedConfigBlock(t, num, prev, next, lastUpdate, ordererSigner(t, testNet, network.Provider)))
	})
	vout, code := f.verifyArchive(t, path, f.anchor)
	forged := requireDetected(t, "archive with a configuration block signed by one org", vout, code, fmt.Sprintf("block %d", num), "not satisfied")
	ev.set("real orderer: %s; forged configuration block %d: %s", refusal, num, forged)
}
