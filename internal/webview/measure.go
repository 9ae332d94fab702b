package webview

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"
)

// PageTimes are the server times MeasurePages measured.
type PageTimes struct {
	Host, Usage time.Duration // the slowest of the runs of each page
	Status      time.Duration // checking every chain (done in the background by Run)
	Records     int64         // the host's records
}

// MeasurePages renders the host page and the usage page of host's
// containers over the period its chain spans, through the view's handler
// (the server's time: no network, no browser), three times each after the
// chains were checked once (as Run does in the background), and returns
// the slowest run of each. make bench calls it on its 100,000-record
// index.
func MeasurePages(ctx context.Context, st Store, host string) (PageTimes, error) {
	s, err := New(Options{Store: st})
	if err != nil {
		return PageTimes{}, err
	}
	var pt PageTimes
	status, err := s.CheckStatus(ctx)
	if err != nil {
		return pt, err
	}
	pt.Status = status.Took
	hs, err := st.Hosts(ctx)
	if err != nil {
		return pt, err
	}
	var first, last int64
	for _, h := range hs {
		if h.Host == host {
			pt.Records, last = h.Records, h.LastTime
			if first, err = s.timeOf(ctx, host, h.FirstSeq); err != nil {
				return pt, err
			}
		}
	}
	if pt.Records == 0 {
		return pt, fmt.Errorf("webview: measure: host %s has no records in the index", host)
	}
	q := url.Values{"from": {strconv.FormatInt(first, 10)}, "to": {strconv.FormatInt(last+int64(time.Second), 10)}}
	h := s.Handler()
	run := func(path string) (time.Duration, error) {
		var slowest time.Duration
		for range 3 {
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
			rec := httptest.NewRecorder()
			t0 := time.Now()
			h.ServeHTTP(rec, req)
			d := time.Since(t0)
			if rec.Code != http.StatusOK {
				return 0, fmt.Errorf("webview: measure: GET %s: %d %s", path, rec.Code, rec.Body.String())
			}
			slowest = max(slowest, d)
		}
		return slowest, nil
	}
	if pt.Host, err = run("/host/" + url.PathEscape(host) + "?" + q.Encode()); err != nil {
		return pt, err
	}
	q.Set("host", host)
	if pt.Usage, err = run("/usage?" + q.Encode()); err != nil {
		return pt, err
	}
	return pt, nil
}
