package record

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Size bounds. Docker's own values stay far below them; anything above is
// refused, never truncated, so what is on the ledger is what Docker said.
const (
	MaxHostLen        = 253       // a DNS name
	MaxTypeLen        = 32        // Docker event type
	MaxActionLen      = 128       // Docker action ("exec_start: sh -c ..." is long)
	MaxActorLen       = 128       // container/service ID (64 hex) or name
	MaxNameLen        = 256       // container, service, task names
	MaxImageLen       = 512       // image reference
	MaxDigestLen      = 160       // sha256:<64 hex> and algorithm names
	MaxShortAttrLen   = 64        // exit code, signal, replicas, Swarm IDs
	MaxLabels         = 64        // labels per event
	MaxLabelKeyLen    = 256       // one label key
	MaxLabelValueLen  = 1024      // one label value
	MaxDetailLen      = 1024      // gap detail, lifecycle reason
	MaxVersionLen     = 64        // collector version
	MaxSnapshotItems  = 500       // containers in one snapshot part
	MaxSnapshotParts  = 1000      // parts of one snapshot
	MaxRecordBytes    = 256 << 10 // canonical encoding of one record
	MaxBatchRecords   = 1000      // records in one RecordEvents call
	MaxFutureSkewNano = int64(5 * 60 * 1e9)
)

// EventTypes are the Docker event types a record may carry.
var EventTypes = []string{"container", "service", "node", "network", "volume", "image", "daemon", "plugin", "secret", "config"}

// ValidationError says which field of a record is wrong and why.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// ErrInvalid is matched by every ValidationError (errors.Is).
var ErrInvalid = errors.New("invalid record")

// Is makes errors.Is(err, ErrInvalid) true for validation errors.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks the record against the schema and its bounds. It does not
// check the chain (see CheckBatch) nor anything that needs the ledger.
func (r Record) Validate() error {
	if err := r.validateFields(); err != nil {
		return err
	}
	return checkSize(r.Canonical())
}

func checkSize(canonical []byte) error {
	if n := len(canonical); n > MaxRecordBytes {
		return invalid("record", "canonical size %d bytes exceeds %d", n, MaxRecordBytes)
	}
	return nil
}

// validateFields is Validate without the size bound of the encoding, for
// callers that encode the record anyway.
func (r Record) validateFields() error {
	if r.V != SchemaVersion {
		return invalid("v", "schema version %d is not supported (want %d)", r.V, SchemaVersion)
	}
	if !slices.Contains(Kinds, r.Kind) {
		return invalid("kind", "unknown kind %q", r.Kind)
	}
	if err := CheckIdent("host", r.Host, MaxHostLen, true); err != nil {
		return err
	}
	if r.Seq == 0 {
		return invalid("seq", "must be at least 1")
	}
	if !isHex64(r.Prev) {
		return invalid("prev", "must be 64 lower-case hex characters")
	}
	if r.Seq == 1 && r.Prev != GenesisPrev {
		return invalid("prev", "the first record of a host (seq 1) must have the genesis prev")
	}
	if r.Time <= 0 {
		return invalid("time", "must be a positive unix time in nanoseconds")
	}
	payloads := map[Kind]bool{
		KindEvent:     r.Event != nil,
		KindGap:       r.Gap != nil,
		KindHeartbeat: r.Heartbeat != nil,
		KindStart:     r.Lifecycle != nil,
		KindStop:      r.Lifecycle != nil,
		KindSnapshot:  r.Snapshot != nil,
	}
	if !payloads[r.Kind] {
		return invalid(string(r.Kind), "payload missing for kind %q", r.Kind)
	}
	set := 0
	for _, p := range []bool{r.Event != nil, r.Gap != nil, r.Heartbeat != nil, r.Lifecycle != nil, r.Snapshot != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return invalid("kind", "a %q record must carry exactly one payload, found %d", r.Kind, set)
	}
	var err error
	switch r.Kind {
	case KindEvent:
		err = r.Event.validate(r.Time)
	case KindGap:
		err = r.Gap.validate()
	case KindHeartbeat:
		err = r.Heartbeat.validate()
	case KindStart, KindStop:
		err = r.Lifecycle.validate()
	case KindSnapshot:
		err = r.Snapshot.validate()
	}
	return err
}

func (e *Event) validate(recordTime int64) error {
	if !slices.Contains(EventTypes, e.Type) {
		return invalid("event.type", "unknown Docker event type %q", e.Type)
	}
	if err := CheckText("event.action", e.Action, MaxActionLen, true); err != nil {
		return err
	}
	if err := CheckIdent("event.actor", e.Actor, MaxActorLen, true); err != nil {
		return err
	}
	if e.Scope != ScopeLocal && e.Scope != ScopeSwarm {
		return invalid("event.scope", "must be %q or %q, got %q", ScopeLocal, ScopeSwarm, e.Scope)
	}
	if e.TimeNano <= 0 {
		return invalid("event.timeNano", "must be positive")
	}
	if e.TimeNano != recordTime {
		return invalid("event.timeNano", "must equal the record time")
	}
	return e.Attrs.validate()
}

func (a *Attributes) validate() error {
	fields := []struct {
		name string
		val  string
		max  int
	}{
		{"name", a.Name, MaxNameLen},
		{"image", a.Image, MaxImageLen},
		{"imageDigest", a.ImageDigest, MaxDigestLen},
		{"exitCode", a.ExitCode, MaxShortAttrLen},
		{"signal", a.Signal, MaxShortAttrLen},
		{"nodeId", a.NodeID, MaxShortAttrLen},
		{"serviceId", a.ServiceID, MaxShortAttrLen},
		{"serviceName", a.ServiceName, MaxNameLen},
		{"taskId", a.TaskID, MaxShortAttrLen},
		{"taskName", a.TaskName, MaxNameLen},
		{"replicasOld", a.ReplicasOld, MaxShortAttrLen},
		{"replicasNew", a.ReplicasNew, MaxShortAttrLen},
		{"oldName", a.OldName, MaxNameLen},
	}
	for _, f := range fields {
		if err := CheckText("event.attrs."+f.name, f.val, f.max, false); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, val string }{{"exitCode", a.ExitCode}, {"replicasOld", a.ReplicasOld}, {"replicasNew", a.ReplicasNew}} {
		if f.val == "" {
			continue
		}
		if _, err := strconv.ParseInt(f.val, 10, 64); err != nil {
			return invalid("event.attrs."+f.name, "must be a decimal integer, got %q", f.val)
		}
	}
	if len(a.Labels) > MaxLabels {
		return invalid("event.attrs.labels", "%d labels exceed the bound of %d", len(a.Labels), MaxLabels)
	}
	for k, v := range a.Labels {
		if err := CheckText("event.attrs.labels key", k, MaxLabelKeyLen, true); err != nil {
			return err
		}
		if err := CheckFreeText("event.attrs.labels["+k+"]", v, MaxLabelValueLen); err != nil {
			return err
		}
	}
	return nil
}

func (g *Gap) validate() error {
	if g.From <= 0 || g.To <= 0 {
		return invalid("gap", "from and to must be positive unix times in nanoseconds")
	}
	if g.To < g.From {
		return invalid("gap.to", "ends (%d) before it starts (%d)", g.To, g.From)
	}
	if !slices.Contains(GapReasons, g.Reason) {
		return invalid("gap.reason", "unknown reason %q", g.Reason)
	}
	return CheckFreeText("gap.detail", g.Detail, MaxDetailLen)
}

func (h *Heartbeat) validate() error {
	if h.IntervalMs <= 0 {
		return invalid("heartbeat.intervalMs", "must be positive")
	}
	if h.LastEvent < 0 {
		return invalid("heartbeat.lastEvent", "must not be negative")
	}
	return nil
}

func (l *Lifecycle) validate() error {
	if err := CheckText("lifecycle.version", l.Version, MaxVersionLen, true); err != nil {
		return err
	}
	return CheckText("lifecycle.reason", l.Reason, MaxDetailLen, false)
}

func (s *Snapshot) validate() error {
	if s.Parts < 1 || s.Parts > MaxSnapshotParts {
		return invalid("snapshot.parts", "must be between 1 and %d", MaxSnapshotParts)
	}
	if s.Part < 1 || s.Part > s.Parts {
		return invalid("snapshot.part", "must be between 1 and parts (%d)", s.Parts)
	}
	if len(s.Containers) > MaxSnapshotItems {
		return invalid("snapshot.containers", "%d containers exceed the bound of %d per part", len(s.Containers), MaxSnapshotItems)
	}
	for i := range s.Containers {
		c := &s.Containers[i]
		p := fmt.Sprintf("snapshot.containers[%d]", i)
		if err := CheckIdent(p+".id", c.ID, MaxActorLen, true); err != nil {
			return err
		}
		if err := CheckText(p+".name", c.Name, MaxNameLen, false); err != nil {
			return err
		}
		if err := CheckText(p+".image", c.Image, MaxImageLen, false); err != nil {
			return err
		}
		if err := CheckText(p+".state", c.State, MaxShortAttrLen, true); err != nil {
			return err
		}
		if c.StartedAt < 0 || c.FinishedAt < 0 {
			return invalid(p, "times must not be negative")
		}
	}
	return nil
}

// CheckText refuses invalid UTF-8, control characters and values over max
// bytes; the error names field. Producers (the Docker watcher) use the
// Check functions to keep what they build within the record's rules.
func CheckText(field, v string, max int, required bool) error {
	if v == "" {
		if required {
			return invalid(field, "must not be empty")
		}
		return nil
	}
	if len(v) > max {
		return invalid(field, "%d bytes exceed the bound of %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return invalid(field, "contains control character %U", r)
		}
	}
	return nil
}

// CheckFreeText is CheckText for free-form text (label values, details),
// where tabs and line breaks are allowed: the canonical encoding escapes them.
func CheckFreeText(field, v string, max int) error {
	if len(v) > max {
		return invalid(field, "%d bytes exceed the bound of %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range v {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return invalid(field, "contains control character %U", r)
		}
	}
	return nil
}

// CheckIdent is CheckText restricted to printable ASCII without spaces,
// for host names and Docker IDs.
func CheckIdent(field, v string, max int, required bool) error {
	if err := CheckText(field, v, max, required); err != nil {
		return err
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' {
			return invalid(field, "must be printable ASCII without spaces, found %q", c)
		}
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
