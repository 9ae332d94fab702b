package audit

import (
	"fmt"
	"strings"

	"github.com/e2l-project/e2l/internal/wire"
)

// Stored is one record as the e2l chaincode stores and returns it: the
// record's canonical encoding byte for byte, and who wrote it in which
// transaction (see internal/wire).
type Stored = wire.Stored

// Severity of a finding.
type Severity int

// Severities. Only errors fail a verification.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	default:
		return "error"
	}
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one result of a check, about one record when Host is set.
type Finding struct {
	Severity Severity `json:"severity"`
	Host     string   `json:"host,omitempty"`
	Seq      uint64   `json:"seq,omitempty"`
	ID       string   `json:"id,omitempty"`
	TxID     string   `json:"txId,omitempty"`
	Problem  string   `json:"problem"`
}

func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(f.Severity.String()))
	if f.Host != "" {
		fmt.Fprintf(&b, " host %s", f.Host)
		if f.Seq != 0 {
			fmt.Fprintf(&b, " seq %d", f.Seq)
		}
	}
	if f.ID != "" {
		fmt.Fprintf(&b, " record %s", f.ID)
	}
	if f.TxID != "" && f.Host == "" {
		fmt.Fprintf(&b, " tx %s", f.TxID)
	}
	b.WriteString(": ")
	b.WriteString(f.Problem)
	return b.String()
}

// Report collects the findings of a verification.
type Report struct {
	Records      int       `json:"records"`
	Hosts        int       `json:"hosts"`
	Transactions int       `json:"transactions"`
	Blocks       int       `json:"blocks"`
	Findings     []Finding `json:"findings"`
}

// Failed reports whether any finding is an error.
func (r *Report) Failed() bool { return r.Count(Error) > 0 }

// Count returns the number of findings of a severity.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

func (r *Report) add(f ...Finding) { r.Findings = append(r.Findings, f...) }

// about returns a finding about a stored record.
func about(sev Severity, st Stored, format string, args ...any) Finding {
	host, seq := st.Claimed()
	return Finding{Severity: sev, Host: host, Seq: seq, ID: st.ID, TxID: st.TxID, Problem: fmt.Sprintf(format, args...)}
}
