package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestGetNamesTheProgramVersionAndGoVersion(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.9.9"
	i := Get("e2l-test")
	s := i.String()
	for _, want := range []string{"e2l-test v9.9.9", runtime.Version(), "revision ", "built "} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
}

func TestAnUnstampedBuildIsDev(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = ""
	if v := Get("x").Version; v != "dev" && !strings.HasPrefix(v, "v") {
		t.Errorf("version %q, want dev or a module version", v)
	}
}
