// Package ledger submits spooled records to the e2l chaincode through the
// Fabric Gateway and marks them committed (or dead-lettered) in the spool.
//
//	conn, err := ledger.Dial(ctx, ledger.ConnConfig{Endpoints: ..., TLSRootCAFile: ...,
//	        ID: id.X509, Sign: id.Sign, Channel: "e2l", Chaincode: "e2l"})
//	defer conn.Close()
//	sub, err := ledger.NewSubmitter(sp, conn, ledger.Config{Logger: logger.Named("ledger"), Registerer: reg})
//	err = sub.Run(ctx)  // returns after ctx is cancelled and in-flight commits drained
//
// The Submitter reads Pending records of the spool in Seq order, groups them
// into batches (contiguous Seq ranges, at most Config.MaxBatch records; a
// batch is sent at once when nothing is in flight, otherwise it waits up to
// Config.MaxDelay to fill), keeps at most Config.MaxInFlight transactions in
// flight, and for each transaction awaits its commit status.
//
// Outcomes are classified on the Gateway's typed errors (errors.As on
// *client.EndorseError, *client.SubmitError, *client.CommitStatusError,
// *client.CommitError, and *CommitCodeError from Conn), the gRPC status code
// and the chaincode's messages in the error details (see classify.go):
//
//   - retry: Unavailable, DeadlineExceeded, ResourceExhausted, Aborted
//     without a chaincode refusal (peers down, chaincode unreachable),
//     Canceled, unknown errors, and the commit codes MVCC_READ_CONFLICT,
//     PHANTOM_READ_CONFLICT and ENDORSEMENT_POLICY_FAILURE. Retried forever
//     with capped, jittered exponential backoff; the records stay in the
//     spool meanwhile, nothing is lost.
//   - refused: the chaincode refuses a record (a wire.Refusal naming it,
//     wire.ParseRefusal: conflict, chain-fork, future-dated, invalid-batch)
//     or the transaction is committed with another
//     validation code. A batch of several records is split (the named
//     record alone, else in halves) until the refused records are isolated;
//     those alone are dead-lettered in the spool, the rest are committed.
//   - denied: the call is refused whatever the records (a wire.Refusal
//     whose Denied() is true: access-denied, bad-argument, corrupt-state,
//     not-registered, host-owned, not-a-manager, not-admin, or any code
//     naming no record; gRPC InvalidArgument, FailedPrecondition other
//     than too few reachable endorsing peers (that one is unavailable),
//     PermissionDenied, NotFound, Unimplemented). No record is to blame, so
//     none is dead-lettered: the batch is retried at the longest backoff and
//     logged as an error until an operator fixes the identity or chaincode.
//
// Records are never resubmitted once committed: the spool drops them from
// pending. A batch whose commit status was lost is submitted again, and the
// chaincode reports its records as duplicates.
//
// The chaincode's result (JSON {"records":[{"seq":1,"status":"written"},...]})
// reports per record whether it was written or a duplicate; the
// counts go to e2l_collector_ledger_committed_records_total{status}.
package ledger
