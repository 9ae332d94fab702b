package httpserver

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestRunStopsCleanlyWithAConnectionThatSentNoRequest(t *testing.T) {
	// A client connection accepted but without a request yet (as an HTTP
	// client's spare connection, or a scraper mid-connect) keeps
	// http.Server.Shutdown waiting; that must not make Run fail.
	s, err := Listen("127.0.0.1:0", http.NotFoundHandler(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	s.shutdownTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	conn, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Make sure the server accepted it before stopping.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+s.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
