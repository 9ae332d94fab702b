package wire

import (
	"strconv"
	"strings"
)

// Code names why the chaincode refused a call or a record: a closed set
// that clients classify by, never by free text.
type Code string

// The refusal codes.
const (
	// CodeAccessDenied: the signer may not make this call (no collector
	// role, another host's records, an unreadable identity).
	CodeAccessDenied Code = "access-denied"
	// CodeInvalidBatch: the batch does not decode, or a record of it is
	// invalid (then the refusal names the record).
	CodeInvalidBatch Code = "invalid-batch"
	// CodeFutureDated: a record is dated too far after the transaction.
	CodeFutureDated Code = "future-dated"
	// CodeConflict: the record's ID is stored with a different hash.
	CodeConflict Code = "conflict"
	// CodeChainFork: the host's sequence number is taken by another record.
	CodeChainFork Code = "chain-fork"
	// CodeBadArgument: an argument of a query or registry call is invalid.
	CodeBadArgument Code = "bad-argument"
	// CodeCorruptState: a stored value does not decode (should never happen).
	CodeCorruptState Code = "corrupt-state"
	// CodeNotRegistered: the host is not in the host registry.
	CodeNotRegistered Code = "not-registered"
	// CodeHostOwned: the host is registered to another organisation.
	CodeHostOwned Code = "host-owned"
	// CodeNotAManager: a swarm-scope event from a host registered as worker.
	CodeNotAManager Code = "not-a-manager"
	// CodeNotAdmin: a registry write by an identity that is not an admin.
	CodeNotAdmin Code = "not-admin"
)

// Codes returns every refusal code.
func Codes() []Code {
	return []Code{
		CodeAccessDenied, CodeInvalidBatch, CodeFutureDated, CodeConflict, CodeChainFork, CodeBadArgument,
		CodeCorruptState, CodeNotRegistered, CodeHostOwned, CodeNotAManager, CodeNotAdmin,
	}
}

// Valid says whether c is one of Codes.
func (c Code) Valid() bool {
	for _, k := range Codes() {
		if c == k {
			return true
		}
	}
	return false
}

// Denied says whether the code refuses the call itself (the identity, an
// argument, the host's registration, the ledger's state) rather than a
// record of a batch: no record is to blame, so none is to be dead-lettered.
// CodeInvalidBatch refuses the call unless the refusal names a record: use
// Refusal.Denied, which knows.
func (c Code) Denied() bool {
	switch c {
	case CodeAccessDenied, CodeBadArgument, CodeCorruptState, CodeNotRegistered, CodeHostOwned, CodeNotAManager, CodeNotAdmin:
		return true
	}
	return false
}

// Error makes a Code usable as the target of errors.Is: errors.Is(err,
// wire.CodeConflict) is true when err is or wraps a Refusal with that code.
func (c Code) Error() string { return refusalPrefix + string(c) }

// refusalPrefix starts every formatted refusal.
const refusalPrefix = "e2l-refusal "

// Refusal is the chaincode's refusal of a call or of one record of a batch.
// Its Error() is the wire format, which ParseRefusal reads back:
//
//	e2l-refusal <code>: <message>
//	e2l-refusal <code> record <index> (<id>): <message>
type Refusal struct {
	Code Code
	// Index is the position in the batch of the refused record, -1 when
	// the refusal names no record.
	Index int
	// ID is the refused record's ID as the batch gave it (empty when
	// Index is -1).
	ID      string
	Message string
}

// Refuse returns a refusal that names no record.
func Refuse(code Code, message string) *Refusal {
	return &Refusal{Code: code, Index: -1, Message: message}
}

// RefuseRecord returns a refusal of record index (id) of a batch.
func RefuseRecord(code Code, index int, id, message string) *Refusal {
	return &Refusal{Code: code, Index: index, ID: id, Message: message}
}

func (r *Refusal) Error() string {
	var b strings.Builder
	b.WriteString(refusalPrefix)
	b.WriteString(string(r.Code))
	if r.Index >= 0 {
		b.WriteString(" record ")
		b.WriteString(strconv.Itoa(r.Index))
		b.WriteString(" (")
		if plainID(r.ID) {
			b.WriteString(r.ID)
		} else {
			b.WriteString(strconv.Quote(r.ID))
		}
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(r.Message)
	return b.String()
}

// Is matches a Code target (errors.Is(err, wire.CodeHostOwned)).
func (r *Refusal) Is(target error) bool {
	c, ok := target.(Code)
	return ok && c == r.Code
}

// Denied says whether the refusal refuses the call rather than a record:
// its code says so, or it names no record.
func (r *Refusal) Denied() bool { return r.Code.Denied() || r.Index < 0 }

// plainID says whether an ID can be written as is: non-empty, and letters,
// digits, '.', '_', '-' only. Others (a malformed batch's) are quoted.
func plainID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ParseRefusal finds a formatted Refusal anywhere in msg (a peer or
// gateway message such as "chaincode response 500, e2l-refusal ...") and
// returns it; the message runs to the end of msg. It returns false when
// msg holds none, or only text that starts like one with an unknown code
// or a malformed record part.
func ParseRefusal(msg string) (*Refusal, bool) {
	for rest := msg; ; {
		i := strings.Index(rest, refusalPrefix)
		if i < 0 {
			return nil, false
		}
		rest = rest[i+len(refusalPrefix):]
		if r, ok := parseAfterPrefix(rest); ok {
			return r, true
		}
	}
}

// parseAfterPrefix parses "<code>[ record <index> (<id>)]: <message>".
func parseAfterPrefix(s string) (*Refusal, bool) {
	end := strings.IndexAny(s, " :")
	if end < 0 {
		return nil, false
	}
	r := &Refusal{Code: Code(s[:end]), Index: -1}
	if !r.Code.Valid() {
		return nil, false
	}
	s = s[end:]
	if rest, ok := strings.CutPrefix(s, " record "); ok {
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		idx, err := strconv.Atoi(rest[:digits])
		if digits == 0 || digits > 9 || err != nil {
			return nil, false
		}
		rest, ok = strings.CutPrefix(rest[digits:], " (")
		if !ok {
			return nil, false
		}
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, false
			}
			if r.ID, err = strconv.Unquote(q); err != nil {
				return nil, false
			}
			rest = rest[len(q):]
		} else {
			j := strings.IndexByte(rest, ')')
			if j <= 0 || !plainID(rest[:j]) {
				return nil, false
			}
			r.ID, rest = rest[:j], rest[j:]
		}
		if s, ok = strings.CutPrefix(rest, ")"); !ok {
			return nil, false
		}
		r.Index = idx
	}
	msg, ok := strings.CutPrefix(s, ": ")
	if !ok {
		return nil, false
	}
	r.Message = msg
	return r, true
}
