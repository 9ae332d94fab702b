package spool

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/testkit/metricdoc"
)

func TestTheMetricsAreDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{Registerer: reg})
	missing, err := metricdoc.Undocumented(reg, "docs/collector.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("docs/collector.md does not list %s", strings.Join(missing, ", "))
	}
}
