package preflight

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSpoolCheck(t *testing.T) {
	plenty := func(string) (uint64, error) { return 10 << 30, nil }
	tests := []struct {
		name   string
		setup  func(t *testing.T) string // returns the spool directory
		free   FreeSpace
		want   string
		blocks bool
	}{
		{name: "a new directory is created and passes", setup: func(t *testing.T) string { return filepath.Join(t.TempDir(), "a", "spool") },
			free: plenty, want: "ok: is writable (no spool.db yet)"},
		{name: "an existing spool.db is opened for writing", setup: func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "spool.db"), make([]byte, 4096), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}, free: plenty, want: "ok: is writable (spool.db of 4096 bytes)"},
		{name: "a directory that cannot be created fails and blocks the start", setup: func(t *testing.T) string {
			file := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(file, "spool")
		}, want: "FAIL: cannot create the spool directory", blocks: true},
		{name: "a spool.db that is not a file fails and blocks the start", setup: func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "spool.db"), 0o700); err != nil {
				t.Fatal(err)
			}
			return dir
		}, free: plenty, want: "FAIL: cannot open", blocks: true},
		{name: "less free space than the spool's bound warns", setup: func(t *testing.T) string { return t.TempDir() },
			free: func(string) (uint64, error) { return 100 << 20, nil }, want: "warn: its filesystem has 100 MiB free, less than the spool's bound of 256 MiB"},
		{name: "unknown free space warns", setup: func(t *testing.T) string { return t.TempDir() },
			free: func(string) (uint64, error) { return 0, errors.New("statfs: no") }, want: "warn: free space unknown: statfs: no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			r := Spool(dir, 256<<20, tc.free)
			requireResults(t, []Result{r}, map[string]string{"spool": tc.want})
			if r.Blocks != tc.blocks {
				t.Errorf("blocks = %v, want %v", r.Blocks, tc.blocks)
			}
			if entries, _ := os.ReadDir(dir); r.Status == OK {
				for _, e := range entries {
					if e.Name() != "spool.db" {
						t.Errorf("left %s behind", e.Name())
					}
				}
			}
		})
	}
	if _, err := statfsFree(t.TempDir()); err != nil {
		t.Errorf("statfsFree: %v", err)
	}
}
