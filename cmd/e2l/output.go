package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// Output formats.
const (
	formatTable = "table"
	formatJSON  = "json"
	formatCSV   = "csv"
)

func checkFormat(f string) error {
	switch f {
	case formatTable, formatJSON, formatCSV:
		return nil
	}
	return usageError{fmt.Errorf("--output %q: want table, json or csv", f)}
}

// table writes rows in one of the formats; header names the columns.
type table struct {
	format string
	w      io.Writer
	header []string
	rows   [][]string
	tw     *tabwriter.Writer
	cw     *csv.Writer
	// objs are the JSON objects, one per row, written as a JSON array (or,
	// when stream is set, one per line as they come).
	objs   []any
	stream bool
}

func newTable(w io.Writer, format string, header ...string) *table {
	t := &table{format: format, w: w, header: header}
	switch format {
	case formatTable:
		t.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(t.tw, strings.Join(header, "\t"))
	case formatCSV:
		t.cw = csv.NewWriter(w)
		_ = t.cw.Write(header)
	}
	return t
}

// row adds a row: cells for table and CSV, obj for JSON.
func (t *table) row(obj any, cells ...string) {
	switch t.format {
	case formatTable:
		fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
		if t.stream {
			_ = t.tw.Flush()
		}
	case formatCSV:
		_ = t.cw.Write(cells)
		if t.stream {
			t.cw.Flush()
		}
	case formatJSON:
		if t.stream {
			enc := json.NewEncoder(t.w)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(obj)
			return
		}
		t.objs = append(t.objs, obj)
	}
}

func (t *table) flush() error {
	switch t.format {
	case formatTable:
		return t.tw.Flush()
	case formatCSV:
		t.cw.Flush()
		return t.cw.Error()
	default:
		if t.stream {
			return nil
		}
		if t.objs == nil {
			t.objs = []any{}
		}
		enc := json.NewEncoder(t.w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(t.objs)
	}
}

// shown is a record as the commands print it.
type shown struct {
	ID     string         `json:"id"`
	Hash   string         `json:"hash"`
	Record *record.Record `json:"record"`
	// Problem is set when the stored record does not verify.
	Problem string `json:"problem,omitempty"`
	MSP     string `json:"msp,omitempty"`
	TxID    string `json:"txId,omitempty"`
	TxTime  string `json:"txTime,omitempty"`
}

func show(st audit.Stored) shown {
	s := shown{ID: st.ID, Hash: st.Hash, MSP: st.MSP, TxID: st.TxID}
	if st.TxTime != 0 {
		s.TxTime = fmtTime(st.TxTime)
	}
	sealed, err := st.Sealed()
	if err != nil {
		s.Problem = err.Error()
		var r record.Record
		if json.Unmarshal(st.Record, &r) == nil {
			s.Record = &r
		}
		return s
	}
	s.Record = &sealed.Record
	return s
}

var recordHeader = []string{"TIME", "HOST", "SEQ", "KIND", "TYPE", "ACTION", "ACTOR", "NAME", "DETAIL", "ID"}

// cells are a record's table or CSV cells; full IDs in CSV.
func (s shown) cells(full bool) []string {
	r := s.Record
	if r == nil {
		return []string{"?", "?", "?", "?", "", "", "", "", "undecodable: " + s.Problem, cut(s.ID, full)}
	}
	typ, action, actor, name := "", "", "", ""
	if r.Event != nil {
		typ, action, actor, name = r.Event.Type, r.Event.Action, cut(r.Event.Actor, full), r.Event.Attrs.Name
	}
	d := describe(r)
	if s.Problem != "" {
		d = "NOT VERIFIED: " + s.Problem
	}
	return []string{fmtTime(r.Time), r.Host, fmt.Sprint(r.Seq), string(r.Kind), typ, action, actor, name, d, cut(s.ID, full)}
}

// describe summarises a record's payload in a few words.
func describe(r *record.Record) string {
	var parts []string
	switch {
	case r.Event != nil:
		a := r.Event.Attrs
		for _, kv := range [][2]string{{"image", a.Image}, {"exit", a.ExitCode}, {"signal", a.Signal}, {"service", a.ServiceName}} {
			if kv[1] != "" {
				parts = append(parts, kv[0]+"="+kv[1])
			}
		}
		if a.ReplicasOld != "" || a.ReplicasNew != "" {
			parts = append(parts, "replicas "+a.ReplicasOld+"→"+a.ReplicasNew)
		}
		if a.OldName != "" {
			parts = append(parts, "was "+a.OldName)
		}
	case r.Gap != nil:
		parts = append(parts, fmt.Sprintf("%s %s…%s lost=%d", r.Gap.Reason, fmtTime(r.Gap.From), fmtTime(r.Gap.To), r.Gap.Lost))
	case r.Heartbeat != nil:
		parts = append(parts, fmt.Sprintf("interval=%s pending=%d", time.Duration(r.Heartbeat.IntervalMs)*time.Millisecond, r.Heartbeat.Pending))
	case r.Lifecycle != nil:
		parts = append(parts, "version="+r.Lifecycle.Version)
		if r.Lifecycle.Reason != "" {
			parts = append(parts, r.Lifecycle.Reason)
		}
	case r.Snapshot != nil:
		parts = append(parts, fmt.Sprintf("part %d/%d, %d containers", r.Snapshot.Part, r.Snapshot.Parts, len(r.Snapshot.Containers)))
	}
	return strings.Join(parts, " ")
}

func cut(id string, full bool) string { return usagereport.Cut(id, full) }

func fmtTime(ns int64) string { return usagereport.FmtTime(ns) }

// fmtDuration rounds a duration for people.
func fmtDuration(d time.Duration) string { return usagereport.FmtDuration(d) }
