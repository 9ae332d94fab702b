package webview

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// period is the stretch of time a page covers: from and to parameters
// (as e2l usage's --from and --to), by default the last DefaultPeriod.
type period struct {
	From, To         int64
	FromArg, ToArg   string // as given, for links
	FromText, ToText string
}

func (s *Server) period(r *http.Request) (period, error) {
	now := s.now()
	p := period{FromArg: r.URL.Query().Get("from"), ToArg: r.URL.Query().Get("to")}
	var err error
	p.From, p.To = now.Add(-s.opt.DefaultPeriod).UnixNano(), now.UnixNano()
	if p.FromArg != "" {
		if p.From, err = usagereport.ParseTime(p.FromArg, now); err != nil {
			return p, badRequest("from: %v", err)
		}
	}
	if p.ToArg != "" {
		if p.To, err = usagereport.ParseTime(p.ToArg, now); err != nil {
			return p, badRequest("to: %v", err)
		}
	}
	if p.To <= p.From {
		return p, badRequest("the period ends (%s) before it starts (%s)", fmtTimeNS(p.To), fmtTimeNS(p.From))
	}
	p.FromText, p.ToText = fmtTimeNS(p.From), fmtTimeNS(p.To)
	return p, nil
}

// HostRow is one host of the hosts page.
type HostRow struct {
	index.HostSummary
	// RegistryEntry is the host registry's entry as written (JSON).
	RegistryEntry  json.RawMessage `json:"registryEntry,omitempty"`
	HeartbeatAge   string
	Stale          bool
	Problems       []index.ChainProblem
	Findings       map[string]int
	Checked        bool // the status covers the index as it stands
	Coverage       Coverage
	CoveredPct     string
	Verification   string // ok, or what is wrong
	VerificationOK bool
}

// HostsPage is every host with its coverage over a period.
type HostsPage struct {
	Period period
	Hosts  []HostRow
}

func (HostsPage) PageTitle() string { return "Hosts" }

func (s *Server) hostsPage(r *http.Request) (any, error) {
	p, err := s.period(r)
	if err != nil {
		return nil, err
	}
	hs, err := s.st.Hosts(r.Context())
	if err != nil {
		return nil, err
	}
	page := HostsPage{Period: p}
	for _, h := range hs {
		row, err := s.hostRow(r.Context(), h, p)
		if err != nil {
			return nil, err
		}
		page.Hosts = append(page.Hosts, row)
	}
	return page, nil
}

func (s *Server) hostRow(ctx context.Context, h index.HostSummary, p period) (HostRow, error) {
	row := HostRow{HostSummary: h, RegistryEntry: json.RawMessage(h.Entry)}
	row.HostSummary.Entry = nil
	st := s.status.Load()
	if st != nil {
		row.Problems, row.Findings, row.Checked = st.Problems[h.Host], st.Findings[h.Host], true
	}
	cov, err := s.coverage(ctx, h, p.From, p.To, row.Problems)
	if err != nil {
		return row, err
	}
	row.Coverage = cov
	row.CoveredPct = fmt.Sprintf("%.1f", 100*float64(cov.Totals[SegRecorded])/float64(max(cov.Width(), 1)))
	if h.LastHeartbeat != nil {
		age := s.now().Sub(time.Unix(0, h.LastHeartbeat.Time))
		row.HeartbeatAge = fmtDur(age.Round(time.Second))
		row.Stale = age > time.Duration(float64(cov.Heartbeat)*s.opt.HeartbeatFactor)
	}
	var bad []string
	if n := len(row.Problems); n > 0 {
		bad = append(bad, fmt.Sprintf("%d chain problems", n))
	}
	if n := row.Findings["error"]; n > 0 {
		bad = append(bad, fmt.Sprintf("%d errors", n))
	}
	if n := row.Findings["warning"]; n > 0 {
		bad = append(bad, fmt.Sprintf("%d warnings", n))
	}
	switch {
	case !row.Checked:
		row.Verification = "chains not checked yet"
	case len(bad) == 0:
		row.Verification, row.VerificationOK = "verified", true
	default:
		row.Verification = strings.Join(bad, ", ")
	}
	return row, nil
}

// HostPage is one host: its chain over time, coverage, gaps, findings
// and the certificates that signed it.
type HostPage struct {
	Period   period
	Host     HostRow
	Activity []index.Bucket
	MaxCount int64
	Width    int64 // of an activity stretch, ns
	Gaps     []Segment
	Findings []index.Finding
	Certs    []index.CertUse
}

func (p HostPage) PageTitle() string { return "Host " + p.Host.Host }

// activityBars is how many stretches the host page's chart has.
const activityBars = 96

func (s *Server) hostPage(r *http.Request) (any, error) {
	ctx := r.Context()
	p, err := s.period(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("host")
	hs, err := s.st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	var h *index.HostSummary
	for i := range hs {
		if hs[i].Host == name {
			h = &hs[i]
		}
	}
	if h == nil {
		return nil, fmt.Errorf("host %q: %w", name, errNotFound)
	}
	page := HostPage{Period: p}
	if page.Host, err = s.hostRow(ctx, *h, p); err != nil {
		return nil, err
	}
	page.Width = max((p.To-p.From+activityBars-1)/activityBars, 1)
	if page.Activity, err = s.st.Activity(ctx, name, p.From, p.To, page.Width); err != nil {
		return nil, err
	}
	for _, b := range page.Activity {
		page.MaxCount = max(page.MaxCount, b.Records)
	}
	for _, sg := range page.Host.Coverage.Segments {
		if sg.Kind == SegGap || sg.Kind == SegHole || sg.Kind == SegSilence {
			page.Gaps = append(page.Gaps, sg)
		}
	}
	if page.Findings, err = s.st.HostFindings(ctx, name, 200); err != nil {
		return nil, err
	}
	if page.Certs, err = s.events.certificates(ctx, s.st, *h); err != nil {
		return nil, err
	}
	return page, nil
}
