package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/e2l-project/e2l/internal/buildinfo"
	"github.com/e2l-project/e2l/internal/deps"
)

// registerProcess registers the metrics of the collector process itself:
// the Go runtime and process collectors, its build and its certificate's
// expiry. The parts register their own (dockerwatch, spool, ledger).
func registerProcess(reg prometheus.Registerer, build buildinfo.Info, host string, certNotAfter time.Time) error {
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "e2l_collector", Name: "build_info",
		Help: "Always 1; the collector's build (version, revision, Go version) and host as labels."}, []string{"version", "revision", "goversion", "host"})
	buildInfo.WithLabelValues(build.Version, build.Revision, build.GoVersion, host).Set(1)
	certExpiry := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "e2l_collector", Subsystem: "identity",
		Name: "cert_expiry_timestamp_seconds", Help: "When the host's certificate expires (unix seconds): renew it before."})
	certExpiry.Set(float64(certNotAfter.Unix()))
	return deps.Register(reg, "collector", collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfo, certExpiry)
}
