//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// eventChain writes one host's records with chosen payloads and times.
type eventChain struct {
	host string
	seq  uint64
	prev string
}

func (c *eventChain) seal(t *testing.T, r record.Record) record.Sealed {
	t.Helper()
	c.seq++
	if c.prev == "" {
		c.prev = record.GenesisPrev
	}
	r.V, r.Host, r.Seq, r.Prev = record.SchemaVersion, c.host, c.seq, c.prev
	if r.Event != nil {
		r.Event.TimeNano = r.Time
	}
	s, err := record.Seal(r)
	if err != nil {
		t.Fatalf("seal %s seq %d: %v", c.host, c.seq, err)
	}
	c.prev = s.Hash
	return s
}

func (c *eventChain) event(t *testing.T, at time.Time, typ, action, actor string, attrs record.Attributes) record.Sealed {
	scope := record.ScopeLocal
	if typ == "service" {
		scope = record.ScopeSwarm
	}
	return c.seal(t, record.Record{Kind: record.KindEvent, Time: at.UnixNano(),
		Event: &record.Event{Type: typ, Action: action, Actor: actor, Scope: scope, Attrs: attrs}})
}

func (c *eventChain) heartbeat(t *testing.T, at time.Time) record.Sealed {
	return c.seal(t, record.Record{Kind: record.KindHeartbeat, Time: at.UnixNano(), Heartbeat: &record.Heartbeat{IntervalMs: 600_000}})
}

func TestAuditorCLI(t *testing.T) {
	cli := auditorCLI(t)
	bin := cli.bin

	// A host writes a container's life and a service's, in three batches.
	const host = "audit-node"
	id := enrollHost(t, network.Provider, host, network.EnrollOptions{})
	contract := e2lContract(connectGateway(t, id))
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	ctr := strings.Repeat("c0ffee", 10) + "abcd"
	svc := "svcaudit0000000000000001"
	web := record.Attributes{Name: "audit-web", Image: "nginx:1", Labels: map[string]string{"team": "blue"}}
	c := &eventChain{host: host}
	batches := [][]record.Sealed{
		{c.heartbeat(t, at(-time.Second)), c.event(t, at(0), "container", "create", ctr, web), c.event(t, at(time.Second), "container", "start", ctr, web)},
		{c.event(t, at(11*time.Second), "container", "pause", ctr, web), c.event(t, at(16*time.Second), "container", "unpause", ctr, web),
			c.event(t, at(31*time.Second), "container", "die", ctr, record.Attributes{Name: "audit-web", Image: "nginx:1", ExitCode: "0", Labels: web.Labels}),
			c.event(t, at(31500*time.Millisecond), "container", "stop", ctr, web)},
		{c.event(t, at(40*time.Second), "service", "create", svc, record.Attributes{Name: "audit-api"}),
			c.event(t, at(45*time.Second), "service", "update", svc, record.Attributes{Name: "audit-api", ReplicasOld: "1", ReplicasNew: "3"}),
			c.event(t, at(50*time.Second), "service", "remove", svc, record.Attributes{Name: "audit-api"}),
			c.heartbeat(t, at(55*time.Second))},
	}
	var all []record.Sealed
	for _, b := range batches {
		submitValid(t, contract, "RecordEvents", batchJSON(t, record.Batch{Records: b}))
		all = append(all, b...)
	}
	dieID := all[5].ID

	t.Run("events lists the host's chain with every page followed", func(t *testing.T) {
		out := cli.mustRun(t, "events", "--host", host, "-o", "json")
		var got []struct{ ID string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("events json: %v\n%s", err, out)
		}
		if len(got) != len(all) {
			t.Fatalf("events --host listed %d records, want %d", len(got), len(all))
		}
		// The collector's env file works as well as flags.
		// (With the test's trust file: the index's commands pin the anchor,
		// and this machine's own trust file is not the test's to write.)
		envCmd := cli.command(t.Context())
		envCmd.Args = []string{bin, "--env-file", id.EnvPath, "--trust-file", cli.trustFile, "events", "--type", "service", "--action", "update",
			"--since", strconv.FormatInt(at(0).UnixNano(), 10), "-o", "csv"}
		envOut, errOut, code := runCmd(t, envCmd)
		if code != 0 || !strings.Contains(envOut, svc) {
			t.Fatalf("events --type service with --env-file: exit %d\n%s\n%s", code, envOut, errOut)
		}
	})

	t.Run("events --watch streams the records from the blocks", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		args := append(append([]string{}, cli.conn...), "events", "--watch", "--start-block", "0", "--host", host, "-o", "json")
		cmd := exec.CommandContext(ctx, bin, args...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		seen := 0
		for seen < len(all) && sc.Scan() {
			var r struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("watch line: %v: %s", err, sc.Bytes())
			}
			if r.ID != all[seen].ID {
				t.Fatalf("watch record %d is %s, want %s", seen, r.ID, all[seen].ID)
			}
			seen++
		}
		if seen != len(all) {
			t.Fatalf("watch streamed %d of %d records (%v)", seen, len(all), sc.Err())
		}
	})

	t.Run("timeline shows the container's life in order", func(t *testing.T) {
		for _, who := range []string{ctr, "audit-web"} {
			out := cli.mustRun(t, "timeline", who, "-o", "json")
			var steps []struct {
				Step   int `json:"step"`
				Record struct {
					Event struct{ Action string }
				} `json:"record"`
				SincePrevNs int64 `json:"sincePrevNs"`
			}
			if err := json.Unmarshal([]byte(out), &steps); err != nil {
				t.Fatalf("timeline json: %v\n%s", err, out)
			}
			var actions []string
			for _, s := range steps {
				actions = append(actions, s.Record.Event.Action)
			}
			if got, want := strings.Join(actions, ","), "create,start,pause,unpause,die,stop"; got != want {
				t.Fatalf("timeline %s: actions %s, want %s", who, got, want)
			}
			if steps[2].SincePrevNs != int64(10*time.Second) {
				t.Fatalf("start→pause took %s, want 10s", time.Duration(steps[2].SincePrevNs))
			}
		}
		out := cli.mustRun(t, "timeline", "audit-api")
		if !strings.Contains(out, "replicas 1→3") {
			t.Fatalf("service timeline lacks the replicas change:\n%s", out)
		}
	})

	t.Run("usage equals the running time without the pause", func(t *testing.T) {
		out := cli.mustRun(t, "usage", "--from", strconv.FormatInt(at(-time.Minute).UnixNano(), 10), "--to", strconv.FormatInt(at(5*time.Minute).UnixNano(), 10),
			"--by", "host", "-o", "json")
		var rows []audit.UsageRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("usage json: %v\n%s", err, out)
		}
		for _, r := range rows {
			if r.Group == host {
				if r.Running != 25*time.Second || r.Uncertain != 0 || r.Paused != 5*time.Second || r.Containers != 1 {
					t.Fatalf("usage of %s: %+v, want 25s running, 5s paused, none uncertain, 1 container", host, r)
				}
				return
			}
		}
		t.Fatalf("usage has no row for %s:\n%s", host, out)
	})

	t.Run("hosts shows the host continuous", func(t *testing.T) {
		out := cli.mustRun(t, "hosts", "-o", "json")
		var rows []struct {
			Host       string
			LastSeq    uint64
			Continuous bool
		}
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Host == host && r.Continuous && r.LastSeq == uint64(len(all)) {
				return
			}
		}
		t.Fatalf("hosts does not show %s continuous at seq %d:\n%s", host, len(all), out)
	})

	t.Run("verify passes on the ledger", func(t *testing.T) {
		out := cli.mustRun(t, "verify", "--host", host)
		if want := "OK: " + strconv.Itoa(len(all)) + " records of 1 hosts in 3 transactions and 3 blocks; 0 errors, 0 warnings"; !strings.Contains(out, want) {
			t.Fatalf("verify:\n%s", out)
		}
	})

	t.Run("verify --since --until checks the host's stretch in the window", func(t *testing.T) {
		out := cli.mustRun(t, "verify", "--host", host, "--since", at(10*time.Second).Format(time.RFC3339Nano), "--until", at(45*time.Second).Format(time.RFC3339Nano))
		// pause, unpause, die, stop, service create and update.
		if want := "OK: 6 records of 1 hosts in 2 transactions and 2 blocks; 0 errors, 0 warnings"; !strings.Contains(out, want) {
			t.Fatalf("verify of a window: want %q in:\n%s", want, out)
		}
	})

	archive := filepath.Join(t.TempDir(), "audit.e2l.gz")
	t.Run("an exported archive verifies offline", func(t *testing.T) {
		cli.mustRun(t, "export", "--host", host, archive)
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), bin, cli.offline("verify", "--archive", archive)...))
		if code != 0 || !strings.Contains(out, "anchor: channel e2l genesis "+cli.genesis+" (trust file "+cli.trustFile+" line 1)") {
			t.Fatalf("verify --archive: exit %d\n%s\n%s", code, out, errOut)
		}
		a := readArchive(t, archive)
		if len(a.Hosts) != 1 || a.Hosts[0].Host != host || a.Hosts[0].MSP != "ProviderMSP" || len(a.Hosts[0].History) == 0 {
			t.Fatalf("the archive's host registry %+v, want %s's entry, owned by ProviderMSP", a.Hosts, host)
		}
	})

	t.Run("an archive is verified only against a trust anchor", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "trust")
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), bin, "--trust-file", empty, "verify", "--archive", archive))
		if code != 1 || !strings.Contains(errOut, "no trust anchor for channel e2l") || !strings.Contains(errOut, "e2l trust") ||
			!strings.Contains(errOut, "This evidence's genesis block header is "+cli.genesis) || strings.Contains(out, "OK") {
			t.Fatalf("verify --archive without an anchor: exit %d, want 1 and no OK\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), bin, "--trust-file", empty, "verify", "--archive", archive, "--genesis", cli.genesis))
		if code != 0 || !strings.Contains(out, "OK: ") {
			t.Fatalf("verify --archive --genesis (the right one): exit %d\n%s\n%s", code, out, errOut)
		}
		wrong := "sha256:" + strings.Repeat("0", 64)
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), bin, "--trust-file", empty, "verify", "--archive", archive, "--genesis", wrong))
		if code != 1 || !strings.Contains(out, strings.TrimPrefix(wrong, "sha256:")) || !strings.Contains(out, strings.TrimPrefix(cli.genesis, "sha256:")) {
			t.Fatalf("verify --archive --genesis (another network's): exit %d, want 1 naming both hashes\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("a tampered archive fails naming the record", func(t *testing.T) {
		tests := []struct {
			name   string
			tamper func(t *testing.T, a *audit.Archive)
			want   string
		}{
			{"deleted record", func(t *testing.T, a *audit.Archive) { a.Records = append(a.Records[:3], a.Records[4:]...) },
				"host audit-node seq 5 record " + all[4].ID + ": missing seq 4"},
			{"altered field", func(t *testing.T, a *audit.Archive) {
				a.Records[5].Record = bytes.Replace(a.Records[5].Record, []byte(`"exitCode":"0"`), []byte(`"exitCode":"1"`), 1)
			}, "host audit-node seq 6 record " + dieID + ": altered"},
			{"reordered records", func(t *testing.T, a *audit.Archive) { a.Records[6], a.Records[7] = a.Records[7], a.Records[6] },
				"host audit-node seq 7 record " + all[6].ID + ": reordered"},
			{"swapped endorsement signature", func(t *testing.T, a *audit.Archive) { swapEndorsements(t, a, a.Records[5].TxID) },
				"host audit-node seq 6 record " + dieID + ": endorsement 0"},
		}
		// A skipped sequence number is written on the real ledger below.
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				a := readArchive(t, archive)
				tc.tamper(t, a)
				path := filepath.Join(t.TempDir(), "tampered.e2l.gz")
				writeArchive(t, path, a)
				out, _, code := runCmd(t, exec.CommandContext(t.Context(), bin, cli.offline("verify", "--archive", path, "-q")...))
				if code != 1 || !strings.Contains(out, tc.want) {
					t.Fatalf("verify of a tampered archive: exit %d, want 1 and %q in:\n%s", code, tc.want, out)
				}
			})
		}
	})

	t.Run("a skipped sequence number on the ledger fails verify naming the record", func(t *testing.T) {
		const skipper = "audit-skipper"
		sid := enrollHost(t, network.Provider, skipper, network.EnrollOptions{})
		sc := e2lContract(connectGateway(t, sid))
		ch := &eventChain{host: skipper}
		first := []record.Sealed{ch.heartbeat(t, at(0)), ch.heartbeat(t, at(time.Second))}
		ch.seq++ // seq 3 is never written; seq 4's prev is seq 2's hash
		next := ch.heartbeat(t, at(2*time.Second))
		submitValid(t, sc, "RecordEvents", batchJSON(t, record.Batch{Records: first}))
		submitValid(t, sc, "RecordEvents", batchJSON(t, record.Batch{Records: []record.Sealed{next}}))
		out, _, code := cli.run(t, "verify", "--host", skipper, "-q")
		if want := "ERROR host audit-skipper seq 4 record " + next.ID + ": missing seq 3"; code != 1 || !strings.Contains(out, want) {
			t.Fatalf("verify: exit %d, want 1 and %q in:\n%s", code, want, out)
		}
	})

	receipt := filepath.Join(t.TempDir(), "receipt.json")
	t.Run("a receipt verifies with no network", func(t *testing.T) {
		cli.mustRun(t, "receipt", dieID[:12], receipt)
		out, errOut, code := runCmd(t, exec.CommandContext(t.Context(), bin, cli.offline("verify-receipt", receipt)...))
		if code != 0 || !strings.Contains(out, "OK: 1 records") {
			t.Fatalf("verify-receipt: exit %d\n%s\n%s", code, out, errOut)
		}
		if os.Geteuid() != 0 {
			t.Skip("unshare -n needs root")
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("no unshare")
		}
		// In a new network namespace only a down loopback exists.
		probe := exec.CommandContext(t.Context(), "unshare", "-n", "sh", "-c", "cat /proc/net/dev | grep -c : ")
		pOut, _, _ := runCmd(t, probe)
		if strings.TrimSpace(pOut) != "1" {
			t.Fatalf("the namespace has interfaces other than lo: %q", pOut)
		}
		out, errOut, code = runCmd(t, exec.CommandContext(t.Context(), "unshare", append([]string{"-n", bin}, cli.offline("verify-receipt", receipt)...)...))
		if code != 0 || !strings.Contains(out, "OK: 1 records") {
			t.Fatalf("verify-receipt without network: exit %d\n%s\n%s", code, out, errOut)
		}
		// And the online commands do fail there: the namespace really is cut off.
		online := append(append([]string{"-n", bin}, cli.conn...), "hosts")
		_, errOut, code = runCmd(t, exec.CommandContext(t.Context(), "unshare", online...))
		if code == 0 || !strings.Contains(errOut, "no peer reachable") {
			t.Fatalf("hosts without network: exit %d, stderr %s", code, errOut)
		}
	})

	t.Run("a tampered receipt fails", func(t *testing.T) {
		b, err := os.ReadFile(receipt)
		if err != nil {
			t.Fatal(err)
		}
		var r audit.Receipt
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		r.Record.Record = bytes.Replace(r.Record.Record, []byte(`"exitCode":"0"`), []byte(`"exitCode":"9"`), 1)
		path := filepath.Join(t.TempDir(), "tampered.json")
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.WriteReceipt(fh, &r); err != nil {
			t.Fatal(err)
		}
		_ = fh.Close()
		out, _, code := runCmd(t, exec.CommandContext(t.Context(), "unshare", append([]string{"-n", bin}, cli.offline("verify-receipt", path)...)...))
		if code != 1 || !strings.Contains(out, "host audit-node seq 6 record "+dieID+": altered") {
			t.Fatalf("verify-receipt of a tampered receipt: exit %d\n%s", code, out)
		}
	})

	t.Run("errors are clear", func(t *testing.T) {
		_, errOut, code := cli.run(t, "receipt", strings.Repeat("ab", 32), filepath.Join(t.TempDir(), "x.json"))
		if code != 1 || !strings.Contains(errOut, "record "+strings.Repeat("ab", 32)+" on channel e2l: not found") {
			t.Fatalf("unknown record: exit %d, stderr %s", code, errOut)
		}
		bad := append(append([]string{}, cli.conn...), "--peer-endpoints", "127.0.0.1:1", "hosts")
		_, errOut, code = runCmd(t, exec.CommandContext(t.Context(), bin, bad...))
		if code != 1 || !strings.Contains(errOut, "127.0.0.1:1: unavailable") {
			t.Fatalf("wrong endpoint: exit %d, stderr %s", code, errOut)
		}
	})
}
