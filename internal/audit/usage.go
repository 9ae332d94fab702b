package audit

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/record"
)

// UsageOptions say which window usage covers and how it is grouped.
type UsageOptions struct {
	From, To int64 // unix ns, the window intervals are clipped to
	// By groups the rows: "" (per container), "service", "host" or
	// "label=KEY".
	By string
}

// Interval states.
const (
	StateRunning = "running"
	StatePaused  = "paused"
)

// Interval is one stretch of time a container was running, or paused,
// clipped to the window.
type Interval struct {
	Host      string `json:"host"`
	Container string `json:"container"` // container ID
	Name      string `json:"name"`
	Group     string `json:"group"`
	State     string `json:"state"` // StateRunning or StatePaused
	From      int64  `json:"from"`
	To        int64  `json:"to"`
	// Uncertain is set when the interval overlaps a gap record of its host,
	// missing or altered records, or the time after the host's last record,
	// or when its start or end was not recorded; Reason says which.
	Uncertain bool   `json:"uncertain"`
	Reason    string `json:"reason,omitempty"`

	service string
	labels  map[string]string
}

// Duration of the interval.
func (i Interval) Duration() time.Duration { return time.Duration(i.To - i.From) }

// UsageRow sums the intervals of one group. Running and Paused add up to
// the time from start to die that Docker reports (State.StartedAt …
// State.FinishedAt), less what is uncertain.
type UsageRow struct {
	Group      string        `json:"group"`
	Containers int           `json:"containers"`
	Running    time.Duration `json:"runningNs"`   // certain running time
	Uncertain  time.Duration `json:"uncertainNs"` // running time in uncertain intervals
	Paused     time.Duration `json:"pausedNs"`    // certain paused time (not in Running)
	// PausedUncertain is paused time in uncertain intervals.
	PausedUncertain time.Duration `json:"pausedUncertainNs"`
	Intervals       int           `json:"intervals"` // running intervals
}

// ServiceLabel is the label Docker Swarm puts on a service's containers.
const ServiceLabel = "com.docker.swarm.service.name"

// ComputeUsage derives containers' running intervals from the hosts' checked
// chains, in chain order: start opens an interval, pause closes it and
// unpause opens the next, die closes it (stop and kill only precede a die).
// Paused time is excluded from the running time and reported apart: pause
// opens a paused interval, unpause or die closes it. Intervals are clipped to [From, To]; each that
// overlaps one of its host's gaps or holes is marked uncertain, never
// dropped. A container running at the host's last record runs on to To,
// uncertain after that record.
func ComputeUsage(chains []*Chain, opt UsageOptions) ([]UsageRow, []Interval, error) {
	in := make([]UsageInput, len(chains))
	for i, c := range chains {
		in[i] = usageInput(c)
	}
	return UsageOf(in, opt)
}

// UsageInput is what usage needs of one host's chain: the time of its
// first record and the latest time of any, its container events in chain
// order, its gap records' spans and its holes (missing or untrusted
// stretches). An audit index gives it without reading every record.
type UsageInput struct {
	Host                string
	FirstTime, LastTime int64
	Events              []UsageEvent // container events, in seq order
	Gaps                []TimeRange
	Holes               []TimeRange
}

// UsageEvent is a container event with what usage reads of it (a host of
// 100,000 records has tens of thousands: less than a whole record each).
type UsageEvent struct {
	Seq    uint64 // the record's place in its host's chain
	Time   int64  // the event's time (unix ns)
	Action string
	Actor  string // the container's ID
	// Name and Service are the event's attributes (name,
	// com.docker.swarm.service.name), "" when it does not carry them.
	Name, Service string
	// Labels are its labels; needed only to group by label.
	Labels map[string]string
}

// UsageEventOf is r's usage event, if r records a container event.
func UsageEventOf(r record.Record) (UsageEvent, bool) {
	if r.Kind != record.KindEvent || r.Event == nil || r.Event.Type != "container" {
		return UsageEvent{}, false
	}
	e := r.Event
	return UsageEvent{Seq: r.Seq, Time: e.TimeNano, Action: e.Action, Actor: e.Actor,
		Name: e.Attrs.Name, Service: e.Attrs.ServiceName, Labels: e.Attrs.Labels}, true
}

func usageInput(c *Chain) UsageInput {
	in := UsageInput{Host: c.Host, Holes: c.Holes}
	for _, g := range c.Gaps {
		in.Gaps = append(in.Gaps, TimeRange{g.Record.Gap.From, g.Record.Gap.To})
	}
	for i, s := range c.Records {
		r := s.Record
		if i == 0 {
			in.FirstTime = r.Time
		}
		in.LastTime = max(in.LastTime, r.Time)
		if e, ok := UsageEventOf(r); ok {
			in.Events = append(in.Events, e)
		}
	}
	return in
}

// UsageOf is ComputeUsage over hosts' usage inputs.
func UsageOf(inputs []UsageInput, opt UsageOptions) ([]UsageRow, []Interval, error) {
	if opt.To < opt.From {
		return nil, nil, fmt.Errorf("usage: window ends (%s) before it starts (%s)", fmtTime(opt.To), fmtTime(opt.From))
	}
	var labelKey string
	switch {
	case opt.By == "" || opt.By == "service" || opt.By == "host" || opt.By == "container":
	case strings.HasPrefix(opt.By, "label=") && len(opt.By) > len("label="):
		labelKey = strings.TrimPrefix(opt.By, "label=")
	default:
		return nil, nil, fmt.Errorf("usage: --by %q: want service, host, container or label=KEY", opt.By)
	}
	// Each host's intervals, clipped to the window; those outside it
	// dropped. An interval ends at an event or at its host's last record
	// (once a container): about as many as the events, allocated once.
	events := 0
	for _, in := range inputs {
		events += len(in.Events)
	}
	out := make([]Interval, 0, events+events/8)
	for _, in := range inputs {
		first := len(out)
		out = hostIntervals(out, in)
		kept := out[:first]
		for _, iv := range out[first:] {
			iv.From, iv.To = max(iv.From, opt.From), min(iv.To, opt.To)
			if iv.To > iv.From {
				kept = append(kept, iv)
			}
		}
		out = kept
	}
	rows := map[string]*UsageRow{}
	// A group's containers are counted once each.
	type member struct{ group, host, container string }
	members := map[member]bool{}
	for i := range out {
		iv := &out[i]
		switch {
		case opt.By == "service":
			iv.Group = iv.attr(ServiceLabel)
		case opt.By == "host":
			iv.Group = iv.Host
		case labelKey != "":
			iv.Group = iv.attr(labelKey)
		default:
			iv.Group = iv.Name + " (" + shortID(iv.Container) + ")"
		}
		iv.labels = nil
		r := rows[iv.Group]
		if r == nil {
			r = &UsageRow{Group: iv.Group}
			rows[iv.Group] = r
		}
		if m := (member{iv.Group, iv.Host, iv.Container}); !members[m] {
			members[m] = true
			r.Containers++
		}
		switch {
		case iv.State == StatePaused && iv.Uncertain:
			r.PausedUncertain += iv.Duration()
		case iv.State == StatePaused:
			r.Paused += iv.Duration()
		case iv.Uncertain:
			r.Intervals++
			r.Uncertain += iv.Duration()
		default:
			r.Intervals++
			r.Running += iv.Duration()
		}
	}
	list := make([]UsageRow, 0, len(rows))
	for _, r := range rows {
		list = append(list, *r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Group < list[j].Group })
	return list, byStart(out), nil
}

// byStart returns ivs ordered by From, those of one From in the order
// they come: indexes are sorted, not the intervals (a stable sort of
// tens of thousands of intervals moves each many times over).
func byStart(ivs []Interval) []Interval {
	idx := make([]int, len(ivs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(ivs[a].From, ivs[b].From), cmp.Compare(a, b))
	})
	out := make([]Interval, len(ivs))
	for i, j := range idx {
		out[i] = ivs[j]
	}
	return out
}

func (iv *Interval) attr(key string) string {
	if v := iv.labels[key]; v != "" {
		return v
	}
	if key == ServiceLabel && iv.service != "" {
		return iv.service
	}
	return "(none)"
}

// container state while walking a chain.
type ctrState struct {
	id, name, service string
	labels            map[string]string
	state             string // "", StateRunning or StatePaused
	started           bool   // a start was recorded
	since             int64
	uncertainStart    string // why the open interval's start is uncertain
}

// hostIntervals appends the intervals of in's host to out.
func hostIntervals(out []Interval, in UsageInput) []Interval {
	ctrs := map[string]*ctrState{}
	firstTime, lastTime := in.FirstTime, in.LastTime
	spans := append(append([]TimeRange{}, in.Gaps...), in.Holes...) // gaps and holes of the host
	interval := func(s *ctrState, from, to int64) Interval {
		return Interval{Host: in.Host, Container: s.id, Name: s.name, State: s.state, From: from, To: to, service: s.service, labels: s.labels}
	}
	// closeAt ends the container's open interval at t and leaves it in
	// state next from t on.
	closeAt := func(s *ctrState, t int64, reason, next string) {
		iv := interval(s, s.since, t)
		if s.uncertainStart != "" {
			iv.Uncertain, iv.Reason = true, s.uncertainStart
		}
		if reason != "" {
			iv.Uncertain, iv.Reason = true, joinReason(iv.Reason, reason)
		}
		for _, sp := range spans {
			if (TimeRange{iv.From, iv.To}).Overlaps(sp) {
				iv.Uncertain, iv.Reason = true, joinReason(iv.Reason, "overlaps a gap or missing records of the host")
				break
			}
		}
		out = append(out, iv)
		s.state, s.since, s.uncertainStart = next, t, ""
	}
	for _, e := range in.Events {
		st := ctrs[e.Actor]
		if st == nil {
			st = &ctrState{id: e.Actor}
			ctrs[e.Actor] = st
		}
		if e.Name != "" {
			st.name = e.Name
		}
		if e.Service != "" {
			st.service = e.Service
		}
		if len(e.Labels) > 0 {
			st.labels = e.Labels
		}
		t := e.Time
		switch e.Action {
		case "start", "unpause":
			st.started = true
			switch {
			case st.state == StateRunning:
				closeAt(st, t, "a second "+e.Action+" without a die or pause before it", StateRunning)
			case st.state == StatePaused:
				closeAt(st, t, "", StateRunning)
			default:
				st.state, st.since = StateRunning, t
			}
		case "pause":
			switch {
			case st.state == StateRunning:
				closeAt(st, t, "", StatePaused)
			case st.state == "" && !st.started:
				// Running since before the host's first record.
				st.state, st.since, st.uncertainStart = StateRunning, firstTime, "its start was not recorded"
				closeAt(st, t, "", StatePaused)
			}
		case "die":
			switch {
			case st.state != "":
				closeAt(st, t, "", "")
			case !st.started:
				st.state, st.since, st.uncertainStart = StateRunning, firstTime, "its start was not recorded"
				closeAt(st, t, "", "")
			}
		}
	}
	ids := make([]string, 0, len(ctrs))
	for id := range ctrs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := ctrs[id]
		if st.state == "" {
			continue
		}
		state := st.state
		if lastTime > st.since {
			closeAt(st, lastTime, "", state)
		}
		st.state = state
		iv := interval(st, lastTime, maxTime)
		iv.Uncertain, iv.Reason = true, "still "+state+" at the host's last record"
		out = append(out, iv)
	}
	return out
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
