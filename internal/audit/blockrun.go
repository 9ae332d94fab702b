package audit

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/e2l-project/e2l/internal/wire"
)

// Verifying a run of blocks: the audit index (internal/indexer) follows the
// channel a run of blocks at a time and verifies each run as it arrives,
// instead of re-verifying an archive of everything on every audit.
//
// A run is checked exactly as Verify checks an archive (configurations
// from the genesis block, the trust anchor, blocks, transactions, MVCC
// replay, the host registry's binding of records to organisations), with
// three differences that the index makes up for:
//   - chains are not checked for continuity here (records of one host may
//     commit out of seq order across runs): the index checks every
//     host's chain over all its rows (index.ChainProblems);
//   - a chain slot filled in an earlier run is not in the run: the
//     index refuses a second record for a slot and reports it;
//   - the link between the run's first block and the block before it is
//     the caller's (PrevHeader).

// BlockRun is a run of consecutive blocks to verify and what they rest on.
type BlockRun struct {
	Channel   string
	Chaincode string
	// ConfigBlocks are every configuration block of the channel up to the
	// run's last block, the genesis block first (the run's own
	// configuration blocks included).
	ConfigBlocks [][]byte
	// Context are earlier blocks the run's transactions are checked
	// against: those holding the registry transactions in Hosts' histories.
	Context [][]byte
	// Blocks are the run, consecutive, ascending.
	Blocks [][]byte
	// Hosts are the registry entries, as of the run's end, of every host
	// the run's records or registry transactions name.
	Hosts []wire.HostRegistration
	// PrevHeader is the header hash of the block before the run's first
	// (nil for a run starting at the genesis block).
	PrevHeader []byte
	// ParsedBlocks and ParsedContext, when set, are Blocks and Context
	// already parsed (ParseBlock), in the same order: a follower that
	// parsed them, or keeps its context parsed, spares parsing them again.
	ParsedBlocks, ParsedContext []*Block
}

// WrittenRecord is a record a VALID transaction of the chaincode wrote.
type WrittenRecord struct {
	Stored Stored
	Raw    []byte // the value written, byte for byte
	Tx     *Tx
}

// WrittenHost is a host registry entry a VALID transaction wrote.
type WrittenHost struct {
	Entry wire.HostRegistration
	Raw   []byte
	Tx    *Tx
}

// RunResult is what a run holds and what its verification found.
type RunResult struct {
	Blocks   []*Block // the run's blocks, parsed, ascending
	Records  []WrittenRecord
	Hosts    []WrittenHost
	Findings []Finding
	// BlockOf places a finding in the ledger: the block of the finding's
	// transaction or record, else the run's last block.
	BlockOf func(Finding) uint64
}

// Writes returns what the chaincode's VALID transactions of b wrote:
// stored records (under a chain slot in state layout 2, under a one-part
// record key in layout 1) and registry entries, in transaction order. A
// value that does not decode is a problem, not a record.
func Writes(b *Block, chaincode string) ([]WrittenRecord, []WrittenHost, []string) {
	if w := b.writes; w != nil && w.chaincode == chaincode {
		return w.recs, w.hosts, w.problems
	}
	recs, hosts, problems := writesOf(b, chaincode)
	b.writes = &blockWrites{chaincode: chaincode, recs: recs, hosts: hosts, problems: problems}
	return recs, hosts, problems
}

// blockWrites is what Writes found in a block, kept with it: a follower
// asks for it before verifying a run, and the run's verification again.
type blockWrites struct {
	chaincode string
	recs      []WrittenRecord
	hosts     []WrittenHost
	problems  []string
}

func writesOf(b *Block, chaincode string) ([]WrittenRecord, []WrittenHost, []string) {
	var recs []WrittenRecord
	var hosts []WrittenHost
	var problems []string
	rws := newRWSets(chaincode)
	for _, tx := range b.Txs {
		if tx == nil || !counted(tx, chaincode) {
			continue
		}
		rw, err := rws.of(tx)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, w := range rw.GetWrites() {
			if w.GetIsDelete() {
				continue
			}
			k := w.GetKey()
			typ, attrs := splitKey(k)
			switch {
			case typ == keyTypeChain && len(attrs) == 2 && !isID(w.GetValue()),
				typ == keyTypeRecord && len(attrs) == 1:
				st, err := rws.storedAt(tx, w)
				if err != nil {
					problems = append(problems, fmt.Sprintf("transaction %s wrote a value under %s that is not a stored record: %v", describeTx(tx), keyString(k), err))
					continue
				}
				recs = append(recs, WrittenRecord{Stored: st.Open(), Raw: w.GetValue(), Tx: tx})
			case typ == keyTypeHostReg && len(attrs) == 1:
				var e wire.HostRegistration
				if err := json.Unmarshal(w.GetValue(), &e); err != nil {
					problems = append(problems, fmt.Sprintf("transaction %s wrote a registry entry under %s that does not decode: %v", describeTx(tx), keyString(k), err))
					continue
				}
				hosts = append(hosts, WrittenHost{Entry: e, Raw: w.GetValue(), Tx: tx})
			}
		}
	}
	return recs, hosts, problems
}

// isID says whether a chain slot's value is a record ID (layout 1), not a
// stored record (layout 2).
func isID(v []byte) bool { return len(v) == 64 && !strings.ContainsAny(string(v), "{}") }

// splitKey splits a composite key into its type and attributes, and a
// layout 3 chain slot's simple key into keyTypeChain, [host, seq20].
func splitKey(k string) (string, []string) {
	if host, _, ok := wire.ParseSlotKey(k); ok {
		return keyTypeChain, []string{host, k[len(k)-20:]}
	}
	if !strings.HasPrefix(k, "\x00") || !strings.HasSuffix(k, "\x00") {
		return "", nil
	}
	parts := strings.Split(k[1:len(k)-1], "\x00")
	return parts[0], parts[1:]
}

// VerifyRun verifies a run of blocks (see BlockRun) and returns what it
// holds with the findings.
func VerifyRun(w BlockRun, opt VerifyOptions) *RunResult {
	res := &RunResult{}
	chaincode := orDefault(w.Chaincode, "e2l")
	txBlock := map[string]uint64{}
	recBlock := map[string]uint64{}
	var last uint64
	parsed := parsedOr(w.ParsedBlocks, w.Blocks)
	for i, b := range parsed {
		if b == nil {
			_, err := ParseBlock(w.Blocks[i])
			res.Findings = append(res.Findings, Finding{Severity: Error, Problem: fmt.Sprintf("run block %d: %v", i, err)})
			continue
		}
		if len(res.Blocks) > 0 && b.Number != last+1 {
			res.Findings = append(res.Findings, Finding{Severity: Error, Problem: fmt.Sprintf("block %d follows block %d: the run is not consecutive", b.Number, last)})
		}
		last = b.Number
		res.Blocks = append(res.Blocks, b)
		recs, hosts, problems := Writes(b, chaincode)
		for _, p := range problems {
			res.Findings = append(res.Findings, Finding{Severity: Error, Problem: p})
		}
		for _, tx := range b.Txs {
			if tx != nil && tx.ID != "" {
				if _, ok := txBlock[tx.ID]; !ok {
					txBlock[tx.ID] = b.Number
				}
			}
		}
		for _, r := range recs {
			recBlock[r.Stored.ID] = b.Number
		}
		res.Records = append(res.Records, recs...)
		res.Hosts = append(res.Hosts, hosts...)
	}
	if len(res.Blocks) > 0 && w.PrevHeader != nil {
		first := res.Blocks[0]
		if got := first.Block.GetHeader().GetPreviousHash(); string(got) != string(w.PrevHeader) {
			res.Findings = append(res.Findings, Finding{Severity: Error, Problem: fmt.Sprintf("broken block link: block %d's previous hash %s is not the hash %s of block %d's header, as indexed",
				first.Number, shortHex(got), shortHex(w.PrevHeader), first.Number-1)})
		}
	}
	res.BlockOf = func(f Finding) uint64 {
		if n, ok := recBlock[f.ID]; ok && f.ID != "" {
			return n
		}
		if n, ok := txBlock[f.TxID]; ok && f.TxID != "" {
			return n
		}
		return last
	}

	a := &Archive{Version: ArchiveVersion, Channel: w.Channel, Chaincode: w.Chaincode,
		ConfigBlocks: w.ConfigBlocks, Blocks: append(append([][]byte{}, w.Context...), w.Blocks...), Hosts: w.Hosts}
	for _, r := range res.Records {
		a.Records = append(a.Records, r.Stored)
	}
	// The archive's blocks, parsed once: the context, the run, then the
	// configuration blocks (NewBlockSet's order).
	var all []*Block
	for _, b := range append(parsedOr(w.ParsedContext, w.Context), res.Blocks...) {
		if b != nil {
			all = append(all, b)
		}
	}
	configs := NewBlockSet(BlockGroup{"configuration block", w.ConfigBlocks})
	set := newBlockSetOf(append(all, configs.blocks()...))
	set.Problems = append(configs.Problems, set.Problems...)
	for i, b := range parsedOr(w.ParsedContext, w.Context) {
		if b == nil {
			_, err := ParseBlock(w.Context[i])
			set.Problems = append([]string{fmt.Sprintf("archive block %d of the evidence: %v", i, err)}, set.Problems...)
		}
	}
	opt.recordsOnly = true
	rep := verify(a, set, opt)
	for _, f := range rep.Findings {
		if f.Severity == Info {
			continue // the configuration's description, the anchor's match, gaps: the index holds them as rows
		}
		res.Findings = append(res.Findings, f)
	}
	return res
}

// parsedOr returns parsed when it holds a block for each raw block, else
// raw parsed now (nil where a block does not parse).
func parsedOr(parsed []*Block, raw [][]byte) []*Block {
	if len(parsed) == len(raw) {
		return parsed
	}
	out := make([]*Block, len(raw))
	for i, r := range raw {
		if b, err := ParseBlock(r); err == nil {
			out[i] = b
		}
	}
	return out
}
