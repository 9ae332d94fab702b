package chaincode_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/e2l-project/e2l/chaincode"
	"github.com/e2l-project/e2l/internal/wire"
)

// A peer failing to read the state is not a refusal: the client retries it.
func TestReadFailuresAreNotRefusals(t *testing.T) {
	l := newWorld(t)
	rs := newChain("node1").batch(t, start(), heartbeat(), heartbeat())
	mustInvoke(t, l, collector("node1", "ProviderMSP"), rs) // re-sent below: the reads come first
	failure := errors.New("GET_STATE failed: transaction ID: x: timeout")
	cases := []struct {
		name, prefix string
		call         func(c *chaincode.Contract, s *fakeStub) (string, error)
		want         string
	}{
		{"RecordEvents reading the registry", "\x00hostreg\x00", func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.RecordEvents(txContext(s, collector("node1", "ProviderMSP")), batchJSON(t, rs))
		}, `read the registry entry of "node1": ` + failure.Error()},
		{"RecordEvents reading a batch's chain slots", "chain ", func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.RecordEvents(txContext(s, collector("node1", "ProviderMSP")), batchJSON(t, rs))
		}, fmt.Sprintf("read the chain slots 1 to %d: %s", len(rs), failure)},
		{"RecordEvents reading the chain slot of a batch of one", "chain ", func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.RecordEvents(txContext(s, collector("node1", "ProviderMSP")), batchJSON(t, rs[:1]))
		}, fmt.Sprintf("record 0 (%s): read: %s", rs[0].ID, failure)},
		{"GetRecord reading the chain slot", "chain ", func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.GetRecord(txContext(s, nil), rs[0].ID)
		}, fmt.Sprintf("read record %s: %s", rs[0].ID, failure)},
		{"RegisterHost reading the registry", "", func(c *chaincode.Contract, s *fakeStub) (string, error) {
			return c.RegisterHost(txContext(s, orgAdmin("ProviderMSP")), "node9", wire.SwarmManager)
		}, `read the registry entry of "node9": ` + failure.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stub := l.tx(t0)
			stub.failGet.prefix, stub.failGet.err = c.prefix, failure
			_, err := c.call(chaincode.New(), stub)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error\n got: %v\nwant: %s", err, c.want)
			}
			if !errors.Is(err, failure) {
				t.Error("the read failure is not wrapped")
			}
			if r, ok := wire.ParseRefusal(err.Error()); ok {
				t.Fatalf("a read failure reads as refusal %+v", *r)
			}
		})
	}
	t.Run("RecordEvents reads no rec key", func(t *testing.T) {
		stub := l.tx(t0)
		stub.failGet.prefix, stub.failGet.err = "\x00rec\x00", failure
		if _, err := chaincode.New().RecordEvents(txContext(stub, collector("node1", "ProviderMSP")), batchJSON(t, rs)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCorruptStateIsRefusedAsSuch(t *testing.T) {
	node1 := collector("node1", "ProviderMSP")
	rs := newChain("node1").batch(t, start())
	t.Run("a registry entry that does not decode", func(t *testing.T) {
		l := newWorld(t)
		l.state[mustKey(t, "hostreg", "node1")] = []byte("{")
		_, _, err := invoke(t, l, node1, t0, batchJSON(t, rs))
		if r := refusal(t, err, wire.CodeCorruptState, -1); r.Message != `registry entry of "node1": unexpected end of JSON input` {
			t.Errorf("message %q", r.Message)
		}
		_, err = getHost(t, l, "node1")
		refusal(t, err, wire.CodeCorruptState, -1)
	})
	t.Run("a chain slot that does not decode", func(t *testing.T) {
		l := newWorld(t)
		l.state[chainKey(t, "node1", 1)] = []byte("x")
		_, _, err := invoke(t, l, node1, t0, batchJSON(t, rs))
		r := refusal(t, err, wire.CodeCorruptState, 0)
		if !r.Denied() || r.ID != rs[0].ID {
			t.Errorf("refusal %+v: want a call refusal naming the record", *r)
		}
		if want := `stored record at host "node1" seq 1: invalid character 'x' looking for beginning of value`; r.Message != want {
			t.Errorf("message %q, want %q", r.Message, want)
		}
	})
	t.Run("an ID key whose chain slot is empty", func(t *testing.T) {
		l := newWorld(t)
		k := recKey(t, rs[0])
		l.state[k] = []byte(rs[0].Hash)
		_, err := chaincode.New().GetRecord(txContext(l.tx(t0), nil), rs[0].ID)
		if r := refusal(t, err, wire.CodeCorruptState, -1); r.Message != fmt.Sprintf("record key %q points at a chain slot that holds no stored record", k) {
			t.Errorf("message %q", r.Message)
		}
	})
	t.Run("a chain slot holding a layout 1 ID, read by GetRecord and QueryChain", func(t *testing.T) {
		l := newWorld(t)
		l.state[recKey(t, rs[0])] = []byte(rs[0].Hash)
		l.state[chainKey(t, "node1", 1)] = []byte(rs[0].ID)
		_, err := chaincode.New().GetRecord(txContext(l.tx(t0), nil), rs[0].ID)
		refusal(t, err, wire.CodeCorruptState, -1)
		_, err = chaincode.New().QueryChain(txContext(l.tx(t0), nil), "node1", 0, 10, 0, "")
		if r := refusal(t, err, wire.CodeCorruptState, -1); !strings.Contains(r.Message, "does not hold a stored record") {
			t.Errorf("message %q", r.Message)
		}
	})
	t.Run("a chain slot holding JSON without an ID is corrupt state, not a fork", func(t *testing.T) {
		l := newWorld(t)
		l.state[chainKey(t, "node1", 1)] = []byte("{}")
		_, _, err := invoke(t, l, node1, t0, batchJSON(t, rs))
		r := refusal(t, err, wire.CodeCorruptState, 0)
		if !r.Denied() || !strings.Contains(r.Message, "holds no stored record") {
			t.Errorf("refusal %+v: want a call refusal saying the slot holds no stored record", *r)
		}
	})
	t.Run("an ID key of state layout 1", func(t *testing.T) {
		l := newWorld(t)
		k := mustKey(t, "rec", rs[0].ID)
		l.state[k] = []byte(`{"id":"` + rs[0].ID + `"}`)
		_, err := chaincode.New().GetRecord(txContext(l.tx(t0), nil), rs[0].ID)
		if r := refusal(t, err, wire.CodeCorruptState, -1); r.Message != fmt.Sprintf("record key %q", k) {
			t.Errorf("message %q", r.Message)
		}
	})
}
