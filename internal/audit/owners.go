package audit

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// Host ownership.
//
// Every host belongs to one organisation, declared on the ledger by an admin
// of that organisation (the host registry: RegisterHost, ReleaseHost). A
// collector identity names its host in its certificate (e2l.host), but any
// organisation's CA can issue such a certificate for any host name: what
// makes a record the host's is that a collector of the organisation owning
// the host at that point of the ledger signed it. An archive carries each
// host's registry entry (Archive.Hosts) and the blocks of the transactions
// its history names; each of those is checked to be a VALID, endorsed
// registry transaction by an admin of the organisation the entry names,
// in an order the chaincode allows (a move only after a release to that
// organisation). Then each record is bound to the owner of its host at
// its transaction's place in ledger order.

// Registry chaincode functions.
const (
	fnRegisterHost = "RegisterHost"
	fnReleaseHost  = "ReleaseHost"
)

// ownerStep is one registry transaction of a host, in ledger order.
type ownerStep struct {
	pos   txPos
	tx    *Tx
	item  wire.HostOwnership
	owner string // the owning MSP after this step
	role  string // the Swarm role after this step
	// since is the step that made owner the owner (a register or a move).
	since *ownerStep
	// bad: the step's transaction or its place in the history has a
	// problem (reported), so it proves no owner.
	bad bool
}

// how says how the owner came to own the host, for messages.
func (s *ownerStep) how() string {
	verb := "registered"
	if s.since.item.Action == wire.HostMove {
		verb = "moved to it"
	}
	return fmt.Sprintf("%s in tx %s block %d", verb, s.since.tx.ID, s.since.pos.Block)
}

// ownership is what the archive proves of its hosts' owners.
type ownership struct {
	steps    map[string][]*ownerStep // per host, in ledger order
	findings []Finding
}

// at returns the registry step in force for host at pos (nil: the host
// was not registered before pos).
func (o *ownership) at(host string, pos txPos) *ownerStep {
	var cur *ownerStep
	for _, s := range o.steps[host] {
		if !s.pos.before(pos) {
			break
		}
		cur = s
	}
	return cur
}

// checkHosts checks every registry entry of the archive against the
// transactions its history names, and their blocks (blockProblems).
func checkHosts(a *Archive, set *BlockSet, txs map[string]*Tx, configs *Configs, rws *rwSets, blockProblems func(uint64) []string, channel, chaincode string) *ownership {
	o := &ownership{steps: map[string][]*ownerStep{}}
	seen := map[string]bool{}
	for _, e := range a.Hosts {
		fail := func(txID, format string, args ...any) {
			o.findings = append(o.findings, Finding{Severity: Error, Host: e.Host, TxID: txID, Problem: "registry: " + fmt.Sprintf(format, args...)})
		}
		if seen[e.Host] {
			fail("", "the archive holds two registry entries for host %s", e.Host)
			continue
		}
		seen[e.Host] = true
		if len(e.History) == 0 {
			fail(e.TxID, "the entry of host %s has no history", e.Host)
			continue
		}
		var prev *ownerStep
		pending := "" // the MSP the host was released to, until a move
		for i, item := range e.History {
			tx := txs[item.TxID]
			if tx == nil {
				fail(item.TxID, "%s transaction %s of host %s is in none of the archive's blocks", item.Action, item.TxID, e.Host)
				continue
			}
			before := len(o.findings)
			s := &ownerStep{pos: posOf(tx), tx: tx, item: item, owner: item.MSP, role: item.SwarmRole}
			s.since = s
			if prev != nil {
				s.owner, s.role, s.since = prev.owner, prev.role, prev.since
				if !prev.pos.before(s.pos) {
					fail(tx.ID, "history entry %d (%s, tx %s) is not after entry %d in ledger order", i, item.Action, describeTx(tx), i-1)
				}
			}
			switch item.Action {
			case wire.HostRegister:
				if prev != nil {
					fail(tx.ID, "history entry %d registers host %s again (tx %s): only the first entry is a registration", i, e.Host, describeTx(tx))
				}
			case wire.HostRole:
				s.role = item.SwarmRole
				if prev != nil && item.MSP != prev.owner {
					fail(tx.ID, "%s changed the Swarm role of host %s (tx %s), which %s owned", item.MSP, e.Host, describeTx(tx), prev.owner)
				}
			case wire.HostRelease:
				if prev != nil && item.MSP != prev.owner {
					fail(tx.ID, "%s released host %s (tx %s), which %s owned", item.MSP, e.Host, describeTx(tx), prev.owner)
				}
				pending = item.ReleasedTo // "": a release withdrawn
			case wire.HostMove:
				if pending != item.MSP {
					fail(tx.ID, "host %s moved to %s (tx %s) without a release to %s before it", e.Host, item.MSP, describeTx(tx), item.MSP)
				}
				s.owner, s.role, s.since, pending = item.MSP, item.SwarmRole, s, ""
			default:
				fail(tx.ID, "history entry %d of host %s has an unknown action %q", i, e.Host, item.Action)
			}
			if prev == nil && item.Action != wire.HostRegister {
				fail(tx.ID, "the first history entry of host %s is a %s, not a registration", e.Host, item.Action)
			}
			var trust *Trust
			if b := set.Get(tx.Block); b != nil {
				trust, _ = configs.For(b)
			}
			for _, p := range registryTxProblems(tx, e.Host, item, trust, rws, channel, chaincode) {
				fail(tx.ID, "%s", p)
			}
			for _, p := range blockProblems(tx.Block) {
				fail(tx.ID, "%s transaction %s: %s", item.Action, describeTx(tx), p)
			}
			if w := rws.write(tx, compositeKey(keyTypeHostReg, e.Host)); w == nil {
				fail(tx.ID, "%s transaction %s did not write the registry entry of host %s", item.Action, describeTx(tx), e.Host)
			} else {
				var got wire.HostRegistration
				if err := json.Unmarshal(w.GetValue(), &got); err != nil || got.MSP != s.owner {
					fail(tx.ID, "%s transaction %s wrote a registry entry for host %s whose owner is %q, not %s", item.Action, describeTx(tx), e.Host, got.MSP, s.owner)
				}
			}
			s.bad = len(o.findings) > before
			o.steps[e.Host] = append(o.steps[e.Host], s)
			prev = s
		}
		if prev == nil {
			continue
		}
		last := e.History[len(e.History)-1]
		if e.MSP != prev.owner || e.SwarmRole != prev.role || e.TxID != last.TxID || e.ReleasedTo != pending {
			fail(e.TxID, "the current entry of host %s (%s, %s, tx %s) is not what its history leads to (%s, %s, tx %s)",
				e.Host, e.MSP, e.SwarmRole, e.TxID, prev.owner, prev.role, last.TxID)
		}
		if prev.tx.Err == nil && prev.tx.Creator.Cert != nil && e.AdminCertSHA256 != CertSHA256(prev.tx.Creator.Cert) {
			fail(e.TxID, "the entry of host %s names admin certificate %s, its last transaction was signed by %s", e.Host, short(e.AdminCertSHA256), short(CertSHA256(prev.tx.Creator.Cert)))
		}
	}
	return o
}

// registryTxProblems checks a registry transaction: VALID, the chaincode's
// RegisterHost/ReleaseHost with arguments matching the history entry,
// signed by an admin of the entry's MSP whose certificate chains to that
// MSP's root, endorsed by a majority of the application organisations.
func registryTxProblems(tx *Tx, host string, item wire.HostOwnership, trust *Trust, rws *rwSets, channel, chaincode string) []string {
	var p []string
	add := func(format string, args ...any) {
		p = append(p, fmt.Sprintf("%s transaction %s: ", item.Action, describeTx(tx))+fmt.Sprintf(format, args...))
	}
	if tx.Err != nil {
		add("does not decode: %v", tx.Err)
		return p
	}
	if tx.Code != peer.TxValidationCode_VALID {
		add("is %s, not VALID", tx.Code)
	}
	fn, arg := fnRegisterHost, item.SwarmRole
	if item.Action == wire.HostRelease {
		fn, arg = fnReleaseHost, item.ReleasedTo
		if arg == "" {
			arg = item.MSP // releasing to one's own MSP withdraws a release
		}
	}
	if tx.Type != common.HeaderType_ENDORSER_TRANSACTION || tx.Channel != channel || tx.Chaincode != chaincode ||
		tx.Function() != fn || len(tx.Args) != 3 || string(tx.Args[1]) != host || string(tx.Args[2]) != arg {
		add("is %s %s/%s %s, not %s(%q, %q) of chaincode %s on channel %s",
			tx.Type, tx.Channel, tx.Chaincode, quotedArgs(tx.Args), fn, host, arg, chaincode, channel)
	}
	c := tx.Creator
	if c.MSP != item.MSP {
		add("was signed by %s (CN=%s), not by %s", c.MSP, c.Cert.Subject.CommonName, item.MSP)
	}
	if err := verifySignature(c.Cert, tx.payload, tx.signature); err != nil {
		add("transaction signature: %v", err)
	}
	if trust == nil {
		add("its block's configuration is not in the evidence")
		return p
	}
	if err := trust.VerifyCert(item.MSP, c.Cert, tx.Timestamp); err != nil {
		add("creator: %v", err)
	} else if m := trust.MSPs[item.MSP]; m != nil {
		if err := m.HasRole(c.Cert, msp.MSPRole_ADMIN, tx.Timestamp); err != nil {
			add("was signed by %s (CN=%s), not by an admin of %s: %v", c.MSP, c.Cert.Subject.CommonName, item.MSP, err)
		}
	}
	if !tx.ProposalHashOK {
		add("the endorsed proposal hash does not match the transaction's header and input")
	}
	if tx.ResponseStatus != 200 {
		add("the chaincode answered status %d, not 200", tx.ResponseStatus)
	}
	for _, e := range endorsementProblems(tx, trust) {
		add("%s", e)
	}
	return p
}

func quotedArgs(args [][]byte) string {
	if len(args) == 0 {
		return "(no function)"
	}
	var q []string
	for _, a := range args[1:] {
		s := string(a)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		q = append(q, fmt.Sprintf("%q", s))
	}
	return string(args[0]) + "(" + strings.Join(q, ", ") + ")"
}

// bindRecord checks that a record's transaction was signed by a collector
// of the organisation owning its host at that transaction's place in
// ledger order, and that a swarm-scope event came from a manager. It
// returns the forgery (nil when none) and other findings.
func (o *ownership) bindRecord(st Stored, tx *Tx) (forgery *Finding, other []Finding) {
	host, _ := st.Claimed()
	steps, ok := o.steps[host]
	if !ok || len(steps) == 0 || tx.Err != nil || tx.Creator.Cert == nil {
		return nil, nil
	}
	s := o.at(host, posOf(tx))
	if s == nil {
		f := about(Warning, st, "written in tx %s block %d, before host %s was registered (tx %s block %d): not bound to an organisation",
			tx.ID, tx.Block, host, steps[0].tx.ID, steps[0].pos.Block)
		return nil, []Finding{f}
	}
	if tx.Creator.MSP != s.owner && !s.since.bad {
		// (An owner the registry does not prove is reported there; an
		// honest record is not called a forgery on its word.)
		f := about(Error, st, "FORGERY: host %s belongs to %s (%s); this record was signed by %s (CN=%s)",
			host, s.owner, s.how(), tx.Creator.MSP, tx.Creator.Cert.Subject.CommonName)
		forgery = &f
	}
	if s.role == wire.SwarmWorker {
		if r, err := record.DecodeRecord(st.Record); err == nil && r.Kind == record.KindEvent && r.Event != nil && r.Event.Scope == record.ScopeSwarm {
			other = append(other, about(Error, st, "host %s was registered as a worker (tx %s block %d) when it recorded this swarm-scope event: only managers may report them",
				host, s.tx.ID, s.pos.Block))
		}
	}
	return forgery, other
}

// unboundHosts reports the hosts of the records that have no registry
// entry: an error in a version 3 archive, a warning in older ones.
func (o *ownership) unboundHosts(a *Archive, hosts []string) []Finding {
	registered := map[string]bool{}
	for _, e := range a.Hosts {
		registered[e.Host] = true
	}
	var out []Finding
	for _, h := range hosts {
		switch {
		case registered[h]:
		case a.Version < 3:
			out = append(out, Finding{Severity: Warning, Host: h, Problem: "not bound to organisations (archive predates the host registry)"})
		default:
			out = append(out, Finding{Severity: Error, Host: h, Problem: fmt.Sprintf("no registry entry for host %s in the archive: its records cannot be bound to the organisation that owns it", h)})
		}
	}
	return out
}
