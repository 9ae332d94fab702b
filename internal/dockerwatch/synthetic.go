package dockerwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/system"
)

// SyntheticScheme marks a Docker endpoint that is a Synthetic source:
// synthetic://?rate=EVENTS_PER_SECOND[&count=N].
const SyntheticScheme = "synthetic://"

// IsSynthetic reports whether endpoint names a Synthetic source.
func IsSynthetic(endpoint string) bool { return strings.HasPrefix(endpoint, SyntheticScheme) }

// Synthetic stands in for the Docker Engine in benchmarks: its live event
// stream carries container events (create, start, die, destroy of a new
// container every four events) at a fixed rate, stamped with the time they
// are generated, so the collector's pipeline from the watcher on is the real
// one. Each event goes through a JSON encode and decode, as the Docker
// client's stream does. It knows no containers and replays nothing (a
// restart against it is reported as a gap). Not for production.
type Synthetic struct {
	rate  float64 // events per second
	count int64   // events in all; 0: unbounded

	mu      sync.Mutex
	emitted int64 // events generated, over all streams
	last    int64 // time of the last event, to keep times strictly increasing
	live    bool  // a live stream is open
}

// ParseSynthetic parses synthetic://?rate=N[&count=M].
func ParseSynthetic(endpoint string) (*Synthetic, error) {
	if !IsSynthetic(endpoint) {
		return nil, fmt.Errorf("dockerwatch: %q is not a %s endpoint", endpoint, SyntheticScheme)
	}
	_, query, _ := strings.Cut(strings.TrimPrefix(endpoint, SyntheticScheme), "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("dockerwatch: synthetic endpoint %q: %w", endpoint, err)
	}
	s := &Synthetic{}
	if s.rate, err = strconv.ParseFloat(q.Get("rate"), 64); err != nil || s.rate <= 0 {
		return nil, fmt.Errorf("dockerwatch: synthetic endpoint %q: rate must be a positive number of events per second", endpoint)
	}
	if c := q.Get("count"); c != "" {
		if s.count, err = strconv.ParseInt(c, 10, 64); err != nil || s.count < 0 {
			return nil, fmt.Errorf("dockerwatch: synthetic endpoint %q: count must be a non-negative integer", endpoint)
		}
	}
	return s, nil
}

// Emitted returns how many events the source has generated.
func (s *Synthetic) Emitted() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emitted
}

// Ping answers like a daemon.
func (s *Synthetic) Ping(context.Context) (types.Ping, error) {
	return types.Ping{APIVersion: "1.41"}, nil
}

// Info names the synthetic daemon.
func (s *Synthetic) Info(context.Context) (system.Info, error) {
	return system.Info{ID: "SYNTHETIC", Name: "synthetic"}, nil
}

// ContainerList lists no containers.
func (s *Synthetic) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return nil, nil
}

// ContainerInspect knows no container.
func (s *Synthetic) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	return container.InspectResponse{}, fmt.Errorf("synthetic: no such container: %s", id)
}

// Events returns an empty replay when options.Until is set, else the live
// stream, which generates events at the rate until count is reached and
// then stays open and idle. Only one live stream generates at a time.
func (s *Synthetic) Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error) {
	msgs := make(chan events.Message)
	errs := make(chan error, 1)
	if options.Until != "" {
		errs <- io.EOF
		return msgs, errs
	}
	s.mu.Lock()
	if s.live {
		s.mu.Unlock()
		errs <- errors.New("synthetic: a live stream is already open")
		return msgs, errs
	}
	s.live = true
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			s.live = false
			s.mu.Unlock()
		}()
		errs <- s.generate(ctx, msgs)
	}()
	return msgs, errs
}

// generate sends events on msgs at the rate until ctx ends.
func (s *Synthetic) generate(ctx context.Context, msgs chan<- events.Message) error {
	const tick = time.Millisecond
	start := time.Now()
	s.mu.Lock()
	base := s.emitted // events of earlier streams do not count against this one's rate
	s.mu.Unlock()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		due := base + int64(s.rate*time.Since(start).Seconds())
		for {
			m, ok := s.next(due)
			if !ok {
				break
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// next makes the next event if fewer than due (and than count) were made.
func (s *Synthetic) next(due int64) (events.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.emitted >= due || (s.count > 0 && s.emitted >= s.count) {
		return events.Message{}, false
	}
	n := s.emitted
	s.emitted++
	now := max(time.Now().UnixNano(), s.last+1)
	s.last = now
	actions := [...]events.Action{events.ActionCreate, events.ActionStart, events.ActionDie, events.ActionDestroy}
	c := n / int64(len(actions))
	m := events.Message{
		Type: events.ContainerEventType, Action: actions[n%int64(len(actions))], Scope: "local",
		Actor: events.Actor{ID: fmt.Sprintf("%064x", c), Attributes: map[string]string{
			"name": "synthetic-" + strconv.FormatInt(c, 10), "image": "e2l-testbox:test",
		}},
		Time: now / 1e9, TimeNano: now,
	}
	if m.Action == events.ActionDie {
		m.Actor.Attributes["exitCode"] = "0"
	}
	// The Docker client decodes each event from the stream's JSON.
	b, err := json.Marshal(m)
	if err != nil {
		return m, true
	}
	var out events.Message
	if err := json.Unmarshal(b, &out); err != nil {
		return m, true
	}
	return out, true
}
