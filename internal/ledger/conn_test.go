package ledger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/e2l-project/e2l/internal/spool"
	"github.com/e2l-project/e2l/internal/wire"
)

func TestDialSubmitsOverTLS(t *testing.T) {
	cert, caFile := serverTLS(t)
	g := &fakeGateway{result: []byte(`{"records":[]}`)}
	addr := startGateway(t, g, cert)
	id, sign := testIdentity(t)
	c, err := Dial(t.Context(), ConnConfig{
		Endpoints: []string{addr}, TLSRootCAFile: caFile, ID: id, Sign: sign, Channel: "e2l", Chaincode: "e2l",
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	res, err := c.SubmitBatch(t.Context(), []byte(`{"records":[]}`))
	if err != nil {
		t.Fatalf("SubmitBatch: %v", err)
	}
	if string(res) != `{"records":[]}` {
		t.Fatalf("result = %q", res)
	}
}

func TestDialRefuses(t *testing.T) {
	id, sign := testIdentity(t)
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := ConnConfig{Endpoints: []string{"127.0.0.1:1"}, TLSRootCAFile: notPEM, ID: id, Sign: sign, Channel: "e2l", Chaincode: "e2l"}
	tests := []struct {
		name string
		edit func(c *ConnConfig)
		want string
	}{
		{"no endpoints", func(c *ConnConfig) { c.Endpoints = nil }, "no endpoints"},
		{"no identity", func(c *ConnConfig) { c.ID = nil }, "identity and sign are required"},
		{"no chaincode", func(c *ConnConfig) { c.Chaincode = "" }, "channel and chaincode are required"},
		{"a missing CA file", func(c *ConnConfig) { c.TLSRootCAFile = filepath.Join(t.TempDir(), "nope.pem") }, "no such file"},
		{"a CA file without certificates", func(c *ConnConfig) {}, "no certificate in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			c, err := Dial(t.Context(), cfg)
			if err == nil {
				_ = c.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSubmitBatchFailsOver(t *testing.T) {
	t.Run("an unreachable first endpoint fails over to the second and sticks to it", func(t *testing.T) {
		g := &fakeGateway{result: []byte(`ok`)}
		second := startGateway(t, g, nil)
		c := plainConn(t, closedPort(t), second)
		for range 2 {
			if _, err := c.SubmitBatch(t.Context(), []byte(`{}`)); err != nil {
				t.Fatalf("SubmitBatch: %v", err)
			}
			if c.Endpoint() != second {
				t.Fatalf("calls start at %s, want %s", c.Endpoint(), second)
			}
		}
	})
	t.Run("a chaincode refusal does not fail over", func(t *testing.T) {
		refused := &fakeGateway{endorseErr: gatewayError(t, codes.Aborted, "failed to endorse", wire.RefuseRecord(wire.CodeChainFork, 0, testID, "taken").Error())}
		other := &fakeGateway{result: []byte(`ok`)}
		c := plainConn(t, startGateway(t, refused, nil), startGateway(t, other, nil))
		if _, err := c.SubmitBatch(t.Context(), []byte(`{}`)); err == nil {
			t.Fatal("SubmitBatch succeeded")
		}
		if n := other.endorsements.Load(); n != 0 {
			t.Fatalf("the second gateway endorsed %d times", n)
		}
	})
	t.Run("when every endpoint fails the last error is returned", func(t *testing.T) {
		c := plainConn(t, closedPort(t), closedPort(t))
		_, err := c.SubmitBatch(t.Context(), []byte(`{}`))
		if o := classify(err); o.stage != stageEndorse || o.reason != reasonUnavailable {
			t.Fatalf("classify = %+v for %v", o, err)
		}
	})
}

func TestSubmitBatchBoundsTheCommitStatusWait(t *testing.T) {
	// A transaction accepted by the orderers but never ordered: its commit
	// status never comes. The wait must end at CommitStatusTimeout with a
	// retryable error, even though the caller's context lives on.
	g := &fakeGateway{result: []byte(`ok`), statusNever: true}
	id, sign := testIdentity(t)
	c, err := dial(ConnConfig{
		Endpoints: []string{startGateway(t, g, nil)}, ID: id, Sign: sign, Channel: "e2l", Chaincode: "e2l",
		CommitStatusTimeout: 200 * time.Millisecond,
	}, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.SubmitBatch(t.Context(), []byte(`{}`))
	if err == nil {
		t.Fatal("SubmitBatch succeeded without a commit status")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("SubmitBatch returned after %s", d)
	}
	if o := classify(err); o.stage != stageCommitStatus || o.reason != reasonDeadlineExceeded || o.class != classRetry {
		t.Fatalf("classify = %+v for %v, want a retryable commit-status deadline", o, err)
	}
}

// The real types satisfy the consumer-declared interfaces.
var (
	_ Contract = (*Conn)(nil)
	_ Spool    = (*spool.Spool)(nil)
)
