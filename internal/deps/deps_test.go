package deps

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func TestNilMeansTheDefault(t *testing.T) {
	if Logger(nil) == nil || Registerer(nil) == nil || Clock(nil) == nil {
		t.Fatal("a nil dependency has no default")
	}
	l, r := zap.NewExample(), prometheus.NewRegistry()
	fixed := time.Unix(7, 0)
	if Logger(l) != l || Registerer(r) != r || !Clock(func() time.Time { return fixed })().Equal(fixed) {
		t.Fatal("a given dependency is not kept")
	}
}

func TestRegister(t *testing.T) {
	newCounter := func() prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "e2l_test_things_total", Help: "Things."})
	}
	tests := []struct {
		name    string
		reg     prometheus.Registerer
		twice   bool
		wantErr string
	}{
		{"collectors are registered on the given registerer", prometheus.NewRegistry(), false, ""},
		{"a nil registerer registers on a private registry", nil, false, ""},
		{"a name registered twice is an error naming the component", prometheus.NewRegistry(), true, "spool: metrics: duplicate metrics collector registration attempted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.twice {
				if err := Register(tt.reg, "spool", newCounter()); err != nil {
					t.Fatal(err)
				}
			}
			err := Register(tt.reg, "spool", newCounter())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Register: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Register: %v, want %q", err, tt.wantErr)
			}
		})
	}
}
