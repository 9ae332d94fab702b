// Package audit verifies what the e2l ledger holds, without a network: the
// per-host hash chains of records, the Fabric transactions and blocks that
// carry them (creator bound to the host, endorsements, validity, orderer
// signatures), archives and receipts made of those blocks, and the running
// time of containers computed from the records.
//
// Every check reports Findings that name the record (host, seq, ID) and the
// problem; a Report fails when any finding is an error. The package does not
// log and makes no network calls: internal/query fetches the evidence and
// hands it here, and the offline commands read it from files.
package audit
