// Package preflight is `e2l-collector check`: it checks, one line per check,
// what the collector needs before it starts (its identity, the Docker
// socket, the peers, the chaincode, the host registry, the spool, the
// clock), with the collector's own configuration.
//
// Each check is a small function of the one dependency it needs, declared
// here as an interface (a Docker pinger, a TLS handshaker, a chaincode
// evaluator, an HTTP client), so that it is tested with fakes; Run wires the
// real ones. Checks do not log; they return Results.
package preflight

import (
	"fmt"
	"strings"
)

// Status is a check's outcome.
type Status string

// Statuses, as printed.
const (
	OK   Status = "ok"
	Warn Status = "warn" // works, but needs attention (a certificate expiring soon)
	Fail Status = "FAIL"
	Skip Status = "skip" // not checked, and why
)

// Result is one check's outcome: one line of `e2l-collector check`.
type Result struct {
	Check  string // e.g. "certificate host", "peer 127.0.0.1:7051"
	Status Status
	Detail string
	// Blocks says that a failure keeps the collector from starting (check
	// --gate, the daemon's --preflight): a problem waiting cannot fix (a
	// wrong identity, no permission on the socket, an unwritable spool). A
	// failure that may pass by itself (a peer down, dockerd restarting, the
	// host not registered yet) does not block: the collector records into
	// its spool meanwhile and submits once it passes.
	Blocks bool
}

func (r Result) String() string {
	return fmt.Sprintf("%-4s %s: %s", r.Status, r.Check, r.Detail)
}

func ok(check, format string, args ...any) Result {
	return Result{Check: check, Status: OK, Detail: fmt.Sprintf(format, args...)}
}

func warn(check, format string, args ...any) Result {
	return Result{Check: check, Status: Warn, Detail: fmt.Sprintf(format, args...)}
}

func skip(check, format string, args ...any) Result {
	return Result{Check: check, Status: Skip, Detail: "not checked: " + fmt.Sprintf(format, args...)}
}

// fail is a failure that blocks the start.
func fail(check, format string, args ...any) Result {
	return Result{Check: check, Status: Fail, Detail: fmt.Sprintf(format, args...), Blocks: true}
}

// failLater is a failure that does not block the start.
func failLater(check, format string, args ...any) Result {
	return Result{Check: check, Status: Fail, Detail: fmt.Sprintf(format, args...)}
}

// Report is every check's result, in order.
type Report []Result

// Failed says whether any check failed.
func (r Report) Failed() bool {
	for _, res := range r {
		if res.Status == Fail {
			return true
		}
	}
	return false
}

// Blocked says whether a failure keeps the collector from starting.
func (r Report) Blocked() bool {
	for _, res := range r {
		if res.Status == Fail && res.Blocks {
			return true
		}
	}
	return false
}

// String is the report as printed: one line per check.
func (r Report) String() string {
	var b strings.Builder
	for _, res := range r {
		b.WriteString(res.String())
		b.WriteByte('\n')
	}
	return b.String()
}
