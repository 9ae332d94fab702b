// Package buildinfo says which build of e2l a binary is: its version,
// source revision, Go version and build date, for every binary's --version
// and its build_info metric. Version and Date are set at link time
// (make build, make dist: -ldflags "-X .../buildinfo.Version=v1.2.3
// -X .../buildinfo.Date=2026-12-01T00:00:00Z"); the revision comes from
// the Go toolchain's VCS stamp.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time (the Makefile does; GOFLAGS=-buildvcs=false leaves the
// toolchain's VCS stamp out, so Revision is set there too).
var (
	Version  string // e.g. v0.3.0; "dev" when unset
	Revision string // the source revision; the toolchain's VCS stamp when unset
	Date     string // RFC 3339 build date; the commit's date when unset
)

// Info is one binary's build.
type Info struct {
	Program   string
	Version   string
	Revision  string // VCS revision, "+dirty" when the tree was modified; "unknown" without VCS data
	GoVersion string
	Date      string
}

// Get returns the build of program.
func Get(program string) Info {
	i := Info{Program: program, Version: Version, Revision: Revision, GoVersion: runtime.Version(), Date: Date}
	bi, ok := debug.ReadBuildInfo()
	if i.Version == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		i.Version = bi.Main.Version
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	if ok && i.Revision == "" {
		i.Revision = "unknown"
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				if i.Date == "" {
					i.Date = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && i.Revision != "unknown" {
			i.Revision += "+dirty"
		}
	}
	if i.Revision == "" {
		i.Revision = "unknown"
	}
	if i.Date == "" {
		i.Date = "unknown"
	}
	return i
}

// String is the --version line: "e2l-collector v0.3.0 (revision abc, go1.26.8, built 2026-12-01T00:00:00Z)".
func (i Info) String() string {
	return fmt.Sprintf("%s %s (revision %s, %s, built %s)", i.Program, i.Version, i.Revision, i.GoVersion, i.Date)
}
