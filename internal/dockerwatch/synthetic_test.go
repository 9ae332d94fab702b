package dockerwatch

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/e2l-project/e2l/internal/record"
)

func TestParseSynthetic(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  string
		wantRate  float64
		wantCount int64
		wantErr   bool
	}{
		{name: "a rate alone is an unbounded source", endpoint: "synthetic://?rate=2000", wantRate: 2000},
		{name: "a count bounds the events", endpoint: "synthetic://?rate=10.5&count=7", wantRate: 10.5, wantCount: 7},
		{name: "no rate is refused", endpoint: "synthetic://", wantErr: true},
		{name: "a zero rate is refused", endpoint: "synthetic://?rate=0", wantErr: true},
		{name: "a negative count is refused", endpoint: "synthetic://?rate=1&count=-1", wantErr: true},
		{name: "another scheme is refused", endpoint: "unix:///var/run/docker.sock", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSynthetic(tt.endpoint)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSynthetic(%q) = nil error, want one", tt.endpoint)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.rate != tt.wantRate || s.count != tt.wantCount {
				t.Errorf("rate %v count %d, want %v %d", s.rate, s.count, tt.wantRate, tt.wantCount)
			}
		})
	}
}

func TestSyntheticReplaysNothing(t *testing.T) {
	s, err := ParseSynthetic("synthetic://?rate=1000")
	if err != nil {
		t.Fatal(err)
	}
	msgs, errs := s.Events(t.Context(), events.ListOptions{Since: "1.0", Until: "2.0"})
	select {
	case m := <-msgs:
		t.Fatalf("replay carried %v", m)
	case err := <-errs:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("replay ended with %v, want EOF", err)
		}
	}
}

func TestTheWatcherRecordsEverySyntheticEventInOrder(t *testing.T) {
	const count = 400
	s, err := ParseSynthetic("synthetic://?rate=20000&count=400")
	if err != nil {
		t.Fatal(err)
	}
	sink := newMemSink(t)
	w, err := New(s, sink, Config{Logger: zap.NewNop(), Registerer: prometheus.NewRegistry(), Host: "bench", Version: "test", HeartbeatInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	eventually(t, sink, "every synthetic event is stored", func() bool { return len(sink.ofKind(record.KindEvent)) == count })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	evs := sink.ofKind(record.KindEvent)
	for i := 1; i < len(evs); i++ {
		if evs[i].Time <= evs[i-1].Time {
			t.Fatalf("event %d time %d is not after %d", i, evs[i].Time, evs[i-1].Time)
		}
	}
	if got := []string{evs[0].Event.Action, evs[1].Event.Action, evs[2].Event.Action, evs[3].Event.Action}; got[0] != "create" || got[3] != "destroy" {
		t.Errorf("first actions %v, want create, start, die, destroy", got)
	}
	if len(sink.ofKind(record.KindGap)) != 0 {
		t.Errorf("gaps %v, want none", sink.ofKind(record.KindGap))
	}
	if got := s.Emitted(); got != count {
		t.Errorf("Emitted() = %d, want %d", got, count)
	}
}
