package audit

import (
	"fmt"
	"sort"
	"time"

	"github.com/e2l-project/e2l/internal/record"
)

// DefaultHeartbeatFactor is how many heartbeat intervals may pass after a
// host's last heartbeat before it is reported stale.
const DefaultHeartbeatFactor = 3

// ChainOptions say what part of a host's chain is checked.
type ChainOptions struct {
	// From is the sequence number the records must start at (0 or 1: the
	// chain from its genesis).
	From uint64
	// Now, when set, is the time against which the last heartbeat's age is
	// judged. Leave it zero to skip the staleness check (an archive).
	Now time.Time
	// HeartbeatFactor: a heartbeat older than this many intervals is stale
	// (DefaultHeartbeatFactor when 0).
	HeartbeatFactor float64
	// Forged are the records (by ID) signed outside the organisation that
	// owned their host, with the finding that says so: it is reported at
	// the record, before what it breaks after it, and the record is not
	// trusted (its span is a hole).
	Forged map[string]Finding
}

// SeqRange is an inclusive range of sequence numbers.
type SeqRange struct{ From, To uint64 }

func (r SeqRange) String() string {
	if r.From == r.To {
		return fmt.Sprintf("%d", r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// TimeRange is an interval of unix-nanosecond times, From <= To.
type TimeRange struct{ From, To int64 }

// Overlaps reports whether r and o share a moment.
func (r TimeRange) Overlaps(o TimeRange) bool { return r.From <= o.To && o.From <= r.To }

// Chain is the result of checking one host's chain.
type Chain struct {
	Host string
	// Records are the records that passed their own check, in seq order.
	Records []record.Sealed
	// Stored are the stored records in seq order, one per seq (as checked).
	Stored []Stored
	First  uint64 // lowest seq present (0 when none)
	Last   uint64 // highest seq present
	// Missing are the sequence numbers absent between From and Last.
	Missing []SeqRange
	// Holes are the time spans in which records are missing or altered: from
	// the last trusted record before to the first trusted record after (an
	// open end is math.MaxInt64). Usage marks intervals overlapping them
	// uncertain.
	Holes []TimeRange
	// Gaps are the host's gap records.
	Gaps []record.Sealed
	// LastHeartbeat is the heartbeat with the highest seq, nil when none.
	LastHeartbeat *record.Sealed
	Findings      []Finding
}

// Continuous reports whether the chain has no missing, altered, reordered
// or mis-linked record.
func (c *Chain) Continuous() bool {
	for _, f := range c.Findings {
		if f.Severity == Error {
			return false
		}
	}
	return true
}

// Stale reports whether the last heartbeat is older than factor intervals
// at now (true when there is no heartbeat).
func (c *Chain) Stale(now time.Time, factor float64) bool {
	if c.LastHeartbeat == nil {
		return true
	}
	if factor <= 0 {
		factor = DefaultHeartbeatFactor
	}
	iv := time.Duration(c.LastHeartbeat.Record.Heartbeat.IntervalMs) * time.Millisecond
	age := now.Sub(time.Unix(0, c.LastHeartbeat.Record.Time))
	return float64(age) > factor*float64(iv)
}

// CheckChain checks the records of one host as listed (a QueryChain result
// or an archive's, which keep seq order): each record's canonical encoding,
// ID and hash; the host; that the list is in seq order; that seq is
// contiguous from opt.From (or 1) with no duplicate; that each Prev is the
// Hash of the record before. Gaps are reported as information and the last
// heartbeat's age as a warning when stale.
func CheckChain(host string, recs []Stored, opt ChainOptions) *Chain {
	c := &Chain{Host: host}
	from := opt.From
	if from == 0 {
		from = 1
	}
	type slot struct {
		st     Stored
		seq    uint64
		sealed *record.Sealed // nil when the record failed its own check
	}
	slots := make([]slot, 0, len(recs))
	var lastSeq uint64
	var lastID string
	for i, st := range recs {
		h, seq := st.Claimed()
		s := slot{st: st, seq: seq}
		sealed, err := st.Sealed()
		switch {
		case err != nil:
			c.Findings = append(c.Findings, about(Error, st, "altered: %v", err))
		case h != host:
			c.Findings = append(c.Findings, about(Error, st, "belongs to host %q, found in the chain of %q", h, host))
			continue
		default:
			s.sealed = &sealed
		}
		if i > 0 && seq <= lastSeq {
			c.Findings = append(c.Findings, about(Error, st, "reordered: listed after seq %d (record %s), the chain must be in seq order", lastSeq, lastID))
		}
		lastSeq, lastID = seq, st.ID
		slots = append(slots, s)
	}
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].seq < slots[j].seq })

	expect := from
	var prev *slot
	trustedTime := int64(0) // time of the last trusted record before a hole
	holeOpen := false
	openHole := func() {
		if !holeOpen {
			holeOpen = true
		}
	}
	closeHole := func(t int64) {
		if holeOpen {
			c.Holes = append(c.Holes, TimeRange{From: trustedTime, To: t})
			holeOpen = false
		}
	}
	for i := range slots {
		s := &slots[i]
		if f, ok := opt.Forged[s.st.ID]; ok && s.seq >= from {
			c.Findings = append(c.Findings, f)
			s.sealed = nil
		}
		switch {
		case s.seq < from:
			c.Findings = append(c.Findings, about(Error, s.st, "seq %d is below the requested start %d", s.seq, from))
			continue
		case prev != nil && s.seq == prev.seq:
			c.Findings = append(c.Findings, about(Error, s.st, "fork: seq %d is also held by record %s", s.seq, prev.st.ID))
			continue
		case s.seq > expect:
			m := SeqRange{From: expect, To: s.seq - 1}
			c.Missing = append(c.Missing, m)
			c.Findings = append(c.Findings, about(Error, s.st, "missing seq %s before this record", m))
			openHole()
		case prev != nil && s.sealed != nil && s.sealed.Record.Prev != prev.st.Hash:
			forgery := ""
			if _, ok := opt.Forged[prev.st.ID]; ok {
				forgery = ", the forgery reported there"
			}
			c.Findings = append(c.Findings, about(Error, s.st, "broken link: prev %s is not the hash %s of seq %d (record %s%s)",
				short(s.sealed.Record.Prev), short(prev.st.Hash), prev.seq, prev.st.ID, forgery))
			openHole()
		}
		if s.sealed == nil {
			openHole()
		} else {
			closeHole(s.sealed.Record.Time)
			trustedTime = s.sealed.Record.Time
			c.Records = append(c.Records, *s.sealed)
			r := s.sealed.Record
			switch r.Kind {
			case record.KindGap:
				c.Gaps = append(c.Gaps, *s.sealed)
				c.Findings = append(c.Findings, GapFinding(s.st, r.Gap))
			case record.KindHeartbeat:
				c.LastHeartbeat = s.sealed
			}
		}
		c.Stored = append(c.Stored, s.st)
		if c.First == 0 {
			c.First = s.seq
		}
		c.Last = s.seq
		expect = s.seq + 1
		prev = s
	}
	if holeOpen {
		c.Holes = append(c.Holes, TimeRange{From: trustedTime, To: maxTime})
	}
	if !opt.Now.IsZero() {
		factor := opt.HeartbeatFactor
		if factor <= 0 {
			factor = DefaultHeartbeatFactor
		}
		if f, ok := HeartbeatFinding(host, c.LastHeartbeat, opt.Now, factor); ok {
			c.Findings = append(c.Findings, f)
		}
	}
	return c
}

const maxTime = int64(^uint64(0) >> 1)

// GapFinding is the note a gap record makes in a verification.
func GapFinding(st Stored, g *record.Gap) Finding {
	return about(Info, st, "gap %s: from %s to %s, %d events known lost%s", g.Reason,
		fmtTime(g.From), fmtTime(g.To), g.Lost, detail(g.Detail))
}

// HeartbeatFinding is the warning a host's last heartbeat (nil: none)
// earns at now when it is missing or older than factor × its interval.
func HeartbeatFinding(host string, hb *record.Sealed, now time.Time, factor float64) (Finding, bool) {
	if hb == nil {
		return Finding{Severity: Warning, Host: host, Problem: "no heartbeat on the ledger"}, true
	}
	c := Chain{LastHeartbeat: hb}
	if !c.Stale(now, factor) {
		return Finding{}, false
	}
	return Finding{Severity: Warning, Host: host, Seq: hb.Record.Seq, ID: hb.ID,
		Problem: fmt.Sprintf("stale heartbeat: the last one is from %s (%s ago), more than %g × its interval of %s",
			fmtTime(hb.Record.Time), now.Sub(time.Unix(0, hb.Record.Time)).Round(time.Second), factor,
			time.Duration(hb.Record.Heartbeat.IntervalMs)*time.Millisecond)}, true
}

// recordFindings checks each record of a host on its own, as CheckChain
// does before it looks at the chain: encoding, ID and hash, host, and the
// forgeries found by the host registry.
func recordFindings(host string, recs []Stored, forged map[string]Finding) []Finding {
	var out []Finding
	for _, st := range recs {
		h, _ := st.Claimed()
		if _, err := st.Sealed(); err != nil {
			out = append(out, about(Error, st, "altered: %v", err))
		} else if h != host {
			out = append(out, about(Error, st, "belongs to host %q, found in the chain of %q", h, host))
		}
		if f, ok := forged[st.ID]; ok {
			out = append(out, f)
		}
	}
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func detail(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

// Window returns the stretch of one host's records (in seq order) from the
// first whose time is at or after since to the last whose time is at or
// before until (0: open ends), and the seq it starts at; nil when no record
// is in the window. Records in between are included whatever their time:
// a chain is checked contiguously. A record that does not decode has no
// time and is included only when it lies in between.
func Window(recs []Stored, since, until int64) ([]Stored, uint64) {
	first, last := -1, -1
	for i, st := range recs {
		r, err := record.DecodeRecord(st.Record)
		if err != nil {
			continue
		}
		if (since == 0 || r.Time >= since) && first < 0 {
			first = i
		}
		if until == 0 || r.Time <= until {
			last = i
		}
	}
	if first < 0 || last < first {
		return nil, 0
	}
	_, seq := recs[first].Claimed()
	return recs[first : last+1], seq
}
