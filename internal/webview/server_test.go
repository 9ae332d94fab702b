package webview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/usagereport"
)

var fxPeriod = fmt.Sprintf("from=%d&to=%d", t0, sec(40))

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	return rec
}

func getJSON(t *testing.T, h http.Handler, path string, v any) {
	t.Helper()
	rec := get(t, h, path)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, rec.Body)
	}
}

func TestEveryMethodButGETAndHEADIsRefused(t *testing.T) {
	h := newTestServer(t, fixtureStore(t), Options{}).Handler()
	paths := []string{"/", "/api/hosts", "/host/vm", "/usage", "/usage.csv", "/timeline?q=web-1", "/search?q=web", "/record/abcd",
		"/record/abcd/receipt.json", "/static/style.css", "/nothing-here"}
	for _, p := range paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "PROPFIND"} {
			t.Run(m+" "+p, func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), m, p, strings.NewReader("x=1")))
				if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
					t.Errorf("%s %s: %d, Allow %q; want 405 with Allow: GET, HEAD", m, p, rec.Code, rec.Header().Get("Allow"))
				}
			})
		}
	}
	t.Run("HEAD is answered", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("HEAD /: %d", rec.Code)
		}
	})
}

var hrefRe = regexp.MustCompile(`(?:href|src)="(/[^"]*)"`)

func TestCrawlingEveryPageWritesNothing(t *testing.T) {
	st := fixtureStore(t)
	h := newTestServer(t, st, Options{}).Handler()
	snapshot := func() string {
		next, state, err := st.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		blocks, records, err := st.Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fs, err := st.Findings(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		hs, err := st.Hosts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("next %d state %q blocks %d records %d findings %d hosts %d", next, state, blocks, records, len(fs), len(hs))
	}
	before := snapshot()
	seen := map[string]bool{}
	queue := []string{"/?" + fxPeriod, "/search?q=c", "/search?q=api", "/usage?by=service&" + fxPeriod, "/usage?intervals=1&" + fxPeriod}
	for len(queue) > 0 && len(seen) < 400 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		rec := get(t, h, p)
		if rec.Code >= 500 {
			t.Errorf("GET %s: %d %s", p, rec.Code, rec.Body)
		}
		for _, m := range hrefRe.FindAllStringSubmatch(rec.Body.String(), -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			queue = append(queue, link)
			if u, err := url.Parse(link); err == nil && !strings.HasPrefix(u.Path, "/api/") && !strings.HasPrefix(u.Path, "/static/") {
				queue = append(queue, "/api"+link)
			}
		}
	}
	if len(seen) < 30 {
		t.Errorf("crawled only %d pages: %v", len(seen), seen)
	}
	if after := snapshot(); after != before {
		t.Errorf("the index changed while its pages were crawled:\nbefore %s\nafter  %s", before, after)
	}
}

func TestTheHostsPageColoursAGapByItsReason(t *testing.T) {
	h := newTestServer(t, fixtureStore(t), Options{}).Handler()
	var page HostsPage
	getJSON(t, h, "/api/hosts?"+fxPeriod, &page)
	if len(page.Hosts) != 2 || page.Hosts[1].Host != "vm" {
		t.Fatalf("hosts %+v", page.Hosts)
	}
	vm := page.Hosts[1]
	var gap *Segment
	for i, sg := range vm.Coverage.Segments {
		if sg.Kind == SegGap {
			gap = &vm.Coverage.Segments[i]
		}
	}
	if gap == nil || gap.Reason != "collector-down" || gap.From != sec(9) || gap.To != sec(29) || gap.Record == "" {
		t.Fatalf("vm's coverage %+v: want a collector-down gap from 9 s to 29 s naming its record", vm.Coverage.Segments)
	}
	// No record from 8 s to 30 s: a silence (longer than 3 × 2 s), the
	// gap's claim winning where they overlap.
	want := []string{"recorded " + fmt.Sprint(sec(0)), "silence " + fmt.Sprint(sec(8)), "gap " + fmt.Sprint(sec(9)),
		"silence " + fmt.Sprint(sec(29)), "recorded " + fmt.Sprint(sec(30))}
	var got []string
	for _, sg := range vm.Coverage.Segments {
		got = append(got, sg.Kind+" "+fmt.Sprint(sg.From))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("segments %v, want %v", got, want)
	}
	if vm.Verification != "1 warnings" || page.Hosts[0].Verification != "verified" {
		t.Errorf("verification %q and %q", vm.Verification, page.Hosts[0].Verification)
	}
	html := get(t, h, "/?"+fxPeriod).Body.String()
	if !strings.Contains(html, `data-kind="gap" data-reason="collector-down"`) || !strings.Contains(html, `href="/record/`+gap.Record+`"`) {
		t.Errorf("the hosts page has no collector-down segment linked to its record:\n%s", html)
	}
}

func TestASilenceLongerThanTheHeartbeatFactorIsShown(t *testing.T) {
	// node2's last record is at 12 s; at 40 s it has been silent 28 s,
	// more than 3 × 2 s.
	h := newTestServer(t, fixtureStore(t), Options{}).Handler()
	var page HostPage
	getJSON(t, h, "/api/host/node2?"+fxPeriod, &page)
	segs := page.Host.Coverage.Segments
	last := segs[len(segs)-1]
	if last.Kind != SegSilence || last.From != sec(12) || last.To != sec(40) || !page.Host.Stale {
		t.Errorf("node2's coverage ends %+v (stale %t), want a silence from 12 s to 40 s", last, page.Host.Stale)
	}
	if len(page.Certs) != 1 || page.Certs[0].Records != 7 || len(page.Activity) == 0 {
		t.Errorf("certificates %+v, activity %d stretches", page.Certs, len(page.Activity))
	}
	if rec := get(t, h, "/host/nobody"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown host: %d", rec.Code)
	}
}

func TestTheTimelineShowsTheContainersPause(t *testing.T) {
	h := newTestServer(t, fixtureStore(t), Options{}).Handler()
	var page TimelinePage
	getJSON(t, h, "/api/timeline?q=web-1", &page)
	if len(page.Rows) != 1 || page.Rows[0].Actor != c1 {
		t.Fatalf("rows %+v", page.Rows)
	}
	var got []string
	for _, iv := range page.Rows[0].Intervals {
		got = append(got, fmt.Sprintf("%s %d-%d %t", iv.State, (iv.From-t0)/1e9, (iv.To-t0)/1e9, iv.Uncertain))
	}
	if want := "running 4-5 false,paused 5-6 false,running 6-8 false"; strings.Join(got, ",") != want {
		t.Errorf("intervals %v, want %s", got, want)
	}
	if n := len(page.Rows[0].Steps); n != 5 {
		t.Errorf("%d steps, want 5", n)
	}
	html := get(t, h, "/timeline?q=web-1").Body.String()
	if !strings.Contains(html, `data-state="paused"`) || !strings.Contains(html, `href="/record/`+page.Rows[0].Steps[2].Record) {
		t.Errorf("the Gantt has no paused interval or no link to the pause's record")
	}
	t.Run("a service comes with its task, its scale step described", func(t *testing.T) {
		var page TimelinePage
		getJSON(t, h, "/api/timeline?q=api", &page)
		if len(page.Rows) != 2 || page.Rows[0].Type != "service" || !page.Rows[1].Task || page.Rows[1].Actor != c2 {
			t.Fatalf("rows %+v", page.Rows)
		}
		if d := page.Rows[0].Steps[1].Detail; d != "replicas 1→2" {
			t.Errorf("the scale step says %q", d)
		}
		ivs := page.Rows[1].Intervals
		if len(ivs) != 2 || ivs[1].Reason != "still running at the host's last record" || !ivs[1].Uncertain {
			t.Errorf("the task's intervals %+v", ivs)
		}
	})
}

func TestTheUsageCSVIsTheReportsCSV(t *testing.T) {
	st := fixtureStore(t)
	h := newTestServer(t, st, Options{}).Handler()
	for _, q := range []string{"", "by=service&", "by=host&", "intervals=1&", "host=vm&", "by=label=com.example.team&"} {
		t.Run(q, func(t *testing.T) {
			rec := get(t, h, "/usage.csv?"+q+fxPeriod)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			// What e2l usage computes for the same flags.
			vals, _ := url.ParseQuery(q)
			problems, err := st.ChainProblems(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			inputs, err := usagereport.Inputs(t.Context(), st, usagereport.Known(problems), strings.HasPrefix(vals.Get("by"), "label="), vals.Get("host"))
			if err != nil {
				t.Fatal(err)
			}
			rows, ivs, err := audit.UsageOf(inputs, audit.UsageOptions{From: t0, To: sec(40), By: vals.Get("by")})
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := usagereport.WriteCSV(&want, rows, ivs, vals.Get("intervals") != ""); err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != want.String() {
				t.Errorf("CSV:\n%s\nwant:\n%s", rec.Body, want.String())
			}
			if strings.Count(want.String(), "\n") < 2 {
				t.Errorf("the report is empty:\n%s", want.String())
			}
		})
	}
	t.Run("the form's label field groups by that label", func(t *testing.T) {
		a := get(t, h, "/usage.csv?label=com.example.team&"+fxPeriod).Body.String()
		b := get(t, h, "/usage.csv?by=label=com.example.team&"+fxPeriod).Body.String()
		if a != b || !strings.Contains(a, "(none)") {
			t.Errorf("label=KEY:\n%s\nby=label=KEY:\n%s", a, b)
		}
	})
	t.Run("web-1 ran 3 s and was paused 1 s", func(t *testing.T) {
		body := get(t, h, "/usage.csv?host=vm&"+fxPeriod).Body.String()
		if !strings.Contains(body, "web-1 (c10000000000),1,3.000,0.000,1.000,0.000,2") {
			t.Errorf("CSV:\n%s", body)
		}
	})
}

func TestTheRecordPage(t *testing.T) {
	st := fixtureStore(t)
	h := newTestServer(t, st, Options{}).Handler()
	var tl TimelinePage
	getJSON(t, h, "/api/timeline?q=web-1", &tl)
	id := tl.Rows[0].Steps[2].Record
	var page RecordPage
	getJSON(t, h, "/api/record/"+id[:10], &page)
	if page.Record.ID != id || page.Record.Action != "pause" || page.Sealed != "" || page.Block == nil || page.Block.Number != 2 {
		t.Errorf("record page %+v", page)
	}
	if page.Receipts || !strings.Contains(page.LedgerNote, "no connection to the ledger") {
		t.Errorf("without a ledger: receipts %t, note %q", page.Receipts, page.LedgerNote)
	}
	for path, code := range map[string]int{"/record/ffffffff": 404, "/record/xyz": 400, "/record/" + id + "/receipt.json": 404} {
		if rec := get(t, h, path); rec.Code != code {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, code)
		}
	}
}

func TestSearchFindsContainersServicesHostsAndRecords(t *testing.T) {
	h := newTestServer(t, fixtureStore(t), Options{}).Handler()
	var page SearchPage
	getJSON(t, h, "/api/search?q=api", &page)
	var got []string
	for _, m := range page.Actors {
		got = append(got, m.Type+" "+m.Name+" "+m.Host)
	}
	if strings.Join(got, ",") != "service api node2,container api.1 node2" {
		t.Errorf("matches %v", got)
	}
	getJSON(t, h, "/api/search?q=node", &page)
	if len(page.Hosts) != 1 || page.Hosts[0] != "node2" {
		t.Errorf("hosts %v", page.Hosts)
	}
	getJSON(t, h, "/api/search?host=vm&from="+fmt.Sprint(sec(7))+"&to="+fmt.Sprint(sec(9)), &page)
	if len(page.Actors) != 1 || page.Actors[0].Events != 1 {
		t.Errorf("vm's events from 7 s to 9 s: %+v", page.Actors)
	}
	body := get(t, h, "/search?q=web").Body.String()
	if !strings.Contains(body, `href="/timeline?q=`+c1+`"`) {
		t.Errorf("the search page does not link web-1's timeline")
	}
	if rec := get(t, h, "/api/search?from=soon"); rec.Code != http.StatusBadRequest {
		b, _ := io.ReadAll(rec.Body)
		t.Errorf("a bad time: %d %s", rec.Code, b)
	}
}

func TestMeasurePagesRendersBothPages(t *testing.T) {
	st := fixtureStore(t)
	pt, err := MeasurePages(t.Context(), st, "vm")
	if err != nil || pt.Records != 12 || pt.Host <= 0 || pt.Usage <= 0 || pt.Status <= 0 {
		t.Errorf("MeasurePages = %+v, %v", pt, err)
	}
	if _, err := MeasurePages(t.Context(), st, "nobody"); err == nil {
		t.Error("a host without records was measured")
	}
}
