// Package ledger submits spooled records to the e2l chaincode through the
// Fabric Gateway and marks them committed (or dead-lettered) in the spool.
//
//	conn, err := ledger.Dial(ctx, ledger.ConnConfig{Endpoints: ..., TLSRootCAFile: ...,
//	        ID: id.X509, Sign: id.Sign, Channel: "e2l", Chaincode: "e2l"})
//	defer conn.Close()
//	sub, err := ledger.NewSubmitter(sp, conn, logger.Named("ledger"), reg, ledger.Config{})
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
// *client.CommitError) and the gRPC status code:
//
//   - retryable (Unavailable, DeadlineExceeded, ResourceExhausted, Aborted
//     without a chaincode refusal, Canceled at the gateway, commit codes
//     MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT, ENDORSEMENT_POLICY_FAILURE):
//     retried forever with capped, jittered exponential backoff; the records
//     stay in the spool meanwhile;
//   - permanent (a chaincode refusal: an endorse error whose details carry a
//     chaincode message, see classify.go; other commit codes; other gRPC
//     codes): a batch of several records is split in halves until the
//     refused records are isolated; those are dead-lettered, the rest
//     committed.
//
// The chaincode's result (JSON, see Result) reports per record whether it was
// written, a duplicate or a witness; the counts go to metrics.
package ledger
