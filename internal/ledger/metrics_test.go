package ledger

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/testkit/metricdoc"
)

func TestTheMetricsAreDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	metricdoc.Check(t, reg, "docs/collector.md")
}
