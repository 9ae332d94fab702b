package webview

import (
	"net/http"
	"strings"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// SearchPage finds containers and services by name or ID (or their
// start), hosts by name, and records by ID prefix, optionally on one host
// and within a period.
type SearchPage struct {
	Query   string
	Host    string
	FromArg string
	ToArg   string
	Actors  []index.ActorMatch
	Hosts   []string
	Records []index.Record `json:"-"`
	Done    bool
}

func (SearchPage) PageTitle() string { return "Search" }

func (s *Server) searchPage(r *http.Request) (any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	page := SearchPage{Query: strings.TrimSpace(q.Get("q")), Host: q.Get("host"), FromArg: q.Get("from"), ToArg: q.Get("to")}
	if page.Query == "" && page.Host == "" && page.FromArg == "" && page.ToArg == "" {
		return page, nil
	}
	page.Done = true
	search := index.Search{Text: page.Query, Host: page.Host, Limit: 200}
	now := s.now()
	var err error
	if page.FromArg != "" {
		if search.Since, err = usagereport.ParseTime(page.FromArg, now); err != nil {
			return nil, badRequest("from: %v", err)
		}
	}
	if page.ToArg != "" {
		if search.Until, err = usagereport.ParseTime(page.ToArg, now); err != nil {
			return nil, badRequest("to: %v", err)
		}
	}
	if page.Actors, err = s.st.SearchActors(ctx, search); err != nil {
		return nil, err
	}
	hs, err := s.st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if page.Query != "" && strings.Contains(h.Host, page.Query) {
			page.Hosts = append(page.Hosts, h.Host)
		}
	}
	if p := strings.ToLower(page.Query); len(p) >= 4 && strings.Trim(p, "0123456789abcdef") == "" {
		if page.Records, err = s.st.RecordsByPrefix(ctx, p, 20); err != nil {
			return nil, err
		}
	}
	return page, nil
}
