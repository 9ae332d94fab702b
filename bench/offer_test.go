package bench

import (
	"math"
	"testing"
)

func TestTheOfferMovesTowardsTheCapacity(t *testing.T) {
	// A pipeline of capacity c that loses a share of it, over capacity,
	// to spooling the excess.
	pipeline := func(c, loss float64) func(offered float64) float64 {
		return func(offered float64) float64 {
			if offered <= c {
				return offered
			}
			return c - loss*(offered-c)
		}
	}
	tests := []struct {
		name     string
		first, c float64
		loss     float64
		wantRuns int     // 0: any number up to offerRuns
		minBest  float64 // the capacity found is at least this
	}{
		{"below the capacity: up by steps until too high, then between", 200, 420, 0, 0, 390},
		{"far above it: down to what it committed, then between", 1200, 1000, 0.8, 0, 980},
		{"just above it", 1200, 1150, 0.3, 0, 1100},
		{"never too high: up to the bound", 100, 1e9, 0, offerRuns, 100 * math.Pow(offerStep, offerRuns-1)},
		{"nothing committed: one run", 500, 0, 0, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			commit := pipeline(tt.c, tt.loss)
			runs := []offerRun{{tt.first, max(0, commit(tt.first))}}
			for {
				next, ok := nextOffer(runs)
				if !ok {
					break
				}
				if next <= 0 {
					t.Fatalf("offer %v after %v", next, runs)
				}
				runs = append(runs, offerRun{next, max(0, commit(next))})
			}
			best := runs[capacity(runs)]
			if len(runs) > offerRuns || (tt.wantRuns > 0 && len(runs) != tt.wantRuns) || best.committed < tt.minBest || best.committed > math.Max(tt.c, 0) {
				t.Errorf("runs %v: %d runs, best %v; want %d runs, best in [%v, %v]", runs, len(runs), best, tt.wantRuns, tt.minBest, tt.c)
			}
		})
	}
}
