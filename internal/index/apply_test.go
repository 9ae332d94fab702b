package index

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// indexState is what a refused Apply must leave as it was.
type indexState struct {
	next            uint64
	state           string
	blocks, records int64
	findings        int
	hosts           []HostSummary
}

func stateOf(t *testing.T, s *Store) indexState {
	t.Helper()
	var st indexState
	next, state, err := s.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.next, st.state = next, string(state)
	if st.blocks, st.records, err = s.Count(t.Context()); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Findings(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	st.findings = len(fs)
	if st.hosts, err = s.Hosts(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestApplyRefusesUpdatesThatDoNotContinueTheIndex(t *testing.T) {
	fx := fixture()
	tests := []struct {
		name    string
		applied []Update // applied first
		updates []Update
	}{
		{"an empty index starts at block 0", nil, fx[1:3]},
		{"the next block after 0-1 is 2, not 3", fx[:2], fx[3:]},
		{"a block applied already is not applied again", fx[:2], fx[1:3]},
		{"numbers must follow one another", nil, []Update{fx[0], fx[2]}},
		{"numbers must not repeat", nil, []Update{fx[0], fx[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, s *Store) {
				if len(tt.applied) > 0 {
					mustApply(t, s, tt.applied...)
				}
				before := stateOf(t, s)
				err := s.Apply(t.Context(), tt.updates)
				if !errors.Is(err, ErrNotNext) {
					t.Fatalf("Apply: %v, want ErrNotNext", err)
				}
				if after := stateOf(t, s); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused Apply changed the index:\n before %+v\n after  %+v", before, after)
				}
			})
		})
	}
}

func TestApplyIsAllOrNothing(t *testing.T) {
	fx := fixture()
	// Block 3 takes a slot of block 1: the third update of 1-3… with block
	// 1 applied before, the clash is with a row of the index.
	clashWithIndex := append([]Update(nil), fx[2:]...)
	clashWithIndex = append(clashWithIndex, Update{Block: Block{Number: 4}, Records: []Record{
		fxRecord(hostAlpha, 2, 4, "Org1MSP", 0, func(r *Record) { r.ID = "intruder" }),
	}})
	// Block 3 takes a slot of block 2, both in the same Apply.
	clashInApply := append([]Update(nil), fx[2:]...)
	clashInApply[1].Records = append([]Record(nil), fx[3].Records...)
	clashInApply[1].Records = append(clashInApply[1].Records, fxRecord(hostBeta, 7, 3, "Org2MSP", 1, func(r *Record) { r.ID = "intruder" }))
	tests := []struct {
		name    string
		updates []Update
		want    SlotTakenError
	}{
		{"a record in a slot the index holds is refused with every update of the Apply", clashWithIndex,
			SlotTakenError{Slot: Slot{hostAlpha, 2}, Record: "intruder", Holder: fxID(hostAlpha, 2), HolderBlock: 1}},
		{"two records of one Apply in one slot are refused", clashInApply,
			SlotTakenError{Slot: Slot{hostBeta, 7}, Record: "intruder", Holder: fxID(hostBeta, 7), HolderBlock: 2, InApply: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, s *Store) {
				mustApply(t, s, fx[:2]...)
				before := stateOf(t, s)
				err := s.Apply(t.Context(), tt.updates)
				var taken *SlotTakenError
				if !errors.Is(err, ErrSlotTaken) || !errors.As(err, &taken) {
					t.Fatalf("Apply: %v, want a *SlotTakenError", err)
				}
				if *taken != tt.want {
					t.Errorf("SlotTakenError = %+v, want %+v", *taken, tt.want)
				}
				if after := stateOf(t, s); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused Apply changed the index:\n before %+v\n after  %+v", before, after)
				}
				// And the index takes the good updates afterwards.
				mustApply(t, s, fx[2:]...)
			})
		})
	}
}

func TestACancelledApplyWritesNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		run := SyntheticUpdates(testShape, nil, 0, 3)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Apply(ctx, run); !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply with a cancelled context: %v", err)
		}
		if st := stateOf(t, s); st.next != 0 || st.blocks != 0 || st.records != 0 {
			t.Errorf("a cancelled Apply left %+v", st)
		}
	})
}

func TestApplyRefusesRowsItCannotStore(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(u *Update)
	}{
		{"a seq above MaxInt64", func(u *Update) { u.Records[1].Seq = math.MaxInt64 + 1 }},
		{"a record naming another block", func(u *Update) { u.Records[0].Block = 7 }},
		{"a registry entry naming another block", func(u *Update) {
			u.Hosts = []Host{{Host: "h", Block: 0}}
		}},
		{"a finding naming another block", func(u *Update) {
			u.Findings = []Finding{{Block: 0, Problem: "elsewhere"}}
		}},
		{"a NUL byte in a host name", func(u *Update) { u.Records[0].Host = "al\x00pha" }},
		{"text that is not UTF-8", func(u *Update) { u.Records[2].Name = "\xff\xfe" }},
		{"an actor that is not UTF-8", func(u *Update) { u.Records[3].Actors = []string{"ok", "\xc3"} }},
		{"a finding that is not UTF-8", func(u *Update) {
			u.Findings = []Finding{{Block: 1, Problem: "\xff"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, s *Store) {
				fx := fixture()
				mustApply(t, s, fx[0])
				before := stateOf(t, s)
				tt.spoil(&fx[1])
				if err := s.Apply(t.Context(), fx[1:3]); !errors.Is(err, ErrInvalid) {
					t.Fatalf("Apply: %v, want ErrInvalid", err)
				}
				if after := stateOf(t, s); !reflect.DeepEqual(after, before) {
					t.Errorf("a refused Apply changed the index:\n before %+v\n after  %+v", before, after)
				}
			})
		})
	}
	t.Run("a block number above MaxInt64", func(t *testing.T) {
		if err := checkUpdates([]Update{{Block: Block{Number: math.MaxInt64 + 1}}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("checkUpdates: %v, want ErrInvalid", err)
		}
	})
}

func TestTheIndexResumesAtItsCheckpoint(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		s := openStore(t, dsn)
		if next, state, err := s.Head(t.Context()); err != nil || next != 0 || state != nil {
			t.Fatalf("Head of an empty index = %d, %q, %v; want 0, nil, nil", next, state, err)
		}
		if err := s.Apply(t.Context(), nil); err != nil {
			t.Fatalf("Apply of nothing: %v", err)
		}
		fx := fixture()
		mustApply(t, s, fx[:3]...)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, dsn)
		next, state, err := s.Head(t.Context())
		if err != nil || next != 3 || string(state) != "state after 2" {
			t.Fatalf("Head after reopening = %d, %q, %v; want 3, %q", next, state, err, "state after 2")
		}
		mustApply(t, s, fx[next:]...)
		blocks, records, err := s.Count(t.Context())
		if err != nil || blocks != 4 || records != 13 {
			t.Errorf("Count = %d blocks, %d records, %v; want 4, 13", blocks, records, err)
		}
	})
}

// failingTx fails the last statement of an Apply, the checkpoint's
// update, after every row went in.
type failingTx struct{ writeTx }

var errInjected = errors.New("injected failure")

func (f failingTx) exec(ctx context.Context, query string, args ...any) error {
	if strings.HasPrefix(query, "UPDATE checkpoint") {
		return errInjected
	}
	return f.writeTx.exec(ctx, query, args...)
}

func TestAFailureAtTheLastStatementOfApplyWritesNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *Store) {
		fx := fixture()
		mustApply(t, s, fx[0])
		before := stateOf(t, s)
		rows := flatten(fx[1:])
		err := s.write(t.Context(), func(w writeTx) error { return writeUpdates(t.Context(), failingTx{w}, fx[1:], rows) })
		if !errors.Is(err, errInjected) {
			t.Fatalf("write: %v, want the injected failure", err)
		}
		if after := stateOf(t, s); !reflect.DeepEqual(after, before) {
			t.Errorf("a failed Apply changed the index:\n before %+v\n after  %+v", before, after)
		}
		mustApply(t, s, fx[1:]...)
	})
}

func TestTwoWritersDoNotInterleave(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		// Two stores, as two indexer processes would have.
		s1, s2 := openStore(t, dsn), openStore(t, dsn)
		run := SyntheticUpdates(testShape, nil, 0, 5)
		errs := make(chan error, 2)
		for _, s := range []*Store{s1, s2} {
			go func() { errs <- s.Apply(context.Background(), run) }()
		}
		var applied, refused int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				applied++
			case errors.Is(err, ErrNotNext):
				refused++
			default:
				t.Errorf("Apply: %v, want nil or ErrNotNext", err)
			}
		}
		if applied != 1 || refused != 1 {
			t.Errorf("%d Applies went in, %d were refused; want 1 and 1", applied, refused)
		}
		if st := stateOf(t, s1); st.next != 5 || st.blocks != 5 {
			t.Errorf("after both: %+v", st)
		}
	})
}
