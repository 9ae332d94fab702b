package spec

import (
	"go/build"
	"strings"
	"testing"
)

// TestSpecUsesOnlyTheStandardLibrary keeps this package independent of
// internal/record (and of anything else e2l's verifier could share a bug
// with): it is the second implementation the test vectors are checked
// against.
func TestSpecUsesOnlyTheStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Imports) == 0 {
		t.Fatal("no imports found: the check reads nothing")
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("imports %s, outside the standard library", imp)
		}
	}
}
