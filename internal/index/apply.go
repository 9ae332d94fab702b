package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Errors of Apply, matched with errors.Is.
var (
	// ErrNotNext: the updates do not start at the index's next block
	// (Head), or their block numbers are not consecutive.
	ErrNotNext = errors.New("index: updates do not continue the index")
	// ErrSlotTaken: a record's chain slot (host, seq) is already held, by
	// a row of the index or by another record of the same Apply. The error
	// is a *SlotTakenError naming the slot.
	ErrSlotTaken = errors.New("index: chain slot taken")
	// ErrInvalid: a row cannot be stored as it is: a number above
	// math.MaxInt64, text that is not UTF-8 or holds a NUL byte, or a row
	// that names a block other than its update's.
	ErrInvalid = errors.New("index: invalid update")
)

// SlotTakenError is Apply's refusal of a record whose chain slot is
// taken. The store never drops nor overwrites a record: the indexer asks
// SlotsTaken first and turns a clash into a finding, so this error means
// it did not.
type SlotTakenError struct {
	Slot Slot
	// Record is the ID of the record that wanted the slot, Holder the ID
	// of the one holding it, written in block HolderBlock (an earlier
	// record of the same Apply when InApply).
	Record      string
	Holder      string
	HolderBlock uint64
	InApply     bool
}

func (e *SlotTakenError) Error() string {
	where := "the index"
	if e.InApply {
		where = "the same Apply"
	}
	return fmt.Sprintf("index: slot %s/%d of record %s is taken by record %s of block %d (in %s)",
		e.Slot.Host, e.Slot.Seq, e.Record, e.Holder, e.HolderBlock, where)
}

// Unwrap makes the error match ErrSlotTaken.
func (e *SlotTakenError) Unwrap() error { return ErrSlotTaken }

// Apply writes a run of consecutive blocks' updates and moves the
// checkpoint past the last, with its State, all in one database
// transaction: either all of it is in the index afterwards or none of it
// (an error, a cancelled ctx or a crash midway leave Head and the rows as
// they were).
//
// updates[0] must be the index's next block (Head) and the numbers must
// follow one another (ErrNotNext). Every record, registry entry and
// finding of an update must name the update's block, and numbers must fit
// a signed 64-bit integer (ErrInvalid). A record whose (host, seq) is held
// already is refused with a *SlotTakenError (ErrSlotTaken). An empty
// slice writes nothing.
//
// Within a block, records and registry entries keep the order they have
// in the update (RowsOfBlock returns them so), findings the order of the
// updates and of each update's Findings.
func (s *Store) Apply(ctx context.Context, updates []Update) error {
	if len(updates) == 0 {
		return nil
	}
	if err := checkUpdates(updates); err != nil {
		return err
	}
	rows := flatten(updates)
	err := s.write(ctx, func(w writeTx) error { return writeUpdates(ctx, w, updates, rows) })
	if err == nil {
		return nil
	}
	if errors.Is(err, errRecordsInsert) {
		// A unique violation of the records: name the slot. Looked up
		// after the rollback; if the lookup finds nothing (or fails: ctx
		// cancelled), the insert failed for another reason.
		if clash := s.clash(ctx, rows.records); clash != nil {
			return clash
		}
	}
	return err
}

// writeTx is one write transaction of a dialect: sqlite.go's multi-row
// INSERTs, postgres.go's COPY.
type writeTx interface {
	// next locks the checkpoint for the rest of the transaction and
	// returns the next block to apply.
	next(ctx context.Context) (uint64, error)
	exec(ctx context.Context, query string, args ...any) error
	// insert writes n rows into t; row fills one row's values (len(t.cols)).
	insert(ctx context.Context, t table, n int, row func(i int, dst []any)) error
}

// table is a table that rows are inserted into, with its columns in the
// order of the values.
type table struct {
	name string
	cols []string
}

var (
	blocksTable = table{"blocks", []string{"number", "header_hash", "prev_hash", "data_hash", "txs", "records",
		"config", "digest", "root", "raw"}}
	recordsTable = table{"records", []string{"host", "seq", "id", "hash", "prev_hash", "kind", "time",
		"event_id", "scope", "type", "action", "actor", "name", "service", "msp", "cert_sha256", "tx_id",
		"tx_time", "block", "tx_index", "block_pos", "stored"}}
	actorsTable   = table{"record_actors", []string{"host", "seq", "ord", "actor", "time"}}
	historyTable  = table{"host_history", []string{"block", "block_pos", "host", "msp", "swarm_role", "tx_id", "entry"}}
	findingsTable = table{"findings", []string{"block", "tx_id", "record_id", "host", "severity", "problem"}}
)

// errRecordsInsert marks the failure of the records' insert, which a
// unique violation of (host, seq) fails.
var errRecordsInsert = errors.New("insert records")

// applyRows are the rows of a run of updates, flattened for the bulk
// inserts.
type applyRows struct {
	records []placed[*Record]
	actors  []actorRow
	history []placed[*Host]
	chains  []chainRow // by host
}

// chainRow is what a run of updates adds to a host's chain.
type chainRow struct {
	host        string
	records     int64
	first, last uint64
}

// placed is a row with its place among its block's rows.
type placed[T any] struct {
	row T
	pos int
}

type actorRow struct {
	rec *Record
	ord int
}

func flatten(updates []Update) applyRows {
	var r applyRows
	chains := map[string]*chainRow{}
	for ui := range updates {
		u := &updates[ui]
		for i := range u.Records {
			rec := &u.Records[i]
			r.records = append(r.records, placed[*Record]{rec, i})
			c := chains[rec.Host]
			if c == nil {
				c = &chainRow{host: rec.Host, first: rec.Seq, last: rec.Seq}
				chains[rec.Host] = c
			}
			c.records++
			c.first, c.last = min(c.first, rec.Seq), max(c.last, rec.Seq)
			for j := range rec.Actors {
				r.actors = append(r.actors, actorRow{rec, j})
			}
		}
		for i := range u.Hosts {
			r.history = append(r.history, placed[*Host]{&u.Hosts[i], i})
		}
	}
	for _, c := range chains {
		r.chains = append(r.chains, *c)
	}
	slices.SortFunc(r.chains, func(a, b chainRow) int { return strings.Compare(a.host, b.host) })
	return r
}

func writeUpdates(ctx context.Context, w writeTx, updates []Update, rows applyRows) error {
	next, err := w.next(ctx)
	if err != nil {
		return err
	}
	if first := updates[0].Block.Number; first != next {
		return fmt.Errorf("%w: the index's next block is %d, the updates start at block %d", ErrNotNext, next, first)
	}
	err = w.insert(ctx, blocksTable, len(updates), func(i int, v []any) {
		b := &updates[i].Block
		v[0], v[1], v[2], v[3] = int64(b.Number), notNil(b.HeaderHash), notNil(b.PrevHash), notNil(b.DataHash)
		v[4], v[5], v[6], v[7], v[8], v[9] = int64(b.Txs), int64(b.Records), b.Config, notNil(b.Digest), notNil(b.Root), nilIfEmpty(b.Raw)
	})
	if err != nil {
		return fmt.Errorf("index: insert blocks: %w", err)
	}
	err = w.insert(ctx, recordsTable, len(rows.records), func(i int, v []any) {
		r, pos := rows.records[i].row, rows.records[i].pos
		v[0], v[1], v[2], v[3], v[4], v[5], v[6] = r.Host, int64(r.Seq), r.ID, r.Hash, r.PrevHash, r.Kind, r.Time
		v[7], v[8], v[9], v[10], v[11], v[12], v[13] = r.EventID, r.Scope, r.Type, r.Action, r.Actor, r.Name, r.Service
		v[14], v[15], v[16], v[17], v[18], v[19] = r.MSP, r.CertSHA256, r.TxID, r.TxTime, int64(r.Block), int64(r.TxIndex)
		v[20], v[21] = int64(pos), notNil(r.Stored)
	})
	if err != nil {
		return fmt.Errorf("index: %w: %w", errRecordsInsert, err)
	}
	for _, c := range rows.chains {
		err := w.exec(ctx, `INSERT INTO chains (host, records, first_seq, last_seq) VALUES ($1, $2, $3, $4)
ON CONFLICT (host) DO UPDATE SET records = chains.records + excluded.records,
	first_seq = CASE WHEN excluded.first_seq < chains.first_seq THEN excluded.first_seq ELSE chains.first_seq END,
	last_seq = CASE WHEN excluded.last_seq > chains.last_seq THEN excluded.last_seq ELSE chains.last_seq END`,
			c.host, c.records, int64(c.first), int64(c.last))
		if err != nil {
			return fmt.Errorf("index: update chain of %s: %w", c.host, err)
		}
	}
	err = w.insert(ctx, actorsTable, len(rows.actors), func(i int, v []any) {
		a := rows.actors[i]
		v[0], v[1], v[2], v[3], v[4] = a.rec.Host, int64(a.rec.Seq), int64(a.ord), a.rec.Actors[a.ord], a.rec.Time
	})
	if err != nil {
		return fmt.Errorf("index: insert record actors: %w", err)
	}
	err = w.insert(ctx, historyTable, len(rows.history), func(i int, v []any) {
		h, pos := rows.history[i].row, rows.history[i].pos
		v[0], v[1], v[2], v[3], v[4], v[5], v[6] = int64(h.Block), int64(pos), h.Host, h.MSP, h.SwarmRole, h.TxID, notNil(h.Entry)
	})
	if err != nil {
		return fmt.Errorf("index: insert host history: %w", err)
	}
	// The registry as it stands: entries in ledger order, the last wins.
	for _, p := range rows.history {
		h := p.row
		err := w.exec(ctx, `INSERT INTO hosts (host, msp, swarm_role, tx_id, block, entry) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (host) DO UPDATE SET msp = excluded.msp, swarm_role = excluded.swarm_role, tx_id = excluded.tx_id,
	block = excluded.block, entry = excluded.entry`,
			h.Host, h.MSP, h.SwarmRole, h.TxID, int64(h.Block), notNil(h.Entry))
		if err != nil {
			return fmt.Errorf("index: upsert host %s: %w", h.Host, err)
		}
	}
	var findings []*Finding
	for ui := range updates {
		for fi := range updates[ui].Findings {
			findings = append(findings, &updates[ui].Findings[fi])
		}
	}
	err = w.insert(ctx, findingsTable, len(findings), func(i int, v []any) {
		f := findings[i]
		v[0], v[1], v[2], v[3], v[4], v[5] = int64(f.Block), f.TxID, f.RecordID, f.Host, f.Severity, f.Problem
	})
	if err != nil {
		return fmt.Errorf("index: insert findings: %w", err)
	}
	last := &updates[len(updates)-1]
	if err := w.exec(ctx, `UPDATE checkpoint SET next_block = $1, state = $2 WHERE id = 1`,
		int64(last.Block.Number+1), notNil(last.State)); err != nil {
		return fmt.Errorf("index: set checkpoint: %w", err)
	}
	return nil
}

// checkUpdates refuses, before any write, what the database would refuse
// differently in each dialect or not at all: numbers above MaxInt64, text
// PostgreSQL cannot hold, rows naming another block, block numbers out of
// order, two records of the run in one slot.
func checkUpdates(updates []Update) error {
	slots := make(map[Slot]*Record)
	for ui := range updates {
		u := &updates[ui]
		n := u.Block.Number
		if n > math.MaxInt64 {
			return fmt.Errorf("%w: block number %d is above %d", ErrInvalid, n, int64(math.MaxInt64))
		}
		if ui > 0 && n != updates[ui-1].Block.Number+1 {
			return fmt.Errorf("%w: block %d follows block %d", ErrNotNext, n, updates[ui-1].Block.Number)
		}
		for i := range u.Records {
			r := &u.Records[i]
			if r.Block != n {
				return fmt.Errorf("%w: block %d: record %s names block %d", ErrInvalid, n, r.ID, r.Block)
			}
			if r.Seq > math.MaxInt64 {
				return fmt.Errorf("%w: block %d: record %s: seq %d is above %d", ErrInvalid, n, r.ID, r.Seq, int64(math.MaxInt64))
			}
			if err := checkText(n, "record "+r.ID, r.ID, r.Hash, r.Host, r.PrevHash, r.Kind, r.EventID, r.Scope,
				r.Type, r.Action, r.Actor, r.Name, r.Service, r.MSP, r.CertSHA256, r.TxID); err != nil {
				return err
			}
			if err := checkText(n, "record "+r.ID+"'s actors", r.Actors...); err != nil {
				return err
			}
			slot := Slot{r.Host, r.Seq}
			if prev, ok := slots[slot]; ok {
				return &SlotTakenError{Slot: slot, Record: r.ID, Holder: prev.ID, HolderBlock: prev.Block, InApply: true}
			}
			slots[slot] = r
		}
		for i := range u.Hosts {
			h := &u.Hosts[i]
			if h.Block != n {
				return fmt.Errorf("%w: block %d: registry entry of host %s names block %d", ErrInvalid, n, h.Host, h.Block)
			}
			if err := checkText(n, "registry entry of host "+h.Host, h.Host, h.MSP, h.SwarmRole, h.TxID); err != nil {
				return err
			}
		}
		for i := range u.Findings {
			f := &u.Findings[i]
			if f.Block != n {
				return fmt.Errorf("%w: block %d: finding %q names block %d", ErrInvalid, n, f.Problem, f.Block)
			}
			if err := checkText(n, "a finding", f.TxID, f.RecordID, f.Host, f.Severity, f.Problem); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText refuses text that PostgreSQL's text type cannot hold, so that
// SQLite refuses it alike: invalid UTF-8 and NUL bytes.
func checkText(block uint64, what string, texts ...string) error {
	for _, t := range texts {
		if !utf8.ValidString(t) || strings.IndexByte(t, 0) >= 0 {
			return fmt.Errorf("%w: block %d: %s: %q is not UTF-8 text without NUL bytes", ErrInvalid, block, what, t)
		}
	}
	return nil
}

// clash returns the first record (in Apply order) whose slot the index
// already holds, as a *SlotTakenError, or nil.
func (s *Store) clash(ctx context.Context, recs []placed[*Record]) error {
	slots := make([]Slot, len(recs))
	for i, p := range recs {
		slots[i] = Slot{p.row.Host, p.row.Seq}
	}
	taken, err := s.SlotsTaken(ctx, slots)
	if err != nil || len(taken) == 0 {
		return nil
	}
	for _, p := range recs {
		if h, ok := taken[Slot{p.row.Host, p.row.Seq}]; ok {
			return &SlotTakenError{Slot: Slot{h.Host, h.Seq}, Record: p.row.ID, Holder: h.ID, HolderBlock: h.Block}
		}
	}
	return nil
}

// notNil returns b, or an empty slice for nil: for NOT NULL columns, where
// nil and empty are the same value (read back as nil).
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nilIfEmpty returns nil for an empty slice: for nullable columns, where
// nil and empty are the same value (NULL).
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
