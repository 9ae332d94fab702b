package chaincode

import (
	"encoding/json"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Bookmarks are LevelDB start keys: the peer starts a paginated range at the
// bookmark and returns the next key as the next bookmark. The queries use
// this to start a range at a lower bound (fromSeq, fromNano), and refuse a
// bookmark outside the range they query.

// GetRecord returns the stored record with this ID as a Page of zero or one
// record.
func (c *Contract) GetRecord(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	if !isHex64(id) {
		return "", refuse(wire.CodeBadArgument, "id %q is not 64 lower-case hex characters", id)
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
		return "", refuse(wire.CodeBadArgument, "fromSeq %d is after toSeq %d", fromSeq, toSeq)
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
		return "", refuse(wire.CodeBadArgument, "type must be 1 to %d bytes", record.MaxTypeLen)
	}
	if len(action) > record.MaxActionLen {
		return "", refuse(wire.CodeBadArgument, "action of %d bytes exceeds %d", len(action), record.MaxActionLen)
	}
	if fromNano < 0 {
		return "", refuse(wire.CodeBadArgument, "fromNano %d is negative", fromNano)
	}
	if fromNano > toNano {
		return "", refuse(wire.CodeBadArgument, "fromNano %d is after toNano %d", fromNano, toNano)
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
	page := HostPage{Hosts: []HostInfo{}}
	var err error
	page.Bookmark, err = pageKeys(stub, keyHost, pageSize, bookmark, func(k string, v []byte) (int, error) {
		_, attrs, err := stub.SplitCompositeKey(k)
		if err != nil || len(attrs) != 1 {
			return 0, refuse(wire.CodeCorruptState, "host key %q", k)
		}
		h := HostInfo{Host: attrs[0], MSP: string(v)}
		if h.LastHeartbeat, err = lastHeartbeat(stub, h.Host); err != nil {
			return 0, err
		}
		page.Hosts = append(page.Hosts, h)
		return hostInfoBytes + len(h.Host) + len(h.MSP), nil
	}, func() { page.Hosts = page.Hosts[:len(page.Hosts)-1] })
	if err != nil {
		return "", err
	}
	page.Count = len(page.Hosts)
	return encode(page)
}

// hostInfoBytes bounds the JSON of a HostInfo beyond its host and MSP.
const hostInfoBytes = 256

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
		return nil, refuse(wire.CodeCorruptState, "heartbeat index of %q points at missing record %s", host, id)
	}
	var st Stored
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, refuse(wire.CodeCorruptState, "record %s: %v", id, err)
	}
	var r struct {
		Seq  uint64 `json:"seq"`
		Time int64  `json:"time"`
	}
	if err := json.Unmarshal(st.Record, &r); err != nil {
		return nil, refuse(wire.CodeCorruptState, "record %s: %v", id, err)
	}
	return &Heartbeat{ID: id, Seq: r.Seq, Time: r.Time}, nil
}

// GetEvent returns a swarm event and every manager's report of it. An
// unknown event yields {"event":null,"witnesses":[]}.
func (c *Contract) GetEvent(ctx contractapi.TransactionContextInterface, eventID string) (string, error) {
	if !isHex64(eventID) {
		return "", refuse(wire.CodeBadArgument, "eventID %q is not 64 lower-case hex characters", eventID)
	}
	stub := ctx.GetStub()
	info := EventInfo{Witnesses: []Witness{}}
	evKey, err := key(keyEvent, eventID)
	if err != nil {
		return "", refuse(wire.CodeBadArgument, "%v", err)
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
		return "", refuse(wire.CodeCorruptState, "event %s: %v", eventID, err)
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
			return "", refuse(wire.CodeCorruptState, "witness %q: %v", e.GetKey(), err)
		}
		info.Witnesses = append(info.Witnesses, w)
	}
	return encode(info)
}

func readRecord(stub shim.ChaincodeStubInterface, id string) (json.RawMessage, error) {
	k, err := key(keyRecord, id)
	if err != nil {
		return nil, refuse(wire.CodeBadArgument, "%v", err)
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

// checkIdent refuses what cannot be a host name or Docker ID.
func checkIdent(name, v string, max int) error {
	if v == "" || len(v) > max {
		return refuse(wire.CodeBadArgument, "%s must be 1 to %d bytes", name, max)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c > '~' {
			return refuse(wire.CodeBadArgument, "%s must be printable ASCII without spaces", name)
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
