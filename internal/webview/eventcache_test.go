package webview

import (
	"testing"

	"github.com/e2l-project/e2l/internal/index"
)

func TestCachedEventsServeOnlyWhileTheChainStandsStill(t *testing.T) {
	st := fixtureStore(t)
	c := newEventCache()
	src := cachedSource{st, c}
	actions := func() []string {
		var out []string
		if err := src.UsageEvents(t.Context(), "vm", func(r index.Record) error {
			out = append(out, r.Action)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := actions(); len(got) != 4 {
		t.Fatalf("from the index: %v, want start, pause, unpause, die", got)
	}
	h, err := hostSummary(t.Context(), st, "vm")
	if err != nil || h == nil {
		t.Fatal(h, err)
	}
	c.put("vm", keyOf(*h), []usageEvent{{action: "cached"}})
	if got := actions(); len(got) != 1 || got[0] != "cached" {
		t.Errorf("with vm's chain as it was read: %v, want the cached events", got)
	}
	c.put("vm", chainKey{records: 99}, []usageEvent{{action: "cached"}})
	if got := actions(); len(got) != 4 {
		t.Errorf("with vm's chain moved since: %v, want the index's", got)
	}
	t.Run("the bound on the events held is kept", func(t *testing.T) {
		c := newEventCache()
		c.put("a", chainKey{}, make([]usageEvent, cacheMaxEvents))
		c.put("b", chainKey{}, make([]usageEvent, 1))
		if _, ok := c.get("b", chainKey{}); ok || c.events != cacheMaxEvents {
			t.Errorf("held %d events and b's", c.events)
		}
	})
}
