// Package deps owns the defaults of a component's ambient dependencies:
// its logger, its metrics registerer and its clock. A component's Config
// (or Options) carries them as three optional fields, named the same
// everywhere:
//
//	Logger     *zap.Logger           // nil: no logs (zap.NewNop)
//	Registerer prometheus.Registerer // nil: metrics kept in a private registry nobody gathers
//	Clock      func() time.Time      // nil: time.Now
//
// and its constructor fills them with Logger, Registerer and Clock below,
// so that a nil means the same thing in every package. Metrics are
// registered with Register: a registration error is returned, never a panic.
// See CONTRIBUTING.md, "A component's dependencies".
package deps

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Logger returns l, or a logger that discards everything when l is nil.
func Logger(l *zap.Logger) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	return l
}

// Registerer returns r, or a new private registry (that nothing gathers)
// when r is nil: the component's metrics work the same either way.
func Registerer(r prometheus.Registerer) prometheus.Registerer {
	if r == nil {
		return prometheus.NewRegistry()
	}
	return r
}

// Clock returns c, or time.Now when c is nil.
func Clock(c func() time.Time) func() time.Time {
	if c == nil {
		return time.Now
	}
	return c
}

// Register registers every collector on r (a nil r: a private registry)
// and returns the first failure, naming what (the component).
func Register(r prometheus.Registerer, what string, cs ...prometheus.Collector) error {
	r = Registerer(r)
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("%s: metrics: %w", what, err)
		}
	}
	return nil
}
