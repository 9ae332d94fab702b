package preflight

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// dateServer answers with a Date header of its clock, delay after the request.
type dateServer struct {
	clock func() time.Time
	date  string // overrides the header when set
	err   error
}

func (s dateServer) Do(*http.Request) (*http.Response, error) {
	if s.err != nil {
		return nil, s.err
	}
	h := http.Header{}
	if s.date != "" {
		h.Set("Date", s.date)
	} else {
		h.Set("Date", s.clock().UTC().Format(http.TimeFormat))
	}
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

func TestClockCheck(t *testing.T) {
	base := time.Date(2026, 12, 2, 10, 0, 0, 300e6, time.UTC)
	// Each call of the local clock advances it by 50 ms (the round trip).
	local := func() func() time.Time {
		t := base
		return func() time.Time { t = t.Add(50 * time.Millisecond); return t }
	}
	peerAt := func(offset time.Duration) func() time.Time { return func() time.Time { return base.Add(offset) } }
	tests := []struct {
		name string
		urls []string
		srv  dateServer
		want map[string]string
	}{
		{name: "no time source is a clear skip", want: map[string]string{"clock": "skip: not checked: no time source configured (E2L_CLOCK_URLS"}},
		{name: "a peer within a second passes", urls: []string{"http://peer0:9443/healthz"}, srv: dateServer{clock: peerAt(400 * time.Millisecond)},
			want: map[string]string{"clock http://peer0:9443/healthz": "ok: its clock minus this host's: about"}},
		{name: "a host 10 s behind fails", urls: []string{"http://peer0:9443/healthz"}, srv: dateServer{clock: peerAt(10 * time.Second)},
			want: map[string]string{"clock http://peer0:9443/healthz": "FAIL: this host's clock is behind by 9."}},
		{name: "a host 10 s ahead fails", urls: []string{"http://peer0:9443/healthz"}, srv: dateServer{clock: peerAt(-10 * time.Second)},
			want: map[string]string{"clock http://peer0:9443/healthz": "FAIL: this host's clock is ahead by"}},
		{name: "a skew of 2.5 s cannot be told from 1.5 s through a one-second header: no failure",
			urls: []string{"http://p/"}, srv: dateServer{clock: peerAt(2500 * time.Millisecond)}, want: map[string]string{"clock http://p/": "ok:"}},
		{name: "an unanswered request fails", urls: []string{"http://p/"}, srv: dateServer{err: errors.New("connection refused")},
			want: map[string]string{"clock http://p/": "FAIL: no answer: connection refused"}},
		{name: "an answer without a Date header fails", urls: []string{"http://p/"}, srv: dateServer{date: "yesterday"},
			want: map[string]string{"clock http://p/": `FAIL: no usable Date header ("yesterday")`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Clock(t.Context(), tc.srv, tc.urls, local(), MaxClockSkew)
			requireResults(t, res, tc.want)
			for _, r := range res {
				if r.Blocks {
					t.Errorf("%s blocks the start", r)
				}
			}
		})
	}
}
