package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"
)

func sampleRows() ([]Record, []Host, []Finding) {
	return []Record{{
			ID: "id", Hash: "hash", Host: "host", Seq: 7, PrevHash: "prev", Kind: "event", Time: 1_700_000_000_000_000_000,
			EventID: "ev", Scope: "local", Type: "container", Action: "start", Actor: "c1", Name: "web.1", Service: "web",
			Actors: []string{"c1", "c2"}, MSP: "Org1MSP", CertSHA256: "cert", TxID: "tx", TxTime: 1_700_000_000_000_000_001,
			Block: 3, TxIndex: 2, Stored: []byte(`{"id":"id"}`),
		}},
		[]Host{{Host: "host", MSP: "Org1MSP", SwarmRole: "manager", TxID: "tx-r", Block: 3, Entry: []byte(`{"host":"host"}`)}},
		[]Finding{{Block: 3, TxID: "tx", RecordID: "id", Host: "host", Severity: "warning", Problem: "late"}}
}

// TestRowsDigestIsPinned pins the encoding: a verifier built from another
// release must compute the same digest of the same rows. The vector was
// computed apart from this code, from RowsDigest's documentation. Change
// the domain string (rowsDigestDomain) with the encoding, never the
// vector alone.
func TestRowsDigestIsPinned(t *testing.T) {
	recs, hosts, findings := sampleRows()
	const want = "123175c971d9f69588f421fc2351bf1ed665deaf6937dfbb0e215238034b5dfb"
	if got := hex.EncodeToString(RowsDigest(recs, hosts, findings)); got != want {
		t.Errorf("RowsDigest of the sample rows = %s, want %s", got, want)
	}
	if got := hex.EncodeToString(RowsDigest(nil, nil, nil)); got == want {
		t.Error("no rows digest as the sample rows")
	}
}

func TestChainRootIsTheHashOfItsThreeParts(t *testing.T) {
	prev, header, digest := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	want := sha256.Sum256(append(append(append([]byte(nil), prev...), header...), digest...))
	if got := ChainRoot(prev, header, digest); !bytes.Equal(got, want[:]) {
		t.Errorf("ChainRoot = %x, want %x", got, want)
	}
	first := sha256.Sum256(append(append([]byte(nil), header...), digest...))
	if got := ChainRoot(nil, header, digest); !bytes.Equal(got, first[:]) {
		t.Errorf("ChainRoot of the first block = %x, want %x", got, first)
	}
}

// TestEveryFieldIsInTheDigest changes each field of each row in turn: a
// field added to Record, Host or Finding and not to RowsDigest fails here.
func TestEveryFieldIsInTheDigest(t *testing.T) {
	recs, hosts, findings := sampleRows()
	base := RowsDigest(recs, hosts, findings)
	for _, row := range []any{&recs[0], &hosts[0], &findings[0]} {
		v := reflect.ValueOf(row).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			saved := reflect.ValueOf(f.Interface())
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Uint64:
				f.SetUint(f.Uint() + 1)
			case reflect.Int64, reflect.Int:
				f.SetInt(f.Int() + 1)
			case reflect.Slice:
				f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
			default:
				t.Fatalf("%s.%s: a field of kind %s the test does not know", v.Type().Name(), v.Type().Field(i).Name, f.Kind())
			}
			if bytes.Equal(RowsDigest(recs, hosts, findings), base) {
				t.Errorf("changing %s.%s does not change the digest", v.Type().Name(), v.Type().Field(i).Name)
			}
			f.Set(saved)
		}
	}
	if !bytes.Equal(RowsDigest(recs, hosts, findings), base) {
		t.Fatal("the test did not restore the rows")
	}
}

func TestRowsDigestTellsRowsApart(t *testing.T) {
	r := func(id, hash string, actors ...string) Record { return Record{ID: id, Hash: hash, Actors: actors} }
	tests := []struct {
		name  string
		x, y  []Record
		equal bool
	}{
		{"a boundary moved between two fields", []Record{r("ab", "c")}, []Record{r("a", "bc")}, false},
		{"a boundary moved between two actors", []Record{r("", "", "a", "b")}, []Record{r("", "", "ab")}, false},
		{"two rows swapped", []Record{r("1", ""), r("2", "")}, []Record{r("2", ""), r("1", "")}, false},
		{"an empty actor list and none", []Record{{Actors: []string{}}}, []Record{{Actors: nil}}, true},
		{"empty Stored bytes and none", []Record{{Stored: []byte{}}}, []Record{{Stored: nil}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bytes.Equal(RowsDigest(tt.x, nil, nil), RowsDigest(tt.y, nil, nil)); got != tt.equal {
				t.Errorf("digests equal: %v, want %v", got, tt.equal)
			}
		})
	}
	t.Run("a row in another list", func(t *testing.T) {
		if bytes.Equal(RowsDigest(nil, []Host{{}}, nil), RowsDigest(nil, nil, []Finding{{}})) {
			t.Error("an empty registry entry digests as an empty finding")
		}
	})
}
