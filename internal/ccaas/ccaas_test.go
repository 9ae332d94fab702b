package ccaas

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, metadata string
		notClaimed     bool
		wantErr        string
	}{
		{name: "a ccaas package is claimed", metadata: `{"type":"ccaas","label":"e2l_1","path":""}`},
		{name: "the type is compared without case", metadata: `{"type":"CCaaS","label":"e2l_1"}`},
		{name: "a golang package is left to other builders", metadata: `{"type":"golang","label":"x"}`, notClaimed: true},
		{name: "broken metadata is an error, not a refusal", metadata: `{"type":`, wantErr: "metadata.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "metadata.json"), tc.metadata)
			err := Detect(dir)
			switch {
			case tc.notClaimed:
				if !errors.Is(err, ErrNotClaimed) {
					t.Errorf("Detect: %v, want ErrNotClaimed", err)
				}
			case tc.wantErr != "":
				if err == nil || errors.Is(err, ErrNotClaimed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Detect: %v, want an error about %s", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("Detect: %v", err)
			}
		})
	}
	t.Run("a package without metadata.json is an error", func(t *testing.T) {
		if err := Detect(t.TempDir()); err == nil || errors.Is(err, ErrNotClaimed) {
			t.Errorf("Detect: %v", err)
		}
	})
}

func TestBuildCopiesTheSourceTree(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	write(t, filepath.Join(src, "image.json"), `{"image":"sha256:abc"}`)
	write(t, filepath.Join(src, "sub", "note.txt"), "kept")
	if err := Build(src, out); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"image.json": `{"image":"sha256:abc"}`, "sub/note.txt": "kept"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", name, b, err, want)
		}
	}
}

func TestRelease(t *testing.T) {
	good := `{"address":"chaincode.provider.e2l.local:9999","dial_timeout":"10s","tls_required":true,"root_cert":"PEM"}`
	for _, tc := range []struct {
		name, connection string
		unset            bool
		wantErr          string
	}{
		{name: "the connection file is installed where the peer looks", connection: good},
		{name: "a connection without TLS needs no root certificate", connection: `{"address":"cc:9999","tls_required":false}`},
		{name: "an unset environment variable says what to configure", unset: true, wantErr: "propagateEnvironment"},
		{name: "a connection without an address is refused", connection: `{"tls_required":false}`, wantErr: "no address"},
		{name: "a TLS connection without a root certificate is refused", connection: `{"address":"cc:9999","tls_required":true}`, wantErr: "root_cert"},
		{name: "a file that is not JSON is refused", connection: `address: cc:9999`, wantErr: "invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conn := filepath.Join(dir, "connection.json")
			write(t, conn, tc.connection)
			if tc.unset {
				conn = ""
			}
			rel := filepath.Join(dir, "release")
			err := Release(conn, rel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Release: %v, want an error about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(rel, "chaincode", "server", "connection.json"))
			if err != nil || string(b) != tc.connection {
				t.Errorf("released %q %v, want %q", b, err, tc.connection)
			}
		})
	}
}
