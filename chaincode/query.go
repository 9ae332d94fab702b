package chaincode

import (
	"encoding/json"
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// GetRecord returns the stored record with this ID as a Page of zero or one
// record (the first in chain order when a misbehaving host recorded one ID
// at two places of its chain; the audit index reports that).
func (c *Contract) GetRecord(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	if !isHex64(id) {
		return "", refuse(wire.CodeBadArgument, "id %q is not 64 lower-case hex characters", id)
	}
	stub := ctx.GetStub()
	page := Page{Records: []json.RawMessage{}}
	it, err := stub.GetStateByPartialCompositeKey(keyRecord, []string{id})
	if err != nil {
		return "", fmt.Errorf("look up record %s: %w", id, err)
	}
	defer it.Close()
	if it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("look up record %s: %w", id, err)
		}
		_, attrs, err := stub.SplitCompositeKey(e.GetKey())
		if err != nil || len(attrs) != 3 {
			return "", refuse(wire.CodeCorruptState, "record key %q", e.GetKey())
		}
		seq, err := parseSeq(attrs[2])
		if err != nil {
			return "", refuse(wire.CodeCorruptState, "record key %q: %v", e.GetKey(), err)
		}
		v, err := stub.GetState(wire.SlotKey(attrs[1], seq))
		if err != nil {
			return "", fmt.Errorf("read record %s: %w", id, err)
		}
		if v == nil || !json.Valid(v) {
			return "", refuse(wire.CodeCorruptState, "record key %q points at a chain slot that holds no stored record", e.GetKey())
		}
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
	q := chainQuery{host: host, from: fromSeq, to: toSeq, pageSize: pageSize, bookmark: bookmark}
	return q.run(ctx.GetStub())
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
