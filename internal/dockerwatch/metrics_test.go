package dockerwatch

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/testkit/metricdoc"
)

func TestTheMetricsAreDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg, func() float64 { return 0 }); err != nil {
		t.Fatal(err)
	}
	missing, err := metricdoc.Undocumented(reg, "docs/collector.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("docs/collector.md does not list %s", strings.Join(missing, ", "))
	}
}
