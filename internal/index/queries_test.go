package index

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// applyFixture fills s with the fixture and returns its records by slot.
func applyFixture(t *testing.T, s *Store) map[Slot]Record {
	t.Helper()
	fx := fixture()
	mustApply(t, s, fx...)
	bySlot := map[Slot]Record{}
	for _, u := range fx {
		for _, r := range normalized(u).Records {
			bySlot[Slot{r.Host, r.Seq}] = r
		}
	}
	return bySlot
}

func a(seq uint64) Slot { return Slot{hostAlpha, seq} }
func b(seq uint64) Slot { return Slot{hostBeta, seq} }
func g(seq uint64) Slot { return Slot{hostGamma, seq} }

func TestRecordsSelectsAndOrders(t *testing.T) {
	block := func(n uint64) *uint64 { return &n }
	tests := []struct {
		name string
		q    Query
		want []Slot
	}{
		{"every record, by time", Query{}, []Slot{a(1), g(1), a(2), a(3), b(3), a(4), b(4), a(5), a(6), a(7), b(7), b(8), b(9)}},
		{"every record, by host and seq", Query{OrderBy: BySlot}, []Slot{a(1), a(2), a(3), a(4), a(5), a(6), a(7), b(3), b(4), b(7), b(8), b(9), g(1)}},
		{"one host's records", Query{Host: hostBeta}, []Slot{b(3), b(4), b(7), b(8), b(9)}},
		{"an actor's records include the snapshots that list it", Query{Actor: "c-alpha"}, []Slot{a(1), a(2), a(4), a(5)}},
		{"an actor only a snapshot lists", Query{Actor: "c-other"}, []Slot{a(4)}},
		{"an actor's records within inclusive times", Query{Actor: "svc-1", Since: 1200, Until: 6000}, []Slot{g(1), a(6)}},
		{"an actor's records of one host from a seq on", Query{Actor: "c-beta", Host: hostBeta, FromSeq: 4}, []Slot{b(4), b(7), b(8), b(9)}},
		{"a type matches events of that type", Query{Type: "container"}, []Slot{a(1), a(2), b(3), b(4), a(5), b(7), b(8), b(9)}},
		{"a type matches records of that kind", Query{Type: "heartbeat"}, []Slot{a(3), a(7)}},
		{"a type and an action", Query{Type: "service", Action: "update"}, []Slot{g(1), a(6)}},
		{"a kind and an action", Query{Kind: "event", Action: "die"}, []Slot{b(4), a(5)}},
		{"a time range, both ends inclusive", Query{Since: 4000, Until: 5000}, []Slot{a(4), b(4), a(5)}},
		{"a seq range of one host", Query{Host: hostAlpha, FromSeq: 3, ToSeq: 5, OrderBy: BySlot}, []Slot{a(3), a(4), a(5)}},
		{"an event ID recorded twice", Query{EventID: "ev-beta8"}, []Slot{b(8), b(9)}},
		{"the records of one block", Query{Block: block(2), OrderBy: BySlot}, []Slot{a(5), a(6), b(7), b(8), g(1)}},
		{"a block without records", Query{Block: block(0)}, nil},
		{"a limit keeps the first records", Query{Limit: 3}, []Slot{a(1), g(1), a(2)}},
		{"a host without records", Query{Host: hostZeta}, nil},
	}
	forEachDB(t, func(t *testing.T, s *Store) {
		bySlot := applyFixture(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []Record
				if err := s.Records(t.Context(), tt.q, func(r Record) error {
					got = append(got, r)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(slots(got), tt.want) {
					t.Fatalf("Records(%+v) = %v, want %v", tt.q, slots(got), tt.want)
				}
				for _, r := range got {
					if want := bySlot[Slot{r.Host, r.Seq}]; !reflect.DeepEqual(r, want) {
						t.Errorf("record %s/%d read back\n %#v\nwant\n %#v", r.Host, r.Seq, r, want)
					}
				}
			})
		}
		t.Run("the callback's error ends the query and is returned as it is", func(t *testing.T) {
			stop := errors.New("enough")
			calls := 0
			err := s.Records(t.Context(), Query{}, func(Record) error {
				calls++
				return stop
			})
			if err != stop || calls != 1 {
				t.Errorf("Records returned %v after %d calls, want the callback's error after 1", err, calls)
			}
		})
		t.Run("a negative limit is refused", func(t *testing.T) {
			if err := s.Records(t.Context(), Query{Limit: -1}, func(Record) error { return nil }); err == nil {
				t.Error("no error")
			}
		})
	})
}

func TestRecordLookups(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		bySlot := applyFixture(t, s)
		all := make([]Record, 0, len(bySlot))
		for _, r := range bySlot {
			all = append(all, r)
		}
		tests := []struct {
			name   string
			lookup func() ([]Record, error)
			want   []Slot
		}{
			{"a record by its ID", func() ([]Record, error) { return s.Record(t.Context(), fxID(hostAlpha, 2)) }, []Slot{a(2)}},
			{"an ID recorded at two seqs gives both", func() ([]Record, error) { return s.Record(t.Context(), fxID(hostBeta, 8)) }, []Slot{b(8), b(9)}},
			{"an unknown ID gives nothing", func() ([]Record, error) { return s.Record(t.Context(), "feed") }, nil},
			{"a unique ID prefix", func() ([]Record, error) { return s.RecordsByPrefix(t.Context(), fxID(hostGamma, 1)[:10], 0) }, []Slot{g(1)}},
			{"a prefix with a limit", func() ([]Record, error) { return s.RecordsByPrefix(t.Context(), fxID(hostBeta, 8)[:12], 1) }, []Slot{b(8)}},
			{"a prefix longer than any ID", func() ([]Record, error) { return s.RecordsByPrefix(t.Context(), fxID(hostAlpha, 1)+"0", 0) }, nil},
			{"a swarm event's witnesses", func() ([]Record, error) { return s.Witnesses(t.Context(), "ev-swarm") }, []Slot{a(6), g(1)}},
			{"a chain's records between two seqs", func() ([]Record, error) { return s.ChainRecords(t.Context(), hostBeta, 4, 8) }, []Slot{b(4), b(7), b(8)}},
			{"a chain's records to its end", func() ([]Record, error) { return s.ChainRecords(t.Context(), hostAlpha, 6, math.MaxUint64) }, []Slot{a(6), a(7)}},
		}
		// Every one-character prefix, against the records filtered here.
		for _, p := range "0123456789abcdef" {
			var want []Record
			for _, r := range all {
				if strings.HasPrefix(r.ID, string(p)) {
					want = append(want, r)
				}
			}
			slices.SortFunc(want, func(x, y Record) int {
				return strings.Compare(x.ID+"\x00"+x.Host, y.ID+"\x00"+y.Host)*4 + cmpSeq(x.Seq, y.Seq)
			})
			tests = append(tests, struct {
				name   string
				lookup func() ([]Record, error)
				want   []Slot
			}{"the IDs starting with " + string(p), func() ([]Record, error) { return s.RecordsByPrefix(t.Context(), string(p), 0) }, slots(want)})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.lookup()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(slots(got), tt.want) {
					t.Fatalf("got %v, want %v", slots(got), tt.want)
				}
				for _, r := range got {
					if want := bySlot[Slot{r.Host, r.Seq}]; !reflect.DeepEqual(r, want) {
						t.Errorf("record %s/%d read back\n %#v\nwant\n %#v", r.Host, r.Seq, r, want)
					}
				}
			})
		}
		t.Run("an empty prefix or event ID is refused", func(t *testing.T) {
			if _, err := s.RecordsByPrefix(t.Context(), "", 0); err == nil {
				t.Error("RecordsByPrefix with an empty prefix: no error")
			}
			if _, err := s.Witnesses(t.Context(), ""); err == nil {
				t.Error("Witnesses of an empty event ID: no error")
			}
		})
	})
}

func cmpSeq(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func TestSlotsTaken(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		bySlot := applyFixture(t, s)
		// More slots than one statement looks up, the taken ones spread.
		var ask []Slot
		for seq := uint64(1); seq <= 700; seq++ {
			ask = append(ask, a(seq), b(seq))
		}
		ask = append(ask, g(1), Slot{hostZeta, 1}, Slot{"nobody", 1}, Slot{hostAlpha, math.MaxUint64})
		got, err := s.SlotsTaken(t.Context(), ask)
		if err != nil {
			t.Fatal(err)
		}
		want := map[Slot]Record{}
		for sl, r := range bySlot {
			want[sl] = Record{Host: r.Host, Seq: r.Seq, ID: r.ID, Hash: r.Hash, Block: r.Block, TxID: r.TxID, TxIndex: r.TxIndex}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SlotsTaken =\n %v\nwant\n %v", got, want)
		}
		if got, err := s.SlotsTaken(t.Context(), nil); err != nil || len(got) != 0 {
			t.Errorf("SlotsTaken of no slots = %v, %v", got, err)
		}
		// Taken slots between the ones asked for are not answered; more
		// hosts than one statement looks up.
		ask, want = nil, map[Slot]Record{}
		for seq := uint64(1); seq <= 700; seq += 2 {
			ask = append(ask, a(seq))
		}
		for i := range 2 * rangesPerQuery {
			ask = append(ask, Slot{fmt.Sprintf("nobody-%d", i), uint64(i)})
		}
		for sl, r := range bySlot {
			if sl.Host == a(1).Host && sl.Seq%2 == 1 {
				want[sl] = Record{Host: r.Host, Seq: r.Seq, ID: r.ID, Hash: r.Hash, Block: r.Block, TxID: r.TxID, TxIndex: r.TxIndex}
			}
		}
		if len(want) == 0 || len(want) == len(bySlot) {
			t.Fatalf("the fixture holds %d slots, %d of them odd seqs of %s: the case asks for nothing it can tell apart", len(bySlot), len(want), a(1).Host)
		}
		if got, err = s.SlotsTaken(t.Context(), ask); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SlotsTaken of odd seqs =\n %v, %v\nwant\n %v", got, err, want)
		}
	})
}

func TestSlotRanges(t *testing.T) {
	for _, c := range []struct {
		name  string
		slots []Slot
		want  []seqRange
	}{
		{"none", nil, nil},
		{"one", []Slot{{"h", 5}}, []seqRange{{"h", 5, 5}}},
		{"contiguous, unsorted, repeated", []Slot{{"h", 3}, {"h", 1}, {"h", 2}, {"h", 2}}, []seqRange{{"h", 1, 3}}},
		{"a gap of slotGap joins", []Slot{{"h", 1}, {"h", 2 + slotGap}}, []seqRange{{"h", 1, 2 + slotGap}}},
		{"a wider gap splits", []Slot{{"h", 1}, {"h", 3 + slotGap}}, []seqRange{{"h", 1, 1}, {"h", 3 + slotGap, 3 + slotGap}}},
		{"hosts apart", []Slot{{"b", 1}, {"a", 2}, {"b", 2}}, []seqRange{{"a", 2, 2}, {"b", 1, 2}}},
		{"the last seq", []Slot{{"h", math.MaxUint64}, {"h", math.MaxUint64 - 1}}, []seqRange{{"h", math.MaxUint64 - 1, math.MaxUint64}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := slotRanges(c.slots); !reflect.DeepEqual(got, c.want) {
				t.Errorf("slotRanges(%v) = %v, want %v", c.slots, got, c.want)
			}
		})
	}
}

func TestChainProblems(t *testing.T) {
	betaProblems := []ChainProblem{
		{Host: hostBeta, Kind: ChainHole, From: 1, To: 2},
		{Host: hostBeta, Kind: ChainHole, From: 5, To: 6},
		{Host: hostBeta, Kind: ChainBrokenLink, From: 8, To: 8, PrevHash: fxHash(hostBeta, 99), WantPrev: fxHash(hostBeta, 7)},
	}
	tests := []struct {
		name, host string
		want       []ChainProblem
	}{
		{"every host's holes and broken links", "", betaProblems},
		{"one host's", hostBeta, betaProblems},
		{"a whole chain has none", hostAlpha, nil},
		{"a host without records has none", hostZeta, nil},
	}
	forEachDB(t, func(t *testing.T, s *Store) {
		applyFixture(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ChainProblems(t.Context(), tt.host)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("ChainProblems(%q) =\n %+v\nwant\n %+v", tt.host, got, tt.want)
				}
			})
		}
	})
}

func TestHosts(t *testing.T) {
	want := []HostSummary{
		{Host: hostAlpha, MSP: "Org1MSP", SwarmRole: "worker", Registered: true, Records: 7, FirstSeq: 1, LastSeq: 7,
			LastTime: 7000, LastHeartbeat: &Heartbeat{Seq: 7, Time: 7000}, Entry: []byte(`{"host":"alpha","role":"worker"}`)},
		{Host: hostBeta, MSP: "Org2MSP", SwarmRole: "manager", Registered: true, Records: 5, FirstSeq: 3, LastSeq: 9,
			LastTime: 9100, Entry: []byte(`{"host":"beta"}`)},
		{Host: hostGamma, MSP: "Org3MSP", Records: 1, FirstSeq: 1, LastSeq: 1, LastTime: 1200},
		{Host: hostZeta, MSP: "Org2MSP", SwarmRole: "worker", Registered: true, Entry: []byte(`{"host":"zeta"}`)},
	}
	forEachDB(t, func(t *testing.T, s *Store) {
		if got, err := s.Hosts(t.Context()); err != nil || len(got) != 0 {
			t.Errorf("Hosts of an empty index = %v, %v", got, err)
		}
		applyFixture(t, s)
		got, err := s.Hosts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Hosts =\n %+v\nwant\n %+v", got, want)
		}
	})
}

func TestBlocksFindingsAndCounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		fx := fixture()
		mustApply(t, s, fx...)
		var got []Block
		if err := s.Blocks(t.Context(), 1, 2, func(b Block) error {
			got = append(got, b)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := []Block{normalized(fx[1]).Block, normalized(fx[2]).Block}; !reflect.DeepEqual(got, want) {
			t.Errorf("Blocks(1, 2) =\n %+v\nwant\n %+v", got, want)
		}
		raw, err := s.RawBlocks(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := []Block{fx[0].Block, fx[2].Block, fx[3].Block}; !reflect.DeepEqual(raw, want) {
			t.Errorf("RawBlocks =\n %+v\nwant\n %+v", raw, want)
		}
		for _, tt := range []struct {
			from uint64
			want []Finding
		}{
			{0, append(append([]Finding(nil), fx[2].Findings...), fx[3].Findings...)},
			{3, fx[3].Findings},
			{4, nil},
		} {
			if got, err := s.Findings(t.Context(), tt.from); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Findings(%d) = %+v, %v; want %+v", tt.from, got, err, tt.want)
			}
		}
		for n := range fx {
			recs, hosts, err := s.RowsOfBlock(t.Context(), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			want := normalized(fx[n])
			if !reflect.DeepEqual(recs, want.Records) || !reflect.DeepEqual(hosts, want.Hosts) {
				t.Errorf("RowsOfBlock(%d) = %v, %+v; want %v, %+v", n, slots(recs), hosts, slots(want.Records), want.Hosts)
			}
		}
		if blocks, records, err := s.Count(t.Context()); err != nil || blocks != 4 || records != 13 {
			t.Errorf("Count = %d, %d, %v; want 4, 13", blocks, records, err)
		}
	})
}
