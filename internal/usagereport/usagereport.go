// Package usagereport is e2l's usage report from the audit index, shared
// by the CLI (e2l usage) and the web view (e2l serve) so that the two
// cannot drift: the hosts' usage inputs read from the index, the report's
// columns, their cells and the CSV.
package usagereport

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
)

// Source is what the report reads of the audit index (index.Store is one).
type Source interface {
	Hosts(ctx context.Context) ([]index.HostSummary, error)
	Findings(ctx context.Context, fromBlock uint64) ([]index.Finding, error)
	Record(ctx context.Context, id string) ([]index.Record, error)
	ChainRecords(ctx context.Context, host string, from, to uint64) ([]index.Record, error)
	Records(ctx context.Context, q index.Query, each func(index.Record) error) error
	UsageEvents(ctx context.Context, host string, each func(index.Record) error) error
}

// HeldEvents is a Source that may hold hosts' usage events, read before
// (the web view's cache): what UsageEvents would give, as usage events.
// The report shares the slice and never changes it.
type HeldEvents interface {
	HeldUsageEvents(ctx context.Context, host string) ([]audit.UsageEvent, bool, error)
}

// Problems gives the holes and broken links of the hosts' chains
// (index.Store.ChainProblems): Inputs calls it once, after it has read the
// hosts' events, so that a caller may find them meanwhile.
type Problems func(context.Context) ([]index.ChainProblem, error)

// Known is Problems already found.
func Known(problems []index.ChainProblem) Problems {
	return func(context.Context) ([]index.ChainProblem, error) { return problems, nil }
}

// Inputs returns what usage needs of every host with records (of host
// alone when it is set), read from the index without decoding every
// record: container events from their columns (their stored value only
// when grouping by label, needLabels), gap records, and the holes of each
// chain — problems, and records with verification errors —, each from the
// time of the last trusted record before it to the next after it.
func Inputs(ctx context.Context, src Source, problems Problems, needLabels bool, host string) ([]audit.UsageInput, error) {
	hosts, err := src.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	timeAt := func(host string, seq uint64, none int64) (int64, error) {
		if seq == 0 {
			return none, nil
		}
		rows, err := src.ChainRecords(ctx, host, seq, seq)
		if err != nil || len(rows) == 0 {
			return none, err
		}
		return rows[0].Time, nil
	}
	var out []audit.UsageInput
	for _, h := range hosts {
		if h.Records == 0 || (host != "" && h.Host != host) {
			continue
		}
		in := audit.UsageInput{Host: h.Host, LastTime: h.LastTime}
		if in.FirstTime, err = timeAt(h.Host, h.FirstSeq, 0); err != nil {
			return nil, err
		}
		if in.Gaps, err = gaps(ctx, src, h.Host); err != nil {
			return nil, err
		}
		if in.Events, err = events(ctx, src, h.Host, needLabels); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	// The holes: the chains' problems and the records with errors.
	type span struct{ from, to uint64 }
	untrusted := map[string][]span{}
	found, err := problems(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range found {
		untrusted[p.Host] = append(untrusted[p.Host], span{p.From, p.To})
	}
	findings, err := src.Findings(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range findings {
		if f.Severity != "error" || f.RecordID == "" || f.Host == "" || (host != "" && f.Host != host) {
			continue
		}
		recs, err := src.Record(ctx, f.RecordID)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Host == f.Host {
				untrusted[r.Host] = append(untrusted[r.Host], span{r.Seq, r.Seq})
			}
		}
	}
	for i := range out {
		in := &out[i]
		for _, sp := range untrusted[in.Host] {
			from, err := timeAt(in.Host, sp.from-1, 0)
			if err != nil {
				return nil, err
			}
			to, err := timeAt(in.Host, sp.to+1, math.MaxInt64)
			if err != nil {
				return nil, err
			}
			in.Holes = append(in.Holes, audit.TimeRange{From: from, To: to})
		}
	}
	return out, nil
}

// gaps are the spans of host's gap records; an undecodable one is left
// out (its verification error makes it a hole).
func gaps(ctx context.Context, src Source, host string) ([]audit.TimeRange, error) {
	var out []audit.TimeRange
	err := src.Records(ctx, index.Query{Host: host, Kind: string(record.KindGap), OrderBy: index.BySlot}, func(r index.Record) error {
		rec, err := decode(r)
		if err != nil {
			return err
		}
		if rec != nil && rec.Gap != nil {
			out = append(out, audit.TimeRange{From: rec.Gap.From, To: rec.Gap.To})
		}
		return nil
	})
	return out, err
}

// events are host's container events in chain order: from the columns of
// the actions usage reads, or, with labels, every container event decoded.
func events(ctx context.Context, src Source, host string, needLabels bool) ([]audit.UsageEvent, error) {
	if !needLabels {
		if held, ok := src.(HeldEvents); ok {
			evs, ok, err := held.HeldUsageEvents(ctx, host)
			if err != nil || ok {
				return evs, err
			}
		}
		return ReadUsageEvents(ctx, src, host)
	}
	var out []audit.UsageEvent
	err := src.Records(ctx, index.Query{Host: host, Type: "container", Kind: string(record.KindEvent), OrderBy: index.BySlot}, func(r index.Record) error {
		rec, err := decode(r)
		if err != nil {
			return err
		}
		if rec == nil {
			return nil
		}
		if e, ok := audit.UsageEventOf(*rec); ok {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// EventReader reads a host's usage events from the index (index.Store).
type EventReader interface {
	UsageEvents(ctx context.Context, host string, each func(index.Record) error) error
}

// ReadUsageEvents reads host's usage events (the UsageActions'
// container events, in chain order) from their columns.
func ReadUsageEvents(ctx context.Context, src EventReader, host string) ([]audit.UsageEvent, error) {
	var out chunks[audit.UsageEvent]
	err := src.UsageEvents(ctx, host, func(r index.Record) error {
		out.add(audit.UsageEvent{Seq: r.Seq, Time: r.Time, Action: r.Action, Actor: r.Actor, Name: r.Name, Service: r.Service})
		return nil
	})
	return out.all(), err
}

// chunks collects values in chunks and copies them once into a slice of
// their number: a slice appended to tens of thousands of times would copy
// them many times over as it grows.
type chunks[T any] struct {
	full [][]T
	cur  []T
	n    int
}

func (c *chunks[T]) add(v T) {
	if len(c.cur) == cap(c.cur) {
		if c.cur != nil {
			c.full = append(c.full, c.cur)
		}
		c.cur = make([]T, 0, min(max(2*cap(c.cur), 256), 1<<14))
	}
	c.cur = append(c.cur, v)
	c.n++
}

func (c *chunks[T]) all() []T {
	if len(c.full) == 0 {
		return c.cur
	}
	out := make([]T, 0, c.n)
	for _, f := range c.full {
		out = append(out, f...)
	}
	return append(out, c.cur...)
}

// decode reads a row's record; nil when the stored record does not decode
// (an untrusted record, which verification reports).
func decode(r index.Record) (*record.Record, error) {
	var st audit.Stored
	if err := json.Unmarshal(r.Stored, &st); err != nil {
		return nil, fmt.Errorf("index row of host %s seq %d: %w", r.Host, r.Seq, err)
	}
	rec, err := record.DecodeRecord(st.Record)
	if err != nil {
		return nil, nil
	}
	return &rec, nil
}

// TotalsHeader and IntervalsHeader are the report's columns: the totals
// of each group, or (--intervals) every interval.
var (
	TotalsHeader    = []string{"GROUP", "CONTAINERS", "RUNNING", "UNCERTAIN", "PAUSED", "PAUSED UNCERTAIN", "INTERVALS"}
	IntervalsHeader = []string{"GROUP", "HOST", "CONTAINER", "NAME", "STATE", "FROM", "TO", "DURATION", "UNCERTAIN"}
)

// TotalsCells are a group's cells: durations for people, or, full, in
// seconds with milliseconds (CSV and JSON readers).
func TotalsCells(r audit.UsageRow, full bool) []string {
	d := FmtDuration
	if full {
		d = func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	}
	return []string{r.Group, fmt.Sprint(r.Containers), d(r.Running), d(r.Uncertain), d(r.Paused), d(r.PausedUncertain), fmt.Sprint(r.Intervals)}
}

// IntervalCells are an interval's cells; full: whole container IDs.
func IntervalCells(iv audit.Interval, full bool) []string {
	unc := ""
	if iv.Uncertain {
		unc = "yes: " + iv.Reason
	}
	return []string{iv.Group, iv.Host, Cut(iv.Container, full), iv.Name, iv.State, FmtTime(iv.From), FmtTime(iv.To), FmtDuration(iv.Duration()), unc}
}

// WriteCSV writes the report as CSV: the totals of each group, or, with
// intervals, every interval (what e2l usage -o csv prints).
func WriteCSV(w io.Writer, rows []audit.UsageRow, ivs []audit.Interval, intervals bool) error {
	cw := csv.NewWriter(w)
	if intervals {
		_ = cw.Write(IntervalsHeader)
		for _, iv := range ivs {
			_ = cw.Write(IntervalCells(iv, true))
		}
	} else {
		_ = cw.Write(TotalsHeader)
		for _, r := range rows {
			_ = cw.Write(TotalsCells(r, true))
		}
	}
	cw.Flush()
	return cw.Error()
}

// Cut shortens an ID to 12 characters unless full.
func Cut(id string, full bool) string {
	if full || len(id) <= 12 {
		return id
	}
	return id[:12]
}

// FmtTime writes unix ns as UTC with milliseconds.
func FmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z")
}

// FmtDuration rounds a duration for people.
func FmtDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.String()
	}
}

// ParseTime reads a time bound of a report's period: RFC 3339, a date
// (2006-01-02), unix nanoseconds, "now", or a duration before now ("90m",
// "24h"). e2l usage's --from and --to and the web view's from and to read
// alike, so that the same flags give the same CSV.
func ParseTime(s string, now time.Time) (int64, error) {
	switch {
	case s == "":
		return 0, errors.New("empty time")
	case s == "now":
		return now.UnixNano(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UnixNano(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil {
		return now.Add(-d).UnixNano(), nil
	}
	return 0, fmt.Errorf("time %q: want RFC 3339, YYYY-MM-DD, unix ns, now, or a duration ago like 24h", s)
}
