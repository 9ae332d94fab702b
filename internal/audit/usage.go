package audit

import (
	"fmt"
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
	Events              []record.Record // container events, in seq order
	Gaps                []TimeRange
	Holes               []TimeRange
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
		if r.Kind == record.KindEvent && r.Event.Type == "container" {
			in.Events = append(in.Events, r)
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
	var all []Interval
	for _, in := range inputs {
		all = append(all, hostIntervals(in)...)
	}
	// Attributes and grouping.
	var out []Interval
	for _, iv := range all {
		iv.From, iv.To = max(iv.From, opt.From), min(iv.To, opt.To)
		if iv.To <= iv.From {
			continue
		}
		out = append(out, iv)
	}
	rows := map[string]*UsageRow{}
	members := map[string]map[string]bool{}
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
			rows[iv.Group], members[iv.Group] = r, map[string]bool{}
		}
		members[iv.Group][iv.Host+"/"+iv.Container] = true
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
	var list []UsageRow
	for g, r := range rows {
		r.Containers = len(members[g])
		list = append(list, *r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Group < list[j].Group })
	sort.SliceStable(out, func(i, j int) bool { return out[i].From < out[j].From })
	return list, out, nil
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

func hostIntervals(in UsageInput) []Interval {
	var out []Interval
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
	for _, r := range in.Events {
		if r.Kind != record.KindEvent || r.Event.Type != "container" {
			continue
		}
		e := r.Event
		st := ctrs[e.Actor]
		if st == nil {
			st = &ctrState{id: e.Actor}
			ctrs[e.Actor] = st
		}
		if e.Attrs.Name != "" {
			st.name = e.Attrs.Name
		}
		if e.Attrs.ServiceName != "" {
			st.service = e.Attrs.ServiceName
		}
		if len(e.Attrs.Labels) > 0 {
			st.labels = e.Attrs.Labels
		}
		t := e.TimeNano
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
