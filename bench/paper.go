package bench

import (
	"github.com/e2l-project/e2l/internal/testimage"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// dockerEvent is the part of `docker events --format '{{json .}}'` the paper's method records.
type dockerEvent struct {
	Type   string `json:"Type"`
	Action string `json:"Action"`
	Actor  struct {
		ID         string            `json:"ID"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
	Scope    string `json:"scope"`
	TimeNano int64  `json:"timeNano"`
}

// toRecord makes the unchained record of a Docker event.
func (e dockerEvent) toRecord(host string) record.Record {
	action, _, _ := strings.Cut(e.Action, ":")
	ev := &record.Event{Type: e.Type, Action: strings.TrimSpace(action), Actor: e.Actor.ID, Scope: record.ScopeLocal,
		TimeNano: e.TimeNano, Attrs: record.Attributes{
			Name: e.Actor.Attributes["name"], Image: e.Actor.Attributes["image"], ExitCode: e.Actor.Attributes["exitCode"],
		}}
	return record.Record{V: record.SchemaVersion, Kind: record.KindEvent, Host: host, Time: e.TimeNano, Event: ev}
}

// hostMSP writes a local MSP folder for the peer CLI holding host id's
// certificate and key, with the organisation's CA certificates and NodeOU
// configuration copied from the admin's MSP.
func hostMSP(dir string, id network.HostIdentity, adminMSP string) (string, error) {
	msp := filepath.Join(dir, "msp-"+id.Host)
	for _, sub := range []string{"cacerts", "tlscacerts"} {
		if err := copyDir(filepath.Join(adminMSP, sub), filepath.Join(msp, sub)); err != nil {
			return "", err
		}
	}
	if err := copyFile(filepath.Join(adminMSP, "config.yaml"), filepath.Join(msp, "config.yaml")); err != nil {
		return "", err
	}
	if err := copyFile(id.CertPath, filepath.Join(msp, "signcerts", "cert.pem")); err != nil {
		return "", err
	}
	if err := copyFile(id.KeyPath, filepath.Join(msp, "keystore", "priv_sk")); err != nil {
		return "", err
	}
	return msp, nil
}

func copyDir(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

// paperResult is the paper's method measured.
type paperResult struct {
	Events     int
	Committed  int
	Failed     int
	Elapsed    time.Duration // first event's time to the last commit
	Latencies  []time.Duration
	CPU        time.Duration // peer CLI processes, user + system
	MaxRSSMiB  float64       // largest peer CLI process
	FirstError string
}

// runPaper re-creates the paper's method: `docker events` piped into one
// `peer chaincode invoke --waitForEvent` per event, as host id, endorsed by
// two organisations' peers, while `docker run --rm` of the busybox image
// makes events, until events events were invoked.
func runPaper(ctx context.Context, n *network.Network, id network.HostIdentity, dir string, events int) (paperResult, error) {
	var res paperResult
	peers := n.Peers()
	msp, err := hostMSP(dir, id, n.Peer(id.Org).AdminMSPDir)
	if err != nil {
		return res, fmt.Errorf("host MSP: %w", err)
	}
	env := append(os.Environ(), n.PeerCLIEnv(id.Org)...)
	env = append(env, "CORE_PEER_MSPCONFIGPATH="+msp, "CORE_PEER_LOCALMSPID="+id.MSPID)
	ordererArgs, err := n.OrdererCLIArgs()
	if err != nil {
		return res, err
	}
	peerBin := filepath.Join(n.Config().BinDir, "peer")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch := exec.CommandContext(ctx, "docker", "events", "--filter", "type=container", "--format", "{{json .}}")
	out, err := watch.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := watch.Start(); err != nil {
		return res, fmt.Errorf("docker events: %w", err)
	}
	defer func() { cancel(); _ = watch.Wait() }()
	// Containers churn until the reader has its events.
	go func() {
		for ctx.Err() == nil {
			_ = exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", testimage.Name, "true").Run()
		}
	}()

	ch := newChainer()
	sc := bufio.NewScanner(out)
	var first int64
	for res.Events < events && sc.Scan() {
		var ev dockerEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.TimeNano == 0 || ev.Actor.ID == "" {
			continue
		}
		if first == 0 {
			first = ev.TimeNano
		}
		res.Events++
		s, err := ch.seal(ev.toRecord(id.Host))
		if err != nil {
			return res, fmt.Errorf("seal %s %s: %w", ev.Type, ev.Action, err)
		}
		batch, _ := json.Marshal(record.Batch{Records: []record.Sealed{s}})
		ccArgs, _ := json.Marshal(struct {
			Args []string `json:"Args"`
		}{[]string{"RecordEvents", string(batch)}})
		args := append([]string{"chaincode", "invoke"}, ordererArgs...)
		args = append(args, "-C", network.ChannelName, "-n", network.ChaincodeName, "-c", string(ccArgs), "--waitForEvent",
			"--peerAddresses", peers[0].Endpoint, "--tlsRootCertFiles", peers[0].TLSCAPath,
			"--peerAddresses", peers[1].Endpoint, "--tlsRootCertFiles", peers[1].TLSCAPath)
		cmd := exec.CommandContext(ctx, peerBin, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		done := time.Now()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
			res.CPU += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			res.MaxRSSMiB = max(res.MaxRSSMiB, float64(ru.Maxrss)/1024)
		}
		if err != nil { // with --waitForEvent, an invalid transaction is an error too
			res.Failed++
			if res.FirstError == "" {
				res.FirstError = strings.TrimSpace(fmt.Sprintf("%v: %s", err, lastLine(stderr.String())))
			}
			continue
		}
		res.Committed++
		res.Latencies = append(res.Latencies, done.Sub(time.Unix(0, ev.TimeNano)))
		res.Elapsed = done.Sub(time.Unix(0, first))
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read docker events: %w", err)
	}
	return res, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
