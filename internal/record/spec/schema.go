// Package spec is a second, independent implementation of e2l's record
// format, written from docs/record-format.md alone. It does not import
// internal/record and uses only the standard library: the test vectors in
// internal/record/testdata/vectors are checked against both, which shows
// that the document is enough for another organization to write its own
// verifier. It is a reference for such verifiers, not used by e2l itself.
//
// A record is held as a tree (object) shaped by the schema tables of this
// file, the tables of sections 2 and 3 of the document.
package spec

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// valueType is the JSON type of a schema member (document section 2).
type valueType int

const (
	tString valueType = iota // JSON string
	tInt                     // integer within int64
	tUint                    // integer within uint64
	tObject                  // nested object, members in sub
	tList                    // array of objects, each with members sub
	tLabels                  // object of string members (labels)
)

// member is one row of a schema table.
type member struct {
	name string
	typ  valueType
	// optional members are left out of the canonical encoding when zero
	// (empty string, 0, no labels, absent object); required ones are always
	// written, as their zero value when absent.
	optional bool
	sub      []member
}

var (
	attrsSchema = []member{
		{name: "name", optional: true}, {name: "image", optional: true}, {name: "imageDigest", optional: true},
		{name: "exitCode", optional: true}, {name: "signal", optional: true}, {name: "nodeId", optional: true},
		{name: "serviceId", optional: true}, {name: "serviceName", optional: true}, {name: "taskId", optional: true},
		{name: "taskName", optional: true}, {name: "replicasOld", optional: true}, {name: "replicasNew", optional: true},
		{name: "oldName", optional: true}, {name: "labels", typ: tLabels, optional: true},
	}
	eventSchema = []member{
		{name: "type"}, {name: "action"}, {name: "actor"}, {name: "scope"},
		{name: "timeNano", typ: tInt}, {name: "attrs", typ: tObject, sub: attrsSchema},
	}
	gapSchema = []member{
		{name: "from", typ: tInt}, {name: "to", typ: tInt}, {name: "reason"},
		{name: "lost", typ: tUint}, {name: "detail", optional: true},
	}
	heartbeatSchema = []member{
		{name: "intervalMs", typ: tInt}, {name: "lastEvent", typ: tInt},
		{name: "pending", typ: tUint}, {name: "dropped", typ: tUint, optional: true},
	}
	lifecycleSchema = []member{{name: "version"}, {name: "reason", optional: true}}
	containerSchema = []member{
		{name: "id"}, {name: "name", optional: true}, {name: "image", optional: true}, {name: "state"},
		{name: "startedAt", typ: tInt, optional: true}, {name: "finishedAt", typ: tInt, optional: true},
		{name: "exitCode", typ: tInt},
	}
	snapshotSchema = []member{
		{name: "part", typ: tInt}, {name: "parts", typ: tInt},
		{name: "containers", typ: tList, sub: containerSchema},
	}
	recordSchema = []member{
		{name: "v", typ: tInt}, {name: "kind"}, {name: "host"}, {name: "seq", typ: tUint},
		{name: "prev"}, {name: "time", typ: tInt},
		{name: "event", typ: tObject, optional: true, sub: eventSchema},
		{name: "gap", typ: tObject, optional: true, sub: gapSchema},
		{name: "heartbeat", typ: tObject, optional: true, sub: heartbeatSchema},
		{name: "lifecycle", typ: tObject, optional: true, sub: lifecycleSchema},
		{name: "snapshot", typ: tObject, optional: true, sub: snapshotSchema},
	}
)

// object is a decoded JSON object checked against a schema: string,
// int64, uint64, object, []object or map[string]string values, one per
// member present (null members are absent).
type object map[string]any

func (o object) str(k string) string {
	s, _ := o[k].(string)
	return s
}

func (o object) int(k string) int64 {
	n, _ := o[k].(int64)
	return n
}

func (o object) uint(k string) uint64 {
	n, _ := o[k].(uint64)
	return n
}

// obj returns the nested object k, nil when absent.
func (o object) obj(k string) object {
	v, _ := o[k].(object)
	return v
}

func (o object) list(k string) []object {
	v, _ := o[k].([]object)
	return v
}

func (o object) labels(k string) map[string]string {
	v, _ := o[k].(map[string]string)
	return v
}

// fromJSON turns a value decoded by encoding/json (with UseNumber) into an
// object of the schema: unknown members, wrong types and numbers that are
// not integers in range are refused; null members are absent.
func fromJSON(v any, schema []member, path string) (object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a JSON object", path)
	}
	out := object{}
	for k, val := range m {
		f := lookup(schema, k)
		if f == nil {
			return nil, fmt.Errorf("%s: unknown member %q", path, k)
		}
		if val == nil {
			continue
		}
		p := join(path, k)
		var err error
		switch f.typ {
		case tString:
			s, ok := val.(string)
			if !ok {
				return nil, fmt.Errorf("%s: want a string", p)
			}
			out[k] = s
		case tInt:
			out[k], err = number(val, p, func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) })
		case tUint:
			out[k], err = number(val, p, func(s string) (any, error) { return strconv.ParseUint(s, 10, 64) })
		case tObject:
			out[k], err = fromJSON(val, f.sub, p)
		case tList:
			out[k], err = listFromJSON(val, f.sub, p)
		case tLabels:
			out[k], err = labelsFromJSON(val, p)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func number(v any, path string, parse func(string) (any, error)) (any, error) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s: want a number", path)
	}
	x, err := parse(string(n))
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not an integer in range", path, n)
	}
	return x, nil
}

func listFromJSON(v any, schema []member, path string) ([]object, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an array", path)
	}
	out := make([]object, len(a))
	for i, e := range a {
		o, err := fromJSON(e, schema, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

func labelsFromJSON(v any, path string) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object", path)
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%q]: want a string", path, k)
		}
		out[k] = s
	}
	return out, nil
}

func lookup(schema []member, name string) *member {
	for i := range schema {
		if schema[i].name == name {
			return &schema[i]
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
