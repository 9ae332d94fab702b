package collector

import (
	"strings"
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
	missing, err := metricdoc.Undocumented(reg, "docs/collector.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("docs/collector.md does not list %s", strings.Join(missing, ", "))
	}
}
