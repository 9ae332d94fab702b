//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/indexer"
	"github.com/e2l-project/e2l/internal/query"
	"github.com/e2l-project/e2l/internal/wire"
	"github.com/e2l-project/e2l/network"
)

// The test binary's own audit index: a SQLite file in the test network's
// directory, followed in-process with the Developer org's admin identity,
// shared by the tests that read what only the index answers (timelines,
// a swarm event's reports).
var testIndex = struct {
	sync.Mutex
	st  *index.Store
	c   *query.Client
	err error
}{}

// indexClient dials the test network as the Developer org's admin.
func indexClient(t testing.TB) *query.Client {
	t.Helper()
	dev := testNet.Peer(network.Developer)
	var endpoints []string
	for _, p := range testNet.Peers() {
		endpoints = append(endpoints, p.Endpoint)
	}
	c, err := query.Dial(query.Config{Endpoints: endpoints, TLSCAFile: testNet.PeerTLSCABundle(), MSPID: dev.MSPID,
		CertFile: dev.AdminCertPath, KeyFile: dev.AdminKeyPath, Channel: network.ChannelName, Chaincode: network.ChaincodeName}, time.Now())
	if err != nil {
		t.Fatalf("dial the test network: %v", err)
	}
	return c
}

// anchorHex is the test network's trust anchor as hex.
func anchorHex(t *testing.T) string {
	return strings.TrimPrefix(auditorCLI(t).genesis, "sha256:")
}

// caughtUpIndex catches the test binary's index up with the channel and
// returns it (closed when the test binary ends).
func caughtUpIndex(t *testing.T) *index.Store {
	t.Helper()
	anchor := anchorHex(t)
	testIndex.Lock()
	defer testIndex.Unlock()
	if testIndex.st == nil && testIndex.err == nil {
		testIndex.c = indexClient(t)
		testIndex.st, testIndex.err = index.Open(context.Background(), filepath.Join(testNet.Config().Dir, "test-index", "index.db"))
	}
	if testIndex.err != nil {
		t.Fatalf("open the test index: %v", testIndex.err)
	}
	catchUpInto(t, testIndex.c, testIndex.st, anchor)
	return testIndex.st
}

// catchUpInto indexes the channel into st up to its height.
func catchUpInto(t *testing.T, c *query.Client, st *index.Store, anchor string) indexer.Progress {
	t.Helper()
	x, err := indexer.New(c, st, indexer.Config{Channel: network.ChannelName, Chaincode: network.ChaincodeName, Anchor: anchor})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	prog, err := x.Run(ctx)
	if err != nil {
		t.Fatalf("index the channel: %v", err)
	}
	return prog
}

// indexTimeline is an actor's records from the test index, in time order.
func indexTimeline(t *testing.T, actor string) []wire.Stored {
	t.Helper()
	st := caughtUpIndex(t)
	var out []wire.Stored
	if err := st.Records(t.Context(), index.Query{Actor: actor, OrderBy: index.ByTime}, func(r index.Record) error {
		var s wire.Stored
		if err := json.Unmarshal(r.Stored, &s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}); err != nil {
		t.Fatalf("timeline of %s: %v", actor, err)
	}
	return out
}

// indexWitnesses is every host's report of one swarm event, from the test
// index.
func indexWitnesses(t *testing.T, eventID string) []index.Record {
	t.Helper()
	recs, err := caughtUpIndex(t).Witnesses(t.Context(), eventID)
	if err != nil {
		t.Fatalf("witnesses of %s: %v", eventID, err)
	}
	return recs
}

// indexHosts is every host the test index knows.
func indexHosts(t *testing.T) []index.HostSummary {
	t.Helper()
	hs, err := caughtUpIndex(t).Hosts(t.Context())
	if err != nil {
		t.Fatalf("hosts of the index: %v", err)
	}
	return hs
}
