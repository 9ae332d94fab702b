package preflight

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// HTTPDoer sends an HTTP request (http.Client).
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// MaxClockSkew is the clock skew against a peer that the clock check
// accepts. A record's time is the Docker Engine's, a transaction's
// timestamp the collector's: both are this host's clock, so a skewed clock
// commits fine but misplaces the host's events against the other hosts'
// and the orgs' (usage, timelines, swarm events seen by several managers).
const MaxClockSkew = 2 * time.Second

// Clock compares this host's clock with the Date header of each URL (the
// peers' operations endpoints, E2L_CLOCK_URLS): neither the Gateway nor the
// chaincode tells the time, and a Fabric peer's operations server is plain
// HTTP(S) with a Date header. The header has a resolution of one second,
// so the skew is bounded, not measured: the check fails only when it is
// certainly beyond max. now is time.Now in production.
func Clock(ctx context.Context, doer HTTPDoer, urls []string, now func() time.Time, max time.Duration) []Result {
	if len(urls) == 0 {
		return []Result{skip("clock", "no time source configured (E2L_CLOCK_URLS: the peers' operations endpoints, whose HTTP Date header gives their time; neither the Gateway nor the chaincode tells it)")}
	}
	var out []Result
	for _, u := range urls {
		out = append(out, clockAgainst(ctx, doer, u, now, max))
	}
	return out
}

func clockAgainst(ctx context.Context, doer HTTPDoer, url string, now func() time.Time, max time.Duration) Result {
	check := "clock " + url
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return failLater(check, "bad URL: %v", err)
	}
	t0 := now()
	resp, err := doer.Do(req)
	t1 := now()
	if err != nil {
		return failLater(check, "no answer: %v", err)
	}
	_ = resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return failLater(check, "no usable Date header (%q): %v", resp.Header.Get("Date"), err)
	}
	// The server's time when it answered lies in [date, date+1s), and
	// between t0 and t1 here: its offset from this clock lies in [lo, hi].
	lo, hi := date.Sub(t1), date.Add(time.Second).Sub(t0)
	mid := (lo + hi) / 2
	switch {
	case lo > max:
		return failLater(check, "this host's clock is behind by %s to %s (more than %s): synchronise it (NTP)", round(lo), round(hi), max)
	case hi < -max:
		return failLater(check, "this host's clock is ahead by %s to %s (more than %s): synchronise it (NTP)", round(-hi), round(-lo), max)
	}
	return ok(check, "its clock minus this host's: about %s (between %s and %s; the Date header has a one-second resolution), within ±%s", fmtSkew(mid), fmtSkew(lo), fmtSkew(hi), max)
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

func fmtSkew(d time.Duration) string {
	if d >= 0 {
		return fmt.Sprintf("+%s", round(d))
	}
	return round(d).String()
}
