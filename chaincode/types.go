package chaincode

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/e2l-project/e2l/chaincode/api"
)

// The wire types live in package api, shared with clients.
type (
	Stored       = api.Stored
	StoredEvent  = api.StoredEvent
	Witness      = api.Witness
	RecordStatus = api.RecordStatus
	Result       = api.Result
	Summary      = api.Summary
	Page         = api.Page
	HostInfo     = api.HostInfo
	Heartbeat    = api.Heartbeat
	HostPage     = api.HostPage
	EventInfo    = api.EventInfo
)

// Statuses of a record in a RecordEvents result.
const (
	StatusWritten   = api.StatusWritten
	StatusDuplicate = api.StatusDuplicate
	StatusWitness   = api.StatusWitness
)

// marshal encodes v as JSON without HTML escaping, so that embedded
// canonical records keep their exact bytes. Struct fields are written in
// declaration order: the output is deterministic.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
