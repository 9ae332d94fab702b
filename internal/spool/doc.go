// Package spool is the collector's durable, bounded queue of sealed records:
// the point of truth on the host. A record's per-host sequence number and
// previous hash are fixed here, once, in the same bbolt transaction that
// stores it; everything downstream may retry freely because IDs never change.
//
// API:
//
//	sp, err := spool.Open(path, spool.Options{Host: "node1", Registerer: reg})
//	defer sp.Close()
//	res, err := sp.Append(ctx, recs)   // one transaction (one fsync) per call: batch callers
//	                                    // err is ErrFull when events do not fit the bound
//	sp.LastEventTime()                  // timeNano of the newest event spooled: resume Docker "since"
//	sp.Meta(key) / sp.SetMeta(key, v)   // small key-value store for the watcher
//	sp.Stats()                          // pending records and bytes, dead letters, head
//
// The submitter side:
//
//	sp.Pending(after, max)  // uncommitted records with Seq > after, in Seq order
//	sp.Commit(seqs...)      // committed VALID on the ledger: removed from pending
//	sp.DeadLetter(seq, why) // permanently refused: kept aside with the reason
//	sp.Notify()             // receives after an Append stored records
//
// Full policy: an Append that carries events is refused whole with ErrFull
// when the pending records or bytes would exceed Options.MaxRecords or
// Options.MaxBytes; nothing of it is stored and the caller counts the drop
// (and later appends a gap record). Records of the other kinds (gap,
// heartbeat, start, stop, snapshot) may use a reserve above the bound
// (Options.ReservePercent, default 10%) so that the gap can always be
// written; beyond the reserve they are refused with ErrFull too.
//
// De-duplication: an event record whose ID (record.DeriveID, which does not
// depend on Seq for events) is among the newest Options.DedupeIDs event IDs
// spooled (pending or committed) is not stored again and is reported as a
// duplicate, so replaying the Docker "since" boundary is harmless: Docker
// replays at most its last 256 events, all among the newest spooled.
package spool
