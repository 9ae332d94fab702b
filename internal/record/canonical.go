package record

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The canonical encoding (schema version 1) is JSON written by this file
// alone, never by encoding/json (whose escaping has changed between Go
// releases), so that it is byte-identical across processes, platforms and Go
// versions:
//
//   - objects: keys in ascending byte order, no white space; optional fields
//     (marked omitempty in the struct tags) are left out when zero, required
//     fields are always written;
//   - integers: base-10, no sign for non-negative values, no leading zeros;
//   - strings: UTF-8 as is, except '"' and '\\' escaped with a backslash and
//     every byte below 0x20 written as \u00XX (lower-case hex); invalid UTF-8
//     never reaches the encoder (Validate refuses it);
//   - maps: keys in ascending byte order.
//
// The record's Hash is the SHA-256 of these bytes. The encoding is also valid
// JSON that encoding/json decodes back into the same Record.

// Canonical returns the canonical encoding of r.
func (r Record) Canonical() []byte {
	o := newObj()
	o.int("v", int64(r.V))
	o.str("kind", string(r.Kind))
	o.str("host", r.Host)
	o.uint("seq", r.Seq)
	o.str("prev", r.Prev)
	o.int("time", r.Time)
	if r.Event != nil {
		o.raw("event", r.Event.canonical())
	}
	if r.Gap != nil {
		o.raw("gap", r.Gap.canonical())
	}
	if r.Heartbeat != nil {
		o.raw("heartbeat", r.Heartbeat.canonical())
	}
	if r.Lifecycle != nil {
		o.raw("lifecycle", r.Lifecycle.canonical())
	}
	if r.Snapshot != nil {
		o.raw("snapshot", r.Snapshot.canonical())
	}
	return o.bytes()
}

func (e *Event) canonical() []byte {
	o := newObj()
	o.str("type", e.Type)
	o.str("action", e.Action)
	o.str("actor", e.Actor)
	o.str("scope", e.Scope)
	o.int("timeNano", e.TimeNano)
	o.raw("attrs", e.Attrs.canonical())
	return o.bytes()
}

// CanonicalEvent returns the canonical encoding of the event alone: what
// several managers reporting one swarm event agree on.
func (e *Event) CanonicalEvent() []byte { return e.canonical() }

func (a *Attributes) canonical() []byte {
	o := newObj()
	o.optStr("name", a.Name)
	o.optStr("image", a.Image)
	o.optStr("imageDigest", a.ImageDigest)
	o.optStr("exitCode", a.ExitCode)
	o.optStr("signal", a.Signal)
	o.optStr("nodeId", a.NodeID)
	o.optStr("serviceId", a.ServiceID)
	o.optStr("serviceName", a.ServiceName)
	o.optStr("taskId", a.TaskID)
	o.optStr("taskName", a.TaskName)
	o.optStr("replicasOld", a.ReplicasOld)
	o.optStr("replicasNew", a.ReplicasNew)
	o.optStr("oldName", a.OldName)
	if len(a.Labels) > 0 {
		o.raw("labels", stringMap(a.Labels))
	}
	return o.bytes()
}

func (g *Gap) canonical() []byte {
	o := newObj()
	o.int("from", g.From)
	o.int("to", g.To)
	o.str("reason", g.Reason)
	o.uint("lost", g.Lost)
	o.optStr("detail", g.Detail)
	return o.bytes()
}

func (h *Heartbeat) canonical() []byte {
	o := newObj()
	o.int("intervalMs", h.IntervalMs)
	o.int("lastEvent", h.LastEvent)
	o.uint("pending", h.Pending)
	if h.Dropped != 0 {
		o.uint("dropped", h.Dropped)
	}
	return o.bytes()
}

func (l *Lifecycle) canonical() []byte {
	o := newObj()
	o.str("version", l.Version)
	o.optStr("reason", l.Reason)
	return o.bytes()
}

func (s *Snapshot) canonical() []byte {
	o := newObj()
	o.int("part", int64(s.Part))
	o.int("parts", int64(s.Parts))
	list := []byte{'['}
	for i := range s.Containers {
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, s.Containers[i].canonical()...)
	}
	list = append(list, ']')
	o.raw("containers", list)
	return o.bytes()
}

func (c *SnapshotContainer) canonical() []byte {
	o := newObj()
	o.str("id", c.ID)
	o.optStr("name", c.Name)
	o.optStr("image", c.Image)
	o.str("state", c.State)
	if c.StartedAt != 0 {
		o.int("startedAt", c.StartedAt)
	}
	if c.FinishedAt != 0 {
		o.int("finishedAt", c.FinishedAt)
	}
	o.int("exitCode", int64(c.ExitCode))
	return o.bytes()
}

// obj collects the members of one JSON object and writes them sorted by
// key. The members' values are appended one after another to scratch (a
// value keeps its bytes when scratch grows), so that an object costs a few
// allocations, not one per member.
type obj struct {
	members []member
	scratch []byte
}

type member struct {
	key string
	val []byte
}

func newObj() obj { return obj{members: make([]member, 0, 8), scratch: make([]byte, 0, 256)} }

func (o *obj) raw(k string, v []byte) { o.members = append(o.members, member{k, v}) }

// add records the value appended to scratch since start.
func (o *obj) add(k string, start int) {
	o.raw(k, o.scratch[start:len(o.scratch):len(o.scratch)])
}

func (o *obj) str(k, v string) {
	start := len(o.scratch)
	o.scratch = appendString(o.scratch, v)
	o.add(k, start)
}

func (o *obj) int(k string, v int64) {
	start := len(o.scratch)
	o.scratch = strconv.AppendInt(o.scratch, v, 10)
	o.add(k, start)
}

func (o *obj) uint(k string, v uint64) {
	start := len(o.scratch)
	o.scratch = strconv.AppendUint(o.scratch, v, 10)
	o.add(k, start)
}

func (o *obj) optStr(k string, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *obj) bytes() []byte {
	slices.SortFunc(o.members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	n := 2 + len(o.members) // braces, commas and colons
	for _, m := range o.members {
		n += len(m.key) + 2 + len(m.val)
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, m := range o.members {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

func stringMap(m map[string]string) []byte {
	o := obj{members: make([]member, 0, len(m))}
	for k, v := range m {
		o.str(k, v)
	}
	return o.bytes()
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	if !needsEscape(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[i:i+size]...)
			i += size
		}
	}
	return append(b, '"')
}

// needsEscape reports whether appendString writes s other than as is:
// every other byte, of valid UTF-8 or not, is copied unchanged.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return true
		}
	}
	return false
}
