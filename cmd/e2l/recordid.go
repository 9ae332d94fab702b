package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/query"
)

// minIDPrefix is the shortest record ID prefix accepted (as git's).
const minIDPrefix = 4

// maxListed bounds the records an ambiguous prefix lists.
const maxListed = 10

// recordLookup is what resolving a record ID needs of the ledger.
type recordLookup interface {
	Record(ctx context.Context, id string) (audit.Stored, error)
	Hosts(ctx context.Context) ([]query.Host, error)
	Chain(ctx context.Context, host string, from, to uint64, each func(audit.Stored) error) error
}

// resolveRecord returns the stored record whose ID is id, or starts with it
// (at least minIDPrefix hex digits; the table output shows 12). A full ID
// is one lookup; a prefix is matched against every record of every host's
// chain (of host only, when given), so its cost grows with the ledger. An
// unknown or ambiguous prefix is an error listing what it found.
func resolveRecord(ctx context.Context, c recordLookup, id, host string) (audit.Stored, error) {
	p, err := normalizeRecordID(id)
	if err != nil {
		return audit.Stored{}, err
	}
	if len(p) == 64 {
		return c.Record(ctx, p)
	}
	hosts := []string{host}
	if host == "" {
		hs, err := c.Hosts(ctx)
		if err != nil {
			return audit.Stored{}, err
		}
		hosts = hosts[:0]
		for _, h := range hs {
			hosts = append(hosts, h.Host)
		}
	}
	var matches []audit.Stored
	scanned := 0
	for _, h := range hosts {
		if err := c.Chain(ctx, h, 1, query.MaxSeq, func(st audit.Stored) error {
			scanned++
			if strings.HasPrefix(st.ID, p) {
				matches = append(matches, st)
			}
			return nil
		}); err != nil {
			return audit.Stored{}, fmt.Errorf("chain of %s: %w", h, err)
		}
	}
	where := fmt.Sprintf("%d records of %d hosts", scanned, len(hosts))
	if host != "" {
		where = fmt.Sprintf("%d records of host %s", scanned, host)
	}
	switch len(matches) {
	case 0:
		return audit.Stored{}, fmt.Errorf("no record ID starts with %s (%s scanned): %w", p, where, query.ErrNotFound)
	case 1:
		return matches[0], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "record ID prefix %s is ambiguous: %d records match (%s scanned); give more digits:", p, len(matches), where)
	for i, st := range matches {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  … and %d more", len(matches)-maxListed)
			break
		}
		h, seq := st.Claimed()
		fmt.Fprintf(&b, "\n  %s host %s seq %d", st.ID, h, seq)
	}
	return audit.Stored{}, errors.New(b.String())
}

// normalizeRecordID checks a record ID or prefix and lower-cases it.
func normalizeRecordID(id string) (string, error) {
	p := strings.ToLower(id)
	if !isHex(p) || len(p) < minIDPrefix || len(p) > 64 {
		return "", usageError{fmt.Errorf("record ID %q: want its 64 hex digits or a prefix of at least %d", id, minIDPrefix)}
	}
	return p, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

func isHex64(s string) bool { return len(s) == 64 && isHex(s) }
