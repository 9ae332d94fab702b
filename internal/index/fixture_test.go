package index

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// The fixture: a small channel with three hosts whose chains have a hole
// or a broken link, registry entries, a swarm event two managers
// witnessed, a Docker event recorded twice, and findings.
//
//	block 0  config; registers alpha (Org1MSP, manager), beta (Org2MSP, manager)
//	block 1  alpha 1-4 (events of c1, a heartbeat, a snapshot of c1 and c2); beta 3, 4 (seqs 1-2 missing)
//	block 2  alpha 5, 6 (6: swarm event ev-swarm); beta 7 (5-6 missing), 8 (broken link);
//	         gamma 1 (unregistered, Org3MSP; ev-swarm too); alpha re-registered as worker; a finding
//	block 3  alpha 7 (heartbeat); beta 9 (beta 8's event recorded again: same ID); a finding;
//	         zeta registered (it has no records)
const (
	hostAlpha = "alpha"
	hostBeta  = "beta"
	hostGamma = "gamma"
	hostZeta  = "zeta"
)

func fxHash(host string, seq uint64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "hash/%s/%d", host, seq))
	return hex.EncodeToString(sum[:])
}

func fxID(host string, seq uint64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "id/%s/%d", host, seq))
	return hex.EncodeToString(sum[:])
}

// fxRecord is a container event of host at seq, linked to seq-1, at time
// seq*1000 + the host's offset.
func fxRecord(host string, seq, block uint64, msp string, txIndex int, tweak func(*Record)) Record {
	offset := map[string]int64{hostAlpha: 0, hostBeta: 100, hostGamma: 200}[host]
	r := Record{
		ID: fxID(host, seq), Hash: fxHash(host, seq), Host: host, Seq: seq, PrevHash: fxHash(host, seq-1),
		Kind: "event", Time: int64(seq)*1000 + offset, EventID: "ev-" + host + fmt.Sprint(seq), Scope: "local",
		Type: "container", Action: "start", Actor: "c-" + host, Name: "web." + host, Service: "web",
		MSP: msp, CertSHA256: strings.Repeat("ab", 32), TxID: fmt.Sprintf("tx-%d-%d", block, txIndex),
		TxTime: int64(block) * 1_000_000, Block: block, TxIndex: txIndex,
	}
	if seq == 1 {
		r.PrevHash = strings.Repeat("0", 64)
	}
	r.Actors = []string{r.Actor}
	r.Stored = fmt.Appendf(nil, `{"id":%q,"host":%q,"seq":%d}`, r.ID, host, seq)
	if tweak != nil {
		tweak(&r)
	}
	return r
}

func heartbeat(r *Record) {
	r.Kind, r.EventID, r.Scope, r.Type, r.Action, r.Actor, r.Name, r.Service, r.Actors = "heartbeat", "", "", "", "", "", "", "", nil
}

func fixture() []Update {
	alpha := func(seq, block uint64, tx int, tweak func(*Record)) Record {
		return fxRecord(hostAlpha, seq, block, "Org1MSP", tx, tweak)
	}
	beta := func(seq, block uint64, tx int, tweak func(*Record)) Record {
		return fxRecord(hostBeta, seq, block, "Org2MSP", tx, tweak)
	}
	updates := []Update{
		{
			Block: Block{Number: 0, Txs: 2, Config: true, Raw: []byte("config block")},
			Hosts: []Host{
				{Host: hostAlpha, MSP: "Org1MSP", SwarmRole: "manager", TxID: "tx-0-0", Block: 0, Entry: []byte(`{"host":"alpha"}`)},
				{Host: hostBeta, MSP: "Org2MSP", SwarmRole: "manager", TxID: "tx-0-1", Block: 0, Entry: []byte(`{"host":"beta"}`)},
			},
			State: []byte("state after 0"),
		},
		{
			Block: Block{Number: 1, Txs: 2, Records: 6},
			Records: []Record{
				alpha(1, 1, 0, func(r *Record) { r.Action = "create" }),
				alpha(2, 1, 0, nil),
				alpha(3, 1, 0, heartbeat),
				alpha(4, 1, 0, func(r *Record) {
					heartbeat(r)
					r.Kind, r.Actors = "snapshot", []string{"c-alpha", "c-other"}
				}),
				beta(3, 1, 1, nil),
				beta(4, 1, 1, func(r *Record) { r.Action = "die" }),
			},
			State: []byte("state after 1"),
		},
		{
			Block: Block{Number: 2, Txs: 4, Records: 5, Raw: []byte("block with a registry tx")},
			Records: []Record{
				alpha(5, 2, 0, func(r *Record) { r.Action = "die" }),
				alpha(6, 2, 0, func(r *Record) {
					r.EventID, r.Scope, r.Type, r.Action, r.Actor, r.Name = "ev-swarm", "swarm", "service", "update", "svc-1", "web"
					r.Actors = []string{"svc-1"}
				}),
				beta(7, 2, 1, nil),
				beta(8, 2, 1, func(r *Record) { r.PrevHash = fxHash(hostBeta, 99) }),
				fxRecord(hostGamma, 1, 2, "Org3MSP", 2, func(r *Record) {
					r.EventID, r.Scope, r.Type, r.Action, r.Actor, r.Name = "ev-swarm", "swarm", "service", "update", "svc-1", "web"
					r.Actors = []string{"svc-1"}
				}),
			},
			Hosts: []Host{
				{Host: hostAlpha, MSP: "Org1MSP", SwarmRole: "worker", TxID: "tx-2-3", Block: 2, Entry: []byte(`{"host":"alpha","role":"worker"}`)},
			},
			Findings: []Finding{{Block: 2, TxID: "tx-2-1", RecordID: fxID(hostBeta, 8), Host: hostBeta, Severity: "error", Problem: "broken link"}},
			State:    []byte("state after 2"),
		},
		{
			Block: Block{Number: 3, Txs: 3, Records: 2, Raw: []byte("registry block")},
			Records: []Record{
				alpha(7, 3, 0, heartbeat),
				beta(9, 3, 1, func(r *Record) {
					r.ID, r.EventID, r.Action = fxID(hostBeta, 8), "ev-beta8", "start"
				}),
			},
			Hosts: []Host{
				{Host: hostZeta, MSP: "Org2MSP", SwarmRole: "worker", TxID: "tx-3-2", Block: 3, Entry: []byte(`{"host":"zeta"}`)},
			},
			Findings: []Finding{{Block: 3, TxID: "tx-3-1", RecordID: fxID(hostBeta, 8), Host: hostBeta, Severity: "warning", Problem: "event recorded twice"}},
			State:    []byte("state after 3"),
		},
	}
	// beta 8 is an event recorded again as beta 9: same event ID.
	updates[2].Records[3].EventID = "ev-beta8"
	var root []byte
	for i := range updates {
		b := &updates[i].Block
		sum := sha256.Sum256(fmt.Appendf(nil, "header %d", b.Number))
		b.HeaderHash = sum[:]
		b.DataHash = sum[:16]
		if i > 0 {
			b.PrevHash = updates[i-1].Block.HeaderHash
		}
		b.Digest = RowsDigest(updates[i].Records, updates[i].Hosts, updates[i].Findings)
		b.Root = ChainRoot(root, b.HeaderHash, b.Digest)
		root = b.Root
	}
	return updates
}

// slots returns the slots of records, for comparing query results.
func slots(recs []Record) []Slot {
	out := make([]Slot, 0, len(recs))
	for _, r := range recs {
		out = append(out, Slot{r.Host, r.Seq})
	}
	return out
}
