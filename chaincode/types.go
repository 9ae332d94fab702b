package chaincode

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/e2l-project/e2l/internal/wire"
)

// The wire types live in package wire, shared with clients.
type (
	Stored       = wire.Stored
	RecordStatus = wire.RecordStatus
	Result       = wire.Result
	Summary      = wire.Summary
	Page         = wire.Page
)

// Statuses of a record in a RecordEvents result.
const (
	StatusWritten   = wire.StatusWritten
	StatusDuplicate = wire.StatusDuplicate
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
