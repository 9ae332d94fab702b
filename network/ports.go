package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Port layout, relative to Config.PortBase. Each node has a slot of ten ports:
//
//	orderer i     base +  0 + 10i   (+0 client, +1 cluster, +2 admin, +3 operations)
//	peer of org i base + 30 + 10i   (+0 peer/gateway, +1 chaincode listener, +3 operations)
//	CA of org i   base + 60 + 10i   (+0 CA API, +3 operations)
//	chaincode i   base + 90 + 10i   (+0 chaincode server)
//
// With the default base 7000 the network uses 7000-7119.
const (
	portSpan = 120

	slotOrderer   = 0
	slotPeer      = 30
	slotCA        = 60
	slotChaincode = 90

	offMain       = 0
	offCluster    = 1 // orderer cluster; peer chaincode listener
	offAdmin      = 2
	offOperations = 3
)

func (c Config) port(slot, org, off int) int { return c.PortBase + slot + 10*org + off }

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// listeningPorts returns the local TCP ports in LISTEN state, read from
// /proc/net/tcp{,6}: no connection is made, so TLS servers log nothing.
func listeningPorts() (map[int]bool, error) {
	ports := map[int]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := scanListening(f, ports); err != nil {
			return nil, err
		}
	}
	return ports, nil
}

func scanListening(file string, ports map[int]bool) error {
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read listening ports: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // 0A = TCP_LISTEN
			continue
		}
		i := strings.LastIndexByte(fields[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseInt(fields[1][i+1:], 16, 32)
		if err == nil {
			ports[int(p)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read listening ports: %w", err)
	}
	return nil
}

// waitPorts polls until every port listens (want true) or none does (want
// false). check, when not nil, is called on every round and aborts the wait
// with its error (e.g. the process died).
func waitPorts(ctx context.Context, ports []int, want bool, check func() error) error {
	return poll(ctx, 50*time.Millisecond, func() (bool, error) {
		if check != nil {
			if err := check(); err != nil {
				return false, err
			}
		}
		l, err := listeningPorts()
		if err != nil {
			return false, err
		}
		for _, p := range ports {
			if l[p] != want {
				return false, nil
			}
		}
		return true, nil
	})
}

// poll calls f every interval until it reports done or fails, or ctx ends.
// On ctx's end the error wraps ctx's error and f's last error, if any.
func poll(ctx context.Context, interval time.Duration, f func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := f()
		if done {
			return nil
		}
		if err != nil && !errors.As(err, new(retryable)) {
			return err
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last: %v)", context.Cause(ctx), err)
			}
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// retryable marks an error that poll keeps retrying (and reports if time runs out).
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func retry(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err}
}
