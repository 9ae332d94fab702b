// Package groundtruth holds the checks that the integration tests
// (test/integration) and the benchmarks (bench) apply to what the collector
// put on the ledger: an independent Docker event stream (the ground truth)
// compared with the ledger's event records, the rules by which a gap record
// may excuse a missing event, the evidence that an injected fault took
// effect, and the latency accounting of offered events. They are pure
// functions over plain values, so each can be shown to fail on a broken
// input (a dropped event, a wrong gap reason, a duplicated record, a fault
// that did nothing) without a network.
package groundtruth
