package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	}))
	defer healthy.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"status":"Service Unavailable","failed_checks":[{"component":"docker"}]}`, http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	closedLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedLn.Addr().String()
	_ = closedLn.Close()
	defer ln.Close()

	for _, tc := range []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{name: "an operations endpoint answering 200 is healthy", args: []string{healthy.URL + "/healthz"}, want: exitHealthy},
		{name: "an operations endpoint answering 503 is unhealthy and its failed checks are printed", args: []string{failing.URL + "/healthz"},
			want: exitUnhealthy, wantErr: "503 Service Unavailable"},
		{name: "a port that accepts connections is healthy", args: []string{"tcp", open}, want: exitHealthy},
		{name: "a port nobody listens on is unhealthy", args: []string{"tcp", closed}, want: exitUnhealthy, wantErr: "refused"},
		{name: "an endpoint that does not answer is unhealthy", args: []string{"http://" + closed + "/healthz"}, want: exitUnhealthy},
		{name: "an https URL is a usage error (operations endpoints of the images are plain http)", args: []string{"https://127.0.0.1:9443/healthz"},
			want: exitUsage, wantErr: "want an http:// URL"},
		{name: "no target is a usage error", args: nil, want: exitUsage},
		{name: "an unknown flag is a usage error", args: []string{"--bogus"}, want: exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := run(t.Context(), tc.args, &out, &errb); got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, errb.String())
			}
			if !strings.Contains(errb.String(), tc.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errb.String(), tc.wantErr)
			}
		})
	}
}
