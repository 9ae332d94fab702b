package webview

import (
	"context"
	"sync"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/usagereport"
)

// eventCache keeps the container events usage reads (index.Store's
// UsageEvents) of the hosts with many records, by the state of their
// chain: a host's events change only when records join its chain, which
// changes its record count or last seq. The status checker (Run) fills it
// for the large hosts as the index moves, so that the usage page of a host
// of 100,000 records does not read its 50,000 events at every request;
// usage then computes the report (audit.UsageOf) from the same events as
// e2l usage reads.
type eventCache struct {
	mu     sync.Mutex
	hosts  map[string]cachedEvents
	events int // held, over every host
	// certs are the certificates that signed each host's chain, by the
	// same key (index.Store.Certificates groups every record of the host).
	certs map[string]cachedCerts
}

type cachedCerts struct {
	key   chainKey
	certs []index.CertUse
}

type cachedEvents struct {
	key    chainKey
	events []audit.UsageEvent
}

// chainKey is what changes when records join a host's chain.
type chainKey struct {
	records, firstSeq, lastSeq uint64
}

func keyOf(h index.HostSummary) chainKey {
	return chainKey{uint64(h.Records), h.FirstSeq, h.LastSeq}
}

const (
	// cacheMinRecords: hosts with fewer records are read at each request
	// (it costs less than the cache's upkeep).
	cacheMinRecords = 20_000
	// cacheMaxEvents bounds the events held (about 150 bytes each, strings included).
	cacheMaxEvents = 1_000_000
)

func newEventCache() *eventCache {
	return &eventCache{hosts: map[string]cachedEvents{}, certs: map[string]cachedCerts{}}
}

// certificates returns the certificates of h's chain, read again when the
// chain moved.
func (c *eventCache) certificates(ctx context.Context, st Store, h index.HostSummary) ([]index.CertUse, error) {
	c.mu.Lock()
	e, ok := c.certs[h.Host]
	c.mu.Unlock()
	if ok && e.key == keyOf(h) {
		return e.certs, nil
	}
	certs, err := st.Certificates(ctx, h.Host)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.certs[h.Host] = cachedCerts{key: keyOf(h), certs: certs}
	c.mu.Unlock()
	return certs, nil
}

// get returns host's events if they were read at key.
func (c *eventCache) get(host string, key chainKey) ([]audit.UsageEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.hosts[host]
	if !ok || e.key != key {
		return nil, false
	}
	return e.events, true
}

// put keeps host's events read at key, within the bound.
func (c *eventCache) put(host string, key chainKey, events []audit.UsageEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := len(c.hosts[host].events)
	if c.events-old+len(events) > cacheMaxEvents {
		return
	}
	c.hosts[host] = cachedEvents{key: key, events: events}
	c.events += len(events) - old
}

// refresh reads again the events of every large host whose chain moved.
func (c *eventCache) refresh(ctx context.Context, st Store) error {
	hs, err := st.Hosts(ctx)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if h.Records < cacheMinRecords {
			continue
		}
		if _, err := c.certificates(ctx, st, h); err != nil {
			return err
		}
		if _, ok := c.get(h.Host, keyOf(h)); ok {
			continue
		}
		evs, err := usagereport.ReadUsageEvents(ctx, st, h.Host)
		if err != nil {
			return err
		}
		// Kept only if the chain did not move while they were read.
		if now, err := hostSummary(ctx, st, h.Host); err == nil && now != nil && keyOf(*now) == keyOf(h) {
			c.put(h.Host, keyOf(h), evs)
		}
	}
	return nil
}

func hostSummary(ctx context.Context, st Store, host string) (*index.HostSummary, error) {
	hs, err := st.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	for i := range hs {
		if hs[i].Host == host {
			return &hs[i], nil
		}
	}
	return nil, nil
}

// cachedSource is the store holding, for usagereport, the usage events of
// the hosts whose chain has not moved since their events were read.
type cachedSource struct {
	Store
	cache *eventCache
}

// HeldUsageEvents returns host's events from the cache if its chain has
// not moved since they were read (usagereport.HeldEvents).
func (s cachedSource) HeldUsageEvents(ctx context.Context, host string) ([]audit.UsageEvent, bool, error) {
	h, err := hostSummary(ctx, s.Store, host)
	if err != nil || h == nil {
		return nil, false, err
	}
	evs, ok := s.cache.get(host, keyOf(*h))
	return evs, ok, nil
}
