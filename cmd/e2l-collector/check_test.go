package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestCheckExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		certHost string
		env      map[string]string
		code     int
		want     []string
	}{
		{name: "a configuration error is one FAIL line and exit 2", args: []string{"check"}, env: map[string]string{"E2L_HOST": ""}, code: 2,
			want: []string{"FAIL configuration: host (E2L_HOST) is required"}},
		{name: "a certificate of another host fails with exit 1", args: []string{"check"}, certHost: "node2", code: 1,
			want: []string{`FAIL certificate host: the certificate is for e2l.host "node2", this host is "node1"`, "e2l-collector check: FAILED: the collector cannot work as configured"}},
		{name: "the gate stops for a certificate of another host", args: []string{"check", "--gate"}, certHost: "node2", code: 1},
		{name: "an unreachable peer fails the check", args: []string{"check"}, certHost: "node1", code: 1,
			want: []string{"ok   certificate host: e2l.host=node1", "ok   docker:", "unreachable", "e2l-collector check: FAILED"}},
		{name: "an unreachable peer does not stop the gate", args: []string{"check", "--gate"}, certHost: "node1", code: 0,
			want: []string{"failures above do not stop the start"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.certHost
			if host == "" {
				host = "node1"
			}
			env, _ := baseEnv(t, host)
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout syncBuffer
			code := run(t.Context(), tc.args, func(k string) string { return env[k] }, &stdout, io.Discard)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, stdout.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output has no %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

// The daemon's --preflight logs every check and refuses to start on a
// failure that blocks.
func TestThePreflightSwitchStopsTheDaemonOnABlockingFailure(t *testing.T) {
	env, _ := baseEnv(t, "node2")
	env["E2L_PREFLIGHT"] = "true"
	var stderr syncBuffer
	code := run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard, &stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, w := range []string{`"msg":"preflight check failed","check":"certificate host","status":"FAIL"`,
		"refusing to start: a preflight check failed that waiting cannot fix"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("log has no %q:\n%s", w, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "collector starting") {
		t.Error("the collector started after a blocking preflight failure")
	}
}

// With only failures that do not block (the peers are unreachable), the
// daemon starts after its preflight.
func TestThePreflightSwitchLetsTheDaemonStartWhenPeersAreDown(t *testing.T) {
	env, _ := baseEnv(t, "node1")
	env["E2L_PREFLIGHT"] = "true"
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "collector starting") {
		select {
		case code := <-done:
			t.Fatalf("the collector exited %d before starting:\n%s", code, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not started after 20s:\n%s", stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"preflight check","check":"peer `) {
		t.Errorf("the unreachable peer was not logged as a preflight check:\n%s", stderr.String())
	}
	cancel()
	<-done
}
