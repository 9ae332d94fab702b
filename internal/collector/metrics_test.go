package collector

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/testkit/metricdoc"
)

func TestTheMetricsAreDocumented(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := registerProcess(reg, buildinfo.Info{Version: "test"}, "node1", time.Unix(1e9, 0)); err != nil {
		t.Fatal(err)
	}
	metricdoc.Check(t, reg, "docs/collector.md")
}
