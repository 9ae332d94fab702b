package preflight

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/e2l-project/e2l/internal/ledger"
	"github.com/e2l-project/e2l/internal/wire"
)

// Evaluator evaluates a read-only chaincode function through the Gateway
// as this host's identity (ledger.Conn).
type Evaluator interface {
	Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error)
}

// Chaincode checks that the chaincode answers an evaluated Ping with pong,
// through the collector's own Gateway connection and identity.
func Chaincode(ctx context.Context, ev Evaluator, channel, chaincode string) Result {
	check := "chaincode"
	out, err := ev.Evaluate(ctx, "Ping")
	if err != nil {
		return failLater(check, "%s on channel %s does not answer Ping: %v", chaincode, channel, err)
	}
	if string(out) != "pong" {
		return failLater(check, "%s on channel %s answered Ping with %q, want pong: is it the e2l chaincode?", chaincode, channel, out)
	}
	return ok(check, "%s on channel %s answers Ping", chaincode, channel)
}

// Registration checks that the host registry has host, and that it
// belongs to the collector's organisation (mspID): otherwise the chaincode
// refuses every batch (not-registered, host-owned) and the records wait in
// the spool until an admin of the organisation registers the host.
func Registration(ctx context.Context, ev Evaluator, host, mspID string) Result {
	check := "host registry"
	out, err := ev.Evaluate(ctx, "GetHost", host)
	if err != nil {
		if r, found := ledger.FindRefusal(err); found && errors.Is(r, wire.CodeNotRegistered) {
			return failLater(check, "host %q is not registered: an admin of %s must run `e2l host register --host %s --role manager|worker`; the collector spools until then", host, mspID, host)
		}
		return failLater(check, "GetHost %q: %v", host, err)
	}
	var reg wire.HostRegistration
	if err := json.Unmarshal(out, &reg); err != nil {
		return failLater(check, "GetHost %q: undecodable answer: %v", host, err)
	}
	if reg.MSP != mspID {
		return failLater(check, "host %q is registered to %s, not to this collector's %s: the chaincode refuses its records (host-owned) until %s releases it and an admin of %s registers it", host, reg.MSP, mspID, reg.MSP, mspID)
	}
	detail := "host " + host + " is registered to " + reg.MSP + " as " + reg.SwarmRole
	if reg.ReleasedTo != "" {
		return warn(check, "%s, and released to %s: once %s registers it, this collector's records are refused", detail, reg.ReleasedTo, reg.ReleasedTo)
	}
	return ok(check, "%s", detail)
}
