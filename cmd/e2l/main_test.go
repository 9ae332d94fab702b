package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/e2l-project/e2l/internal/wire"
)

func TestConfigTakesFlagsThenEnvironmentThenEnvFile(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "collector.env")
	body := "# written by the network\nE2L_HOST=vm\nE2L_MSP_ID=ProviderMSP\nE2L_CERT=/f/cert.pem\nE2L_KEY=\"/f/key.pem\"\n" +
		"E2L_PEER_ENDPOINTS=a:1, b:2\nE2L_PEER_TLS_CA=/f/ca.pem\nE2L_CHANNEL=e2l\n"
	if err := os.WriteFile(env, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f := connFlags{envFile: env, cert: "/flag/cert.pem"}
	getenv := func(k string) string { return map[string]string{"E2L_MSP_ID": "UserMSP"}[k] }
	cfg, err := f.config(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CertFile != "/flag/cert.pem" || cfg.MSPID != "UserMSP" || cfg.KeyFile != "/f/key.pem" ||
		strings.Join(cfg.Endpoints, ",") != "a:1,b:2" || cfg.Chaincode != "e2l" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestMissingSettingsAreAUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"hosts"}, func(string) string { return "" }, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "missing MSP ID (E2L_MSP_ID)") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestBadArgumentsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"timeline"}, {"events", "--output", "xml", "--host", "h"}, {"usage"}, {"nope"}, {"hosts", "--bogus"}} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, func(string) string { return "" }, &out, &errb); code == exitOK {
			t.Fatalf("%v: exit 0", args)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"now": now, "24h": now.Add(-24 * time.Hour), "2026-01-01": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"2026-01-02T03:00:00Z": time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC), "1767323045000000000": time.Unix(0, 1767323045000000000),
	} {
		got, err := parseTime(in, now)
		if err != nil || got != want.UnixNano() {
			t.Fatalf("parseTime(%q) = %d, %v; want %d", in, got, err, want.UnixNano())
		}
	}
	if _, err := parseTime("yesterday", now); err == nil {
		t.Fatal("parseTime accepts yesterday")
	}
}

func TestArgumentsAreCheckedBeforeConnecting(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"host"}, "host: give register, release, show or list"},
		{[]string{"host", "register", "--host", "h"}, "--host and --role are required"},
		{[]string{"host", "register", "--host", "h", "--role", "boss"}, `--role "boss": want manager or worker`},
		{[]string{"host", "release", "--host", "h"}, "--host and --to are required"},
		{[]string{"trust", "--show", "--replace"}, "--show takes no other flag"},
		{[]string{"receipt", "web1", "r.json"}, `record ID "web1": want its 64 hex digits or a prefix of at least 4`},
		{[]string{"receipt", "abc", "r.json"}, "a prefix of at least 4"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(t.Context(), tt.args, func(string) string { return "" }, &out, &errb)
			if code == exitOK || (tt.want != "" && (code != exitUsage || !strings.Contains(errb.String(), tt.want))) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), exitUsage, tt.want)
			}
		})
	}
}

func TestTrustShowListsTheEntries(t *testing.T) {
	path := trustFileWith(t, "# anchors", "zeta genesis sha256:"+hashB, "e2l genesis sha256:"+hashA)
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"trust", "--show"}, func(k string) string { return map[string]string{"E2L_TRUST_FILE": path}[k] }, &out, &errb)
	want := "# " + path + "\ne2l genesis sha256:" + hashA + "\nzeta genesis sha256:" + hashB + "\n"
	if code != exitOK || out.String() != want {
		t.Fatalf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out.String(), want, errb.String())
	}
}

func TestARefusalIsPrintedByItsCodeAndMessage(t *testing.T) {
	peerErr := status.New(codes.Aborted, "failed to endorse transaction, see attached details for more info")
	peerErr, err := peerErr.WithDetails(&gateway.ErrorDetail{Address: "peer0:7051",
		Message: `chaincode response 500, e2l-refusal host-owned: host "n1" is registered to ProviderMSP, not to DeveloperMSP`})
	if err != nil {
		t.Fatal(err)
	}
	got := refused("host register n1", fmt.Errorf("RegisterHost on peer peer0:7051: %w", peerErr.Err()))
	if want := `host register n1: refused by the chaincode (host-owned): host "n1" is registered to ProviderMSP, not to DeveloperMSP`; got.Error() != want {
		t.Errorf("error %q\nwant %q", got, want)
	}
	if !errors.Is(got, wire.CodeHostOwned) {
		t.Error("the error is not the refusal's code")
	}
	plain := refused("host show n1", status.Error(codes.Unavailable, "down"))
	if !strings.HasPrefix(plain.Error(), "host show n1: rpc error: code = Unavailable") {
		t.Errorf("a plain failure: %q", plain)
	}
}
