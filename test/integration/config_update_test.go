//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// A channel configuration update on the real network, signed by two of the
// three application org admins as the channel's MAJORITY Admins policy
// requires and ordered by the real orderers, puts a second configuration
// block on the channel. Records written before and after it verify, each
// block against the configuration it was ordered under, and each receipt
// carries its own block's configuration.
func TestVerifyAcrossAConfigurationUpdate(t *testing.T) {
	cli := auditorCLI(t)
	const host = "it-cfg-update"
	id := enrollHost(t, network.User, host, network.EnrollOptions{})
	contract := e2lContract(connectGateway(t, id))
	c := &eventChain{host: host}
	now := time.Now()
	before := c.heartbeat(t, now)
	submitValid(t, contract, "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{before}}))

	cfgBlock := updateChannelConfig(t)

	after := c.heartbeat(t, now.Add(time.Second))
	submitValid(t, contract, "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{after}}))

	t.Run("verify walks the configuration history and passes", func(t *testing.T) {
		out := cli.mustRun(t, "verify", "--host", host)
		if !strings.Contains(out, "OK: 2 records of 1 hosts") || !strings.Contains(out, "; 0 errors, 0 warnings") {
			t.Fatalf("verify:\n%s", out)
		}
		if want := "configuration blocks 0, " + strconv.FormatUint(cfgBlock, 10) + ", each later one signed under the one before"; !strings.Contains(out, want) {
			t.Fatalf("verify does not report the configuration history %q:\n%s", want, out)
		}
	})

	t.Run("an export holds every configuration block and verifies offline", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "cfg.e2l.gz")
		cli.mustRun(t, "export", "--host", host, archive)
		a := readArchive(t, archive)
		var nums []uint64
		for _, raw := range a.ConfigBlocks {
			b, err := audit.ParseBlock(raw)
			if err != nil {
				t.Fatal(err)
			}
			nums = append(nums, b.Number)
		}
		if len(nums) < 2 || nums[0] != 0 || nums[len(nums)-1] != cfgBlock {
			t.Fatalf("archive configuration blocks %v, want 0 … %d", nums, cfgBlock)
		}
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), "unshare", append([]string{"-n", cli.bin}, cli.offline("verify", "--archive", archive)...)...))
		if code != 0 {
			t.Fatalf("verify --archive without network: exit %d\n%s\n%s", code, out, errOut)
		}
		// The anchor is the genesis block, also across the update: without
		// one the archive is refused, with the right one given on the
		// command line it passes.
		empty := filepath.Join(t.TempDir(), "trust")
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, "--trust-file", empty, "verify", "--archive", archive))
		if code != 1 || !strings.Contains(errOut, "no trust anchor for channel e2l") || strings.Contains(out, "OK") {
			t.Fatalf("verify --archive without an anchor: exit %d, want 1\n%s\n%s", code, out, errOut)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, "--trust-file", empty, "verify", "--archive", archive, "--genesis", cli.genesis))
		if code != 0 || !strings.Contains(out, "OK: 2 records") {
			t.Fatalf("verify --archive --genesis: exit %d\n%s\n%s", code, out, errOut)
		}
		// Without the newer configuration block, the records ordered under
		// it cannot be checked, and verify says which.
		a.ConfigBlocks = a.ConfigBlocks[:1]
		short := filepath.Join(t.TempDir(), "short.e2l.gz")
		writeArchive(t, short, a)
		out, _, code = runCmd(t, exec.CommandContext(t.Context(), cli.bin, cli.offline("verify", "--archive", short, "-q")...))
		if want := "which the evidence does not hold"; code != 1 || !strings.Contains(out, want) || !strings.Contains(out, after.ID) {
			t.Fatalf("verify of an archive lacking configuration block %d: exit %d, want 1 and %q about %s:\n%s", cfgBlock, code, want, after.ID, out)
		}
	})

	t.Run("each receipt carries the configuration its block was ordered under", func(t *testing.T) {
		for _, tc := range []struct {
			rec     record.Sealed
			wantCfg uint64
		}{{before, 0}, {after, cfgBlock}} {
			path := filepath.Join(t.TempDir(), "receipt.json")
			cli.mustRun(t, "receipt", tc.rec.ID, path)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var r audit.Receipt
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			cb, err := audit.ParseBlock(r.ConfigBlock)
			if err != nil {
				t.Fatal(err)
			}
			if cb.Number != tc.wantCfg {
				t.Errorf("receipt of seq %d (block %d) carries configuration block %d, want %d", tc.rec.Record.Seq, r.BlockNumber, cb.Number, tc.wantCfg)
			}
			out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), "unshare", append([]string{"-n", cli.bin}, cli.offline("verify-receipt", path)...)...))
			if code != 0 {
				t.Errorf("verify-receipt of seq %d: exit %d\n%s\n%s", tc.rec.Record.Seq, code, out, errOut)
			}
		}
	})
}

// updateChannelConfig submits a configuration update of the channel (the
// Application group's Capabilities value, same content, next version) with
// the peer CLI: signed by the Provider admin (signconfigtx) and the
// Developer admin (update), and waits until the peers have its block. It
// returns the new configuration block's number.
func updateChannelConfig(t *testing.T) uint64 {
	t.Helper()
	dir := t.TempDir()
	ordererArgs, err := testNet.OrdererCLIArgs()
	if err != nil {
		t.Fatal(err)
	}
	peerCLI := func(o network.Org, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), filepath.Join(testNet.Config().BinDir, "peer"), args...)
		cmd.Env = append(os.Environ(), testNet.PeerCLIEnv(o)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("peer %s as %s admin: %v\n%s", strings.Join(args, " "), o, err, out)
		}
	}
	current := filepath.Join(dir, "config.block")
	peerCLI(network.Provider, append([]string{"channel", "fetch", "config", current, "-c", network.ChannelName}, ordererArgs...)...)
	raw, err := os.ReadFile(current)
	if err != nil {
		t.Fatal(err)
	}
	var blk common.Block
	var env common.Envelope
	var payload common.Payload
	var cenv common.ConfigEnvelope
	if err := proto.Unmarshal(raw, &blk); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(blk.GetData().GetData()[0], &env); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(env.GetPayload(), &payload); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(payload.GetData(), &cenv); err != nil {
		t.Fatal(err)
	}
	ch := cenv.GetConfig().GetChannelGroup()
	app := ch.GetGroups()["Application"]
	capv := app.GetValues()["Capabilities"]
	if capv == nil {
		t.Fatal("the channel configuration has no Application Capabilities value")
	}
	update := &common.ConfigUpdate{
		ChannelId: network.ChannelName,
		ReadSet: &common.ConfigGroup{Version: ch.GetVersion(), Groups: map[string]*common.ConfigGroup{
			"Application": {Version: app.GetVersion()}}},
		WriteSet: &common.ConfigGroup{Version: ch.GetVersion(), Groups: map[string]*common.ConfigGroup{
			"Application": {Version: app.GetVersion(), Values: map[string]*common.ConfigValue{
				"Capabilities": {Version: capv.GetVersion() + 1, Value: capv.GetValue(), ModPolicy: capv.GetModPolicy()}}}}},
	}
	updBytes := mustProto(t, update)
	envBytes := mustProto(t, &common.Envelope{Payload: mustProto(t, &common.Payload{
		Header: &common.Header{ChannelHeader: mustProto(t, &common.ChannelHeader{Type: int32(common.HeaderType_CONFIG_UPDATE),
			ChannelId: network.ChannelName})},
		Data: mustProto(t, &common.ConfigUpdateEnvelope{ConfigUpdate: updBytes})})})
	file := filepath.Join(dir, "update.tx")
	if err := os.WriteFile(file, envBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	prevConfig := blk.GetHeader().GetNumber()
	peerCLI(network.Provider, "channel", "signconfigtx", "-f", file)
	peerCLI(network.Developer, append([]string{"channel", "update", "-f", file, "-c", network.ChannelName}, ordererArgs...)...)

	// The new configuration block is the one the newest block names.
	var got uint64
	eventually(t, time.Minute, 250*time.Millisecond, func() error {
		latest := filepath.Join(dir, "latest.block")
		peerCLI(network.Developer, append([]string{"channel", "fetch", "config", latest, "-c", network.ChannelName}, ordererArgs...)...)
		b, err := os.ReadFile(latest)
		if err != nil {
			return err
		}
		var nb common.Block
		if err := proto.Unmarshal(b, &nb); err != nil {
			return err
		}
		if got = nb.GetHeader().GetNumber(); got <= prevConfig {
			return fmt.Errorf("the latest configuration block is still %d", got)
		}
		return nil
	})
	t.Logf("configuration update ordered in block %d (previous configuration block %d)", got, prevConfig)
	return got
}

func mustProto(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
