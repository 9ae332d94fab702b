// Package index is the audit index: the channel's blocks followed into a
// real database (SQLite embedded by default, PostgreSQL for a team), one
// row per record, block, registry entry and verification finding, so that
// audits read a database instead of the ledger's state.
//
// The ledger stays the source of truth. The indexer (internal/indexer)
// verifies each block as it arrives and hands the store one Update per
// block; the store applies a run of them in one database transaction with
// the checkpoint (Head), so a crash leaves no half block and a restart
// resumes at the next block. Every block's rows are summed up in a digest
// (Block.Digest) chained through the blocks (Block.Root), which lets
// verify find a row changed in the database after it was indexed.
package index

// Block is one block of the channel as the index holds it.
type Block struct {
	Number     uint64
	HeaderHash []byte // SHA-256 of the block header (audit.HeaderHash)
	PrevHash   []byte // the header's PreviousHash
	DataHash   []byte // the header's DataHash
	Txs        int    // transactions in the block
	Records    int    // records its VALID transactions wrote
	Config     bool   // a configuration block
	// Digest is the SHA-256 of the rows this block produced (RowsDigest);
	// Root chains them: SHA-256(previous block's Root ‖ HeaderHash ‖ Digest).
	Digest []byte
	Root   []byte
	// Raw is the block as committed, kept only for configuration blocks and
	// blocks holding a host registry transaction (the verifier needs them
	// again); nil otherwise.
	Raw []byte
}

// Record is one record a VALID transaction wrote, as the index holds it.
type Record struct {
	ID       string
	Hash     string
	Host     string
	Seq      uint64
	PrevHash string // the record's link to its predecessor in the host's chain
	Kind     string // record.Kind: event, snapshot, heartbeat, gap, start, stop
	Time     int64  // the record's time, unix ns
	// The event of an event record (empty for other kinds). EventID is
	// record.Record.EventID: one swarm event reported by several managers
	// has one EventID and a record per manager (its witnesses).
	EventID string
	Scope   string
	Type    string // container, service, node, …
	Action  string
	Actor   string // the actor's ID
	Name    string // the actor's name (container or service name), when the event has one
	Service string // the Swarm service a container belongs to, when known
	// Actors are the containers and services the record is about: an
	// event's actor; every container a snapshot lists. Timeline queries
	// by actor find a record through them.
	Actors []string
	// Who wrote it, in which transaction.
	MSP        string
	CertSHA256 string
	TxID       string
	TxTime     int64
	Block      uint64
	TxIndex    int
	// Stored is the value the transaction wrote (wire.Stored JSON), byte for
	// byte: every other field is derived from it.
	Stored []byte
}

// Host is a host registry entry written by a VALID registry transaction.
type Host struct {
	Host      string
	MSP       string
	SwarmRole string
	TxID      string
	Block     uint64
	Entry     []byte // the entry as written (wire.HostRegistration JSON)
}

// Finding is a verification finding about a block, a transaction or a
// record (audit.Finding, placed in the ledger).
type Finding struct {
	Block    uint64
	TxID     string
	RecordID string
	Host     string
	Severity string // info, warning, error
	Problem  string
}

// Update is what one block adds to the index.
type Update struct {
	Block    Block
	Records  []Record
	Hosts    []Host // registry entries written in the block, in ledger order
	Findings []Finding
	// State is the indexer's state after this block (opaque to the store),
	// stored with the checkpoint.
	State []byte
}

// Slot is a place in a host's chain.
type Slot struct {
	Host string
	Seq  uint64
}
