package webview

import (
	"testing"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/usagereport"
)

func TestCachedEventsServeOnlyWhileTheChainStandsStill(t *testing.T) {
	st := fixtureStore(t)
	c := newEventCache()
	src := cachedSource{st, c}
	held := func() []string {
		evs, ok, err := src.HeldUsageEvents(t.Context(), "vm")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return nil
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.Action)
		}
		return out
	}
	if got := held(); got != nil {
		t.Fatalf("before any was read: %v held", got)
	}
	h, err := hostSummary(t.Context(), st, "vm")
	if err != nil || h == nil {
		t.Fatal(h, err)
	}
	c.put("vm", keyOf(*h), []audit.UsageEvent{{Action: "cached"}})
	if got := held(); len(got) != 1 || got[0] != "cached" {
		t.Errorf("with vm's chain as it was read: %v, want the cached events", got)
	}
	c.put("vm", chainKey{records: 99}, []audit.UsageEvent{{Action: "cached"}})
	if got := held(); got != nil {
		t.Errorf("with vm's chain moved since: %v held, want none", got)
	}
	t.Run("the usage report reads the held events", func(t *testing.T) {
		c.put("vm", keyOf(*h), []audit.UsageEvent{{Seq: 1, Time: 5, Action: "start", Actor: "held-container"}, {Seq: 2, Time: 9, Action: "die", Actor: "held-container"}})
		in, err := usagereport.Inputs(t.Context(), src, usagereport.Known(nil), false, "vm")
		if err != nil {
			t.Fatal(err)
		}
		if len(in) != 1 || len(in[0].Events) != 2 || in[0].Events[0].Actor != "held-container" {
			t.Errorf("inputs %+v, want vm's two held events", in)
		}
	})
	t.Run("the bound on the events held is kept", func(t *testing.T) {
		c := newEventCache()
		c.put("a", chainKey{}, make([]audit.UsageEvent, cacheMaxEvents))
		c.put("b", chainKey{}, make([]audit.UsageEvent, 1))
		if _, ok := c.get("b", chainKey{}); ok || c.events != cacheMaxEvents {
			t.Errorf("held %d events and b's", c.events)
		}
	})
}
