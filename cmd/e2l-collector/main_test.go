package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/promtext"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/spool"
	"github.com/e2l-project/e2l/internal/testkit/testpki"
)

// writeIdentity writes a self-signed certificate with the Fabric CA
// attribute extension for host, its key, and returns their paths.
func writeIdentity(t *testing.T, dir, host string) (cert, key string) {
	t.Helper()
	c := testpki.New(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		DNSNames:        []string{"localhost"},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}, Value: []byte(`{"attrs":{"e2l.host":"` + host + `","e2l.role":"collector"}}`)}},
	}, nil)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c.Write(t, cert, key)
	return cert, key
}

// quietEngine is a Docker Engine with no containers and no events.
func quietEngine(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Api-Version", "1.41") })
	mux.HandleFunc("/v1.41/info", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"ID": "D"})
	})
	mux.HandleFunc("/v1.41/containers/json", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("[]")) })
	mux.HandleFunc("/v1.41/events", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		if r.URL.Query().Get("until") != "" {
			return
		}
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return "tcp://" + strings.TrimPrefix(srv.URL, "http://")
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func baseEnv(t *testing.T, certHost string) (map[string]string, string) {
	dir := t.TempDir()
	cert, key := writeIdentity(t, dir, certHost)
	listen := freePort(t)
	return map[string]string{
		"E2L_HOST": "node1", "E2L_MSP_ID": "ProviderMSP", "E2L_CERT": cert, "E2L_KEY": key,
		"E2L_PEER_ENDPOINTS": freePort(t), "E2L_PEER_TLS_CA": cert, "E2L_SPOOL_DIR": filepath.Join(dir, "spool"),
		"E2L_LISTEN": listen, "E2L_DRAIN_TIMEOUT": "200ms", "E2L_DOCKER_HOST": quietEngine(t),
	}, listen
}

func TestRunRefusesAConfigurationErrorWithExitCode2(t *testing.T) {
	var stderr syncBuffer
	code := run(t.Context(), nil, func(string) string { return "" }, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "host (E2L_HOST) is required") {
		t.Errorf("code %d, stderr %s", code, stderr.String())
	}
}

func TestRunRefusesACertificateOfAnotherHost(t *testing.T) {
	env, _ := baseEnv(t, "node2")
	var stderr syncBuffer
	code := run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `is for e2l.host \"node2\", not for this host \"node1\"`) {
		t.Errorf("code %d, stderr %s", code, stderr.String())
	}
}

func TestRunServesHealthAndStopsCleanlyWithAStopRecord(t *testing.T) {
	env, listen := baseEnv(t, "node1")
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr) }()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "no ledger commit yet") && !strings.Contains(body, "stream is down") {
			break // the stream is up; no peer to commit to
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz: %d %s\nlogs:\n%s", code, body, stderr.String())
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case c := <-done:
			t.Fatalf("run returned %d early:\n%s", c, stderr.String())
		}
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz = %d", code)
	}
	var probeOut syncBuffer
	if code := run(t.Context(), []string{"healthcheck"}, func(k string) string { return env[k] }, io.Discard, &probeOut); code != 0 {
		t.Errorf("healthcheck of a running collector = %d: %s", code, probeOut.String())
	}
	code, body := get("/metrics")
	m, err := promtext.Parse(strings.NewReader(body))
	if err != nil || code != http.StatusOK {
		t.Fatalf("metrics = %d, %v\n%s", code, err, body)
	}
	_, goroutines := m.Get("go_goroutines")
	_, expiry := m.Get("e2l_collector_identity_cert_expiry_timestamp_seconds")
	if up, _ := m.Get("e2l_collector_docker_stream_up"); up != 1 || !goroutines || !expiry {
		t.Errorf("metrics:\n%s", body)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if code := run(t.Context(), []string{"healthcheck"}, func(k string) string { return env[k] }, io.Discard, &probeOut); code != 1 ||
		!strings.Contains(probeOut.String(), "healthcheck: probe") {
		t.Errorf("healthcheck of a stopped collector = %d: %s", code, probeOut.String())
	}
	sp, err := spool.Open(filepath.Join(env["E2L_SPOOL_DIR"], "spool.db"), spool.Options{Host: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	recs, err := sp.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, string(r.Record.Kind))
	}
	if len(recs) < 3 || recs[0].Record.Kind != record.KindStart || recs[len(recs)-1].Record.Kind != record.KindStop {
		t.Errorf("spooled kinds = %v, want start ... stop", kinds)
	}
}

func TestRunWithASyntheticDockerSourceSpoolsItsEvents(t *testing.T) {
	env, listen := baseEnv(t, "node1")
	env["E2L_DOCKER_HOST"] = "synthetic://?rate=5000&count=200"
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr) }()
	spooled := func() bool {
		resp, err := http.Get("http://" + listen + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		m, err := promtext.Parse(resp.Body)
		if err != nil {
			return false
		}
		n, _ := m.Get("e2l_collector_spool_appended_records_total", "kind", "event")
		return n == 200
	}
	deadline := time.Now().Add(10 * time.Second)
	for !spooled() {
		if time.Now().After(deadline) {
			t.Fatalf("the synthetic events were not spooled:\n%s", stderr.String())
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case c := <-done:
			t.Fatalf("run returned %d early:\n%s", c, stderr.String())
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr.String())
	}
	sp, err := spool.Open(filepath.Join(env["E2L_SPOOL_DIR"], "spool.db"), spool.Options{Host: "node1"})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	recs, err := sp.Pending(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, r := range recs {
		if r.Record.Kind == record.KindEvent {
			events++
		}
	}
	if events != 200 {
		t.Errorf("spooled %d events, want 200", events)
	}
}
