package wire

import (
	"math"
	"testing"
)

// A range of one host's chain slots holds exactly those slots: no key of
// another host, whatever its name, falls inside it.
func TestSlotRangesHoldOneHostsSlots(t *testing.T) {
	hosts := []string{"n", "node1", "node1x", "node10", "node1!", "node1~", "node", "m", "o"}
	for c := byte('!'); c <= '~'; c++ {
		hosts = append(hosts, "node1"+string(c), "node"+string(c))
	}
	seqs := []uint64{0, 1, 2, 9, 10, 11, 99, 100, math.MaxUint64 - 1, math.MaxUint64}
	for _, h := range hosts {
		for _, a := range seqs {
			for _, b := range seqs {
				if b < a {
					continue
				}
				start, end := SlotKey(h, a), SlotRangeEnd(h, b)
				for _, other := range hosts {
					for _, s := range seqs {
						k := SlotKey(other, s)
						in := k >= start && k < end
						if want := other == h && s >= a && s <= b; in != want {
							t.Fatalf("key %q in [%q, %q) = %v, want %v", k, start, end, in, want)
						}
					}
				}
			}
		}
	}
}

func TestParseSlotKey(t *testing.T) {
	for _, c := range []struct {
		host string
		seq  uint64
	}{{"node1", 0}, {"node1", 7}, {"a!b~c", math.MaxUint64}} {
		h, s, ok := ParseSlotKey(SlotKey(c.host, c.seq))
		if !ok || h != c.host || s != c.seq {
			t.Errorf("ParseSlotKey(SlotKey(%q, %d)) = %q, %d, %v", c.host, c.seq, h, s, ok)
		}
	}
	for _, k := range []string{"", "chain ", "chain node1", "chain node1 7", "chain  00000000000000000007",
		"\x00chain\x00node1\x0000000000000000000007\x00", "chain node1 0000000000000000000x", "chain node1 99999999999999999999",
		"chain node 1 00000000000000000007"} {
		if h, s, ok := ParseSlotKey(k); ok {
			t.Errorf("ParseSlotKey(%q) = %q, %d, want not a slot key", k, h, s)
		}
	}
}
