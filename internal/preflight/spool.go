package preflight

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FreeSpace says how many bytes an unprivileged user may still write on
// the filesystem holding path.
type FreeSpace func(path string) (uint64, error)

// Spool checks the spool directory the way the collector uses it: it
// creates the directory if missing (mode 0700, as the collector does),
// writes, syncs and removes a file there, and opens an existing spool.db
// for writing. It warns when the filesystem has less room than the spool's
// bound (E2L_SPOOL_MAX_BYTES).
func Spool(dir string, maxBytes int64, free FreeSpace) Result {
	const check = "spool"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(check, "cannot create the spool directory %s: %v", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".e2l-check-*")
	if err != nil {
		return fail(check, "cannot write in %s: %v", dir, err)
	}
	_, werr := probe.Write([]byte("e2l-collector check\n"))
	serr := probe.Sync()
	cerr := probe.Close()
	rerr := os.Remove(probe.Name())
	if err := errors.Join(werr, serr, cerr, rerr); err != nil {
		return fail(check, "cannot write in %s: %v", dir, err)
	}
	db := filepath.Join(dir, "spool.db")
	state := "no spool.db yet"
	if f, err := os.OpenFile(db, os.O_RDWR, 0); err == nil {
		st, _ := f.Stat()
		_ = f.Close()
		state = fmt.Sprintf("spool.db of %d bytes", st.Size())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fail(check, "cannot open %s for writing: %v", db, err)
	}
	if free != nil {
		avail, err := free(dir)
		if err != nil {
			return warn(check, "%s is writable (%s); free space unknown: %v", dir, state, err)
		}
		if int64(avail) < maxBytes {
			return warn(check, "%s is writable (%s), but its filesystem has %d MiB free, less than the spool's bound of %d MiB (E2L_SPOOL_MAX_BYTES): a long ledger outage fills the disk before the spool", dir, state, avail>>20, maxBytes>>20)
		}
	}
	return ok(check, "%s is writable (%s)", dir, state)
}
