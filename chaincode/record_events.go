package chaincode

import (
	"errors"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/internal/wire"
)

// RecordEvents stores a batch of sealed records (a JSON record.Batch) of the
// signer's host, all or nothing. It returns a JSON Result: how many records
// it wrote, and the duplicates (already stored with the same hash; nothing
// written), each with its status; a record it does not list was written.
// The result is part of the transaction, so it lists no record twice over.
//
// It refuses the whole batch (a wire.Refusal; the code in parentheses)
// when the signer lacks e2l.role=collector (access-denied), when the batch
// is invalid (record.DecodeBatch, record.CheckBatch: invalid-batch), when a
// record's host is not the signer's e2l.host (access-denied), when the host
// is not in the host registry (not-registered) or registered to another
// MSP than the signer's (host-owned), when a worker's batch holds a
// swarm-scope event (not-a-manager), when a record is dated more than
// record.MaxFutureSkewNano after the transaction timestamp (future-dated),
// when a record's chain slot holds its ID with another hash (conflict) and
// when the slot is taken by another record (chain-fork). A failure to read
// or write the state is returned as a plain error, not a refusal: the
// client retries it.
//
// It reads the host's registry entry once per batch and the records' chain
// slots (one range query for a batch of more than one), and writes each new
// record's slot and ID key (StateLayout 3): no
// other in-flight batch writes a key it reads, so concurrent batches of one
// host, and several managers reporting one swarm event in their own chains,
// do not conflict. Continuity with the host's previous batch, and the
// merging of one swarm event's reports, are the audit index's (internal/
// index): reading the previous batch's keys here would serialise a host's
// batches.
func (c *Contract) RecordEvents(ctx contractapi.TransactionContextInterface, batchJSON string) (string, error) {
	stub := ctx.GetStub()
	signer, err := readSigner(ctx.GetClientIdentity())
	if err != nil {
		return "", err
	}
	batch, err := record.DecodeBatch([]byte(batchJSON))
	if err != nil {
		return "", refuse(wire.CodeInvalidBatch, "%v", err)
	}
	canon, err := checkBatch(batch)
	if err != nil {
		return "", err
	}
	for i := range batch.Records {
		if s := &batch.Records[i]; s.Record.Host != signer.host {
			return "", refuseRecord(wire.CodeAccessDenied, i, s.ID, "the record is for host %q but the signer's %s is %q",
				s.Record.Host, AttrHost, signer.host)
		}
	}
	if err := checkRegistration(stub, signer, batch); err != nil {
		return "", err
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return "", fmt.Errorf("read the transaction timestamp: %w", err)
	}
	txTime := ts.AsTime().UnixNano()
	for i := range batch.Records {
		s := &batch.Records[i]
		if t := s.Record.Time; t > txTime && t-txTime > record.MaxFutureSkewNano {
			return "", refuseRecord(wire.CodeFutureDated, i, s.ID, "its time %s is %s after the transaction timestamp %s (allowed: %s)",
				fmtTime(t), time.Duration(t-txTime), fmtTime(txTime), time.Duration(record.MaxFutureSkewNano))
		}
	}
	w := &writer{stub: stub, signer: signer, txID: stub.GetTxID(), txTime: txTime}
	if err := w.readSlots(batch); err != nil {
		return "", err
	}
	res := Result{TxID: w.txID, Host: signer.host, Records: []RecordStatus{}}
	for i := range batch.Records {
		st, err := w.add(i, &batch.Records[i], canon[i])
		if err != nil {
			return "", err
		}
		if st.Status == StatusWritten {
			res.Written++
			continue
		}
		res.Duplicates++
		res.Records = append(res.Records, st)
	}
	if err := w.flush(); err != nil {
		return "", err
	}

	summary, err := marshal(Summary{
		TxID: res.TxID, Host: res.Host,
		FromSeq: batch.Records[0].Record.Seq, ToSeq: batch.Records[len(batch.Records)-1].Record.Seq,
		Written: res.Written, Duplicates: res.Duplicates,
	})
	if err != nil {
		return "", err
	}
	if err := stub.SetEvent(EventRecorded, summary); err != nil {
		return "", fmt.Errorf("set event %s: %w", EventRecorded, err)
	}
	out, err := marshal(res)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// checkBatch is record.CheckBatch, refusing the first invalid record by
// its index: it checks each record with its predecessor (Check, the chain
// link) to find which one CheckBatch refuses.
// It returns each record's canonical encoding, which the chain slot
// stores.
func checkBatch(b record.Batch) ([][]byte, error) {
	canon, err := record.CheckBatchCanonical(b)
	if err == nil {
		return canon, nil
	}
	if n := len(b.Records); n == 0 || n > record.MaxBatchRecords {
		return nil, refuse(wire.CodeInvalidBatch, "%v", err)
	}
	for i := range b.Records {
		werr := record.CheckBatch(record.Batch{Records: b.Records[max(0, i-1) : i+1]})
		if werr == nil {
			continue
		}
		msg := werr.Error()
		var ve *record.ValidationError
		if errors.As(werr, &ve) {
			msg = ve.Error()
		}
		return nil, refuseRecord(wire.CodeInvalidBatch, i, b.Records[i].ID, "%s", msg)
	}
	return nil, refuse(wire.CodeInvalidBatch, "%v", err)
}

// checkRegistration reads the host's registry entry (the batch's one extra
// read; RecordEvents never writes it) and refuses the batch when the host
// is not registered, is registered to another MSP than the signer's, or
// is a worker and the batch holds a swarm-scope event.
func checkRegistration(stub shim.ChaincodeStubInterface, s signer, b record.Batch) error {
	reg, err := readRegistration(stub, s.host)
	if err != nil {
		return err
	}
	if reg == nil {
		return refuse(wire.CodeNotRegistered, "host %q is not registered: an admin of the organisation that owns it (%s, if this collector's) registers it before its collector writes (e2l host register %s, or make register HOST=%s ORG=<org> SWARM_ROLE=manager|worker)",
			s.host, s.msp, s.host, s.host)
	}
	if reg.MSP != s.msp {
		return refuse(wire.CodeHostOwned, "host %q is registered to %s, but the signer %q is of %s: only collectors of %s write its records (a host moves when %s's admin releases it and the new organisation's admin registers it)",
			s.host, reg.MSP, s.id, s.msp, reg.MSP, reg.MSP)
	}
	if reg.SwarmRole == wire.SwarmManager {
		return nil
	}
	for i := range b.Records {
		r := &b.Records[i].Record
		if r.Kind == record.KindEvent && r.Event.Scope == record.ScopeSwarm {
			return refuseRecord(wire.CodeNotAManager, i, b.Records[i].ID, "a swarm-scope %s %s event, but host %q is registered as a %s: only managers report swarm events (if it is a manager, an admin of %s registers it again as %s)",
				r.Event.Type, r.Event.Action, s.host, reg.SwarmRole, reg.MSP, wire.SwarmManager)
		}
	}
	return nil
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
