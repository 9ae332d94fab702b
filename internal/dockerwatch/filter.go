package dockerwatch

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/e2l-project/e2l/internal/record"
)

// Filter selects the events that become records: for each Docker event
// type, the base actions recorded (an empty set means every action). The
// watcher subscribes to every event and filters here, on its side, so that
// the replay check after a reconnect sees the daemon's whole buffer.
type Filter map[string]map[string]bool

// DefaultFilterSpec is the default of E2L_EVENT_FILTER: the container
// lifecycle and the swarm service and node changes. Exec and healthcheck
// events (exec_create, exec_start, exec_die, health_status) are left out:
// healthchecks emit them every interval, and exec commands may carry secrets.
const DefaultFilterSpec = "container=create,start,restart,pause,unpause,kill,die,oom,stop,destroy,rename,update;" +
	"service=create,update,remove;node=create,update,remove"

// DefaultFilter returns the filter of DefaultFilterSpec.
func DefaultFilter() Filter {
	f, err := ParseFilter(DefaultFilterSpec)
	if err != nil {
		panic(err) // a constant: covered by tests
	}
	return f
}

// ParseFilter parses "type=action,action;type=*;type": entries separated by
// ';', each a record event type and, after '=', the base actions recorded
// ("*" or nothing for all). Types must be record event types.
func ParseFilter(spec string) (Filter, error) {
	f := Filter{}
	for entry := range strings.SplitSeq(spec, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		typ, acts, _ := strings.Cut(entry, "=")
		typ = strings.TrimSpace(typ)
		if !slices.Contains(record.EventTypes, typ) {
			return nil, fmt.Errorf("event filter: unknown event type %q (known: %s)", typ, strings.Join(record.EventTypes, ", "))
		}
		if _, dup := f[typ]; dup {
			return nil, fmt.Errorf("event filter: type %q appears twice", typ)
		}
		set := map[string]bool{}
		for a := range strings.SplitSeq(acts, ",") {
			a = strings.TrimSpace(a)
			switch {
			case a == "" || a == "*":
				continue
			case strings.ContainsAny(a, ": =;"):
				return nil, fmt.Errorf("event filter: action %q of type %q: give the base action, before any ':'", a, typ)
			}
			set[a] = true
		}
		if strings.Contains(acts, "*") {
			set = map[string]bool{}
		}
		f[typ] = set
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("event filter %q selects no events", spec)
	}
	return f, nil
}

// Match reports whether an event of typ with base action is recorded.
func (f Filter) Match(typ, action string) bool {
	acts, ok := f[typ]
	if !ok {
		return false
	}
	return len(acts) == 0 || acts[action]
}

// String returns the filter in ParseFilter's syntax, sorted.
func (f Filter) String() string {
	var b strings.Builder
	for i, typ := range slices.Sorted(maps.Keys(f)) {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(typ)
		b.WriteByte('=')
		if len(f[typ]) == 0 {
			b.WriteByte('*')
			continue
		}
		b.WriteString(strings.Join(slices.Sorted(maps.Keys(f[typ])), ","))
	}
	return b.String()
}
