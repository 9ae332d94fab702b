package record_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

// ledgerCase is a record or a stretch of a chain, as a verifier reads it
// from the ledger (wire.Stored: id, hash and the record's bytes), that it
// must refuse.
type ledgerCase struct {
	file, name, about string
	stored            []storedVector
	refusal, field    string
}

func storedOf(id, hash string, b []byte) storedVector {
	return storedVector{ID: id, Hash: hash, Record: readable(b), RecordHex: hex.EncodeToString(b)}
}

func sealedStored(s record.Sealed) storedVector {
	return storedOf(s.ID, s.Hash, s.Record.Canonical())
}

// selfHashed is b stored with the ID of the record it spells and the
// SHA-256 of b itself: a verifier that hashes what it reads without
// checking that the bytes are canonical would accept it.
func selfHashed(id string, b []byte) []storedVector {
	return []storedVector{storedOf(id, digestOf(string(b)), b)}
}

func ledgerCases(t *testing.T) []ledgerCase {
	t.Helper()
	die := dieEvent()
	dieID, dieBytes := die.DeriveID(), die.Canonical()
	odd := dieEvent()
	odd.Event.Attrs.Name = "café<&>/😀"
	oddID, oddBytes := odd.DeriveID(), odd.Canonical()
	plain := dieEvent()
	plain.Event.Attrs.Labels = nil
	hb := chainOf("node1", 2, fakePrev, hbRec())[0]
	hbID, hbBytes := hb.DeriveID(), hb.Canonical()
	swap := func(b []byte, old, new string) []byte {
		t.Helper()
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%q not in %s", old, b)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	nonCanonical := func(file, name, about string, id string, b []byte) ledgerCase {
		return ledgerCase{file: "noncanonical-" + file, name: name, about: about, stored: selfHashed(id, b), refusal: "noncanonical"}
	}
	badUTF8 := func(file, name, about, replacement string) ledgerCase {
		return ledgerCase{file: "utf8-" + file, name: name, about: about,
			stored: selfHashed(dieID, swap(dieBytes, `"web-1"`, `"web-`+replacement+`"`)), refusal: "utf8"}
	}
	structOrder, err := json.Marshal(die)
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, dieBytes, "", "  "); err != nil {
		t.Fatal(err)
	}
	cases := []ledgerCase{
		nonCanonical("struct-order", "members in declaration order are not canonical", "What encoding/json writes for the record: members unsorted, \\n for the line feed.", dieID, structOrder),
		nonCanonical("whitespace", "indented JSON is not canonical", "", dieID, indented.Bytes()),
		nonCanonical("trailing-newline", "a trailing line feed is not canonical", "", dieID, append(append([]byte(nil), dieBytes...), '\n')),
		nonCanonical("short-escape", "\\n instead of \\u000a is not canonical", "", dieID, swap(dieBytes, `\u000a`, `\n`)),
		nonCanonical("upper-case-escape", "\\u000A instead of \\u000a is not canonical", "", dieID, swap(dieBytes, `\u000a`, `\u000A`)),
		nonCanonical("escaped-non-ascii", "é escaped as \\u00e9 is not canonical", "", oddID, swap(oddBytes, "é", `\u00e9`)),
		nonCanonical("escaped-html", "< escaped as \\u003c (encoding/json's default) is not canonical", "", oddID, swap(oddBytes, "<", `\u003c`)),
		nonCanonical("escaped-solidus", "/ escaped as \\/ is not canonical", "", oddID, swap(oddBytes, "/", `\/`)),
		nonCanonical("escaped-surrogate-pair", "U+1F600 escaped as a surrogate pair is not canonical", "", oddID, swap(oddBytes, "😀", `\ud83d\ude00`)),
		nonCanonical("zero-optional", "an optional member with its zero value is not canonical", "dropped is left out when 0.", hbID, swap(hbBytes, `"heartbeat":{`, `"heartbeat":{"dropped":0,`)),
		nonCanonical("empty-labels", "an empty labels object is not canonical", "labels is left out when empty.", plain.DeriveID(), swap(plain.Canonical(), `"image":"busybox:e2l",`, `"image":"busybox:e2l","labels":{},`)),
		nonCanonical("null-payload", "a null payload member is not canonical", "", dieID, swap(dieBytes, `"host":`, `"gap":null,"host":`)),
		nonCanonical("duplicate-member", "a member written twice is not canonical", "Decoders keep one of the two (encoding/json the last).", dieID, swap(dieBytes, `"seq":1,`, `"seq":1,"seq":1,`)),
		nonCanonical("unknown-member", "an unknown member is refused", "", dieID, swap(dieBytes, `"prev":`, `"note":"x","prev":`)),
		nonCanonical("upper-case-member", "a member name in another case is refused", "encoding/json matches member names case-insensitively: a verifier built on it must compare the bytes.", dieID, swap(dieBytes, `"v":1}`, `"V":1}`)),
		nonCanonical("fraction", "an integer written with a fraction is refused", "", dieID, swap(dieBytes, `"seq":1,`, `"seq":1.0,`)),
		nonCanonical("exponent", "an integer written with an exponent is refused", "", dieID, swap(dieBytes, `"seq":1,`, `"seq":1e0,`)),
		nonCanonical("leading-zero", "an integer with a leading zero is refused", "Not JSON.", dieID, swap(dieBytes, `"seq":1,`, `"seq":01,`)),
		badUTF8("invalid-byte", "a byte that is not UTF-8 is refused", "A decoder would silently replace it by U+FFFD.", "\xff"),
		badUTF8("overlong", "an overlong UTF-8 sequence is refused", "0xc0 0xaf is '/' in two bytes: not UTF-8.", "\xc0\xaf"),
		badUTF8("encoded-surrogate", "a UTF-8-encoded surrogate is refused", "0xed 0xa0 0x80 is U+D800 (CESU-8): not UTF-8.", "\xed\xa0\x80"),
		badUTF8("lone-low-surrogate", "a lone low surrogate escape is refused", "", `\udc00`),
		badUTF8("lone-high-surrogate", "a high surrogate escape not followed by a low one is refused", "", `\ud83dx`),
		{file: "hash-wrong", name: "a hash that is not the record's is refused", about: "The stored hash has one hex digit changed.",
			stored: []storedVector{storedOf(dieID, flipHex(die.ComputeHash()), dieBytes)}, refusal: "hash"},
		{file: "hash-upper-case", name: "a hash in upper-case hex is refused", about: "Hashes and IDs are lower-case hex.",
			stored: []storedVector{storedOf(dieID, strings.ToUpper(die.ComputeHash()), dieBytes)}, refusal: "hash"},
		{file: "id-other-host", name: "a local event under another host's ID is refused", about: "The ID is derived with host node2; the record is node1's.",
			stored: []storedVector{storedOf(withHost(die, "node2").DeriveID(), die.ComputeHash(), dieBytes)}, refusal: "id"},
		{file: "id-swarm-event-id", name: "a swarm record stored under its event ID is refused", about: "A swarm event record's ID is the manager's entry (e2l/v1/entry), not the event ID.",
			stored: []storedVector{storedOf(swarmEvent("mgr1", 10, "update", t1).EventID(), swarmEvent("mgr1", 10, "update", t1).ComputeHash(), swarmEvent("mgr1", 10, "update", t1).Canonical())}, refusal: "id"},
		{file: "id-swarm-remove-with-time", name: "a swarm remove whose ID includes its time is refused", about: "The event ID of a swarm remove has '-' in place of the time.",
			stored: []storedVector{storedOf(digestOf("e2l/v1/entry", "mgr1", digestOf("e2l/v1/event/swarm", "service", "remove", "k3x9mq2v8w1z0p7r5t4y6u2i1", strconv.FormatInt(t1, 10))),
				swarmEvent("mgr1", 11, "remove", t1).ComputeHash(), swarmEvent("mgr1", 11, "remove", t1).Canonical())}, refusal: "id"},
		{file: "id-other-seq", name: "a heartbeat under the ID of another seq is refused",
			stored: []storedVector{storedOf(digestOf("e2l/v1/heartbeat", "node1", "3"), hb.ComputeHash(), hbBytes)}, refusal: "id"},
	}
	cases = append(cases, schemaCases(t)...)
	return append(cases, chainCases(t)...)
}

func withHost(r record.Record, host string) record.Record {
	r.Host = host
	return r
}

func flipHex(h string) string {
	c := "1"
	if h[0] == '1' {
		c = "2"
	}
	return c + h[1:]
}

// schemaCases are records that break one rule of the schema, stored with
// their derived ID and hash: only the schema refuses them.
func schemaCases(t *testing.T) []ledgerCase {
	t.Helper()
	type mut struct {
		file, name, field string
		base              func() record.Record
		change            func(*record.Record)
	}
	ev := dieEvent
	hbr := func() record.Record { return chainOf("node1", 2, fakePrev, hbRec())[0] }
	gap := func() record.Record {
		return record.Record{V: 1, Kind: record.KindGap, Host: "node1", Seq: 3, Prev: fakePrev, Time: t1, Gap: &record.Gap{From: t1 - 1, To: t1, Reason: record.GapStreamError}}
	}
	start := func() record.Record { return chainOf("node1", 1, record.GenesisPrev, startRec())[0] }
	snap := func() record.Record {
		return record.Record{V: 1, Kind: record.KindSnapshot, Host: "node1", Seq: 4, Prev: fakePrev, Time: t1,
			Snapshot: &record.Snapshot{Part: 1, Parts: 1, Containers: []record.SnapshotContainer{{ID: "c1", State: "running"}}}}
	}
	muts := []mut{
		{"version", "schema version 2 is refused", "v", ev, func(r *record.Record) { r.V = 2 }},
		{"kind", "an unknown kind is refused", "kind", ev, func(r *record.Record) { r.Kind = "audit" }},
		{"host-space", "a host with a space is refused", "host", ev, func(r *record.Record) { r.Host = "node 1" }},
		{"host-non-ascii", "a non-ASCII host is refused", "host", ev, func(r *record.Record) { r.Host = "nœud" }},
		{"seq-zero", "seq 0 is refused", "seq", hbr, func(r *record.Record) { r.Seq = 0 }},
		{"genesis", "seq 1 with another prev than the genesis is refused", "prev", ev, func(r *record.Record) { r.Prev = fakePrev }},
		{"prev-upper-case", "a prev in upper-case hex is refused", "prev", hbr, func(r *record.Record) { r.Prev = strings.ToUpper(fakePrev) }},
		{"time-zero", "time 0 is refused", "time", hbr, func(r *record.Record) { r.Time = 0 }},
		{"time-nano", "an event whose timeNano differs from the record's time is refused", "event.timeNano", ev, func(r *record.Record) { r.Event.TimeNano++ }},
		{"event-type", "an unknown Docker event type is refused", "event.type", ev, func(r *record.Record) { r.Event.Type = "task" }},
		{"event-scope", "an unknown scope is refused", "event.scope", ev, func(r *record.Record) { r.Event.Scope = "global" }},
		{"action-control", "a control character in an action is refused", "event.action", ev, func(r *record.Record) { r.Event.Action = "die\x01" }},
		{"actor-space", "an actor with a space is refused", "event.actor", ev, func(r *record.Record) { r.Event.Actor = "a b" }},
		{"image-del", "U+007F in an attribute is refused", "event.attrs.image", ev, func(r *record.Record) { r.Event.Attrs.Image = "busybox\x7f" }},
		{"name-newline", "a line feed in an attribute is refused", "event.attrs.name", ev, func(r *record.Record) { r.Event.Attrs.Name = "web\n1" }},
		{"name-too-long", "a name of 257 bytes is refused", "event.attrs.name", ev, func(r *record.Record) { r.Event.Attrs.Name = strings.Repeat("é", 128) + "x" }},
		{"exit-code", "a non-decimal exit code is refused", "event.attrs.exitCode", ev, func(r *record.Record) { r.Event.Attrs.ExitCode = "0x89" }},
		{"label-key-empty", "an empty label key is refused", "event.attrs.labels key", ev, func(r *record.Record) { r.Event.Attrs.Labels[""] = "x" }},
		{"label-value-control", "a control character other than tab, LF, CR in a label value is refused", "event.attrs.labels[a]", ev, func(r *record.Record) { r.Event.Attrs.Labels["a"] = "bell\x07" }},
		{"labels-too-many", "65 labels are refused", "event.attrs.labels", ev, func(r *record.Record) {
			for i := range 63 {
				r.Event.Attrs.Labels["k"+strconv.Itoa(i)] = "v"
			}
		}},
		{"payload-missing", "an event record without its event is refused", "event", ev, func(r *record.Record) {
			r.Event, r.Heartbeat = nil, &record.Heartbeat{IntervalMs: 1}
		}},
		{"two-payloads", "a record with two payloads is refused", "kind", ev, func(r *record.Record) { r.Gap = &record.Gap{From: 1, To: 1, Reason: record.GapStreamError} }},
		{"gap-backwards", "a gap that ends before it starts is refused", "gap.to", gap, func(r *record.Record) { r.Gap.To = r.Gap.From - 1 }},
		{"gap-reason", "an unknown gap reason is refused", "gap.reason", gap, func(r *record.Record) { r.Gap.Reason = "maintenance" }},
		{"heartbeat-interval", "a heartbeat interval of 0 is refused", "heartbeat.intervalMs", hbr, func(r *record.Record) { r.Heartbeat.IntervalMs = 0 }},
		{"heartbeat-last-event", "a negative lastEvent is refused", "heartbeat.lastEvent", hbr, func(r *record.Record) { r.Heartbeat.LastEvent = -1 }},
		{"lifecycle-version", "an empty collector version is refused", "lifecycle.version", start, func(r *record.Record) { r.Lifecycle.Version = "" }},
		{"lifecycle-reason-newline", "a line feed in a lifecycle reason is refused", "lifecycle.reason", start, func(r *record.Record) { r.Lifecycle.Reason = "a\nb" }},
		{"snapshot-part", "snapshot part 2 of 1 is refused", "snapshot.part", snap, func(r *record.Record) { r.Snapshot.Part = 2 }},
		{"snapshot-container-id", "a container ID with a space is refused", "snapshot.containers[0].id", snap, func(r *record.Record) { r.Snapshot.Containers[0].ID = "c 1" }},
		{"snapshot-container-time", "a negative container time is refused", "snapshot.containers[0]", snap, func(r *record.Record) { r.Snapshot.Containers[0].StartedAt = -1 }},
	}
	out := make([]ledgerCase, 0, len(muts))
	for _, m := range muts {
		r := m.base()
		m.change(&r)
		if r.Validate() == nil {
			t.Fatalf("schema case %s is valid", m.file)
		}
		out = append(out, ledgerCase{file: "schema-" + m.file, name: m.name, field: m.field, refusal: "schema",
			stored: []storedVector{storedOf(r.DeriveID(), r.ComputeHash(), r.Canonical())}})
	}
	return out
}

// chainCases are stretches of one host's chain whose records are each
// valid but do not link.
func chainCases(t *testing.T) []ledgerCase {
	t.Helper()
	ok := sealAll(t, chainOf("node1", 1, record.GenesisPrev, startRec(), createEvent(), hbRec()))
	broken := sealAll(t, chainOf("node1", 2, fakePrev, createEvent()))[0]
	skip := sealAll(t, chainOf("node1", 3, ok[0].Hash, hbRec()))[0]
	other := sealAll(t, chainOf("node2", 2, ok[0].Hash, createEvent()))[0]
	fork := sealAll(t, chainOf("node1", 2, ok[0].Hash, hbRec()))[0]
	return []ledgerCase{
		{file: "chain-broken-prev", name: "a record whose prev is not the hash of the record before is refused",
			stored: []storedVector{sealedStored(ok[0]), sealedStored(broken)}, refusal: "chain"},
		{file: "chain-missing-seq", name: "a missing seq is refused", about: "seq 3 follows seq 1 (its prev is seq 1's hash).",
			stored: []storedVector{sealedStored(ok[0]), sealedStored(skip)}, refusal: "chain"},
		{file: "chain-other-host", name: "another host's record in the chain is refused",
			stored: []storedVector{sealedStored(ok[0]), sealedStored(other)}, refusal: "chain"},
		{file: "chain-fork", name: "two records with one seq are refused", about: "Both seq 2 records link to seq 1.",
			stored: []storedVector{sealedStored(ok[0]), sealedStored(ok[1]), sealedStored(fork)}, refusal: "chain"},
	}
}
