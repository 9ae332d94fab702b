package dockerwatch

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/testkit/metricdoc"
)

func TestTheMetricsAreDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg, func() float64 { return 0 }); err != nil {
		t.Fatal(err)
	}
	metricdoc.Check(t, reg, "docs/collector.md")
}
