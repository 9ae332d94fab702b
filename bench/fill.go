package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/record"
	"github.com/e2l-project/e2l/network"
)

// filler commits realistic records for the index measurements: hosts of
// the three organisations each run containers of a few services through
// create, start, pause and unpause (every fourth), die, stop and destroy,
// with a heartbeat every ten events, dated over the past day.
type filler struct {
	hosts  []*fillHost
	perTx  int
	flight int
}

type fillHost struct {
	id        network.HostIdentity
	g         *fabricconn.Conn
	chain     *chainer
	n         int64 // records made
	ctr, step int   // the container being run and its next step
	at        int64 // time of the next record
}

func newFiller(ctx context.Context, n *network.Network, hosts int, noRegister bool) (*filler, error) {
	f := &filler{perTx: 200, flight: 6}
	start := time.Now().Add(-24 * time.Hour).UnixNano()
	for i := range hosts {
		org := network.Orgs()[i%len(network.Orgs())]
		id, err := n.EnrollHost(ctx, org, fmt.Sprintf("bench-fill-%02d", i), network.EnrollOptions{Role: network.RoleCollector, NoRegister: noRegister})
		if err != nil {
			return nil, err
		}
		g, err := connectHost(id)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.hosts = append(f.hosts, &fillHost{id: id, g: g, chain: newChainer(), at: start})
	}
	return f, nil
}

func (f *filler) Close() {
	for _, h := range f.hosts {
		_ = h.g.Close()
	}
}

// next makes the host's next record.
func (h *fillHost) next() (record.Sealed, error) {
	h.at += int64(20 * time.Millisecond)
	r := record.Record{V: record.SchemaVersion, Host: h.id.Host, Time: h.at}
	switch {
	case h.chain.seq == 0:
		r.Kind, r.Lifecycle = record.KindStart, &record.Lifecycle{Version: "bench-fill"}
	case h.n%10 == 9:
		r.Kind, r.Heartbeat = record.KindHeartbeat, &record.Heartbeat{IntervalMs: 10_000, LastEvent: h.at}
	default:
		r.Kind, r.Event = record.KindEvent, h.event()
	}
	h.n++
	return h.chain.seal(r)
}

// event is the next step of the host's current container: every fourth
// container is paused and unpaused; containers belong to five services.
func (h *fillHost) event() *record.Event {
	life := []string{"create", "start", "die", "stop", "destroy"}
	if h.ctr%4 == 0 {
		life = []string{"create", "start", "pause", "unpause", "die", "stop", "destroy"}
	}
	action := life[h.step]
	svc := fmt.Sprintf("svc-%d", h.ctr%5)
	e := &record.Event{Type: "container", Action: action, Actor: fmt.Sprintf("%s%056d", h.id.Host[len(h.id.Host)-2:]+"c0ffee", h.ctr), Scope: record.ScopeLocal,
		TimeNano: h.at, Attrs: record.Attributes{Name: fmt.Sprintf("%s.%d", svc, h.ctr), Image: "e2l-testbox:test", ServiceName: svc}}
	if action == "die" {
		e.Attrs.ExitCode = "0"
	}
	if h.step++; h.step == len(life) {
		h.ctr, h.step = h.ctr+1, 0
	}
	return e
}

// fill commits records records spread over the hosts and returns how long
// it took.
func (f *filler) fill(ctx context.Context, records int) (time.Duration, error) {
	t0 := time.Now()
	per := (records + len(f.hosts) - 1) / len(f.hosts)
	var wg sync.WaitGroup
	errs := make(chan error, len(f.hosts))
	for _, h := range f.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.fillHost(ctx, h, per); err != nil {
				errs <- fmt.Errorf("%s: %w", h.id.Host, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return time.Since(t0), err
	}
	return time.Since(t0), nil
}

// fillHost commits n records of one host, f.flight transactions in flight.
func (f *filler) fillHost(ctx context.Context, h *fillHost, n int) error {
	sem := make(chan struct{}, f.flight)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
		}
	}
	for done := 0; done < n; {
		size := min(f.perTx, n-done)
		var b record.Batch
		for range size {
			s, err := h.next()
			if err != nil {
				return err
			}
			b.Records = append(b.Records, s)
		}
		done += size
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		arg := string(j)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, commit, err := e2lContract(h.g).SubmitAsync("RecordEvents", client.WithArguments(arg))
			if err != nil {
				fail(err)
				return
			}
			st, err := commit.StatusWithContext(ctx)
			if err != nil {
				fail(err)
			} else if st.Code != peer.TxValidationCode_VALID {
				fail(fmt.Errorf("transaction %s committed as %s", st.TransactionID, st.Code))
			}
		}()
	}
	wg.Wait()
	return first
}
