package webview

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
)

// Kinds of coverage segment, from the weakest claim to the strongest.
const (
	SegNone     = "none"     // before the host's first record: not recording yet
	SegRecorded = "recorded" // the chain vouches for the time
	SegSilence  = "silence"  // no record for longer than the heartbeat factor × interval
	SegHole     = "hole"     // missing or broken records of the chain
	SegGap      = "gap"      // a gap record: the collector says it cannot vouch (Reason)
)

var segRank = map[string]int{SegNone: 0, SegRecorded: 1, SegSilence: 2, SegHole: 3, SegGap: 4}

// Segment is a stretch of a host's time and what its chain says of it.
type Segment struct {
	From   int64  `json:"from"`
	To     int64  `json:"to"`
	Kind   string `json:"kind"`
	Reason string `json:"reason,omitempty"` // a gap's reason (record.GapReasons)
	Record string `json:"record,omitempty"` // the gap record's ID, or the record a silence or hole ends at
	Detail string `json:"detail,omitempty"`
}

// Duration of the segment.
func (s Segment) Duration() int64 { return s.To - s.From }

// Coverage is a host's time over a period, cut into segments.
type Coverage struct {
	From, To   int64
	Segments   []Segment
	Totals     map[string]int64 // nanoseconds per kind (gap: all reasons)
	Heartbeat  time.Duration    // the interval the silences are judged by
	SilenceMin time.Duration    // a silence is longer than this
}

// Width of the period.
func (c Coverage) Width() int64 { return c.To - c.From }

// coverage cuts host's time over [from, to] into segments: recorded from
// its first record on, silences longer than factor × its heartbeat
// interval (the time after its last record up to now included), the holes
// of its chain (problems) and its gap records by reason, the stronger
// claim winning where they overlap.
func (s *Server) coverage(ctx context.Context, h index.HostSummary, from, to int64, problems []index.ChainProblem) (Coverage, error) {
	c := Coverage{From: from, To: to, Totals: map[string]int64{}}
	c.Heartbeat = s.heartbeatInterval(ctx, h)
	longer := int64(float64(c.Heartbeat) * s.opt.HeartbeatFactor)
	c.SilenceMin = time.Duration(longer)
	if h.Records == 0 {
		c.Segments = []Segment{{From: from, To: to, Kind: SegNone}}
		c.Totals[SegNone] = to - from
		return c, nil
	}
	first, err := s.timeOf(ctx, h.Host, h.FirstSeq)
	if err != nil {
		return c, err
	}
	now := s.now().UnixNano()
	end := min(to, now)
	overlays := []Segment{{From: math.MinInt64, To: first, Kind: SegNone}, {From: first, To: end, Kind: SegRecorded}}
	if end < to {
		overlays = append(overlays, Segment{From: end, To: to, Kind: SegNone, Detail: "the future"})
	}
	silences, err := s.st.Silences(ctx, h.Host, from, to, longer)
	if err != nil {
		return c, err
	}
	for _, sl := range silences {
		overlays = append(overlays, Segment{From: sl.From, To: sl.To, Kind: SegSilence,
			Detail: fmt.Sprintf("no record from seq %d (%s) to seq %d (%s)", sl.FromSeq, sl.FromKind, sl.ToSeq, sl.ToKind)})
	}
	if h.LastTime < end && end-h.LastTime > longer {
		overlays = append(overlays, Segment{From: h.LastTime, To: end, Kind: SegSilence,
			Detail: fmt.Sprintf("no record since seq %d", h.LastSeq)})
	}
	for _, p := range problems {
		if p.Host != h.Host {
			continue
		}
		a, err := s.timeOf(ctx, h.Host, p.From-1)
		if err != nil {
			return c, err
		}
		b, err := s.timeOf(ctx, h.Host, p.To+1)
		if err != nil {
			return c, err
		}
		if b == 0 {
			b = end
		}
		overlays = append(overlays, Segment{From: a, To: b, Kind: SegHole, Detail: fmt.Sprintf("%s: seq %d-%d", p.Kind, p.From, p.To)})
	}
	gaps, err := s.gaps(ctx, h.Host)
	if err != nil {
		return c, err
	}
	overlays = append(overlays, gaps...)
	c.Segments = flatten(overlays, from, to)
	for _, sg := range c.Segments {
		c.Totals[sg.Kind] += sg.Duration()
	}
	return c, nil
}

// gaps are host's gap records as segments, by reason.
func (s *Server) gaps(ctx context.Context, host string) ([]Segment, error) {
	var out []Segment
	err := s.st.Records(ctx, index.Query{Host: host, Kind: string(record.KindGap), OrderBy: index.BySlot}, func(r index.Record) error {
		rec, err := decodeRow(r)
		if err != nil || rec.Gap == nil {
			return nil // an undecodable record: its verification error is a finding
		}
		g := rec.Gap
		out = append(out, Segment{From: g.From, To: g.To, Kind: SegGap, Reason: g.Reason, Record: r.ID,
			Detail: fmt.Sprintf("%s, %d events known lost, seq %d", g.Reason, g.Lost, r.Seq)})
		return nil
	})
	return out, err
}

// heartbeatInterval is the interval of host's last heartbeat.
func (s *Server) heartbeatInterval(ctx context.Context, h index.HostSummary) time.Duration {
	if h.LastHeartbeat == nil {
		return defaultHeartbeat
	}
	rows, err := s.st.ChainRecords(ctx, h.Host, h.LastHeartbeat.Seq, h.LastHeartbeat.Seq)
	if err != nil || len(rows) == 0 {
		return defaultHeartbeat
	}
	rec, err := decodeRow(rows[0])
	if err != nil || rec.Heartbeat == nil || rec.Heartbeat.IntervalMs <= 0 {
		return defaultHeartbeat
	}
	return time.Duration(rec.Heartbeat.IntervalMs) * time.Millisecond
}

// timeOf is the time of host's record at seq, 0 when there is none.
func (s *Server) timeOf(ctx context.Context, host string, seq uint64) (int64, error) {
	if seq == 0 {
		return 0, nil
	}
	rows, err := s.st.ChainRecords(ctx, host, seq, seq)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].Time, nil
}

// flatten cuts [from, to] at every overlay's ends and gives each piece the
// strongest overlay covering it; neighbours alike are merged.
func flatten(overlays []Segment, from, to int64) []Segment {
	cuts := []int64{from, to}
	for _, o := range overlays {
		for _, t := range []int64{o.From, o.To} {
			if t > from && t < to {
				cuts = append(cuts, t)
			}
		}
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	var out []Segment
	for i := 1; i < len(cuts); i++ {
		a, b := cuts[i-1], cuts[i]
		if b <= a {
			continue
		}
		best := Segment{Kind: SegNone}
		for _, o := range overlays {
			if o.From <= a && o.To >= b && segRank[o.Kind] >= segRank[best.Kind] {
				best = o
			}
		}
		best.From, best.To = a, b
		if n := len(out); n > 0 && out[n-1].Kind == best.Kind && out[n-1].Reason == best.Reason && out[n-1].Record == best.Record {
			out[n-1].To = b
			continue
		}
		out = append(out, best)
	}
	return out
}

// decodeRow reads a row's stored record.
func decodeRow(r index.Record) (record.Record, error) {
	var st audit.Stored
	if err := json.Unmarshal(r.Stored, &st); err != nil {
		return record.Record{}, err
	}
	return record.DecodeRecord(st.Record)
}
