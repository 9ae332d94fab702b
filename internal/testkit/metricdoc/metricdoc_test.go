package metricdoc

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestUndocumentedNamesWhatTheDocLacks(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, name := range []string{"e2l_collector_spool_head_seq", "e2l_metricdoc_test_undocumented", "go_not_ours"} {
		reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "A test gauge."}))
	}
	got, err := Undocumented(reg, "docs/collector.md")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"e2l_metricdoc_test_undocumented"}) {
		t.Fatalf("Undocumented = %v, want only the undocumented e2l metric", got)
	}
	if _, err := Undocumented(reg, "docs/no-such-doc.md"); err == nil {
		t.Error("a missing doc is read")
	}
}
