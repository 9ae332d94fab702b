//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// badBatch is one RecordEvents argument the chaincode must refuse.
type badBatch struct {
	arg   string   // the argument, byte for byte
	ids   []string // IDs of the records it carries: none may be stored afterwards
	hosts []string // hosts besides the signer's whose chain must stay empty
	want  []string // substrings of the chaincode's refusal
}

type badInputCase struct {
	name  string
	role  string // the signer's e2l.role; empty for a collector
	batch func(t *testing.T, host string) badBatch
}

// Issue 7: bad input sent through the real chaincode on the real network by
// an enrolled host is refused at endorsement with a message naming the
// reason, nothing is written, and the host can record afterwards.
func TestBadInput(t *testing.T) {
	reader := e2lContract(connectGateway(t, enrollHost(t, network.Provider, "it-bad-reader", network.EnrollOptions{})))

	for i, tc := range badInputCases() {
		t.Run(tc.name, func(t *testing.T) {
			host := fmt.Sprintf("it-bad-%02d", i)
			id := enrollHost(t, network.Provider, host, network.EnrollOptions{Role: tc.role})
			contract := e2lContract(connectGateway(t, id))
			bad := tc.batch(t, host)

			refused := requireEndorseRefusal(t, contract, bad.arg, bad.want)
			requireNothingWritten(t, reader, append([]string{host}, bad.hosts...), bad.ids)
			if !refused {
				t.FailNow() // the host's chain is taken: a valid batch would fork it
			}

			if tc.role != "" {
				return // this identity may not record at all
			}
			valid := newRecordChain(host).next(t, 2)
			if res := submitRecords(t, contract, valid); res.Written != 2 {
				t.Fatalf("the host's valid batch after the refusal: %+v, want 2 written", res)
			}
			if got := seqs(t, evaluatePage(t, reader, "QueryChain", host, "0", strconv.FormatUint(math.MaxUint64, 10), "0", "")); !slices.Equal(got, []uint64{1, 2}) {
				t.Errorf("chain after the valid batch %v, want [1 2]", got)
			}
		})
	}
}

func badInputCases() []badInputCase {
	now := func() int64 { return time.Now().UnixNano() }
	return []badInputCase{
		{"truncated JSON is refused as undecodable", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 2)
			j := batchJSON(t, b)
			return badBatch{arg: j[:len(j)/2], ids: badIDs(b),
				want: []string{"e2l-refusal invalid-batch: decode batch: invalid record: unexpected EOF"}}
		}},
		{"text that is not JSON is refused as undecodable", "", func(t *testing.T, host string) badBatch {
			return badBatch{arg: "records: [1, 2]",
				want: []string{"e2l-refusal invalid-batch: decode batch: invalid record: invalid character 'r' looking for beginning of value"}}
		}},
		{"a batch followed by trailing data is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			return badBatch{arg: batchJSON(t, b) + `{}`, ids: badIDs(b),
				want: []string{"e2l-refusal invalid-batch: decode batch: invalid record: trailing data after the JSON value"}}
		}},
		{"a batch of more records than MaxBatchRecords is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, record.MaxBatchRecords+1)
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b),
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch: batch of %d records exceeds the bound of %d", record.MaxBatchRecords+1, record.MaxBatchRecords)}}
		}},
		{"a batch of more bytes than MaxBatchBytes is refused before decoding", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			arg := batchJSON(t, b) + strings.Repeat(" ", record.MaxBatchBytes)
			return badBatch{arg: arg, ids: badIDs(b),
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch: batch of %d bytes exceeds the bound of %d", len(arg), record.MaxBatchBytes)}}
		}},
		{"a record whose canonical encoding exceeds MaxRecordBytes is refused", "", func(t *testing.T, host string) badBatch {
			snap := &record.Snapshot{Part: 1, Parts: 1}
			for i := range record.MaxSnapshotItems {
				snap.Containers = append(snap.Containers, record.SnapshotContainer{
					ID: fmt.Sprintf("%064x", i), State: "running", Image: "registry.example/" + strings.Repeat("a", 480)})
			}
			s := forceSeal(record.Record{V: record.SchemaVersion, Kind: record.KindSnapshot, Host: host, Seq: 1,
				Prev: record.GenesisPrev, Time: now(), Snapshot: snap})
			size := len(s.Record.Canonical())
			if size <= record.MaxRecordBytes {
				t.Fatalf("the oversized record is only %d bytes", size)
			}
			return badBatch{arg: batchJSON(t, record.Batch{Records: []record.Sealed{s}}), ids: []string{s.ID},
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch record 0 (%s): record: canonical size %d bytes exceeds %d", s.ID, size, record.MaxRecordBytes)}}
		}},
		{"an attribute over its bound is refused", "", func(t *testing.T, host string) badBatch {
			r := badEvent(host, now())
			r.Event.Attrs.Name = strings.Repeat("n", record.MaxNameLen+1)
			return oneRecord(t, forceSeal(r), fmt.Sprintf("event.attrs.name: %d bytes exceed the bound of %d", record.MaxNameLen+1, record.MaxNameLen))
		}},
		{"a label value over its bound is refused", "", func(t *testing.T, host string) badBatch {
			r := badEvent(host, now())
			r.Event.Attrs.Labels = map[string]string{"team": strings.Repeat("v", record.MaxLabelValueLen+1)}
			return oneRecord(t, forceSeal(r), fmt.Sprintf("event.attrs.labels[team]: %d bytes exceed the bound of %d", record.MaxLabelValueLen+1, record.MaxLabelValueLen))
		}},
		// encoding/json would turn invalid UTF-8 and lone surrogates into
		// U+FFFD, so a sender that seals the record as encoding/json decodes
		// it would get past the hash check: the batch's text is checked
		// before it is decoded, whichever way the record was sealed.
		{"an attribute of raw invalid UTF-8 bytes is refused", "", func(t *testing.T, host string) badBatch {
			return nonUTF8(t, host, now(), "\xff\xfe", false)
		}},
		{"an attribute holding an escaped lone surrogate is refused", "", func(t *testing.T, host string) badBatch {
			return nonUTF8(t, host, now(), `\ud800`, false)
		}},
		{"an attribute of raw invalid UTF-8 bytes hashed as sent is refused", "", func(t *testing.T, host string) badBatch {
			return nonUTF8(t, host, now(), "\xff\xfe", true)
		}},
		{"an unknown kind is refused", "", func(t *testing.T, host string) badBatch {
			r := badEvent(host, now())
			r.Kind = "bogus"
			return oneRecord(t, forceSeal(r), `kind: unknown kind "bogus"`)
		}},
		{"a payload that does not match the kind is refused", "", func(t *testing.T, host string) badBatch {
			t0 := now()
			r := badRecord(host, t0)
			r.Kind, r.Heartbeat, r.Gap = record.KindHeartbeat, nil, &record.Gap{From: t0 - 1, To: t0, Reason: record.GapStreamError}
			return oneRecord(t, forceSeal(r), `heartbeat: payload missing for kind "heartbeat"`)
		}},
		{"a record with two payloads is refused", "", func(t *testing.T, host string) badBatch {
			r := badEvent(host, now())
			r.Heartbeat = &record.Heartbeat{IntervalMs: 1000}
			return oneRecord(t, forceSeal(r), `kind: a "event" record must carry exactly one payload, found 2`)
		}},
		{"an unknown Docker event type is refused", "", func(t *testing.T, host string) badBatch {
			r := badEvent(host, now())
			r.Event.Type = "containers"
			return oneRecord(t, forceSeal(r), `event.type: unknown Docker event type "containers"`)
		}},
		{"a record dated an hour after the transaction is refused", "", func(t *testing.T, host string) badBatch {
			s := forceSeal(badEvent(host, time.Now().Add(time.Hour).UnixNano()))
			return badBatch{arg: batchJSON(t, record.Batch{Records: []record.Sealed{s}}), ids: []string{s.ID},
				want: []string{fmt.Sprintf("e2l-refusal future-dated record 0 (%s): its time", s.ID), "after the transaction timestamp", "(allowed: 5m0s)"}}
		}},
		{"another host's records are refused", "", func(t *testing.T, host string) badBatch {
			victim := host + "-victim"
			b := newRecordChain(victim).next(t, 2)
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b), hosts: []string{victim},
				want: []string{fmt.Sprintf(`e2l-refusal access-denied record 0 (%s): the record is for host %q but the signer's e2l.host is %q`, b.Records[0].ID, victim, host)}}
		}},
		{"a forged hash is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 2)
			b.Records[1].Hash = sha256Hex("forged")
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b),
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch record 1 (%s): hash: does not match the record's canonical encoding", b.Records[1].ID)}}
		}},
		{"a forged ID is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 2)
			real := b.Records[0].ID
			b.Records[0].ID = sha256Hex("forged")
			return badBatch{arg: batchJSON(t, b), ids: append(badIDs(b), real),
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch record 0 (%s): id: does not match the record's content (want %s)", b.Records[0].ID, real)}}
		}},
		{"a batch whose prev does not chain is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			r := badRecord(host, now())
			r.Seq, r.Prev = 2, sha256Hex("not the previous record")
			b.Records = append(b.Records, forceSeal(r))
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b),
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch record 1 (%s): prev: does not match the hash of record seq 1", b.Records[1].ID)}}
		}},
		{"a batch that skips a sequence number is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			r := badRecord(host, now())
			r.Seq, r.Prev = 3, b.Records[0].Hash
			b.Records = append(b.Records, forceSeal(r))
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b),
				want: []string{fmt.Sprintf("e2l-refusal invalid-batch record 1 (%s): seq: is 3, want 2 (chain not contiguous within the batch)", b.Records[1].ID)}}
		}},
		{"an unknown field of a sealed record is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			return badBatch{arg: replaceOnce(t, batchJSON(t, b), `{"id":`, `{"comment":"x","id":`), ids: badIDs(b),
				want: []string{`e2l-refusal invalid-batch: decode batch: invalid record: json: unknown field "comment"`}}
		}},
		{"an unknown field of a payload is refused", "", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 2)
			return badBatch{arg: replaceOnce(t, batchJSON(t, b), `"intervalMs":`, `"cpu":99,"intervalMs":`), ids: badIDs(b),
				want: []string{`e2l-refusal invalid-batch: decode batch: invalid record: json: unknown field "cpu"`}}
		}},
		{"an identity without the e2l.role attribute is refused", network.RoleNone, func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b),
				want: []string{`e2l-refusal access-denied: identity "x509::CN=` + host, `of ProviderMSP has no e2l.role=collector attribute`}}
		}},
		{"an identity with another role is refused", "auditor", func(t *testing.T, host string) badBatch {
			b := newRecordChain(host).next(t, 1)
			return badBatch{arg: batchJSON(t, b), ids: badIDs(b),
				want: []string{`e2l-refusal access-denied: identity "x509::CN=` + host, `of ProviderMSP has e2l.role="auditor", not collector`}}
		}},
	}
}

// requireEndorseRefusal submits arg to RecordEvents and requires the
// chaincode to refuse it at endorsement with a message holding every want.
// It reports whether the batch was refused.
func requireEndorseRefusal(t *testing.T, contract *client.Contract, arg string, want []string) bool {
	t.Helper()
	out, err := contract.SubmitWithContext(t.Context(), "RecordEvents", client.WithArguments(arg))
	if err == nil {
		t.Errorf("the batch was accepted and committed, want a refusal saying %q: %s", want, out)
		return false
	}
	msg := describeGatewayError(err).Error()
	t.Logf("refused: %s", msg)
	if endorseErr := (*client.EndorseError)(nil); !errors.As(err, &endorseErr) {
		t.Fatalf("error %T %s, want an EndorseError", err, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("refusal %s\ndoes not say %s", msg, w)
		}
	}
	return true
}

// requireNothingWritten checks that no record of ids is stored, that the
// hosts' chains are empty and that the audit index does not know the hosts.
func requireNothingWritten(t *testing.T, reader *client.Contract, hosts, ids []string) {
	t.Helper()
	if len(ids) > 20 {
		ids = append(ids[:10:10], ids[len(ids)-10:]...)
	}
	for _, id := range ids {
		if p := evaluatePage(t, reader, "GetRecord", id); p.Count != 0 {
			t.Errorf("GetRecord %s: %d records stored", id, p.Count)
		}
	}
	for _, h := range hosts {
		if p := evaluatePage(t, reader, "QueryChain", h, "0", strconv.FormatUint(math.MaxUint64, 10), "0", ""); p.Count != 0 {
			t.Errorf("QueryChain %s: %d records stored, want none (seqs %v)", h, p.Count, seqs(t, p))
		}
	}
	for _, h := range indexHosts(t) {
		if slices.Contains(hosts, h.Host) && h.Records > 0 {
			t.Errorf("the index holds %d records of %s", h.Records, h.Host)
		}
	}
}

// nonUTF8 is a one-record batch whose event name is bad (raw invalid bytes
// or a JSON escape such as \ud800), written into the JSON by hand.
// encoding/json decodes either as U+FFFD: the record is sealed with the name
// as encoding/json decodes it, unless hashedAsSent, where it is sealed over
// the raw bytes as a naive sender would. Either way the chaincode refuses
// the batch's text before decoding it.
func nonUTF8(t *testing.T, host string, at int64, bad string, hashedAsSent bool) badBatch {
	t.Helper()
	var decoded string
	if err := json.Unmarshal([]byte(`"`+bad+`"`), &decoded); err != nil {
		t.Fatal(err)
	}
	r := badEvent(host, at)
	r.Event.Attrs.Name = decoded
	if hashedAsSent {
		r.Event.Attrs.Name = bad
	}
	s := forceSeal(r)
	name, err := json.Marshal(r.Event.Attrs.Name) // valid UTF-8, or \ufffd escapes
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"e2l-refusal invalid-batch: decode batch: invalid record:", "not valid UTF-8"}
	arg := replaceOnce(t, batchJSON(t, record.Batch{Records: []record.Sealed{s}}), `"name":`+string(name), `"name":"`+bad+`"`)
	return badBatch{arg: arg, ids: []string{s.ID}, want: want}
}

// badEvent is a valid first record of host: a container create at at.
func badEvent(host string, at int64) record.Record {
	r := badRecord(host, at)
	r.Kind, r.Heartbeat = record.KindEvent, nil
	r.Event = &record.Event{Type: "container", Action: "create", Actor: "it-bad-" + sha256Hex(host)[:12],
		Scope: record.ScopeLocal, TimeNano: at, Attrs: record.Attributes{Name: "web", Image: "nginx:1.27"}}
	return r
}

// badRecord is a valid first record of host: a heartbeat at at.
func badRecord(host string, at int64) record.Record {
	return record.Record{V: record.SchemaVersion, Kind: record.KindHeartbeat, Host: host, Seq: 1, Prev: record.GenesisPrev,
		Time: at, Heartbeat: &record.Heartbeat{IntervalMs: 1000}}
}

// forceSeal derives the ID and hash of r without validating it, as a
// sender that ignores the schema would.
func forceSeal(r record.Record) record.Sealed {
	return record.Sealed{ID: r.DeriveID(), Hash: r.ComputeHash(), Record: r}
}

// oneRecord is a batch of s refused as invalid with reason.
func oneRecord(t *testing.T, s record.Sealed, reason string) badBatch {
	t.Helper()
	return badBatch{arg: batchJSON(t, record.Batch{Records: []record.Sealed{s}}), ids: []string{s.ID},
		want: []string{fmt.Sprintf("e2l-refusal invalid-batch record 0 (%s): %s", s.ID, reason)}}
}

func badIDs(b record.Batch) []string {
	ids := make([]string, len(b.Records))
	for i, s := range b.Records {
		ids[i] = s.ID
	}
	return ids
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found in the batch JSON", old)
	}
	return strings.Replace(s, old, new, 1)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
