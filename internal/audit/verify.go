package audit

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/e2l-project/e2l/internal/wire"
)

// ArchiveVersion is the version of the archive format written. Version 3
// adds the host registry (Hosts); versions 1 (one configuration block) and
// 2 are still read, their hosts not bound to organisations.
const ArchiveVersion = 3

// Archive is the evidence for a part of the ledger: the stored records, the
// blocks (raw bytes, as committed) whose transactions carry them, and the
// channel's configuration blocks from the genesis block on, whose CAs they
// are checked against. Online verification builds one in memory; export
// writes it to a file (gzip'd JSON; []byte fields are base64).
type Archive struct {
	Version   int       `json:"version"`
	Channel   string    `json:"channel"`
	Chaincode string    `json:"chaincode"`
	Created   time.Time `json:"created"`
	// Host is the host exported ("" for every host); FromSeq and ToSeq the
	// requested sequence range (0 for open ends); Since and Until the
	// requested time window (unix ns, 0 for open ends), in which case
	// HostFrom holds the seq each host's stretch starts at.
	Host     string            `json:"host,omitempty"`
	FromSeq  uint64            `json:"fromSeq,omitempty"`
	ToSeq    uint64            `json:"toSeq,omitempty"`
	Since    int64             `json:"since,omitempty"`
	Until    int64             `json:"until,omitempty"`
	HostFrom map[string]uint64 `json:"hostFrom,omitempty"`
	// Records per host in chain (seq) order, hosts in name order.
	Records []Stored `json:"records"`
	Blocks  [][]byte `json:"blocks"`
	// ConfigBlocks are every configuration block of the channel, the
	// genesis block first (version 2).
	ConfigBlocks [][]byte `json:"configBlocks,omitempty"`
	// ConfigBlock is version 1's single configuration block, the latest at
	// export: every block was checked against it.
	ConfigBlock []byte `json:"configBlock,omitempty"`
	// Hosts are the host registry's entries of every host in the archive
	// (version 3); the blocks of the transactions their histories name are
	// in Blocks.
	Hosts []wire.HostRegistration `json:"hosts,omitempty"`
}

// WriteArchive writes a as gzip'd JSON.
func WriteArchive(w io.Writer, a *Archive) error {
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

// ReadArchive reads an archive WriteArchive wrote.
func ReadArchive(r io.Reader) (*Archive, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	var a Archive
	if err := json.NewDecoder(zr).Decode(&a); err != nil {
		return nil, fmt.Errorf("read archive: %w", err)
	}
	if a.Version < 1 || a.Version > ArchiveVersion {
		return nil, fmt.Errorf("read archive: version %d is not supported (want 1 to %d)", a.Version, ArchiveVersion)
	}
	return &a, nil
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Tx TxOptions
	// Now, when set, judges heartbeat staleness (online verification).
	Now             time.Time
	HeartbeatFactor float64
	// Anchor is the trust anchor obtained out of band: the hex SHA-256 of
	// the channel's genesis block header (Configs.Genesis). Empty: the
	// report carries an error "no trust anchor"; different from the
	// evidence's genesis: an error naming both.
	Anchor string
	// recordsOnly (VerifyRun) checks each record on its own (its encoding,
	// ID and hash, its host) instead of its host's chain.
	recordsOnly bool
}

// Verify checks every record of the archive: its own hash and ID, its
// host's chain (from the archive's FromSeq), and the transaction that
// carries it (VALID, creator bound to the host and chaining to its org's
// CA, endorsements from enough organisations with valid signatures, its
// read/write set writing the record and consistent with the archive's
// other transactions), every block carrying one (data hash, orderer
// signatures, one block per number, links between consecutive blocks),
// against the CAs of the configuration each block was ordered under
// (Configs), whose genesis block must be the trust anchor. Each record is
// bound to the organisation that owned its host when it was written (the
// host registry entries of a version 3 archive).
func Verify(a *Archive, opt VerifyOptions) *Report {
	return verify(a, nil, opt)
}

// verify is Verify; set, when not nil, is the archive's blocks and
// configuration blocks already parsed (VerifyRun's), not parsed again.
func verify(a *Archive, set *BlockSet, opt VerifyOptions) *Report {
	rep := &Report{Records: len(a.Records)}
	// Each record decoded and checked once, however many checks ask.
	opened := *a
	opened.Records = make([]Stored, len(a.Records))
	for i, st := range a.Records {
		opened.Records[i] = st.Open()
	}
	a = &opened
	if opt.Tx.Channel == "" {
		opt.Tx.Channel = a.Channel
	}
	if opt.Tx.Chaincode == "" {
		opt.Tx.Chaincode = a.Chaincode
	}
	channel, chaincode := orDefault(opt.Tx.Channel, "e2l"), orDefault(opt.Tx.Chaincode, "e2l")
	var configs *Configs
	genesis, why := "", ""
	if len(a.ConfigBlocks) == 0 && a.Version == 1 {
		var err error
		if configs, err = SingleConfig(a.ConfigBlock); err != nil {
			rep.add(Finding{Severity: Error, Problem: err.Error()})
			return rep
		}
		genesis, why = genesisOf(a.ConfigBlock), fmt.Sprintf("a version 1 archive keeps only configuration block %d", configs.Numbers[0])
	} else {
		var problems []string
		if configs, problems = CheckConfigs(a.ConfigBlocks); configs == nil {
			for _, p := range problems {
				rep.add(Finding{Severity: Error, Problem: "configuration: " + p})
			}
			return rep
		}
		genesis = configs.Genesis
	}
	rep.add(Finding{Severity: Info, Problem: configs.Describe()})
	rep.add(anchorFinding(opt.Anchor, genesis, why))

	// The blocks: one per number, consecutive ones linked.
	if set == nil {
		set = NewBlockSet(BlockGroup{"archive block", a.Blocks}, BlockGroup{"configuration block", a.ConfigBlocks})
	}
	for _, p := range set.Problems {
		rep.add(Finding{Severity: Error, Problem: p})
	}
	// Transactions by ID: the first in ledger order (Fabric marks a later
	// one with the same ID invalid).
	txs := map[string]*Tx{}
	for _, tx := range set.Txs() {
		if _, ok := txs[tx.ID]; tx.ID != "" && !ok {
			txs[tx.ID] = tx
		}
	}
	blockProb := map[uint64][]string{}
	trustOf := map[uint64]*Trust{}
	blockProblemsOf := func(n uint64) []string {
		if p, ok := blockProb[n]; ok {
			return p
		}
		b := set.Get(n)
		t, err := configs.For(b)
		if err != nil {
			blockProb[n] = []string{err.Error()}
			return blockProb[n]
		}
		trustOf[n] = t
		p := blockProblems(b, t)
		if set.Conflicted(n) {
			p = append(p, fmt.Sprintf("block %d: the evidence holds two different blocks of this number", n))
		}
		blockProb[n] = p
		return p
	}
	rws := newRWSets(chaincode)
	mvcc := mvccProblems(set, rws, chaincode)
	owners := checkHosts(a, set, txs, configs, rws, blockProblemsOf, channel, chaincode)
	rep.add(owners.findings...)

	// Records by host; each bound to its host's owner.
	byHost := map[string][]Stored{}
	var hosts []string
	forged := map[string]Finding{}
	var binding []Finding
	for _, st := range a.Records {
		h, _ := st.Claimed()
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], st)
		if tx := txs[st.TxID]; tx != nil {
			f, other := owners.bindRecord(st, tx)
			if f != nil {
				forged[st.ID] = *f
			}
			binding = append(binding, other...)
		}
	}
	sort.Strings(hosts)
	rep.Hosts = len(hosts)
	rep.add(owners.unboundHosts(a, hosts)...)
	for _, h := range hosts {
		if opt.recordsOnly {
			rep.add(recordFindings(h, byHost[h], forged)...)
			continue
		}
		from := a.FromSeq
		if f, ok := a.HostFrom[h]; ok {
			from = f
		}
		c := CheckChain(h, byHost[h], ChainOptions{From: from, Now: opt.Now, HeartbeatFactor: opt.HeartbeatFactor, Forged: forged})
		rep.add(c.Findings...)
	}
	rep.add(binding...)

	// Transactions.
	txProb := map[string][]string{}
	recordBlocks := map[uint64]bool{}
	reported := map[*Tx]bool{}
	for _, st := range a.Records {
		tx := txs[st.TxID]
		if tx == nil {
			rep.add(about(Error, st, "its transaction %s is in none of the archive's blocks", st.TxID))
			continue
		}
		p, ok := txProb[tx.ID]
		if !ok {
			blockProblemsOf(tx.Block) // finds the block's configuration
			recordBlocks[tx.Block] = true
			if t := trustOf[tx.Block]; t != nil {
				p = txProblems(tx, t, opt.Tx)
			}
			p = append(p, mvcc[tx]...)
			reported[tx] = true
			txProb[tx.ID] = p
		}
		for _, s := range p {
			rep.add(about(Error, st, "%s", s))
		}
		for _, s := range recordProblems(tx, st) {
			rep.add(about(Error, st, "%s", s))
		}
		for _, s := range recordWriteProblems(tx, st, rws) {
			rep.add(about(Error, st, "%s", s))
		}
		for _, s := range blockProblemsOf(tx.Block) {
			rep.add(about(Error, st, "%s", s))
		}
	}
	// MVCC problems of transactions that carry none of the records (the
	// registry's, or one whose records were replaced).
	for _, tx := range set.Txs() {
		if reported[tx] {
			continue
		}
		for _, s := range mvcc[tx] {
			rep.add(Finding{Severity: Error, TxID: tx.ID, Problem: s})
		}
	}
	rep.Transactions, rep.Blocks = len(txProb), len(recordBlocks)
	return rep
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
