package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Bounds and closed sets of the schema (document section 2).
const (
	maxRecordBytes = 262144
	maxBatchBytes  = 8388608
	maxBatch       = 1000
)

var (
	kinds      = []string{"event", "gap", "heartbeat", "start", "stop", "snapshot"}
	eventTypes = []string{"container", "service", "node", "network", "volume", "image", "daemon", "plugin", "secret", "config"}
	gapReasons = []string{"docker-restart", "replay-window", "spool-full", "stream-error", "collector-down", "dead-letter", "collector-replaced"}
	payloadOf  = map[string]string{
		"event": "event", "gap": "gap", "heartbeat": "heartbeat",
		"start": "lifecycle", "stop": "lifecycle", "snapshot": "snapshot",
	}
	hex64   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	decimal = regexp.MustCompile(`^[+-]?[0-9]+$`)
)

// text classes of section 2.2.
type textClass int

const (
	classText  textClass = iota // UTF-8, no U+0000-U+001F, no U+007F
	classFree                   // text, but tab, LF and CR allowed
	classIdent                  // bytes 0x21-0x7e only
)

// checkString applies a text class and a byte bound; required strings
// must not be empty.
func checkString(field, v string, class textClass, max int, required bool) error {
	if v == "" {
		if required {
			return refuse(CodeSchema, field, "must not be empty")
		}
		return nil
	}
	if len(v) > max {
		return refuse(CodeSchema, field, "%d bytes exceed %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return refuse(CodeSchema, field, "not UTF-8")
	}
	for _, r := range v {
		ok := r >= 0x20 && r != 0x7f
		switch class {
		case classFree:
			ok = ok || r == '\t' || r == '\n' || r == '\r'
		case classIdent:
			ok = r > 0x20 && r < 0x7f
		}
		if !ok {
			return refuse(CodeSchema, field, "character %U not allowed", r)
		}
	}
	return nil
}

// validate checks a record against the schema of section 2.
func validate(r object) error {
	if r.int("v") != 1 {
		return refuse(CodeSchema, "v", "version %d", r.int("v"))
	}
	kind := r.str("kind")
	if !slices.Contains(kinds, kind) {
		return refuse(CodeSchema, "kind", "unknown kind %q", kind)
	}
	if err := checkString("host", r.str("host"), classIdent, 253, true); err != nil {
		return err
	}
	if r.uint("seq") < 1 {
		return refuse(CodeSchema, "seq", "must be at least 1")
	}
	if !hex64.MatchString(r.str("prev")) {
		return refuse(CodeSchema, "prev", "must be 64 lower-case hex digits")
	}
	if r.uint("seq") == 1 && r.str("prev") != Genesis {
		return refuse(CodeSchema, "prev", "seq 1 must have the genesis prev")
	}
	if r.int("time") <= 0 {
		return refuse(CodeSchema, "time", "must be positive")
	}
	want := payloadOf[kind]
	for _, p := range []string{"event", "gap", "heartbeat", "lifecycle", "snapshot"} {
		if (r.obj(p) != nil) != (p == want) {
			return refuse(CodeSchema, "kind", "a %s record carries exactly the %s payload", kind, want)
		}
	}
	p := r.obj(want)
	switch want {
	case "event":
		return validateEvent(p, r.int("time"))
	case "gap":
		return validateGap(p)
	case "heartbeat":
		if p.int("intervalMs") <= 0 || p.int("lastEvent") < 0 {
			return refuse(CodeSchema, "heartbeat", "intervalMs must be positive, lastEvent not negative")
		}
		return nil
	case "lifecycle":
		if err := checkString("lifecycle.version", p.str("version"), classText, 64, true); err != nil {
			return err
		}
		return checkString("lifecycle.reason", p.str("reason"), classText, 1024, false)
	default:
		return validateSnapshot(p)
	}
}

func validateEvent(e object, recordTime int64) error {
	if !slices.Contains(eventTypes, e.str("type")) {
		return refuse(CodeSchema, "event.type", "unknown type %q", e.str("type"))
	}
	if err := checkString("event.action", e.str("action"), classText, 128, true); err != nil {
		return err
	}
	if err := checkString("event.actor", e.str("actor"), classIdent, 128, true); err != nil {
		return err
	}
	if s := e.str("scope"); s != "local" && s != "swarm" {
		return refuse(CodeSchema, "event.scope", "unknown scope %q", s)
	}
	if e.int("timeNano") != recordTime {
		return refuse(CodeSchema, "event.timeNano", "must equal the record's time")
	}
	a := e.obj("attrs")
	bounds := []struct {
		name string
		max  int
	}{
		{"name", 256}, {"image", 512}, {"imageDigest", 160}, {"exitCode", 64}, {"signal", 64},
		{"nodeId", 64}, {"serviceId", 64}, {"serviceName", 256}, {"taskId", 64}, {"taskName", 256},
		{"replicasOld", 64}, {"replicasNew", 64}, {"oldName", 256},
	}
	for _, b := range bounds {
		if err := checkString("event.attrs."+b.name, a.str(b.name), classText, b.max, false); err != nil {
			return err
		}
	}
	for _, n := range []string{"exitCode", "replicasOld", "replicasNew"} {
		v := a.str(n)
		if v == "" {
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil || !decimal.MatchString(v) {
			return refuse(CodeSchema, "event.attrs."+n, "%q is not a decimal int64", v)
		}
	}
	labels := a.labels("labels")
	if len(labels) > 64 {
		return refuse(CodeSchema, "event.attrs.labels", "%d labels exceed 64", len(labels))
	}
	for k, v := range labels {
		if err := checkString("event.attrs.labels key", k, classText, 256, true); err != nil {
			return err
		}
		if err := checkString("event.attrs.labels["+k+"]", v, classFree, 1024, false); err != nil {
			return err
		}
	}
	return nil
}

func validateGap(g object) error {
	if g.int("from") <= 0 || g.int("to") < g.int("from") {
		return refuse(CodeSchema, "gap", "want 0 < from <= to")
	}
	if !slices.Contains(gapReasons, g.str("reason")) {
		return refuse(CodeSchema, "gap.reason", "unknown reason %q", g.str("reason"))
	}
	return checkString("gap.detail", g.str("detail"), classFree, 1024, false)
}

func validateSnapshot(s object) error {
	parts, part := s.int("parts"), s.int("part")
	if parts < 1 || parts > 1000 || part < 1 || part > parts {
		return refuse(CodeSchema, "snapshot.part", "want 1 <= part <= parts <= 1000")
	}
	cs := s.list("containers")
	if len(cs) > 500 {
		return refuse(CodeSchema, "snapshot.containers", "%d containers exceed 500", len(cs))
	}
	for i, c := range cs {
		p := fmt.Sprintf("snapshot.containers[%d]", i)
		checks := []error{
			checkString(p+".id", c.str("id"), classIdent, 128, true),
			checkString(p+".name", c.str("name"), classText, 256, false),
			checkString(p+".image", c.str("image"), classText, 512, false),
			checkString(p+".state", c.str("state"), classText, 64, true),
		}
		for _, err := range checks {
			if err != nil {
				return err
			}
		}
		if c.int("startedAt") < 0 || c.int("finishedAt") < 0 {
			return refuse(CodeSchema, p, "times must not be negative")
		}
	}
	return nil
}
