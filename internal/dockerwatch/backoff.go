package dockerwatch

import (
	"math/rand/v2"
	"time"
)

// backoff is a capped exponential backoff with jitter ("equal jitter": half
// the delay fixed, half random). The watcher resets it once a stream has
// stayed up for a healthy period, so a long-lived stream that breaks is
// retried quickly, while a daemon that keeps failing is not hammered.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	if half <= 0 {
		return b.cur
	}
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }
