package chaincode

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/e2l-project/e2l/internal/wire"
)

// Bookmarks are LevelDB start keys: the peer starts a paginated range at the
// bookmark and returns the next key as the next bookmark. QueryChain reads
// the range of the host's slots fromSeq..toSeq from the bookmark on, and
// refuses a bookmark that is not one of the host's slot keys.

// chainQuery pages through a host's chain slots, whose values are the
// stored records.
type chainQuery struct {
	host     string
	from, to uint64
	pageSize int32
	bookmark string
}

func (q chainQuery) run(stub shim.ChaincodeStubInterface) (string, error) {
	size, err := checkPage(q.pageSize)
	if err != nil {
		return "", err
	}
	start, end := wire.SlotKey(q.host, q.from), wire.SlotRangeEnd(q.host, q.to)
	if b := q.bookmark; b != "" {
		if h, _, ok := wire.ParseSlotKey(b); !ok || h != q.host {
			return "", refuse(wire.CodeBadArgument, "bookmark %q does not belong to this query", b)
		}
		start = max(start, b)
	}
	page := Page{Records: []json.RawMessage{}}
	if start >= end { // a bookmark past toSeq: an empty last page
		return encode(page)
	}
	it, meta, err := stub.GetStateByRangeWithPagination(start, end, size, "")
	if err != nil {
		return "", fmt.Errorf("query the chain of %s: %w", q.host, err)
	}
	defer it.Close()
	page.Bookmark = meta.GetBookmark()
	var bytes pageBytes
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("query the chain of %s: %w", q.host, err)
		}
		v := e.GetValue()
		if !json.Valid(v) {
			return "", refuse(wire.CodeCorruptState, "chain slot %q does not hold a stored record", e.GetKey())
		}
		if !bytes.fits(len(v)) {
			page.Bookmark = e.GetKey() // the next page starts at this record
			break
		}
		page.Records = append(page.Records, v)
	}
	if page.Bookmark >= end {
		page.Bookmark = "" // do not send the client for a page beyond the range
	}
	page.Count = len(page.Records)
	return encode(page)
}

// pageEnvelope is what a page's JSON holds beside its entries (field
// names, bookmark, count), generously: a bookmark is a composite key of
// bounded attributes, its separators escaped as \u0000.
const pageEnvelope = 4 << 10

// pageBytes adds up the JSON of a page's entries to keep the page within
// MaxPageBytes.
type pageBytes struct {
	n, entries int
}

// fits adds an entry of size bytes (plus its comma) unless it would take
// the page over MaxPageBytes; the first entry always fits.
func (p *pageBytes) fits(size int) bool {
	if p.entries > 0 && p.n+size+1 > MaxPageBytes-pageEnvelope {
		return false
	}
	p.n += size + 1
	p.entries++
	return true
}

// pageKeys pages through every key of objectType (a one-attribute key
// space: registry entries) and calls add for each; add appends the entry
// to the page and returns the bytes of its JSON. When an entry takes the
// page over MaxPageBytes (the first never does), drop removes it and the
// page ends there: its key is the returned bookmark.
func pageKeys(stub shim.ChaincodeStubInterface, objectType string, pageSize int32, bookmark string,
	add func(k string, v []byte) (int, error), drop func()) (string, error) {
	size, err := checkPage(pageSize)
	if err != nil {
		return "", err
	}
	if err := checkBookmark(objectType, nil, bookmark); err != nil {
		return "", err
	}
	it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(objectType, nil, size, bookmark)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", objectType, err)
	}
	defer it.Close()
	var bytes pageBytes
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("list %s: %w", objectType, err)
		}
		n, err := add(e.GetKey(), e.GetValue())
		if err != nil {
			return "", err
		}
		if !bytes.fits(n) {
			drop()
			return e.GetKey(), nil
		}
	}
	return meta.GetBookmark(), nil
}

func checkPage(size int32) (int32, error) {
	switch {
	case size == 0:
		return DefaultPageSize, nil
	case size < 0 || size > MaxPageSize:
		return 0, refuse(wire.CodeBadArgument, "pageSize %d is out of range (1 to %d, or 0 for %d)", size, MaxPageSize, DefaultPageSize)
	}
	return size, nil
}

// checkBookmark refuses a bookmark outside the partial key's range.
func checkBookmark(objectType string, prefix []string, bookmark string) error {
	if bookmark == "" {
		return nil
	}
	p, err := key(objectType, prefix...)
	if err != nil {
		return refuse(wire.CodeBadArgument, "%v", err)
	}
	if !strings.HasPrefix(bookmark, p) || bookmark == p {
		return refuse(wire.CodeBadArgument, "bookmark %q does not belong to this query", bookmark)
	}
	return nil
}
