// Package metricdoc keeps the metrics reference true: a package's test
// registers its metrics and asks Undocumented which of them the reference
// (docs/collector.md for the collector, docs/operations.md for the
// indexer) does not name, so that a metric cannot be added or renamed
// without its line.
package metricdoc

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Undocumented returns the names of the e2l metric families (e2l_*; the Go
// runtime's and the process's are Prometheus' own) g gathers that the
// document doc (a path from the repository's root, e.g. "docs/collector.md")
// does not name between backquotes (`name` or `name{labels}`).
func Undocumented(g prometheus.Gatherer, doc string) ([]string, error) {
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("metricdoc: cannot find the repository")
	}
	root := filepath.Join(filepath.Dir(here), "..", "..", "..")
	b, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		return nil, fmt.Errorf("metricdoc: %w", err)
	}
	text := string(b)
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("metricdoc: gather: %w", err)
	}
	var missing []string
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "e2l_") {
			continue
		}
		if !strings.Contains(text, "`"+name+"`") && !strings.Contains(text, "`"+name+"{") {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

// Check fails t when the reference doc does not name every e2l metric g
// gathers: a package's TestTheMetricsAreDocumented.
func Check(t testing.TB, g prometheus.Gatherer, doc string) {
	t.Helper()
	missing, err := Undocumented(g, doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%s does not list %s", doc, strings.Join(missing, ", "))
	}
}
