package webview

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// PageTimes are the server times MeasurePages measured.
type PageTimes struct {
	Host, Usage time.Duration // the slowest of the runs of each page (wall time)
	// HostCPU and UsageCPU are the process's CPU time during those runs
	// (user and system): what the page costs on an idle machine, where the
	// wall time also counts other processes' turns on a busy one.
	HostCPU, UsageCPU time.Duration
	// Status is what Run does in the background when the index moves:
	// checking every chain and reading the large hosts' container events.
	Status  time.Duration
	Records int64 // the host's records
}

// MeasurePages renders the host page and the usage page of host's
// containers over the period its chain spans, through the view's handler
// (the server's time: no network, no browser), three times each after the
// background work was done once (as Run does when the index moves: the
// chains checked, the large hosts' container events read), and returns
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
	run := func(path string) (wall, cpu time.Duration, err error) {
		for range 3 {
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
			rec := httptest.NewRecorder()
			c0, t0 := cpuTime(), time.Now()
			h.ServeHTTP(rec, req)
			d, c := time.Since(t0), cpuTime()-c0
			if rec.Code != http.StatusOK {
				return 0, 0, fmt.Errorf("webview: measure: GET %s: %d %s", path, rec.Code, rec.Body.String())
			}
			wall, cpu = max(wall, d), max(cpu, c)
		}
		return wall, cpu, nil
	}
	if pt.Host, pt.HostCPU, err = run("/host/" + url.PathEscape(host) + "?" + q.Encode()); err != nil {
		return pt, err
	}
	q.Set("host", host)
	if pt.Usage, pt.UsageCPU, err = run("/usage?" + q.Encode()); err != nil {
		return pt, err
	}
	return pt, nil
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
