package testimage

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestRootFSHoldsTheProgramAndItsApplets(t *testing.T) {
	buf, err := rootFS([]byte("program"))
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = h
	}
	if h := entries["bin/testbox"]; h == nil || h.Mode&0o111 == 0 || h.Size != int64(len("program")) {
		t.Fatalf("bin/testbox missing, not executable or of the wrong size: %+v", h)
	}
	for _, a := range []string{"sleep", "true", "false", "echo"} {
		if h := entries["bin/"+a]; h == nil || h.Linkname != "testbox" {
			t.Errorf("bin/%s is not a link to testbox: %+v", a, h)
		}
	}
}

func TestTheProgramIsStaticAndAnswersItsApplets(t *testing.T) {
	bin, err := build(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "testbox")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"sleep", "true", "false", "echo"} {
		if err := os.Symlink("testbox", filepath.Join(dir, a)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		argv     []string
		wantCode int
		wantOut  string
	}{
		{"true exits 0", []string{"true"}, 0, ""},
		{"false exits 1", []string{"false"}, 1, ""},
		{"echo prints its arguments", []string{"echo", "a", "b"}, 0, "a b\n"},
		{"sleep waits the given seconds", []string{"sleep", "0.01"}, 0, ""},
		{"sleep refuses a bad interval", []string{"sleep", "soon"}, 2, ""},
		{"an applet is also its first argument", []string{"testbox", "false"}, 1, ""},
		{"an unknown command is refused", []string{"testbox", "sh"}, 127, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), filepath.Join(dir, tc.argv[0]), tc.argv[1:]...)
			out, err := cmd.Output()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || string(out) != tc.wantOut {
				t.Errorf("exit %d, output %q; want %d, %q", code, out, tc.wantCode, tc.wantOut)
			}
		})
	}
	// Static: no ELF interpreter (a FROM scratch image has no loader).
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the program needs a dynamic loader; it must be static")
		}
	}
}
