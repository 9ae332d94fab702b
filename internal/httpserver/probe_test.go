package httpserver

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

var errNotReady = errors.New("no ledger commit yet")

func TestProbe(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewHandler(reg, reg, func() error { return errNotReady })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	t.Run("a healthy collector on a wildcard address passes", func(t *testing.T) {
		if err := Probe(t.Context(), http.DefaultClient, ":"+port, "/healthz"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a collector that is not ready fails with its reason", func(t *testing.T) {
		err := Probe(t.Context(), http.DefaultClient, "127.0.0.1:"+port, "/readyz")
		if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), errNotReady.Error()) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a bad listen address is refused", func(t *testing.T) {
		if err := Probe(t.Context(), http.DefaultClient, "nonsense", "/healthz"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("nothing listening fails", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		_ = ln.Close()
		if err := Probe(t.Context(), http.DefaultClient, addr, "/healthz"); err == nil {
			t.Fatal("no error")
		}
	})
}
