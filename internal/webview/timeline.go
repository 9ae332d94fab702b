package webview

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/record"
)

// Step is one record of a timeline.
type Step struct {
	Time   int64  `json:"time"`
	Host   string `json:"host"`
	Seq    uint64 `json:"seq"`
	Record string `json:"record"` // its ID: the step links to it
	Kind   string `json:"kind"`
	Action string `json:"action,omitempty"`
	Detail string `json:"detail,omitempty"` // a service's replica change, an exit code
}

// GanttRow is one container (its running, paused and uncertain intervals,
// as usage counts them) or one service (its events) of a timeline.
type GanttRow struct {
	Actor     string           `json:"actor"`
	Type      string           `json:"type"` // container or service
	Name      string           `json:"name"`
	Hosts     []string         `json:"hosts"`
	Task      bool             `json:"task"` // a container of the service above
	Intervals []audit.Interval `json:"intervals"`
	Steps     []Step           `json:"steps"`
}

// TimelinePage is a Gantt of the containers and services a name or ID
// stands for; a service comes with its tasks' containers.
type TimelinePage struct {
	Query    string     `json:"query"`
	From, To int64      // the chart's span
	Rows     []GanttRow `json:"rows"`
}

func (p TimelinePage) PageTitle() string { return "Timeline " + p.Query }

func (s *Server) timelinePage(r *http.Request) (any, error) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page := TimelinePage{Query: q}
	if q == "" {
		return page, nil
	}
	actors := []string{q}
	if !isHex64(q) {
		ids, err := s.st.Actors(ctx, q, 4)
		if err != nil {
			return nil, err
		}
		actors = ids
	}
	if len(actors) == 0 {
		return nil, fmt.Errorf("no container or service named %q or with an ID starting with it: %w", q, errNotFound)
	}
	seen := map[string]bool{}
	for _, a := range actors {
		row, err := s.ganttRow(ctx, a)
		if err != nil {
			return nil, err
		}
		seen[a] = true
		page.Rows = append(page.Rows, row)
		if row.Type != "service" {
			continue
		}
		tasks, err := s.st.ServiceContainers(ctx, row.Name)
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			if seen[t] {
				continue
			}
			seen[t] = true
			tr, err := s.ganttRow(ctx, t)
			if err != nil {
				return nil, err
			}
			tr.Task = true
			page.Rows = append(page.Rows, tr)
		}
	}
	page.span(s.now().UnixNano())
	return page, nil
}

// span sets the chart's span: the first step to the last step or interval
// end (intervals still open end now).
func (p *TimelinePage) span(now int64) {
	for i := range p.Rows {
		row := &p.Rows[i]
		for j := range row.Intervals {
			row.Intervals[j].To = min(row.Intervals[j].To, now)
		}
		for _, st := range row.Steps {
			if p.From == 0 || st.Time < p.From {
				p.From = st.Time
			}
			p.To = max(p.To, st.Time)
		}
		for _, iv := range row.Intervals {
			p.To = max(p.To, iv.To)
		}
	}
	if p.To <= p.From {
		p.To = p.From + 1
	}
	pad := (p.To - p.From) / 50
	p.From, p.To = p.From-pad, p.To+pad
}

// ganttRow reads an actor's records and, for a container, derives its
// intervals as usage does (audit.UsageOf on its events, with its hosts'
// gaps and chain holes).
func (s *Server) ganttRow(ctx context.Context, actor string) (GanttRow, error) {
	row := GanttRow{Actor: actor}
	perHost := map[string][]audit.UsageEvent{}
	err := s.st.Records(ctx, index.Query{Actor: actor, OrderBy: index.ByTime}, func(r index.Record) error {
		st := Step{Time: r.Time, Host: r.Host, Seq: r.Seq, Record: r.ID, Kind: r.Kind, Action: r.Action}
		if rec, err := decodeRow(r); err == nil && rec.Event != nil {
			e := rec.Event
			row.Type = e.Type
			if e.Attrs.Name != "" {
				row.Name = e.Attrs.Name
			}
			st.Detail = stepDetail(e)
			if ue, ok := audit.UsageEventOf(rec); ok && e.Actor == actor {
				perHost[r.Host] = append(perHost[r.Host], ue)
			}
		}
		row.Steps = append(row.Steps, st)
		if len(row.Hosts) == 0 || !contains(row.Hosts, r.Host) {
			row.Hosts = append(row.Hosts, r.Host)
		}
		return nil
	})
	if err != nil {
		return row, err
	}
	if row.Type != "container" || len(perHost) == 0 {
		return row, nil
	}
	var inputs []audit.UsageInput
	hs, err := s.st.Hosts(ctx)
	if err != nil {
		return row, err
	}
	st := s.status.Load()
	for _, h := range hs {
		evs := perHost[h.Host]
		if len(evs) == 0 {
			continue
		}
		sort.Slice(evs, func(i, j int) bool { return evs[i].Seq < evs[j].Seq })
		in := audit.UsageInput{Host: h.Host, LastTime: h.LastTime, Events: evs}
		if in.FirstTime, err = s.timeOf(ctx, h.Host, h.FirstSeq); err != nil {
			return row, err
		}
		gaps, err := s.gaps(ctx, h.Host)
		if err != nil {
			return row, err
		}
		for _, g := range gaps {
			in.Gaps = append(in.Gaps, audit.TimeRange{From: g.From, To: g.To})
		}
		if st != nil {
			for _, p := range st.Problems[h.Host] {
				a, _ := s.timeOf(ctx, h.Host, p.From-1)
				b, _ := s.timeOf(ctx, h.Host, p.To+1)
				if b == 0 {
					b = maxTime
				}
				in.Holes = append(in.Holes, audit.TimeRange{From: a, To: b})
			}
		}
		inputs = append(inputs, in)
	}
	_, ivs, err := audit.UsageOf(inputs, audit.UsageOptions{From: 0, To: maxTime})
	if err != nil {
		return row, err
	}
	row.Intervals = ivs
	return row, nil
}

const maxTime = int64(^uint64(0) >> 1)

// stepDetail says what a step changed, in a few words.
func stepDetail(e *record.Event) string {
	a := e.Attrs
	var parts []string
	if a.ReplicasOld != "" || a.ReplicasNew != "" {
		parts = append(parts, "replicas "+a.ReplicasOld+"→"+a.ReplicasNew)
	}
	if a.ExitCode != "" {
		parts = append(parts, "exit "+a.ExitCode)
	}
	if a.OldName != "" {
		parts = append(parts, "was "+a.OldName)
	}
	return strings.Join(parts, ", ")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
