package chaincode

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
)

// Bookmarks are LevelDB start keys: the peer starts a paginated range at the
// bookmark and returns the next key as the next bookmark. The queries use
// this to start a range at a lower bound (fromSeq, fromNano), and refuse a
// bookmark outside the range they query.

// GetRecord returns the stored record with this ID as a Page of zero or one
// record.
func (c *Contract) GetRecord(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	if !isHex64(id) {
		return "", fmt.Errorf("%w: id %q is not 64 lower-case hex characters", ErrBadArgument, id)
	}
	page := Page{Records: []json.RawMessage{}}
	v, err := readRecord(ctx.GetStub(), id)
	if err != nil {
		return "", err
	}
	if v != nil {
		page.Records = append(page.Records, v)
	}
	page.Count = len(page.Records)
	return encode(page)
}

// QueryChain returns the host's records with fromSeq <= seq <= toSeq in
// sequence order. An unknown host yields an empty page.
func (c *Contract) QueryChain(ctx contractapi.TransactionContextInterface, host string, fromSeq, toSeq uint64, pageSize int32, bookmark string) (string, error) {
	if err := checkIdent("host", host, record.MaxHostLen); err != nil {
		return "", err
	}
	if fromSeq > toSeq {
		return "", fmt.Errorf("%w: fromSeq %d is after toSeq %d", ErrBadArgument, fromSeq, toSeq)
	}
	q := indexQuery{objectType: keyChain, prefix: []string{host}, from: padSeq(fromSeq), pageSize: pageSize, bookmark: bookmark,
		past: func(attrs []string) (bool, error) {
			seq, err := parseSeq(attrs[1])
			return seq > toSeq, err
		}}
	return q.run(ctx.GetStub())
}

// QueryTimeline returns the records about a container or service (events,
// and snapshots listing a container) in time order.
func (c *Contract) QueryTimeline(ctx contractapi.TransactionContextInterface, actorID string, pageSize int32, bookmark string) (string, error) {
	if err := checkIdent("actorID", actorID, record.MaxActorLen); err != nil {
		return "", err
	}
	q := indexQuery{objectType: keyActor, prefix: []string{actorID}, pageSize: pageSize, bookmark: bookmark}
	return q.run(ctx.GetStub())
}

// QueryByType returns, in time order, the records with fromNano <= time <=
// toNano of a Docker event type (container, service, ...) and action, or of
// every action of the type when action is empty. The record kinds gap,
// heartbeat, start, stop and snapshot are types too, without actions.
func (c *Contract) QueryByType(ctx contractapi.TransactionContextInterface, typ, action string, fromNano, toNano int64, pageSize int32, bookmark string) (string, error) {
	if typ == "" || len(typ) > record.MaxTypeLen {
		return "", fmt.Errorf("%w: type must be 1 to %d bytes", ErrBadArgument, record.MaxTypeLen)
	}
	if len(action) > record.MaxActionLen {
		return "", fmt.Errorf("%w: action of %d bytes exceeds %d", ErrBadArgument, len(action), record.MaxActionLen)
	}
	if fromNano < 0 {
		return "", fmt.Errorf("%w: fromNano %d is negative", ErrBadArgument, fromNano)
	}
	if fromNano > toNano {
		return "", fmt.Errorf("%w: fromNano %d is after toNano %d", ErrBadArgument, fromNano, toNano)
	}
	q := indexQuery{objectType: keyType, prefix: []string{typ}, from: padTime(fromNano), pageSize: pageSize, bookmark: bookmark}
	timeAt := 1
	if action != "" {
		q.objectType, q.prefix, timeAt = keyTypeAction, []string{typ, action}, 2
	}
	q.past = func(attrs []string) (bool, error) {
		t, err := parseTime(attrs[timeAt])
		return t > toNano, err
	}
	return q.run(ctx.GetStub())
}

// ListHosts returns the hosts that wrote records, in name order, each with
// its last heartbeat.
func (c *Contract) ListHosts(ctx contractapi.TransactionContextInterface, pageSize int32, bookmark string) (string, error) {
	stub := ctx.GetStub()
	size, err := checkPage(pageSize)
	if err != nil {
		return "", err
	}
	if err := checkBookmark(keyHost, nil, bookmark); err != nil {
		return "", err
	}
	it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(keyHost, nil, size, bookmark)
	if err != nil {
		return "", fmt.Errorf("list hosts: %w", err)
	}
	defer it.Close()
	page := HostPage{Hosts: []HostInfo{}, Bookmark: meta.GetBookmark()}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("list hosts: %w", err)
		}
		_, attrs, err := stub.SplitCompositeKey(e.GetKey())
		if err != nil || len(attrs) != 1 {
			return "", fmt.Errorf("%w: host key %q", ErrCorrupt, e.GetKey())
		}
		h := HostInfo{Host: attrs[0], MSP: string(e.GetValue())}
		if h.LastHeartbeat, err = lastHeartbeat(stub, h.Host); err != nil {
			return "", err
		}
		page.Hosts = append(page.Hosts, h)
	}
	page.Count = len(page.Hosts)
	return encode(page)
}

// lastHeartbeat reads the first key of the host's heartbeat index, which
// sorts the newest first.
func lastHeartbeat(stub shim.ChaincodeStubInterface, host string) (*Heartbeat, error) {
	it, err := stub.GetStateByPartialCompositeKey(keyHeartbeat, []string{host})
	if err != nil {
		return nil, fmt.Errorf("heartbeats of %q: %w", host, err)
	}
	defer it.Close()
	if !it.HasNext() {
		return nil, nil
	}
	e, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("heartbeats of %q: %w", host, err)
	}
	id := string(e.GetValue())
	v, err := readRecord(stub, id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%w: heartbeat index of %q points at missing record %s", ErrCorrupt, host, id)
	}
	var st Stored
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, fmt.Errorf("%w: record %s: %w", ErrCorrupt, id, err)
	}
	var r struct {
		Seq  uint64 `json:"seq"`
		Time int64  `json:"time"`
	}
	if err := json.Unmarshal(st.Record, &r); err != nil {
		return nil, fmt.Errorf("%w: record %s: %w", ErrCorrupt, id, err)
	}
	return &Heartbeat{ID: id, Seq: r.Seq, Time: r.Time}, nil
}

// GetEvent returns a swarm event and every manager's report of it. An
// unknown event yields {"event":null,"witnesses":[]}.
func (c *Contract) GetEvent(ctx contractapi.TransactionContextInterface, eventID string) (string, error) {
	if !isHex64(eventID) {
		return "", fmt.Errorf("%w: eventID %q is not 64 lower-case hex characters", ErrBadArgument, eventID)
	}
	stub := ctx.GetStub()
	info := EventInfo{Witnesses: []Witness{}}
	evKey, err := key(keyEvent, eventID)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	v, err := stub.GetState(evKey)
	if err != nil {
		return "", fmt.Errorf("read event %s: %w", eventID, err)
	}
	if v == nil {
		return encode(info)
	}
	info.Event = &StoredEvent{}
	if err := json.Unmarshal(v, info.Event); err != nil {
		return "", fmt.Errorf("%w: event %s: %w", ErrCorrupt, eventID, err)
	}
	it, err := stub.GetStateByPartialCompositeKey(keyWitness, []string{eventID})
	if err != nil {
		return "", fmt.Errorf("witnesses of %s: %w", eventID, err)
	}
	defer it.Close()
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("witnesses of %s: %w", eventID, err)
		}
		var w Witness
		if err := json.Unmarshal(e.GetValue(), &w); err != nil {
			return "", fmt.Errorf("%w: witness %q: %w", ErrCorrupt, e.GetKey(), err)
		}
		info.Witnesses = append(info.Witnesses, w)
	}
	return encode(info)
}

// indexQuery pages through an index whose keys end with a record ID and
// returns the records they point at.
type indexQuery struct {
	objectType string
	prefix     []string // the partial key queried
	from       string   // optional lower bound: the attribute after prefix
	// past says whether a key's attributes lie beyond the upper bound; the
	// index is sorted, so the query ends there.
	past     func(attrs []string) (bool, error)
	pageSize int32
	bookmark string
}

func (q indexQuery) run(stub shim.ChaincodeStubInterface) (string, error) {
	size, err := checkPage(q.pageSize)
	if err != nil {
		return "", err
	}
	if err := checkBookmark(q.objectType, q.prefix, q.bookmark); err != nil {
		return "", err
	}
	start := q.bookmark
	if q.from != "" {
		lower, err := key(q.objectType, append(q.prefix[:len(q.prefix):len(q.prefix)], q.from)...)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrBadArgument, err)
		}
		if start < lower {
			start = lower
		}
	}
	it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(q.objectType, q.prefix, size, start)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	defer it.Close()
	page := Page{Records: []json.RawMessage{}, Bookmark: meta.GetBookmark()}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("query %s: %w", q.objectType, err)
		}
		if q.past != nil {
			_, attrs, err := stub.SplitCompositeKey(e.GetKey())
			if err != nil || len(attrs) <= len(q.prefix) {
				return "", fmt.Errorf("%w: index key %q", ErrCorrupt, e.GetKey())
			}
			past, err := q.past(attrs)
			if err != nil {
				return "", fmt.Errorf("%w: index key %q: %w", ErrCorrupt, e.GetKey(), err)
			}
			if past {
				page.Bookmark = ""
				break
			}
		}
		id := string(e.GetValue())
		v, err := readRecord(stub, id)
		if err != nil {
			return "", err
		}
		if v == nil {
			return "", fmt.Errorf("%w: index key %q points at missing record %s", ErrCorrupt, e.GetKey(), id)
		}
		page.Records = append(page.Records, v)
	}
	if page.Bookmark != "" && q.past != nil {
		// Do not send the client for a page beyond the upper bound.
		if _, attrs, err := stub.SplitCompositeKey(page.Bookmark); err == nil && len(attrs) > len(q.prefix) {
			if past, err := q.past(attrs); err == nil && past {
				page.Bookmark = ""
			}
		}
	}
	page.Count = len(page.Records)
	return encode(page)
}

func readRecord(stub shim.ChaincodeStubInterface, id string) (json.RawMessage, error) {
	k, err := key(keyRecord, id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	v, err := stub.GetState(k)
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", id, err)
	}
	if v == nil {
		return nil, nil
	}
	return json.RawMessage(v), nil
}

func checkPage(size int32) (int32, error) {
	switch {
	case size == 0:
		return DefaultPageSize, nil
	case size < 0 || size > MaxPageSize:
		return 0, fmt.Errorf("%w: pageSize %d is out of range (1 to %d, or 0 for %d)", ErrBadArgument, size, MaxPageSize, DefaultPageSize)
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
		return fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	if !strings.HasPrefix(bookmark, p) || bookmark == p {
		return fmt.Errorf("%w: bookmark %q does not belong to this query", ErrBadArgument, bookmark)
	}
	return nil
}

// checkIdent refuses what cannot be a host name or Docker ID.
func checkIdent(name, v string, max int) error {
	if v == "" || len(v) > max {
		return fmt.Errorf("%w: %s must be 1 to %d bytes", ErrBadArgument, name, max)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: %s must be printable ASCII without spaces", ErrBadArgument, name)
		}
	}
	return nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func encode(v any) (string, error) {
	b, err := marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
