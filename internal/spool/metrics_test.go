package spool

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/testkit/metricdoc"
)

func TestTheMetricsAreDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	openTest(t, filepath.Join(t.TempDir(), "spool.db"), Options{Registerer: reg})
	metricdoc.Check(t, reg, "docs/collector.md")
}
