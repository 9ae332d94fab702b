//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// An orderer restarted once its Raft WAL holds more than one Ready's worth
// of entries (MaxSizePerMsg = the channel's PreferredMaxBytes, 2 MB) must
// catch up. The pinned Fabric build deadlocked there (hyperledger/fabric
// #4199: the chain goroutine asks the node goroutine to sync the WAL while
// that one waits to hand it the next entries): "voters=()" after the
// restart, one or two of the three config changes replayed, then nothing,
// for good. tools/fabric/overlay backports the fix (#4201). Measured on the
// dev network before the fix: 6 of 6 restarts stuck; after: 15 of 15 up.
func TestAnOrdererRestartsAfterTheChainHasGrown(t *testing.T) {
	ctx := t.Context()
	id := enrollHost(t, network.Developer, "it-orderer-restart", network.EnrollOptions{})
	contract := e2lContract(connectGateway(t, id))
	c := &eventChain{host: id.Host}

	// Grow the chain by more than 3 MB of RecordEvents arguments (the blocks
	// carry each argument and the records written again in the read-write
	// set, so the WAL grows by more): 50 records a transaction, each with
	// 8 labels of 1 KiB.
	labels := map[string]string{}
	for i := range 8 {
		labels[fmt.Sprintf("e2l.test/pad-%d", i)] = strings.Repeat("x", 1024)
	}
	grown := 0
	for grown < 3<<20 {
		var b record.Batch
		for range 50 {
			b.Records = append(b.Records, c.event(t, time.Now(), "container", "create", "pad-"+randomSuffix(), record.Attributes{Name: "pad", Labels: labels}))
		}
		arg := batchJSON(t, b)
		submitValid(t, contract, "RecordEvents", arg)
		grown += len(arg)
	}

	leader, err := testNet.RaftLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % len(testNet.Orderers())
	o := testNet.Orderers()[follower]
	logBefore := fileSize(t, o.LogPath)
	if err := testNet.StopOrderer(ctx, follower); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		restore(t, "orderer", func(ctx context.Context) error { return testNet.StartOrderer(ctx, follower) })
	})
	if err := testNet.StartOrderer(ctx, follower); err != nil {
		t.Fatal(err)
	}

	// It rejoins the cluster and has the leader's blocks, then follows a
	// new one.
	caughtUp := func() error {
		mine, err := testNet.RaftStatus(ctx, follower)
		if err != nil {
			return err
		}
		theirs, err := testNet.RaftStatus(ctx, leader)
		if err != nil {
			return err
		}
		if mine.ActiveNodes != 3 || mine.CommittedBlock != theirs.CommittedBlock {
			return fmt.Errorf("restarted orderer %d: %d active nodes, block %d; leader at block %d", follower, mine.ActiveNodes, mine.CommittedBlock, theirs.CommittedBlock)
		}
		return nil
	}
	eventually(t, 90*time.Second, 250*time.Millisecond, caughtUp)
	submitValid(t, contract, "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{c.heartbeat(t, time.Now())}}))
	eventually(t, 30*time.Second, 250*time.Millisecond, caughtUp)

	logAfter, err := os.ReadFile(o.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	replayed := strings.Count(string(logAfter[logBefore:]), "Applied config change to add node")
	t.Logf("grew the chain by %.1f MiB of arguments; the restarted orderer replayed %d Raft config changes from its WAL (3 without a snapshot, 0 after one)",
		float64(grown)/(1<<20), replayed)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
