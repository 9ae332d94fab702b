package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOrgCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), args, func(string) string { return "" }, &out)
		return strings.TrimSpace(out.String()), err
	}
	t.Run("cc-package prints the package ID of an image, the same every time", func(t *testing.T) {
		a, err := run("cc-package", "--label", "e2l_3", "--image", "e2l-chaincode:1@sha256:ab", "--out", filepath.Join(dir, "a.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := run("cc-package", "--label", "e2l_3", "--image", "e2l-chaincode:1@sha256:ab", "--out", filepath.Join(dir, "b.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := run("cc-package", "--label", "e2l_3", "--image", "e2l-chaincode:2@sha256:cd", "--out", filepath.Join(dir, "c.tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a, "e2l_3:") || a != b || a == c {
			t.Errorf("package IDs %q, %q (same image), %q (another): want the same ID for the same image only", a, b, c)
		}
		pa, _ := os.ReadFile(filepath.Join(dir, "a.tar.gz"))
		pb, _ := os.ReadFile(filepath.Join(dir, "b.tar.gz"))
		if len(pa) == 0 || !bytes.Equal(pa, pb) {
			t.Error("the two packages of the same image differ")
		}
	})
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"cc-package needs its three flags", []string{"cc-package", "--label", "e2l_1"}, "--label, --image and --out are required"},
		{"org-init needs a directory", []string{"org-init", "--org", "User"}, "--dir is required"},
		{"org-init refuses an organisation outside the consortium", []string{"org-init", "--org", "Auditor", "--dir", dir}, "unknown organisation"},
		{"org-channel refuses stray arguments", []string{"org-channel", "--dir", dir, "extra"}, "unexpected arguments"},
		{"org-init refuses a directory that is not empty", []string{"org-init", "--org", "User", "--dir", dir}, "not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: %v, want an error about %q", tc.args, err, tc.wantErr)
			}
		})
	}
}
