package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/audit"
)

// testApp is an app with this environment, its output in buffers.
func testApp(env map[string]string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return newApp(func(k string) string { return env[k] }, &out, &errb), &out, &errb
}

func TestTrustPath(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{"the flag comes first", "/f/trust", map[string]string{"E2L_TRUST_FILE": "/e/trust", "HOME": "/home/a"}, "/f/trust"},
		{"then E2L_TRUST_FILE", "", map[string]string{"E2L_TRUST_FILE": "/e/trust", "XDG_CONFIG_HOME": "/x"}, "/e/trust"},
		{"then the XDG configuration directory", "", map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/home/a"}, "/x/e2l/trust"},
		{"then ~/.config", "", map[string]string{"HOME": "/home/a"}, "/home/a/.config/e2l/trust"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, _ := testApp(tt.env)
			a.trust.file = tt.flag
			if got, err := a.trustPath(); err != nil || got != tt.want {
				t.Fatalf("trustPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	a, _, _ := testApp(nil)
	if _, err := a.trustPath(); !errors.As(err, new(usageError)) {
		t.Fatalf("no home at all: %v, want a usage error", err)
	}
}

// trustFileWith writes a trust file holding these lines.
func trustFileWith(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trust")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestResolveAnchor(t *testing.T) {
	path := trustFileWith(t, "# anchors", "e2l genesis sha256:"+hashA)
	tests := []struct {
		name, genesis, channel string
		want                   anchor
		found                  bool
	}{
		{"the trust file's entry of the channel", "", "e2l", anchor{hashA, "trust file " + path + " line 2"}, true},
		{"--genesis overrides the trust file", "sha256:" + hashB, "e2l", anchor{hashB, "--genesis"}, true},
		{"--genesis serves a channel the file lacks", hashB, "other", anchor{hashB, "--genesis"}, true},
		{"a channel the file lacks has none", "", "other", anchor{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, _ := testApp(nil)
			a.trust = trustFlags{file: path, genesis: tt.genesis}
			got, found, err := a.resolveAnchor(tt.channel)
			if err != nil || found != tt.found || got != tt.want {
				t.Fatalf("resolveAnchor = %+v, %v, %v; want %+v, %v", got, found, err, tt.want, tt.found)
			}
		})
	}
	t.Run("a malformed --genesis is a usage error", func(t *testing.T) {
		a, _, _ := testApp(nil)
		a.trust = trustFlags{file: path, genesis: "sha256:1234"}
		if _, _, err := a.resolveAnchor("e2l"); !errors.As(err, new(usageError)) {
			t.Fatalf("error %v, want a usage error", err)
		}
	})
	t.Run("a malformed trust file is an error naming its line", func(t *testing.T) {
		a, _, _ := testApp(nil)
		a.trust.file = trustFileWith(t, "e2l genesis sha256:"+hashA, "garbage")
		if _, _, err := a.resolveAnchor("e2l"); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("error %v, want one naming line 2", err)
		}
	})
}

func TestPinAnchor(t *testing.T) {
	t.Run("first use pins the live genesis in the trust file and says so", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "e2l", "trust")
		a, _, errb := testApp(map[string]string{"E2L_TRUST_FILE": path})
		got, err := a.pinAnchor("e2l", hashA)
		if err != nil || got != hashA {
			t.Fatalf("pinAnchor = %q, %v", got, err)
		}
		assertFile(t, path, "e2l genesis sha256:"+hashA+"\n")
		if want := "pinned channel e2l genesis sha256:" + hashA + " (first use) in " + path + "\n"; errb.String() != want {
			t.Errorf("stderr %q, want %q", errb, want)
		}
	})
	t.Run("the pinned genesis passes quietly afterwards", func(t *testing.T) {
		path := trustFileWith(t, "e2l genesis sha256:"+hashA)
		a, _, errb := testApp(map[string]string{"E2L_TRUST_FILE": path})
		if got, err := a.pinAnchor("e2l", hashA); err != nil || got != hashA {
			t.Fatalf("pinAnchor = %q, %v", got, err)
		}
		if errb.Len() != 0 {
			t.Errorf("stderr %q, want nothing", errb)
		}
	})
	t.Run("a changed genesis is an error naming both hashes and the entry, and the file is kept", func(t *testing.T) {
		path := trustFileWith(t, "e2l genesis sha256:"+hashA)
		a, _, _ := testApp(map[string]string{"E2L_TRUST_FILE": path})
		_, err := a.pinAnchor("e2l", hashB)
		var m *anchorMismatch
		if !errors.As(err, &m) {
			t.Fatalf("error %v, want a mismatch", err)
		}
		for _, want := range []string{"trust anchor mismatch for channel e2l", "sha256:" + hashA, "sha256:" + hashB, "trust file " + path + " line 1", "e2l trust --replace"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		assertFile(t, path, "e2l genesis sha256:"+hashA+"\n")
	})
	t.Run("--genesis is compared, never written", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "trust")
		a, _, _ := testApp(map[string]string{"E2L_TRUST_FILE": path})
		a.trust.genesis = "sha256:" + hashA
		if _, err := a.pinAnchor("e2l", hashA); err != nil {
			t.Fatal(err)
		}
		if _, err := a.pinAnchor("e2l", hashB); !errors.As(err, new(*anchorMismatch)) || !strings.Contains(err.Error(), "--genesis says sha256:"+hashA) {
			t.Fatalf("error %v, want a mismatch with --genesis", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the trust file was written: %v", err)
		}
	})
}

func TestOfflineVerificationRefusesWithoutAnAnchor(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "a.e2l.gz")
	if err := writeFile(archive, func(w io.Writer) error {
		return audit.WriteArchive(w, &audit.Archive{Version: audit.ArchiveVersion, Channel: "e2l", Created: time.Unix(0, 0)})
	}); err != nil {
		t.Fatal(err)
	}
	receipt := filepath.Join(dir, "r.json")
	rb, err := json.Marshal(audit.Receipt{Version: audit.ReceiptVersion, Channel: "e2l"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(receipt, rb, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "trust")
	for _, args := range [][]string{{"verify", "--archive", archive}, {"verify-receipt", receipt}} {
		t.Run(args[0]+" without an anchor exits 1 saying how to obtain one", func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(t.Context(), append([]string{"--trust-file", empty}, args...), func(string) string { return "" }, &out, &errb)
			if code != exitFailed {
				t.Fatalf("exit %d, want %d", code, exitFailed)
			}
			for _, want := range []string{"no trust anchor for channel e2l", "e2l trust", "--genesis sha256:"} {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errb.String())
				}
			}
			if strings.Contains(out.String(), "OK") {
				t.Errorf("stdout says OK:\n%s", out.String())
			}
		})
		t.Run(args[0]+" with --genesis verifies with that anchor", func(t *testing.T) {
			var out, errb bytes.Buffer
			argv := append(append([]string{"--trust-file", empty}, args...), "--genesis", "sha256:"+hashA)
			run(t.Context(), argv, func(string) string { return "" }, &out, &errb)
			if !strings.Contains(out.String(), "channel e2l genesis sha256:"+hashA+" (--genesis)") {
				t.Errorf("stdout does not name the anchor:\n%s\nstderr:\n%s", out.String(), errb.String())
			}
		})
		t.Run(args[0]+" verifies with the trust file's entry", func(t *testing.T) {
			path := trustFileWith(t, "e2l genesis sha256:"+hashB)
			var out, errb bytes.Buffer
			run(t.Context(), append([]string{"--trust-file", path}, args...), func(string) string { return "" }, &out, &errb)
			if !strings.Contains(out.String(), "channel e2l genesis sha256:"+hashB+" (trust file "+path+" line 1)") {
				t.Errorf("stdout does not name the anchor:\n%s\nstderr:\n%s", out.String(), errb.String())
			}
		})
	}
}
