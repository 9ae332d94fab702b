package dockerwatch

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/events"

	"github.com/e2l-project/e2l/internal/record"
)

// Action normalisation (decided here, documented in docs/collector.md):
// Docker reports some actions with a colon and a free-text suffix
// ("exec_start: sh -c 'echo hi'", "health_status: healthy",
// "exec_create: /bin/check"). The record keeps the part before the colon as
// Event.Action, so that actions form a closed, queryable set, and the
// trimmed suffix as the label LabelActionDetail. The filter, the metrics and
// the ledger all see the base action.
const (
	// LabelActionDetail holds the text after the colon of a colon action.
	LabelActionDetail = "e2l.action.detail"
	// LabelDropped is set when attributes or labels had to be left out to
	// keep the record within its bounds: the number left out, in decimal.
	// What remains is exactly what Docker said; nothing is truncated.
	LabelDropped = "e2l.dropped"
)

// Docker attribute keys that map to record.Attributes fields.
const (
	attrName        = "name"
	attrImage       = "image"
	attrExitCode    = "exitCode"
	attrSignal      = "signal"
	attrNodeID      = "com.docker.swarm.node.id"
	attrServiceID   = "com.docker.swarm.service.id"
	attrServiceName = "com.docker.swarm.service.name"
	attrTaskID      = "com.docker.swarm.task.id"
	attrTaskName    = "com.docker.swarm.task.name"
	attrReplicasOld = "replicas.old"
	attrReplicasNew = "replicas.new"
	attrOldName     = "oldName"
)

// Reasons an attribute or label was dropped (metric label values).
const (
	dropLabelCount   = "count"         // more than record.MaxLabels labels
	dropLabelKey     = "invalid_key"   // key too long, empty or with control characters
	dropLabelValue   = "invalid_value" // value too long, not UTF-8, or with control characters
	dropKnownAttr    = "invalid_attr"  // a known attribute outside its bound
	dropActionDetail = "action_detail" // colon suffix of an action outside the label bound
)

var labelDropReasons = []string{dropLabelCount, dropLabelKey, dropLabelValue, dropKnownAttr, dropActionDetail}

// errInvalidEvent is wrapped by errors for events that cannot become a record.
var errInvalidEvent = errors.New("event cannot be recorded")

// normalized is one Docker event turned into a record event.
type normalized struct {
	event   record.Event
	base    string         // base action (before ':')
	dropped map[string]int // reason -> attributes/labels left out
}

// splitAction returns the action before the first ':' and the trimmed rest.
func splitAction(a string) (base, detail string) {
	base, detail, _ = strings.Cut(a, ":")
	return strings.TrimSpace(base), strings.TrimSpace(detail)
}

// defaultScope infers the scope of an event from old daemons that do not
// report it: swarm objects are swarm scope, everything else local.
func defaultScope(typ string) string {
	switch typ {
	case "service", "node", "secret", "config":
		return record.ScopeSwarm
	}
	return record.ScopeLocal
}

// normalize turns a Docker event into a record event. It keeps the result
// within the record's bounds by leaving out (never truncating) labels and
// attributes that do not fit, reporting how many in dropped and in the
// LabelDropped label. It returns an error wrapping errInvalidEvent when the
// event itself (type, action, actor, time) cannot be recorded.
func normalize(m events.Message) (normalized, error) {
	n := normalized{dropped: map[string]int{}}
	typ := string(m.Type)
	if !slices.Contains(record.EventTypes, typ) {
		return n, fmt.Errorf("%w: type %q is not a record event type", errInvalidEvent, typ)
	}
	base, detail := splitAction(string(m.Action))
	n.base = base
	if err := record.CheckText("action", base, record.MaxActionLen, true); err != nil {
		return n, fmt.Errorf("%w: %v", errInvalidEvent, err)
	}
	if err := record.CheckIdent("actor", m.Actor.ID, record.MaxActorLen, true); err != nil {
		return n, fmt.Errorf("%w: %v", errInvalidEvent, err)
	}
	t := m.TimeNano
	if t == 0 && m.Time > 0 {
		t = m.Time * 1e9
	}
	if t <= 0 {
		return n, fmt.Errorf("%w: no event time", errInvalidEvent)
	}
	scope := m.Scope
	if scope != record.ScopeLocal && scope != record.ScopeSwarm {
		scope = defaultScope(typ)
	}

	attrs := m.Actor.Attributes
	a := record.Attributes{}
	known := []struct {
		key string
		dst *string
		max int
		num bool
	}{
		{attrName, &a.Name, record.MaxNameLen, false},
		{attrImage, &a.Image, record.MaxImageLen, false},
		{attrExitCode, &a.ExitCode, record.MaxShortAttrLen, true},
		{attrSignal, &a.Signal, record.MaxShortAttrLen, false},
		{attrNodeID, &a.NodeID, record.MaxShortAttrLen, false},
		{attrServiceID, &a.ServiceID, record.MaxShortAttrLen, false},
		{attrServiceName, &a.ServiceName, record.MaxNameLen, false},
		{attrTaskID, &a.TaskID, record.MaxShortAttrLen, false},
		{attrTaskName, &a.TaskName, record.MaxNameLen, false},
		{attrReplicasOld, &a.ReplicasOld, record.MaxShortAttrLen, true},
		{attrReplicasNew, &a.ReplicasNew, record.MaxShortAttrLen, true},
		{attrOldName, &a.OldName, record.MaxNameLen, false},
	}
	isKnown := make(map[string]bool, len(known))
	for _, k := range known {
		isKnown[k.key] = true
		v, ok := attrs[k.key]
		if !ok || v == "" {
			continue
		}
		if record.CheckText(k.key, v, k.max, false) != nil || (k.num && !isDecimal(v)) {
			n.dropped[dropKnownAttr]++
			continue
		}
		*k.dst = v
	}
	// An image pinned by digest ("repo@sha256:...") carries its digest; it
	// costs nothing to record it. Otherwise the digest stays empty: looking
	// it up would mean an API call per event on the read path.
	if _, d, ok := strings.Cut(a.Image, "@"); ok && record.CheckText("imageDigest", d, record.MaxDigestLen, false) == nil {
		a.ImageDigest = d
	}

	labels := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if isKnown[k] {
			continue
		}
		v := attrs[k]
		if record.CheckText("label key", k, record.MaxLabelKeyLen, true) != nil {
			n.dropped[dropLabelKey]++
			continue
		}
		if record.CheckFreeText("label value", v, record.MaxLabelValueLen) != nil {
			n.dropped[dropLabelValue]++
			continue
		}
		labels[k] = v
	}
	if detail != "" {
		if record.CheckFreeText("action detail", detail, record.MaxLabelValueLen) == nil {
			labels[LabelActionDetail] = detail
		} else {
			n.dropped[dropActionDetail]++
		}
	}
	// Room for the LabelDropped marker is kept whenever something is left
	// out: keep the first labels in sorted key order (the action detail,
	// when present, is kept first: it is part of what Docker reported as the
	// action).
	total := 0
	for _, c := range n.dropped {
		total += c
	}
	limit := record.MaxLabels
	if total > 0 || len(labels) > record.MaxLabels {
		limit = record.MaxLabels - 1
	}
	if len(labels) > limit {
		keep := map[string]string{}
		if v, ok := labels[LabelActionDetail]; ok {
			keep[LabelActionDetail] = v
		}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if len(keep) >= limit {
				break
			}
			keep[k] = labels[k]
		}
		n.dropped[dropLabelCount] += len(labels) - len(keep)
		total += len(labels) - len(keep)
		labels = keep
	}
	if total > 0 {
		labels[LabelDropped] = strconv.Itoa(total)
	}
	if len(labels) > 0 {
		a.Labels = labels
	}
	n.event = record.Event{Type: typ, Action: base, Actor: m.Actor.ID, Scope: scope, TimeNano: t, Attrs: a}
	return n, nil
}

// eventRecord wraps a normalised event in a record of host. Seq and Prev
// are assigned by the spool.
func eventRecord(host string, ev record.Event) record.Record {
	return record.Record{V: record.SchemaVersion, Kind: record.KindEvent, Host: host, Time: ev.TimeNano, Event: &ev}
}

// validateUnchained validates r as record.Validate does, with placeholder
// chain fields (the spool assigns the real ones).
func validateUnchained(r record.Record) error {
	r.Seq, r.Prev = 1, record.GenesisPrev
	return r.Validate()
}

func isDecimal(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
