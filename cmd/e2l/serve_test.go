package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/webview"
)

func TestServeRefusesPlainHTTPBeyondLoopbackAndHalfATLSSetup(t *testing.T) {
	tests := []struct {
		name string
		f    serveFlags
		want string // "" for accepted
	}{
		{"plain HTTP on loopback", serveFlags{listen: "127.0.0.1:8080"}, ""},
		{"plain HTTP on localhost", serveFlags{listen: "localhost:8080"}, ""},
		{"plain HTTP on IPv6 loopback", serveFlags{listen: "[::1]:8080"}, ""},
		{"plain HTTP on every address", serveFlags{listen: ":8080"}, "plain HTTP on :8080"},
		{"plain HTTP on a public address", serveFlags{listen: "192.0.2.1:8080"}, "plain HTTP"},
		{"TLS on every address", serveFlags{listen: ":8443", tls: webview.TLSFiles{Cert: "c", Key: "k"}}, ""},
		{"a certificate without its key", serveFlags{listen: ":8443", tls: webview.TLSFiles{Cert: "c"}}, "go together"},
		{"client certificates without TLS", serveFlags{listen: "127.0.0.1:8080", tls: webview.TLSFiles{ClientCA: "ca"}}, "needs TLS"},
		{"an address without a port", serveFlags{listen: "localhost"}, "--listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.check()
			if tt.want == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var ue usageError
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ue) {
				t.Errorf("got %v, want a usage error with %q", err, tt.want)
			}
		})
	}
}
