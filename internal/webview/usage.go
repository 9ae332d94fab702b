package webview

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// UsagePage is running and paused time per group over a period: what
// e2l usage prints for the same from, to and by (its CSV is usage.csv).
type UsagePage struct {
	Period    period
	By        string `json:"by"`
	Host      string `json:"host,omitempty"` // only this host's containers
	Intervals bool   `json:"intervals"`
	Header    []string
	Rows      []audit.UsageRow `json:"rows"`
	IvList    []audit.Interval `json:"intervalList,omitempty"`
	// Lines are the table's first maxLines rows (the CSV and the JSON
	// have them all).
	Lines []UsageLine `json:"-"`
	Total int         `json:"-"`
}

// UsageLine is a row of the usage table: its cells as e2l usage prints
// them and, for a group, its bar (x positions on a 0…1000 axis).
type UsageLine struct {
	Cells                   []string
	Bar                     bool
	RunEnd, UncEnd, PausEnd string
}

// maxLines bounds the rows of the usage page's table: a host of 100,000
// records has tens of thousands of containers; the CSV has every row.
const maxLines = 500

func (UsagePage) PageTitle() string { return "Usage" }

// usage computes the report as e2l usage does (usagereport), for one host
// when host is set.
func (s *Server) usage(ctx context.Context, r *http.Request) (UsagePage, error) {
	p, err := s.period(r)
	if err != nil {
		return UsagePage{}, err
	}
	q := r.URL.Query()
	page := UsagePage{Period: p, By: q.Get("by"), Host: q.Get("host"), Intervals: q.Get("intervals") != ""}
	if key := strings.TrimSpace(q.Get("label")); key != "" {
		// The form's label field: group by that label (by=label=KEY).
		page.By = "label=" + key
	}
	inputs, err := usagereport.Inputs(ctx, cachedSource{s.st, s.events}, s.problems, strings.HasPrefix(page.By, "label="), page.Host)
	if err != nil {
		return page, err
	}
	rows, ivs, err := audit.UsageOf(inputs, audit.UsageOptions{From: p.From, To: p.To, By: page.By})
	if err != nil {
		return page, badRequest("%v", err)
	}
	page.Rows, page.IvList = rows, ivs
	if page.Intervals {
		page.Header, page.Total = usagereport.IntervalsHeader, len(ivs)
		for _, iv := range ivs[:min(len(ivs), maxLines)] {
			page.Lines = append(page.Lines, UsageLine{Cells: usagereport.IntervalCells(iv, false)})
		}
		return page, nil
	}
	page.Header, page.Total = usagereport.TotalsHeader, len(rows)
	var most time.Duration
	for _, row := range rows {
		most = max(most, row.Running+row.Uncertain+row.Paused)
	}
	x := func(d time.Duration) string { return fmt.Sprintf("%.1f", 1000*d.Seconds()/max(most.Seconds(), 1e-9)) }
	for _, row := range rows[:min(len(rows), maxLines)] {
		page.Lines = append(page.Lines, UsageLine{Cells: usagereport.TotalsCells(row, false), Bar: true,
			RunEnd: x(row.Running), UncEnd: x(row.Running + row.Uncertain), PausEnd: x(row.Running + row.Uncertain + row.Paused)})
	}
	return page, nil
}

func (s *Server) usagePage(r *http.Request) (any, error) { return s.usage(r.Context(), r) }

// usageCSV is the report as CSV, byte for byte what e2l usage -o csv
// prints for the same from, to, by and intervals.
func (s *Server) usageCSV(w http.ResponseWriter, r *http.Request) {
	page, err := s.usage(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := usagereport.WriteCSV(&b, page.Rows, page.IvList, page.Intervals); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="e2l-usage.csv"`)
	_, _ = w.Write(b.Bytes())
}
