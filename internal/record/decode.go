package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxBatchBytes bounds the JSON of one batch before it is decoded.
const MaxBatchBytes = 8 << 20

// DecodeBatch decodes a batch strictly: unknown fields, trailing data and
// oversized input are refused. It does not validate the records; call
// CheckBatch for that.
func DecodeBatch(data []byte) (Batch, error) {
	var b Batch
	if len(data) > MaxBatchBytes {
		return b, fmt.Errorf("batch of %d bytes exceeds the bound of %d: %w", len(data), MaxBatchBytes, ErrInvalid)
	}
	if err := decodeStrict(data, &b); err != nil {
		return Batch{}, fmt.Errorf("decode batch: %w", err)
	}
	return b, nil
}

// DecodeSealed decodes one sealed record strictly (see DecodeBatch).
func DecodeSealed(data []byte) (Sealed, error) {
	var s Sealed
	if len(data) > MaxRecordBytes+1024 {
		return s, fmt.Errorf("sealed record of %d bytes exceeds the bound: %w", len(data), ErrInvalid)
	}
	if err := decodeStrict(data, &s); err != nil {
		return Sealed{}, fmt.Errorf("decode record: %w", err)
	}
	return s, nil
}

// DecodeRecord decodes a record from its canonical encoding and checks that
// the bytes are exactly canonical, so a stored record cannot be reinterpreted.
func DecodeRecord(data []byte) (Record, error) {
	var r Record
	if len(data) > MaxRecordBytes {
		return r, fmt.Errorf("record of %d bytes exceeds the bound of %d: %w", len(data), MaxRecordBytes, ErrInvalid)
	}
	if err := decodeStrict(data, &r); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	if !bytes.Equal(r.Canonical(), data) {
		return Record{}, fmt.Errorf("record bytes are not in canonical form: %w", ErrInvalid)
	}
	return r, nil
}

func decodeStrict(data []byte, v any) error {
	// encoding/json would silently replace invalid UTF-8 and lone UTF-16
	// surrogate escapes by U+FFFD, so that the record stored would not be
	// the one sent: refuse them before decoding.
	if err := checkJSONText(data); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	return nil
}

// checkJSONText refuses JSON text that is not valid UTF-8 or that escapes a
// lone surrogate (\ud800 to \udfff not forming a pair).
func checkJSONText(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("input is not valid UTF-8")
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(data):
			if data[i+1] != 'u' {
				i++ // a two-character escape
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				i++ // malformed: the decoder reports it
				continue
			}
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00: // high: a low one must follow
				if lo, ok := hex4(data, i+8); !ok || i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' || lo < 0xdc00 || lo > 0xdfff {
					return fmt.Errorf("lone UTF-16 surrogate \\u%04x at byte %d is not valid UTF-8", r, i)
				}
				i += 11
			case utf16.IsSurrogate(r):
				return fmt.Errorf("lone UTF-16 surrogate \\u%04x at byte %d is not valid UTF-8", r, i)
			default:
				i += 5
			}
		}
	}
	return nil
}

// hex4 parses the four hex digits at data[at:at+4].
func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Check validates a sealed record and recomputes its ID and Hash.
func (s *Sealed) Check() error {
	_, err := s.CheckCanonical()
	return err
}

// CheckCanonical is Check, returning the record's canonical encoding (the
// bytes its hash covers) for a caller that stores them.
func (s *Sealed) CheckCanonical() ([]byte, error) {
	c, err := s.Record.validatedCanonical()
	if err != nil {
		return nil, err
	}
	if id := s.Record.DeriveID(); s.ID != id {
		return nil, invalid("id", "does not match the record's content (want %s)", id)
	}
	if h := hashOf(c); s.Hash != h {
		return nil, invalid("hash", "does not match the record's canonical encoding (want %s)", h)
	}
	return c, nil
}

// OpenSealed decodes a sealed record from its canonical encoding (as
// DecodeRecord) and checks it (as Sealed.Check), encoding it once: the
// bytes, being canonical, are what the hash covers. Its errors are
// DecodeRecord's and Check's.
func OpenSealed(id, hash string, data []byte) (Sealed, error) {
	r, err := DecodeRecord(data)
	if err != nil {
		return Sealed{}, err
	}
	if err := r.validateFields(); err != nil {
		return Sealed{}, err
	}
	if err := checkSize(data); err != nil {
		return Sealed{}, err
	}
	if want := r.DeriveID(); id != want {
		return Sealed{}, invalid("id", "does not match the record's content (want %s)", want)
	}
	if h := hashOf(data); hash != h {
		return Sealed{}, invalid("hash", "does not match the record's canonical encoding (want %s)", h)
	}
	return Sealed{ID: id, Hash: hash, Record: r}, nil
}

// CheckBatch checks every record (Check) and the chain within the batch:
// one host, sequence numbers increasing by one, each Prev the Hash of the
// record before it. The error names the offending record by index and ID.
func CheckBatch(b Batch) error {
	_, err := CheckBatchCanonical(b)
	return err
}

// CheckBatchCanonical is CheckBatch, returning each record's canonical
// encoding (CheckCanonical), in batch order.
func CheckBatchCanonical(b Batch) ([][]byte, error) {
	if len(b.Records) == 0 {
		return nil, fmt.Errorf("batch is empty: %w", ErrInvalid)
	}
	if len(b.Records) > MaxBatchRecords {
		return nil, fmt.Errorf("batch of %d records exceeds the bound of %d: %w", len(b.Records), MaxBatchRecords, ErrInvalid)
	}
	seen := make(map[string]bool, len(b.Records))
	canon := make([][]byte, len(b.Records))
	for i := range b.Records {
		s := &b.Records[i]
		c, err := s.CheckCanonical()
		if err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, s.ID, err)
		}
		canon[i] = c
		if seen[s.ID] {
			return nil, fmt.Errorf("record %d (%s): %w", i, s.ID, invalid("id", "appears twice in the batch"))
		}
		seen[s.ID] = true
		if i == 0 {
			continue
		}
		p := &b.Records[i-1]
		switch {
		case s.Record.Host != p.Record.Host:
			return nil, fmt.Errorf("record %d (%s): %w", i, s.ID, invalid("host", "batch mixes hosts %q and %q", p.Record.Host, s.Record.Host))
		case s.Record.Seq != p.Record.Seq+1:
			return nil, fmt.Errorf("record %d (%s): %w", i, s.ID, invalid("seq", "is %d, want %d (chain not contiguous within the batch)", s.Record.Seq, p.Record.Seq+1))
		case s.Record.Prev != p.Hash:
			return nil, fmt.Errorf("record %d (%s): %w", i, s.ID, invalid("prev", "does not match the hash of record seq %d", p.Record.Seq))
		}
	}
	return canon, nil
}

// AppendBatch appends the JSON of a Batch of recs to dst, each record as
// its canonical encoding (what DecodeBatch reads back to the same records,
// as DecodeRecord reads a canonical encoding), and returns it.
func AppendBatch(dst []byte, recs []Sealed) []byte {
	dst, _ = AppendBatchWithin(dst, recs, math.MaxInt)
	return dst
}

// appendJSON appends the JSON of s, its record as its canonical encoding,
// to dst.
func (s *Sealed) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, s.ID)
	dst = append(dst, `,"hash":`...)
	dst = appendString(dst, s.Hash)
	dst = append(dst, `,"record":`...)
	dst = append(dst, s.Record.Canonical()...)
	return append(dst, '}')
}

// AppendBatchWithin is AppendBatch of the longest prefix of recs (at least
// one record) whose batch stays within maxBytes; it returns the batch and
// the prefix's length.
func AppendBatchWithin(dst []byte, recs []Sealed, maxBytes int) ([]byte, int) {
	start := len(dst)
	dst = append(dst, `{"records":[`...)
	for i := range recs {
		mark := len(dst)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = recs[i].appendJSON(dst)
		if i > 0 && len(dst)-start+len("]}") > maxBytes {
			return append(dst[:mark], "]}"...), i
		}
	}
	return append(dst, "]}"...), len(recs)
}
