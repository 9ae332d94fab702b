package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/record"
)

func storedOf(t *testing.T, host string, seq uint64) Stored {
	t.Helper()
	prev := record.GenesisPrev
	if seq > 1 {
		prev = strings.Repeat("ab", 32)
	}
	s, err := record.Seal(record.Record{V: record.SchemaVersion, Kind: record.KindHeartbeat, Host: host, Seq: seq, Prev: prev,
		Time: 1_764_000_000_000_000_000, Heartbeat: &record.Heartbeat{IntervalMs: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	return Stored{ID: s.ID, Hash: s.Hash, Record: s.Record.Canonical(), MSP: "ProviderMSP"}
}

// answers are what a reader asks of a stored record.
type answers struct {
	Sealed    record.Sealed
	SealedErr string
	Decoded   record.Record
	DecodeErr string
	Host      string
	Seq       uint64
}

func answersOf(s Stored) answers {
	var a answers
	var err error
	if a.Sealed, err = s.Sealed(); err != nil {
		a.SealedErr = err.Error()
	}
	if a.Decoded, err = s.Decoded(); err != nil {
		a.DecodeErr = err.Error()
	}
	a.Host, a.Seq = s.Claimed()
	return a
}

// An opened record answers as it would unopened, for valid and altered
// records; copies share what Open found; bytes changed after Open, even in
// place, are read again.
func TestOpenAnswersAsTheRecordDoes(t *testing.T) {
	valid := storedOf(t, "node1", 7)
	badHash := valid
	badHash.Hash = strings.Repeat("0", 64)
	notCanonical := valid
	notCanonical.Record = []byte(strings.Replace(string(valid.Record), `"v":1`, `"v": 1`, 1))
	garbage := valid
	garbage.Record = []byte(`{"host":"node9","seq":3,"x":`)
	for name, s := range map[string]Stored{"valid": valid, "wrong hash": badHash, "not canonical": notCanonical, "garbage": garbage} {
		t.Run(name, func(t *testing.T) {
			want := answersOf(s)
			o := s.Open()
			if o.memo() == nil {
				t.Fatal("Open kept nothing")
			}
			if got := answersOf(o); !reflect.DeepEqual(got, want) {
				t.Fatalf("opened: %+v\nunopened: %+v", got, want)
			}
			if cp := o; cp.memo() != o.memo() || cp.Open().memo() != o.memo() {
				t.Fatal("a copy of an opened record, or opening it again, does not share what Open found")
			}
		})
	}
	t.Run("bytes changed in place after Open", func(t *testing.T) {
		s := storedOf(t, "node1", 7)
		o := s.Open()
		if _, err := o.Sealed(); err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(o.Record), `"node1"`)
		copy(o.Record[i+1:], "node2") // same length, same backing array
		if o.memo() != nil {
			t.Fatal("the memo still answers for bytes that changed")
		}
		if _, err := o.Sealed(); err == nil {
			t.Fatal("a record whose host was changed after Open still checks")
		}
		if h, _ := o.Claimed(); h != "node2" {
			t.Fatalf("Claimed = %q after the change, want node2", h)
		}
	})
}
