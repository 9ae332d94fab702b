package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Refusal codes: what kind of rule a refused input breaks (document
// sections 6 to 8).
const (
	CodeSize         = "size"         // over a byte or count bound
	CodeUTF8         = "utf8"         // invalid UTF-8 or a lone surrogate escape
	CodeDecode       = "decode"       // not JSON of the expected shape (batches)
	CodeNonCanonical = "noncanonical" // stored bytes that are not the canonical encoding
	CodeSchema       = "schema"       // a field breaks the schema
	CodeID           = "id"           // the ID is not the one derived
	CodeHash         = "hash"         // the hash is not the one computed
	CodeChain        = "chain"        // seq, prev, host or a repeated ID across records
)

// Error is a refusal.
type Error struct {
	Code  string
	Field string // the schema field, for CodeSchema
	Msg   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Msg
	}
	return e.Code + ": " + e.Msg
}

func refuse(code, field, format string, args ...any) error {
	return &Error{Code: code, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Record is a record decoded from JSON and checked against the schema's
// shape (not yet its rules).
type Record struct{ fields object }

// Canonical returns the record's canonical encoding.
func (r Record) Canonical() []byte { return Canonical(r.fields) }

// ID returns the record's derived ID.
func (r Record) ID() string { return RecordID(r.fields) }

// Host returns the record's host.
func (r Record) Host() string { return r.fields.str("host") }

// EventID returns the record's event ID, "" for other kinds.
func (r Record) EventID() string { return EventID(r.fields) }

// Hash returns the SHA-256 of the canonical encoding.
func (r Record) Hash() string { return Hash(r.Canonical()) }

// Validate checks the record against the schema's rules.
func (r Record) Validate() error { return validate(r.fields) }

// Sealed is a record with the ID and hash it claims.
type Sealed struct {
	ID, Hash string
	Record   Record
}

// Check validates a sealed record and recomputes its ID and hash.
func (s Sealed) Check() error {
	if err := s.Record.Validate(); err != nil {
		return err
	}
	c := s.Record.Canonical()
	if len(c) > maxRecordBytes {
		return refuse(CodeSize, "", "canonical encoding of %d bytes exceeds %d", len(c), maxRecordBytes)
	}
	if id := s.Record.ID(); s.ID != id {
		return refuse(CodeID, "", "id %s, derived %s", s.ID, id)
	}
	if h := Hash(c); s.Hash != h {
		return refuse(CodeHash, "", "hash %s, computed %s", s.Hash, h)
	}
	return nil
}

// ParseRecord decodes a record from any JSON object (not necessarily
// canonical): a batch's record or a test vector's input.
func ParseRecord(data []byte) (Record, error) {
	v, err := parseJSON(data)
	if err != nil {
		return Record{}, err
	}
	o, err := fromJSON(v, recordSchema, "")
	if err != nil {
		return Record{}, refuse(CodeDecode, "", "%v", err)
	}
	return Record{fields: o}, nil
}

// VerifyStored verifies one record as the ledger stores it (section 8): its
// bytes must be exactly the canonical encoding of a valid record whose
// derived ID and hash are id and hash.
func VerifyStored(id, hash string, data []byte) (Record, error) {
	if len(data) > maxRecordBytes {
		return Record{}, refuse(CodeSize, "", "%d bytes exceed %d", len(data), maxRecordBytes)
	}
	r, err := ParseRecord(data)
	var e *Error
	if errors.As(err, &e) && e.Code == CodeDecode {
		return Record{}, refuse(CodeNonCanonical, "", "%s", e.Msg)
	}
	if err != nil {
		return Record{}, err
	}
	if !bytes.Equal(r.Canonical(), data) {
		return Record{}, refuse(CodeNonCanonical, "", "the bytes are not the canonical encoding of the record they hold")
	}
	return r, Sealed{ID: id, Hash: hash, Record: r}.Check()
}

// DecodeBatch decodes the argument of RecordEvents (section 7):
// {"records":[{"id":…,"hash":…,"record":{…}},…]}.
func DecodeBatch(data []byte) ([]Sealed, error) {
	if len(data) > maxBatchBytes {
		return nil, refuse(CodeSize, "", "batch of %d bytes exceeds %d", len(data), maxBatchBytes)
	}
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, refuse(CodeDecode, "", "a batch is a JSON object")
	}
	var list []any
	for k, val := range top {
		if k != "records" {
			return nil, refuse(CodeDecode, "", "unknown member %q", k)
		}
		if val != nil {
			if list, ok = val.([]any); !ok {
				return nil, refuse(CodeDecode, "", "records is not an array")
			}
		}
	}
	out := make([]Sealed, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, refuse(CodeDecode, "", "records[%d] is not an object", i)
		}
		var s Sealed
		for k, val := range m {
			switch k {
			case "id", "hash":
				str, ok := val.(string)
				if !ok && val != nil {
					return nil, refuse(CodeDecode, "", "records[%d].%s is not a string", i, k)
				}
				if k == "id" {
					s.ID = str
				} else {
					s.Hash = str
				}
			case "record":
				o, err := fromJSON(orEmpty(val), recordSchema, "")
				if err != nil {
					return nil, refuse(CodeDecode, "", "records[%d]: %v", i, err)
				}
				s.Record = Record{fields: o}
			default:
				return nil, refuse(CodeDecode, "", "records[%d]: unknown member %q", i, k)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func orEmpty(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// CheckBatch checks a batch (section 7): 1 to 1000 records, each valid
// with its ID and hash, no ID twice, one host, seq increasing by one and
// each prev the hash of the record before.
func CheckBatch(recs []Sealed) error {
	if len(recs) == 0 || len(recs) > maxBatch {
		return refuse(CodeSize, "", "a batch holds 1 to %d records, not %d", maxBatch, len(recs))
	}
	seen := map[string]bool{}
	for i, s := range recs {
		if err := s.Check(); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if seen[s.ID] {
			return refuse(CodeChain, "", "record %d: ID %s appears twice", i, s.ID)
		}
		seen[s.ID] = true
		if i > 0 {
			if err := link(recs[i-1], s); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
		}
	}
	return nil
}

// CheckChain checks records a verifier read from the ledger for one host,
// in seq order (section 8): each stored record verified, and the list a
// contiguous stretch of the host's chain.
func CheckChain(host string, stored []Sealed) error {
	for i, s := range stored {
		if err := s.Check(); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if h := s.Record.fields.str("host"); h != host {
			return refuse(CodeChain, "", "record %d belongs to host %q", i, h)
		}
		if i > 0 {
			if err := link(stored[i-1], s); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
		}
	}
	return nil
}

// link checks that b follows a in one host's chain.
func link(a, b Sealed) error {
	ra, rb := a.Record.fields, b.Record.fields
	switch {
	case rb.str("host") != ra.str("host"):
		return refuse(CodeChain, "", "host %q follows host %q", rb.str("host"), ra.str("host"))
	case rb.uint("seq") != ra.uint("seq")+1:
		return refuse(CodeChain, "", "seq %d follows seq %d", rb.uint("seq"), ra.uint("seq"))
	case rb.str("prev") != a.Hash:
		return refuse(CodeChain, "", "prev %s is not the hash %s of seq %d", rb.str("prev"), a.Hash, ra.uint("seq"))
	}
	return nil
}

// parseJSON checks the text (UTF-8, no lone surrogate escape) and decodes
// exactly one JSON value, numbers kept as text.
func parseJSON(data []byte) (any, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, refuse(CodeDecode, "", "%v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, refuse(CodeDecode, "", "data after the JSON value")
	}
	return v, nil
}

// checkText refuses bytes that are not UTF-8 and \u escapes of a UTF-16
// surrogate (U+D800-U+DFFF) that are not a high one immediately followed
// by a low one: decoders would silently turn either into U+FFFD.
func checkText(data []byte) error {
	if !utf8.Valid(data) {
		return refuse(CodeUTF8, "", "not UTF-8")
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch {
		case !inString:
			inString = data[i] == '"'
		case data[i] == '"':
			inString = false
		case data[i] == '\\' && i+1 < len(data) && data[i+1] == 'u':
			u, ok := hexAt(data, i+2)
			if !ok {
				i++ // malformed: left to the decoder
				continue
			}
			i += 5
			switch {
			case u >= 0xdc00 && u <= 0xdfff:
				return refuse(CodeUTF8, "", "lone low surrogate \\u%04x", u)
			case u >= 0xd800 && u <= 0xdbff:
				lo, ok := hexAt(data, i+3)
				if !ok || data[i+1] != '\\' || data[i+2] != 'u' || lo < 0xdc00 || lo > 0xdfff {
					return refuse(CodeUTF8, "", "lone high surrogate \\u%04x", u)
				}
				i += 6
			}
		case data[i] == '\\':
			i++ // a two-character escape: skip the escaped character
		}
	}
	return nil
}

// hexAt reads four hex digits at data[at:].
func hexAt(data []byte, at int) (int, bool) {
	if at < 0 || at+4 > len(data) {
		return 0, false
	}
	n := 0
	for _, c := range data[at : at+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(d)
	}
	return n, true
}
