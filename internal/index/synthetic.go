package index

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// SyntheticShape is the shape of the blocks SyntheticUpdates makes.
type SyntheticShape struct {
	Hosts        []string // the hosts whose chains the records extend, in turn
	TxsPerBlock  int      // transactions per block (from block 1 on)
	RecordsPerTx int      // records per transaction, all of one host
}

// syntheticEpoch is the time of the first synthetic record (unix ns).
const syntheticEpoch = int64(1_790_000_000_000_000_000)

// SyntheticUpdates returns the updates of blocks start … start+blocks-1 of
// a made-up channel, for benchmarks and tests that need many realistic
// rows: block 0 is a configuration block that also registers every host
// (Raw kept, no records); every later block has TxsPerBlock transactions
// of RecordsPerTx records each, a transaction's records being the next
// seqs of one host's chain (hosts take turns). Records are mostly
// container events, with a heartbeat every 20th seq and a snapshot of
// five containers every 50th; their Stored value is wire.Stored-shaped
// JSON of 700–1000 bytes. Every 10th block has a finding.
//
// The rows are a function of the block number alone, so runs made one
// after another continue each other: pass the Root of the last block of
// the previous run as prevRoot (nil before block 0), and the Digest and
// Root of every block are what RowsDigest and ChainRoot give.
func SyntheticUpdates(shape SyntheticShape, prevRoot []byte, start uint64, blocks int) []Update {
	out := make([]Update, 0, blocks)
	for n := start; n < start+uint64(blocks); n++ {
		u := syntheticBlock(shape, n)
		u.Block.Digest = RowsDigest(u.Records, u.Hosts, u.Findings)
		u.Block.Root = ChainRoot(prevRoot, u.Block.HeaderHash, u.Block.Digest)
		prevRoot = u.Block.Root
		out = append(out, u)
	}
	return out
}

func syntheticBlock(shape SyntheticShape, n uint64) Update {
	u := Update{
		Block: Block{
			Number:     n,
			HeaderHash: synthHash("header", n),
			DataHash:   synthHash("data", n),
		},
		State: fmt.Appendf(nil, `{"next":%d}`, n+1),
	}
	if n > 0 {
		u.Block.PrevHash = synthHash("header", n-1)
	}
	if n == 0 {
		u.Block.Config, u.Block.Txs = true, 1
		// A configuration block's size, about.
		u.Block.Raw = []byte(strings.Repeat(hex.EncodeToString(synthHash("config", 0)), 64))
		for i, h := range shape.Hosts {
			u.Hosts = append(u.Hosts, Host{
				Host: h, MSP: synthMSP(i), SwarmRole: "manager", TxID: synthHex("registry", 0, h), Block: 0,
				Entry: fmt.Appendf(nil, `{"host":%q,"msp":%q,"swarmRole":"manager","registeredBy":"admin@%s"}`, h, synthMSP(i), synthMSP(i)),
			})
		}
		return u
	}
	nh := uint64(len(shape.Hosts))
	txs, per := uint64(shape.TxsPerBlock), uint64(shape.RecordsPerTx)
	u.Block.Txs = shape.TxsPerBlock
	for t := range txs {
		g := (n-1)*txs + t // the transaction's number over the whole channel
		hi := g % nh
		host := shape.Hosts[hi]
		txID := synthHex("tx", n, strconv.FormatUint(t, 10))
		txTime := syntheticEpoch + int64(g*per)*1_000_000
		for j := range per {
			seq := (g/nh)*per + j + 1
			u.Records = append(u.Records, syntheticRecord(host, synthMSP(int(hi)), seq, n, int(t), txID, txTime, txTime+int64(j)*1_000_000))
		}
	}
	u.Block.Records = len(u.Records)
	if n%10 == 0 {
		u.Findings = append(u.Findings, Finding{Block: n, TxID: u.Records[0].TxID, RecordID: u.Records[0].ID,
			Host: u.Records[0].Host, Severity: "info", Problem: "synthetic finding: the record came late"})
	}
	return u
}

var synthActions = [...]string{"create", "start", "die", "destroy"}

func syntheticRecord(host, msp string, seq, block uint64, txIndex int, txID string, txTime, at int64) Record {
	seqStr := strconv.FormatUint(seq, 10)
	r := Record{
		ID: synthHex("id", seq, host), Hash: synthHex("hash", seq, host), Host: host, Seq: seq,
		PrevHash: strings.Repeat("0", 64), Time: at, MSP: msp,
		CertSHA256: synthHex("cert", 0, host), TxID: txID, TxTime: txTime, Block: block, TxIndex: txIndex,
	}
	if seq > 1 {
		r.PrevHash = synthHex("hash", seq-1, host)
	}
	var body string
	switch {
	case seq%20 == 0:
		r.Kind = "heartbeat"
		body = fmt.Sprintf(`"heartbeat":{"uptime":"%ss","engine":{"version":"28.5.2","apiVersion":"1.51",`+
			`"os":"linux","kernel":"6.1.0-%d-amd64","containers":%d,"running":%d,"images":%d},`+
			`"swarm":{"nodeId":%q,"state":"active","managers":3,"nodes":10}}`,
			seqStr, seq%40, 12+seq%5, 9+seq%3, 31+seq%7, synthHex("node", 0, host)[:25])
	case seq%50 == 25:
		r.Kind = "snapshot"
		for i := range uint64(5) {
			r.Actors = append(r.Actors, synthHex("container", seq/4+i, host))
		}
		body = `"containers":["` + strings.Join(r.Actors, `","`) + `"]`
	default:
		r.Kind = "event"
		svc := fmt.Sprintf("svc-%d", seq%7)
		r.EventID, r.Scope, r.Type = synthHex("event", seq, host), "local", "container"
		r.Action, r.Actor = synthActions[seq%4], synthHex("container", seq/4, host)
		r.Name, r.Service = fmt.Sprintf("%s.%d.%s", svc, seq%3+1, r.Actor[:12]), svc
		r.Actors = []string{r.Actor}
		body = fmt.Sprintf(`"event":{"id":%q,"scope":"local","type":"container","action":%q,"actor":{"id":%q,`+
			`"attributes":{"image":"registry.example/%s:1.%d","name":%q,"com.docker.swarm.service.name":%q,`+
			`"com.docker.swarm.task.id":%q}}}`,
			r.EventID, r.Action, r.Actor, svc, seq%9, r.Name, svc, r.Actor[20:45])
	}
	record := fmt.Sprintf(`{"v":1,"kind":%q,"host":%q,"seq":%d,"prev":%q,"time":%d,%s}`,
		r.Kind, host, seq, r.PrevHash, at, body)
	r.Stored = fmt.Appendf(nil, `{"id":%q,"hash":%q,"record":%s,"msp":%q,"certSha256":%q,"txId":%q,"txTime":%d}`,
		r.ID, r.Hash, record, msp, r.CertSHA256, txID, txTime)
	return r
}

func synthMSP(hostIndex int) string { return fmt.Sprintf("Org%dMSP", hostIndex%3+1) }

func synthHash(what string, n uint64) []byte {
	sum := sha256.Sum256([]byte(what + "/" + strconv.FormatUint(n, 10)))
	return sum[:]
}

func synthHex(what string, n uint64, host string) string {
	sum := sha256.Sum256([]byte(what + "/" + host + "/" + strconv.FormatUint(n, 10)))
	return hex.EncodeToString(sum[:])
}
