package groundtruth

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// recordedByDefault is the collector's default event filter as docs/collector.md
// documents it (E2L_EVENT_FILTER): a copy of the documented rules, kept apart
// from the collector's own filter code on purpose, so the ground truth does
// not inherit a bug of the code it checks.
var recordedByDefault = map[string][]string{
	"container": {"create", "start", "restart", "pause", "unpause", "kill", "die", "oom", "stop", "destroy", "rename", "update"},
	"service":   {"create", "update", "remove"},
	"node":      {"create", "update", "remove"},
}

// RecordedByDefault reports whether the collector's default filter records
// an event of this type and action (the action as Docker sends it, e.g.
// "exec_start: sh -c true", is reduced to its base).
func RecordedByDefault(typ, action string) bool {
	return slices.Contains(recordedByDefault[typ], BaseAction(action))
}

// BaseAction is the part of a Docker action before its first colon, trimmed.
func BaseAction(action string) string {
	base, _, _ := strings.Cut(action, ":")
	return strings.TrimSpace(base)
}

// Key identifies a Docker event: type, base action, actor and time.
type Key struct {
	Type, Action, Actor string
	TimeNano            int64
}

// NewKey makes the key of an event, reducing the action to its base.
func NewKey(typ, action, actor string, timeNano int64) Key {
	return Key{Type: typ, Action: BaseAction(action), Actor: actor, TimeNano: timeNano}
}

func (k Key) String() string {
	return fmt.Sprintf("%s %s %.12s @%s", k.Type, k.Action, k.Actor, time.Unix(0, k.TimeNano).UTC().Format("15:04:05.000000000"))
}

// Window is a closed interval of unix nanoseconds.
type Window struct{ From, To int64 }

// Contains reports whether t lies in the window.
func (w Window) Contains(t int64) bool { return w.From <= t && t <= w.To }

// Holds reports whether the interval [from, to] lies inside the window.
func (w Window) Holds(from, to int64) bool { return w.From <= from && to <= w.To }

func (w Window) String() string {
	f := func(t int64) string { return time.Unix(0, t).UTC().Format("15:04:05.000") }
	return "[" + f(w.From) + ", " + f(w.To) + "]"
}
