package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
)

// Genesis is the prev of a host's first record (document section 5).
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Canonical returns the canonical encoding of a record (document section 3).
func Canonical(rec object) []byte { return encodeObject(rec, recordSchema) }

// EventCanonical returns the canonical encoding of the record's event
// object alone (the value of its "event" member), nil for other kinds.
func EventCanonical(rec object) []byte {
	e := rec.obj("event")
	if e == nil {
		return nil
	}
	return encodeObject(e, eventSchema)
}

// Hash is the lower-case hex SHA-256 of the canonical encoding (section 4).
func Hash(canonical []byte) string {
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}

// EventID returns the identity of the Docker event an event record
// reports, "" for other kinds (section 4).
func EventID(rec object) string {
	e := rec.obj("event")
	if rec.str("kind") != "event" || e == nil {
		return ""
	}
	t := strconv.FormatInt(e.int("timeNano"), 10)
	if e.str("scope") == "swarm" {
		if e.str("action") == "remove" {
			t = "-"
		}
		return digest("e2l/v1/event/swarm", e.str("type"), e.str("action"), e.str("actor"), t)
	}
	return digest("e2l/v1/event/local", rec.str("host"), e.str("type"), e.str("action"), e.str("actor"), t)
}

// RecordID returns the record's ID, its key on the ledger (section 4).
func RecordID(rec object) string {
	switch kind := rec.str("kind"); {
	case kind == "event" && rec.obj("event").str("scope") == "swarm":
		return digest("e2l/v1/entry", rec.str("host"), EventID(rec))
	case kind == "event":
		return EventID(rec)
	default:
		return digest("e2l/v1/"+kind, rec.str("host"), strconv.FormatUint(rec.uint("seq"), 10))
	}
}

// digest is the lower-case hex SHA-256 of the parts joined by one 0x00 byte.
func digest(parts ...string) string {
	return Hash([]byte(strings.Join(parts, "\x00")))
}

type encodedMember struct {
	key string
	val []byte
}

// encodeObject writes the members of o that the schema says to write,
// sorted by key bytes, without white space.
func encodeObject(o object, schema []member) []byte {
	var ms []encodedMember
	add := func(k string, v []byte) { ms = append(ms, encodedMember{k, v}) }
	for _, f := range schema {
		switch f.typ {
		case tString:
			if s := o.str(f.name); s != "" || !f.optional {
				add(f.name, quote(nil, s))
			}
		case tInt:
			if n := o.int(f.name); n != 0 || !f.optional {
				add(f.name, strconv.AppendInt(nil, n, 10))
			}
		case tUint:
			if n := o.uint(f.name); n != 0 || !f.optional {
				add(f.name, strconv.AppendUint(nil, n, 10))
			}
		case tObject:
			sub := o.obj(f.name)
			if sub == nil && f.optional {
				continue
			}
			add(f.name, encodeObject(sub, f.sub))
		case tList:
			b := []byte{'['}
			for i, e := range o.list(f.name) {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, encodeObject(e, f.sub)...)
			}
			add(f.name, append(b, ']'))
		case tLabels:
			l := o.labels(f.name)
			if len(l) == 0 {
				continue
			}
			lo := object{}
			var ls []member
			for k, v := range l {
				lo[k] = v
				ls = append(ls, member{name: k})
			}
			add(f.name, encodeObject(lo, ls))
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].key < ms[j].key })
	b := []byte{'{'}
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = quote(b, m.key)
		b = append(b, ':')
		b = append(b, m.val...)
	}
	return append(b, '}')
}

// quote writes s as a JSON string: '"' and '\' escaped by a backslash,
// bytes 0x00-0x1f as \u00xx with lower-case hex, every other byte as is.
func quote(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
