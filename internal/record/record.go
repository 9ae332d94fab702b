// Package record is e2l's canonical record format: the one definition of what
// a collector writes, what the chaincode stores and what auditors verify.
//
// A Record is the content a host attests to. Sealing a record derives its ID
// (deterministic, so a record re-sent after a crash maps to the same ledger
// key) and its Hash (SHA-256 over the canonical encoding, see canonical.go).
// Records of one host form a hash chain: Seq increases by one and Prev holds
// the Hash of the host's previous record.
//
// The package is a leaf: it imports neither Docker nor Fabric code and does
// not log, so the collector, the chaincode and the CLI share it.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// SchemaVersion is the version of the record schema and of its canonical
// encoding. A change to either is a new version.
const SchemaVersion = 1

// GenesisPrev is the Prev of a host's first record (Seq 1).
const GenesisPrev = "0000000000000000000000000000000000000000000000000000000000000000"

// Kind says what a record is about.
type Kind string

// The record kinds.
const (
	// KindEvent is one Docker Engine event.
	KindEvent Kind = "event"
	// KindGap says the collector could not prove continuity between two times.
	KindGap Kind = "gap"
	// KindHeartbeat says the collector was alive and nothing was left unrecorded.
	KindHeartbeat Kind = "heartbeat"
	// KindStart is written when a collector starts.
	KindStart Kind = "start"
	// KindStop is written when a collector stops cleanly.
	KindStop Kind = "stop"
	// KindSnapshot lists the containers the Docker daemon knows.
	KindSnapshot Kind = "snapshot"
)

// Kinds lists every kind, in a fixed order.
var Kinds = []Kind{KindEvent, KindGap, KindHeartbeat, KindStart, KindStop, KindSnapshot}

// Scope of a Docker event.
const (
	ScopeLocal = "local" // seen only by the node where it happened (containers)
	ScopeSwarm = "swarm" // seen by every manager (services, nodes, ...)
)

// Record is the content a host attests to. Exactly one of the payload
// pointers is set, the one matching Kind.
type Record struct {
	V    int    `json:"v"`    // SchemaVersion
	Kind Kind   `json:"kind"` // what the record is about
	Host string `json:"host"` // the host that wrote it; must match the signer's e2l.host
	Seq  uint64 `json:"seq"`  // per-host sequence number, from 1
	Prev string `json:"prev"` // Hash of the host's record Seq-1, GenesisPrev for Seq 1
	// Time is unix nanoseconds: Docker's timeNano for events, the collector's
	// clock for every other kind.
	Time int64 `json:"time"`

	Event     *Event     `json:"event,omitempty"`
	Gap       *Gap       `json:"gap,omitempty"`
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"` // start and stop
	Snapshot  *Snapshot  `json:"snapshot,omitempty"`
}

// Event is one Docker Engine event as auditors need it.
type Event struct {
	Type     string     `json:"type"`     // container, service, node, ...
	Action   string     `json:"action"`   // create, start, die, update, ...
	Actor    string     `json:"actor"`    // Actor.ID: container or service ID
	Scope    string     `json:"scope"`    // ScopeLocal or ScopeSwarm
	TimeNano int64      `json:"timeNano"` // Docker's timeNano (equals Record.Time)
	Attrs    Attributes `json:"attrs"`
}

// Attributes are the event attributes auditors need, each bounded (see
// limits.go). Docker reports them as strings and so does the record.
type Attributes struct {
	Name        string            `json:"name,omitempty"`        // container or service name
	Image       string            `json:"image,omitempty"`       // image reference
	ImageDigest string            `json:"imageDigest,omitempty"` // sha256:... when known
	ExitCode    string            `json:"exitCode,omitempty"`    // die: decimal exit code
	Signal      string            `json:"signal,omitempty"`      // kill: signal number
	NodeID      string            `json:"nodeId,omitempty"`      // com.docker.swarm.node.id
	ServiceID   string            `json:"serviceId,omitempty"`   // com.docker.swarm.service.id
	ServiceName string            `json:"serviceName,omitempty"` // com.docker.swarm.service.name
	TaskID      string            `json:"taskId,omitempty"`      // com.docker.swarm.task.id
	TaskName    string            `json:"taskName,omitempty"`    // com.docker.swarm.task.name
	ReplicasOld string            `json:"replicasOld,omitempty"` // service update: replicas.old
	ReplicasNew string            `json:"replicasNew,omitempty"` // service update: replicas.new
	OldName     string            `json:"oldName,omitempty"`     // rename: oldName
	Labels      map[string]string `json:"labels,omitempty"`      // user labels (bounded)
}

// Gap reasons.
const (
	GapDockerRestart = "docker-restart" // the daemon restarted: its event buffer was lost
	GapReplayWindow  = "replay-window"  // the outage may exceed the daemon's replay buffer
	GapSpoolFull     = "spool-full"     // the spool reached its bound and events were dropped
	GapStreamError   = "stream-error"   // the event stream broke and replay could not be proven
	GapCollectorDown = "collector-down" // the collector was not running
	GapDeadLetter    = "dead-letter"    // records were permanently rejected by the ledger
	// GapCollectorReplaced: a collector without the spool that wrote the
	// host's chain (a lost or new spool volume, a host moved from one way of
	// running its collector to another) continued the chain from the
	// ledger's newest record; it cannot vouch for the time since that record.
	GapCollectorReplaced = "collector-replaced"
)

// GapReasons lists the valid gap reasons.
var GapReasons = []string{GapDockerRestart, GapReplayWindow, GapSpoolFull, GapStreamError, GapCollectorDown, GapDeadLetter, GapCollectorReplaced}

// Gap says the collector cannot prove it saw every event between From and To.
type Gap struct {
	From   int64  `json:"from"`             // unix ns: last time continuity was proven
	To     int64  `json:"to"`               // unix ns: when continuity was re-established
	Reason string `json:"reason"`           // one of GapReasons
	Lost   uint64 `json:"lost"`             // events known to be lost (0 when unknown)
	Detail string `json:"detail,omitempty"` // free text for operators
}

// Heartbeat says the collector is alive.
type Heartbeat struct {
	IntervalMs int64  `json:"intervalMs"`        // the configured heartbeat interval
	LastEvent  int64  `json:"lastEvent"`         // timeNano of the last event spooled, 0 if none
	Pending    uint64 `json:"pending"`           // records spooled and not yet committed
	Dropped    uint64 `json:"dropped,omitempty"` // events dropped since start (also in gaps)
}

// Lifecycle is the payload of start and stop records.
type Lifecycle struct {
	Version string `json:"version"`          // collector version
	Reason  string `json:"reason,omitempty"` // why it stopped, or how it started
}

// Snapshot lists the containers the Docker daemon knows. A long list is split
// into Parts records numbered from 1.
type Snapshot struct {
	Part       int                 `json:"part"`
	Parts      int                 `json:"parts"`
	Containers []SnapshotContainer `json:"containers"`
}

// SnapshotContainer is one container in a snapshot.
type SnapshotContainer struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Image      string `json:"image,omitempty"`
	State      string `json:"state"`                // created, running, paused, exited, ...
	StartedAt  int64  `json:"startedAt,omitempty"`  // unix ns
	FinishedAt int64  `json:"finishedAt,omitempty"` // unix ns
	ExitCode   int    `json:"exitCode"`
}

// Sealed is a record with its derived ID and Hash: what travels to the ledger.
type Sealed struct {
	ID     string `json:"id"`
	Hash   string `json:"hash"`
	Record Record `json:"record"`
}

// Batch is the argument of the chaincode's RecordEvents: records of one host
// in increasing Seq order.
type Batch struct {
	Records []Sealed `json:"records"`
}

// EventID is the identity of the Docker event a record reports, independent
// of the record's place in a chain. For local-scope events it includes the
// host. Swarm-scope events are seen by every manager, so their ID leaves the
// host out and reports from several managers converge on one event. Docker
// stamps swarm create and update events with the object's store time (the
// same on every manager) but remove events with each manager's own clock, so
// the ID of a swarm remove leaves the time out: an object is removed once.
func (r Record) EventID() string {
	if r.Event == nil {
		return ""
	}
	e := r.Event
	if e.Scope == ScopeSwarm {
		t := strconv.FormatInt(e.TimeNano, 10)
		if e.Action == "remove" {
			t = "-"
		}
		return digest("e2l/v1/event/swarm", e.Type, e.Action, e.Actor, t)
	}
	return digest("e2l/v1/event/local", r.Host, e.Type, e.Action, e.Actor, strconv.FormatInt(e.TimeNano, 10))
}

// DeriveID returns the record's ID. A local event's ID is its EventID; a
// swarm event's ID is this host's entry for that event; every other kind is
// identified by its host and place in the chain.
func (r Record) DeriveID() string {
	switch {
	case r.Kind == KindEvent && r.Event != nil && r.Event.Scope == ScopeSwarm:
		return digest("e2l/v1/entry", r.Host, r.EventID())
	case r.Kind == KindEvent:
		return r.EventID()
	default:
		return digest("e2l/v1/"+string(r.Kind), r.Host, strconv.FormatUint(r.Seq, 10))
	}
}

// ComputeHash returns the hex SHA-256 of the record's canonical encoding.
func (r Record) ComputeHash() string { return hashOf(r.Canonical()) }

func hashOf(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// Seal validates r and returns it with its ID and Hash.
func Seal(r Record) (Sealed, error) {
	c, err := r.validatedCanonical()
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{ID: r.DeriveID(), Hash: hashOf(c), Record: r}, nil
}

// validatedCanonical validates r and returns its canonical encoding,
// encoding it once.
func (r Record) validatedCanonical() ([]byte, error) {
	if err := r.validateFields(); err != nil {
		return nil, err
	}
	c := r.Canonical()
	return c, checkSize(c)
}

// digest hashes NUL-separated parts; no part may contain NUL (Validate
// refuses control characters in identifiers).
func digest(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
