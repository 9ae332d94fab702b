package record_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/record/spec"
)

// The test vectors of docs/record-format.md. Each file in
// testdata/vectors is checked twice: with this package and with
// internal/record/spec, written from the document alone. -update rewrites
// the files from the cases in vectors_cases_test.go (with this package);
// the check then still fails when spec disagrees.
var update = flag.Bool("update", false, "rewrite testdata/vectors from vectors_cases_test.go")

const vectorDir = "testdata/vectors"

// vector is one file of testdata/vectors. Type says which of the other
// fields it has:
//   - "record": Records, each valid, with its canonical encoding, ID and
//     hash; when Chain is set they are one host's chain, in seq order.
//   - "ledger": Stored, records as a verifier reads them from the ledger
//     (one, or a stretch of one host's chain), to be refused for Refusal.
//   - "batch": Batch, the argument of RecordEvents, accepted when Refusal
//     is empty, else refused for Refusal.
type vector struct {
	Name  string `json:"name"`
	About string `json:"about,omitempty"`
	Type  string `json:"type"`

	Chain   bool           `json:"chain,omitempty"`
	Records []recordVector `json:"records,omitempty"`

	Stored []storedVector `json:"stored,omitempty"`

	Batch    string `json:"batch,omitempty"`    // the bytes of BatchHex, when UTF-8
	BatchHex string `json:"batchHex,omitempty"` // authoritative

	// Refusal is the spec.Code* the input must be refused with.
	Refusal string `json:"refusal,omitempty"`
	// Field is the record.ValidationError field, for refusal "schema".
	Field string `json:"field,omitempty"`
}

type recordVector struct {
	Input        json.RawMessage `json:"input"`
	Canonical    string          `json:"canonical"`
	CanonicalHex string          `json:"canonicalHex"`
	ID           string          `json:"id"`
	EventID      string          `json:"eventId,omitempty"`
	Hash         string          `json:"hash"`
}

type storedVector struct {
	ID        string `json:"id"`
	Hash      string `json:"hash"`
	Record    string `json:"record,omitempty"` // the bytes of RecordHex, when UTF-8
	RecordHex string `json:"recordHex"`        // authoritative
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t, generateVectors(t))
	}
	files, err := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in %s (%v): run go test -run TestVectors -update", vectorDir, err)
	}
	t.Run("the vectors on disk are the ones the cases generate", func(t *testing.T) {
		want := generateVectors(t)
		if len(want) != len(files) {
			t.Errorf("%d files on disk, %d cases: run go test -run TestVectors -update", len(files), len(want))
		}
		for name, b := range want {
			got, err := os.ReadFile(filepath.Join(vectorDir, name))
			if err != nil || !bytes.Equal(got, b) {
				t.Errorf("%s differs from its case (%v): run go test -run TestVectors -update and review the diff", name, err)
			}
		}
	})
	for _, f := range files {
		var v vector
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			switch v.Type {
			case "record":
				checkRecordVector(t, v)
			case "ledger":
				checkLedgerVector(t, v)
			case "batch":
				checkBatchVector(t, v)
			default:
				t.Fatalf("unknown vector type %q", v.Type)
			}
		})
	}
}

// TestRecordFormatDocExample checks the worked example of
// docs/record-format.md section 3.4 against its vector.
func TestRecordFormatDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/record-format.md")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(vectorDir, "record-event-local-container-die.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	rv := v.Records[0]
	for _, want := range []string{"\n" + rv.Canonical + "\n", rv.Hash, rv.ID} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("the document's example does not show %q", want)
		}
	}
}

func checkRecordVector(t *testing.T, v vector) {
	if len(v.Records) == 0 || v.Refusal != "" {
		t.Fatal("a record vector holds records and no refusal")
	}
	for i, rv := range v.Records {
		want := mustHex(t, rv.CanonicalHex)
		if rv.Canonical != string(want) {
			t.Fatalf("record %d: canonical and canonicalHex differ", i)
		}
		if sum := sha256.Sum256(want); hex.EncodeToString(sum[:]) != rv.Hash {
			t.Fatalf("record %d: hash is not the SHA-256 of the canonical bytes", i)
		}
	}
	t.Run("with internal/record", func(t *testing.T) { checkRecordWithPackage(t, v) })
	t.Run("with internal/record/spec", func(t *testing.T) { checkRecordWithSpec(t, v) })
}

func checkRecordWithPackage(t *testing.T, v vector) {
	var sealed []record.Sealed
	for i, rv := range v.Records {
		want := mustHex(t, rv.CanonicalHex)
		var r record.Record
		dec := json.NewDecoder(bytes.NewReader(rv.Input))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("record %d: input: %v", i, err)
		}
		s, err := record.Seal(r)
		switch {
		case err != nil:
			t.Fatalf("record %d does not seal: %v", i, err)
		case !bytes.Equal(r.Canonical(), want):
			t.Fatalf("record %d encodes as\n%s\nwant\n%s", i, r.Canonical(), want)
		case s.ID != rv.ID || r.DeriveID() != rv.ID:
			t.Fatalf("record %d has ID %s, want %s", i, s.ID, rv.ID)
		case r.EventID() != rv.EventID:
			t.Fatalf("record %d has event ID %q, want %q", i, r.EventID(), rv.EventID)
		case s.Hash != rv.Hash || r.ComputeHash() != rv.Hash:
			t.Fatalf("record %d has hash %s, want %s", i, s.Hash, rv.Hash)
		}
		back, err := record.DecodeRecord(want)
		if err != nil {
			t.Fatalf("DecodeRecord refuses record %d: %v", i, err)
		}
		stored := record.Sealed{ID: rv.ID, Hash: rv.Hash, Record: back}
		if err := stored.Check(); err != nil {
			t.Fatalf("record %d as stored fails Check: %v", i, err)
		}
		sealed = append(sealed, s)
	}
	if v.Chain {
		if err := record.CheckBatch(record.Batch{Records: sealed}); err != nil {
			t.Fatalf("the chain is refused: %v", err)
		}
	}
}

func checkRecordWithSpec(t *testing.T, v vector) {
	var sealed []spec.Sealed
	for i, rv := range v.Records {
		want := mustHex(t, rv.CanonicalHex)
		sr, err := spec.ParseRecord(rv.Input)
		switch {
		case err != nil:
			t.Fatalf("record %d: input: %v", i, err)
		case !bytes.Equal(sr.Canonical(), want):
			t.Fatalf("record %d encodes as\n%s\nwant\n%s", i, sr.Canonical(), want)
		case sr.ID() != rv.ID:
			t.Fatalf("record %d has ID %s, want %s", i, sr.ID(), rv.ID)
		case sr.EventID() != rv.EventID:
			t.Fatalf("record %d has event ID %q, want %q", i, sr.EventID(), rv.EventID)
		case sr.Hash() != rv.Hash:
			t.Fatalf("record %d has hash %s, want %s", i, sr.Hash(), rv.Hash)
		}
		if err := sr.Validate(); err != nil {
			t.Fatalf("record %d is invalid: %v", i, err)
		}
		if _, err := spec.VerifyStored(rv.ID, rv.Hash, want); err != nil {
			t.Fatalf("record %d as stored is refused: %v", i, err)
		}
		sealed = append(sealed, spec.Sealed{ID: rv.ID, Hash: rv.Hash, Record: sr})
	}
	if !v.Chain {
		return
	}
	if err := spec.CheckBatch(sealed); err != nil {
		t.Fatalf("the chain is refused as a batch: %v", err)
	}
	if err := spec.CheckChain(sealed[0].Record.Host(), sealed); err != nil {
		t.Fatalf("the chain is refused as read from the ledger: %v", err)
	}
}

func checkLedgerVector(t *testing.T, v vector) {
	if len(v.Stored) == 0 || v.Refusal == "" {
		t.Fatal("a ledger vector holds stored records and a refusal")
	}
	var sealed []record.Sealed
	var specSealed []spec.Sealed
	recordCode, specCode := "", ""
	var recordErr, specErr error
	for i, sv := range v.Stored {
		b := mustHex(t, sv.RecordHex)
		if sv.Record != "" && sv.Record != string(b) {
			t.Fatalf("stored %d: record and recordHex differ", i)
		}
		if recordErr == nil {
			r, err := record.DecodeRecord(b)
			if err != nil {
				recordCode, recordErr = decodeCode(err, spec.CodeNonCanonical), err
			} else {
				s := record.Sealed{ID: sv.ID, Hash: sv.Hash, Record: r}
				if err := s.Check(); err != nil {
					recordCode, recordErr = checkCode(t, err, v.Field), err
				}
				sealed = append(sealed, s)
			}
		}
		if specErr == nil {
			r, err := spec.VerifyStored(sv.ID, sv.Hash, b)
			if err != nil {
				specCode, specErr = specErrCode(err), err
			}
			specSealed = append(specSealed, spec.Sealed{ID: sv.ID, Hash: sv.Hash, Record: r})
		}
	}
	if recordErr == nil {
		if err := record.CheckBatch(record.Batch{Records: sealed}); err != nil {
			recordCode, recordErr = spec.CodeChain, err
		}
	}
	if specErr == nil {
		if err := spec.CheckChain(specSealed[0].Record.Host(), specSealed); err != nil {
			specCode, specErr = specErrCode(err), err
		}
	}
	if recordCode != v.Refusal {
		t.Errorf("record: refusal %q (%v), want %q", recordCode, recordErr, v.Refusal)
	}
	if specCode != v.Refusal {
		t.Errorf("spec: refusal %q (%v), want %q", specCode, specErr, v.Refusal)
	}
}

func checkBatchVector(t *testing.T, v vector) {
	b := mustHex(t, v.BatchHex)
	if v.Batch != "" && v.Batch != string(b) {
		t.Fatal("batch and batchHex differ")
	}
	recordCode, recordErr := batchCodeRecord(t, b, v.Field)
	specCode, specErr := batchCodeSpec(b)
	if recordCode != v.Refusal {
		t.Errorf("record: refusal %q (%v), want %q", recordCode, recordErr, v.Refusal)
	}
	if specCode != v.Refusal {
		t.Errorf("spec: refusal %q (%v), want %q", specCode, specErr, v.Refusal)
	}
}

// batchCodeRecord runs RecordEvents' checks with this package and names
// the refusal as spec does ("" when accepted).
func batchCodeRecord(t *testing.T, b []byte, field string) (string, error) {
	batch, err := record.DecodeBatch(b)
	if err != nil {
		return decodeCode(err, spec.CodeDecode), err
	}
	if n := len(batch.Records); n == 0 || n > record.MaxBatchRecords {
		return spec.CodeSize, record.CheckBatch(batch)
	}
	for i := range batch.Records {
		if err := batch.Records[i].Check(); err != nil {
			return checkCode(t, err, field), err
		}
	}
	if err := record.CheckBatch(batch); err != nil {
		return spec.CodeChain, err
	}
	return "", nil
}

func batchCodeSpec(b []byte) (string, error) {
	recs, err := spec.DecodeBatch(b)
	if err == nil {
		err = spec.CheckBatch(recs)
	}
	return specErrCode(err), err
}

// decodeCode names a refusal of DecodeRecord or DecodeBatch.
func decodeCode(err error, otherwise string) string {
	switch msg := err.Error(); {
	case strings.Contains(msg, "not valid UTF-8"):
		return spec.CodeUTF8
	case strings.Contains(msg, "exceeds the bound"):
		return spec.CodeSize
	default:
		return otherwise
	}
}

// checkCode names a refusal of Sealed.Check; for a schema refusal the
// field must be field.
func checkCode(t *testing.T, err error, field string) string {
	t.Helper()
	var ve *record.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("record: Check's error is not a ValidationError: %v", err)
	}
	switch {
	case ve.Field == "id" && strings.Contains(ve.Reason, "does not match the record's content"):
		return spec.CodeID
	case ve.Field == "hash":
		return spec.CodeHash
	case ve.Field == "record" && strings.Contains(ve.Reason, "canonical size"):
		return spec.CodeSize
	case ve.Field != field:
		t.Errorf("record: schema refusal of field %q (%v), want field %q", ve.Field, err, field)
	}
	return spec.CodeSchema
}

func specErrCode(err error) string {
	if err == nil {
		return ""
	}
	var e *spec.Error
	if !errors.As(err, &e) {
		return "untyped: " + err.Error()
	}
	return e.Code
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// writeVectors replaces the files of testdata/vectors.
func writeVectors(t *testing.T, files map[string][]byte) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(vectorDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(vectorDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// encodeVector is the file form of v: indented JSON, HTML characters as is.
func encodeVector(t *testing.T, v vector) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readable returns b as a string when it is UTF-8, for the files' reader.
func readable(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return ""
}
