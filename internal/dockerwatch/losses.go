package dockerwatch

// Loss tracking: events dropped while the queue or the spool is full, turned into gap records.

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/e2l-project/e2l/internal/record"
)

// lossTracker accumulates events lost before the spool until a gap record
// reporting them is stored.
type lossTracker struct {
	mu       sync.Mutex
	byReason map[string]*loss // gap reason
	total    atomic.Uint64    // events dropped since start (heartbeat.dropped)
}

type loss struct {
	from, to int64
	count    uint64
	byDrop   map[string]uint64
}

func (l *lossTracker) add(gapReason, dropReason string, from, to int64, n uint64) {
	l.total.Add(n)
	l.merge(gapReason, &loss{from: from, to: to, count: n, byDrop: map[string]uint64{dropReason: n}})
}

func (l *lossTracker) merge(gapReason string, x *loss) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.byReason[gapReason]
	if !ok {
		l.byReason[gapReason] = x
		return
	}
	cur.from, cur.to = min(cur.from, x.from), max(cur.to, x.to)
	cur.count += x.count
	for k, v := range x.byDrop {
		cur.byDrop[k] += v
	}
}

// take returns gap records for the losses so far and forgets them; restore
// puts them back when the records could not be stored.
func (l *lossTracker) take(w *Watcher) ([]record.Record, map[string]*loss) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []record.Record
	taken := l.byReason
	l.byReason = map[string]*loss{}
	for _, reason := range record.GapReasons {
		x, ok := taken[reason]
		if !ok {
			continue
		}
		detail := ""
		for _, d := range dropReasons {
			if c := x.byDrop[d]; c > 0 {
				if detail != "" {
					detail += ", "
				}
				detail += fmt.Sprintf("%d %s", c, d)
			}
		}
		out = append(out, w.gapRecord(reason, x.from, x.to, x.count, "events dropped before the spool: "+detail))
	}
	return out, taken
}

func (l *lossTracker) restore(taken map[string]*loss) {
	for reason, x := range taken {
		l.merge(reason, x)
	}
}

// keyRing remembers the last n event keys.
type keyRing struct {
	keys []string
	set  map[string]int
	next int
}

func newKeyRing(n int) keyRing {
	return keyRing{keys: make([]string, n), set: make(map[string]int, n)}
}

func (k *keyRing) has(key string) bool { _, ok := k.set[key]; return ok }

func (k *keyRing) add(key string) {
	if old := k.keys[k.next]; old != "" {
		if k.set[old]--; k.set[old] <= 0 {
			delete(k.set, old)
		}
	}
	k.keys[k.next] = key
	k.set[key]++
	k.next = (k.next + 1) % len(k.keys)
}
