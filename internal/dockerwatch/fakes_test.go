package dockerwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"

	"github.com/e2l-project/e2l/internal/record"
)

// fakeEngine is a Docker Engine API server with the daemon's event
// semantics that matter to the watcher: a 256-event buffer replayed from an
// inclusive since (scanning back and stopping at the first older event, as
// moby does), until closing the stream, live streams that can be broken,
// and raw (undecodable) items.
type fakeEngine struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	buf        []bufEntry
	subs       map[chan []byte]struct{}
	daemonID   string
	containers []container.Summary
	queries    []url.Values // /events queries, in order
	clock      int64        // next event time
}

type bufEntry struct {
	time int64
	line []byte
}

func newFakeEngine(t *testing.T) *fakeEngine {
	e := &fakeEngine{t: t, subs: map[chan []byte]struct{}{}, daemonID: "DAEMON-A", clock: 1_700_000_000_000_000_000}
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		_, _ = w.Write([]byte("OK"))
	})
	mux.HandleFunc("/v1.41/info", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		id := e.daemonID
		e.mu.Unlock()
		writeJSON(w, map[string]any{"ID": id, "Name": "fake"})
	})
	mux.HandleFunc("/v1.41/containers/json", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		writeJSON(w, e.containers)
	})
	mux.HandleFunc("/v1.41/containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"Id": r.PathValue("id"), "State": map[string]any{
			"Status": "exited", "ExitCode": 137, "StartedAt": "2026-01-02T03:04:05.000000006Z", "FinishedAt": "0001-01-01T00:00:00Z"}})
	})
	mux.HandleFunc("/v1.41/events", e.events)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		e.breakStreams()
		e.srv.Close()
	})
	return e
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func parseTS(s string) int64 {
	if s == "" {
		return 0
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	ns := int64(0)
	if frac != "" {
		frac = (frac + "000000000")[:9]
		ns, _ = strconv.ParseInt(frac, 10, 64)
	}
	return n*1e9 + ns
}

func (e *fakeEngine) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, until := parseTS(q.Get("since")), parseTS(q.Get("until"))
	e.mu.Lock()
	e.queries = append(e.queries, q)
	var replay [][]byte
	if since > 0 || until > 0 {
		for i := len(e.buf) - 1; i >= 0; i-- {
			b := e.buf[i]
			if b.time < since {
				break
			}
			if until > 0 && b.time > until {
				continue
			}
			replay = append([][]byte{b.line}, replay...)
		}
	}
	var sub chan []byte
	if until == 0 {
		sub = make(chan []byte, 1024)
		e.subs[sub] = struct{}{}
	}
	e.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	for _, line := range replay {
		_, _ = w.Write(line)
	}
	fl.Flush()
	if sub == nil {
		return
	}
	defer func() {
		e.mu.Lock()
		delete(e.subs, sub)
		e.mu.Unlock()
	}()
	for {
		select {
		case line, ok := <-sub:
			if !ok {
				return
			}
			_, _ = w.Write(line)
			fl.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// publish adds an event (time assigned if zero) to the buffer and the live
// streams, and returns it.
func (e *fakeEngine) publish(m events.Message) events.Message { return e.emit(m, true) }

// publishUndelivered adds an event to the daemon's buffer without sending
// it on the live streams: emitted, not yet delivered when a stream stops.
func (e *fakeEngine) publishUndelivered(m events.Message) { e.emit(m, false) }

func (e *fakeEngine) emit(m events.Message, deliver bool) events.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m.TimeNano == 0 {
		e.clock += 1000
		m.TimeNano = e.clock
	}
	m.Time = m.TimeNano / 1e9
	line, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	line = append(line, '\n')
	if deliver {
		e.add(m.TimeNano, line)
	} else {
		e.buf = append(e.buf, bufEntry{time: m.TimeNano, line: line})
	}
	return m
}

// publishRaw adds an undecodable item; inBuffer says whether a replay
// repeats it.
func (e *fakeEngine) publishRaw(raw string, inBuffer bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock += 1000
	line := []byte(raw + "\n")
	if inBuffer {
		e.add(e.clock, line)
		return
	}
	for s := range e.subs {
		s <- line
	}
}

func (e *fakeEngine) add(t int64, line []byte) {
	e.buf = append(e.buf, bufEntry{time: t, line: line})
	if len(e.buf) > replayBuffer {
		e.buf = e.buf[len(e.buf)-replayBuffer:]
	}
	for s := range e.subs {
		s <- line
	}
}

// breakStreams ends every live stream (as a daemon stopping does).
func (e *fakeEngine) breakStreams() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.subs {
		close(s)
		delete(e.subs, s)
	}
}

// restart empties the buffer and ends the live streams.
func (e *fakeEngine) restart() {
	e.mu.Lock()
	e.buf = nil
	e.mu.Unlock()
	e.breakStreams()
}

func (e *fakeEngine) subscribers() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.subs)
}

func (e *fakeEngine) eventQueries() []url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]url.Values(nil), e.queries...)
}

// client returns the real Docker client pointed at the fake engine.
func (e *fakeEngine) client(t *testing.T) *client.Client {
	c, err := client.NewClientWithOpts(client.WithHost("tcp://"+strings.TrimPrefix(e.srv.URL, "http://")),
		client.WithHTTPClient(e.srv.Client()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func containerEvent(action, id string, attrs map[string]string) events.Message {
	return events.Message{Type: events.ContainerEventType, Action: events.Action(action), Scope: "local",
		Actor: events.Actor{ID: id, Attributes: attrs}}
}

var debugAppends = false // set to log every Append while debugging a test

// memSink is an in-memory Sink with the spool's de-duplication and full
// policy.
type memSink struct {
	t       *testing.T
	mu      sync.Mutex
	appends [][]record.Record
	recs    []record.Record
	ids     map[string]bool
	meta    map[string]string
	full    bool
	dups    int           // events reported duplicate
	gate    chan struct{} // when set, Append waits for a receive
	changed chan struct{}
}

func newMemSink(t *testing.T) *memSink {
	return &memSink{t: t, ids: map[string]bool{}, meta: map[string]string{}, changed: make(chan struct{}, 1)}
}

func (s *memSink) Append(ctx context.Context, recs []record.Record) (int, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	hasEvent := false
	for _, r := range recs {
		if err := validateUnchained(r); err != nil {
			s.t.Errorf("watcher appended an invalid %s record: %v", r.Kind, err)
		}
		hasEvent = hasEvent || r.Kind == record.KindEvent
	}
	if s.full && hasEvent {
		return 0, fmt.Errorf("spool: full: %w", ErrSinkFull)
	}
	s.appends = append(s.appends, recs)
	if debugAppends {
		for _, r := range recs {
			s.t.Logf("append %s %d", r.Kind, r.Time)
		}
	}
	dups := 0
	for _, r := range recs {
		if r.Kind == record.KindEvent {
			id := r.DeriveID()
			if s.ids[id] {
				dups++
				s.dups++
				continue
			}
			s.ids[id] = true
		}
		s.recs = append(s.recs, r)
	}
	return dups, nil
}

func (s *memSink) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *memSink) LastEventTime() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t int64
	for _, r := range s.recs {
		if r.Kind == record.KindEvent {
			t = max(t, r.Time)
		}
	}
	return t
}

func (s *memSink) Meta(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta[key], nil
}

func (s *memSink) SetMeta(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta[key] = value
	return nil
}

func (s *memSink) setFull(full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.full = full
}

func (s *memSink) records() []record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record.Record(nil), s.recs...)
}

func (s *memSink) ofKind(k record.Kind) []record.Record {
	var out []record.Record
	for _, r := range s.records() {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

// eventsOf returns the stored events as "action actor" strings.
func (s *memSink) eventsOf() []string {
	var out []string
	for _, r := range s.ofKind(record.KindEvent) {
		out = append(out, r.Event.Action+" "+r.Event.Actor)
	}
	return out
}

// eventually polls cond until it holds or 10s pass; it wakes on sink
// changes and otherwise every few milliseconds. It never sleeps a fixed
// time to let something happen.
func eventually(t *testing.T, s *memSink, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting until %s", what)
		case <-s.changed:
		case <-tick.C:
		}
	}
}
