package bench

// The full-load offer search. A full load offers events at a fixed rate
// (open loop) and measures what the pipeline commits. An offer the
// pipeline keeps up with measures the offer, not the capacity; an offer
// far above it measures less than the capacity, because spooling the
// excess costs the collector CPU that the network, on the same cores,
// then lacks. So the offer moves towards the capacity: up by offerStep
// while it is kept up with, then, once an offer was too high, between the
// highest offer kept up with and the lowest one not (the first offer down
// is what the too-high one committed). The capacity is the run that
// committed most.
const (
	// offerKeptUp is the share of the offer committed above which the
	// pipeline kept up with it.
	offerKeptUp = 0.97
	// offerStep raises an offer the pipeline kept up with, as long as no
	// offer was too high.
	offerStep = 1.25
	// offerRuns bounds the full-load runs of a configuration.
	offerRuns = 5
	// offerClose ends the search when the highest offer kept up with is
	// this close to the lowest one that was not.
	offerClose = 1.05
)

// offerRun is one full-load run: what it offered and what it committed
// (events/s).
type offerRun struct{ offered, committed float64 }

func (r offerRun) keptUp() bool { return r.committed >= offerKeptUp*r.offered }

// nextOffer is the offer of the run after runs (at least one), or false
// when the search is done.
func nextOffer(runs []offerRun) (float64, bool) {
	if len(runs) >= offerRuns {
		return 0, false
	}
	var kept, tooHigh float64 // the highest offer kept up with, the lowest not (0: none)
	for _, r := range runs {
		if r.keptUp() {
			kept = max(kept, r.offered)
		} else if tooHigh == 0 || r.offered < tooHigh {
			tooHigh = r.offered
		}
	}
	last := runs[len(runs)-1]
	switch {
	case tooHigh == 0:
		return last.offered * offerStep, true
	case kept == 0:
		// Down to what the too-high offer committed: less than the
		// capacity, by the cost of the excess.
		return last.committed, last.committed > 0
	case tooHigh <= kept*offerClose:
		return 0, false
	default:
		return (kept + tooHigh) / 2, true
	}
}

// capacity is the run that committed most (the first of equals).
func capacity(runs []offerRun) int {
	best := 0
	for i, r := range runs {
		if r.committed > runs[best].committed {
			best = i
		}
	}
	return best
}
