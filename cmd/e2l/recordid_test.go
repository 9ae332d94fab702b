package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/query"
)

// fakeLedger holds chains of records by host and records the calls.
type fakeLedger struct {
	chains map[string][]audit.Stored
	calls  []string
}

func (f *fakeLedger) Record(_ context.Context, id string) (audit.Stored, error) {
	f.calls = append(f.calls, "GetRecord "+id)
	for _, recs := range f.chains {
		for _, st := range recs {
			if st.ID == id {
				return st, nil
			}
		}
	}
	return audit.Stored{}, fmt.Errorf("record %s on channel e2l: %w", id, query.ErrNotFound)
}

func (f *fakeLedger) Hosts(context.Context) ([]query.Host, error) {
	f.calls = append(f.calls, "ListHosts")
	var out []query.Host
	for h := range f.chains {
		out = append(out, query.Host{Host: h})
	}
	slices.SortFunc(out, func(a, b query.Host) int { return strings.Compare(a.Host, b.Host) })
	return out, nil
}

func (f *fakeLedger) Chain(_ context.Context, host string, _, _ uint64, each func(audit.Stored) error) error {
	f.calls = append(f.calls, "QueryChain "+host)
	for _, st := range f.chains[host] {
		if err := each(st); err != nil {
			return err
		}
	}
	return nil
}

func storedAt(id, host string, seq uint64) audit.Stored {
	return audit.Stored{ID: id, Record: json.RawMessage(fmt.Sprintf(`{"host":%q,"seq":%d}`, host, seq))}
}

func TestResolveRecord(t *testing.T) {
	idA := "abcd01" + strings.Repeat("0", 58)
	idB := "abcd02" + strings.Repeat("1", 58)
	idC := "ffee00" + strings.Repeat("2", 58)
	ledger := func() *fakeLedger {
		return &fakeLedger{chains: map[string][]audit.Stored{
			"h1": {storedAt(idA, "h1", 1), storedAt(idC, "h1", 2)},
			"h2": {storedAt(idB, "h2", 1)},
		}}
	}
	tests := []struct {
		name, id, host string
		wantID         string
		wantErr        string // substring
		wantUsage      bool
		wantCalls      []string
	}{
		{name: "a whole ID is looked up directly", id: idC, wantID: idC, wantCalls: []string{"GetRecord " + idC}},
		{name: "a unique prefix finds its record in any host's chain", id: "abcd02", wantID: idB,
			wantCalls: []string{"ListHosts", "QueryChain h1", "QueryChain h2"}},
		{name: "a prefix is read case-insensitively", id: "FFEE", wantID: idC},
		{name: "--host scans that host's chain only", id: "abcd", host: "h2", wantID: idB, wantCalls: []string{"QueryChain h2"}},
		{name: "an ambiguous prefix lists every match with its host and seq", id: "abcd",
			wantErr: "record ID prefix abcd is ambiguous: 2 records match (3 records of 2 hosts scanned); give more digits:\n  " +
				idA + " host h1 seq 1\n  " + idB + " host h2 seq 1"},
		{name: "an unknown prefix says what was scanned", id: "0123",
			wantErr: "no record ID starts with 0123 (3 records of 2 hosts scanned): not found"},
		{name: "a prefix shorter than 4 digits is a usage error", id: "abc", wantUsage: true, wantErr: "a prefix of at least 4"},
		{name: "a prefix that is not hex is a usage error", id: "web1", wantUsage: true, wantErr: `record ID "web1"`},
		{name: "an ID longer than 64 digits is a usage error", id: idA + "0", wantUsage: true, wantErr: "want its 64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ledger()
			st, err := resolveRecord(t.Context(), l, tt.id, tt.host)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v\nwant %q in it", err, tt.wantErr)
				}
				if isUsage := errors.As(err, new(usageError)); isUsage != tt.wantUsage {
					t.Errorf("usage error %v, want %v", isUsage, tt.wantUsage)
				}
				return
			}
			if err != nil || st.ID != tt.wantID {
				t.Fatalf("resolved %s, %v; want %s", st.ID, err, tt.wantID)
			}
			if tt.wantCalls != nil && !slices.Equal(l.calls, tt.wantCalls) {
				t.Errorf("calls %v, want %v", l.calls, tt.wantCalls)
			}
		})
	}
	t.Run("an unknown prefix is ErrNotFound", func(t *testing.T) {
		if _, err := resolveRecord(t.Context(), ledger(), "0123", ""); !errors.Is(err, query.ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
	})
	t.Run("an ambiguous prefix lists at most 10 matches", func(t *testing.T) {
		l := &fakeLedger{chains: map[string][]audit.Stored{}}
		for i := range 12 {
			l.chains["h1"] = append(l.chains["h1"], storedAt(fmt.Sprintf("beef%060d", i), "h1", uint64(i+1)))
		}
		_, err := resolveRecord(t.Context(), l, "beef", "")
		if err == nil || !strings.HasSuffix(err.Error(), "\n  … and 2 more") || strings.Count(err.Error(), "host h1 seq") != 10 {
			t.Fatalf("error %v", err)
		}
	})
}
