// Package fabricconn is the one place a connection to a Fabric node is
// made: a gRPC client connection over TLS to a peer or an orderer (Dial),
// and a Fabric Gateway over it (Connect), closed together. The collector's
// submitter, the auditors' client, the benchmarks, the development network
// and the integration tests all connect through it, so that TLS, message
// sizes, the hash and the timeouts are set one way.
//
// Like the Gateway client it wraps, it keeps no global state and does not
// log. gRPC connects lazily: an unreachable node shows on the first call,
// not here.
package fabricconn

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Config says how to reach one node and, for a Gateway, as whom.
type Config struct {
	// Endpoint is the node's address, host:port.
	Endpoint string
	// TLSRootCAFile is a PEM file holding the node's TLS root CAs.
	TLSRootCAFile string
	// ServerNameOverride, when set, is the TLS server name to verify.
	ServerNameOverride string
	// Credentials, when set, replace the two above (already loaded roots
	// shared by several endpoints, or insecure ones in unit tests).
	Credentials credentials.TransportCredentials
	// MaxRecvBytes bounds a message received from the node; 0 keeps
	// gRPC's default (4 MiB).
	MaxRecvBytes int

	// ID and Sign are the client's identity: required by Connect.
	ID   identity.Identity
	Sign identity.Sign
	// Timeouts are the Gateway's default bounds of each call.
	Timeouts Timeouts
}

// Timeouts are the Gateway client's default timeout per kind of call (a
// call's context may end it sooner). Zero leaves a kind unbounded but for
// the call's context, as the Gateway client does.
type Timeouts struct {
	Evaluate, Endorse, Submit, CommitStatus time.Duration
}

// TLSCredentials returns client credentials that trust the TLS root CAs in
// the PEM file rootCAFile, verifying serverName when it is not empty.
func TLSCredentials(rootCAFile, serverName string) (credentials.TransportCredentials, error) {
	if rootCAFile == "" {
		return nil, errors.New("no TLS root CA file")
	}
	pem, err := os.ReadFile(rootCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", rootCAFile)
	}
	return credentials.NewClientTLSFromCert(pool, serverName), nil
}

// Dial prepares a gRPC client connection to cfg.Endpoint over TLS.
func Dial(cfg Config) (*grpc.ClientConn, error) {
	creds := cfg.Credentials
	if creds == nil {
		var err error
		if creds, err = TLSCredentials(cfg.TLSRootCAFile, cfg.ServerNameOverride); err != nil {
			return nil, fmt.Errorf("TLS root CAs: %w", err)
		}
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if cfg.MaxRecvBytes > 0 {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxRecvBytes)))
	}
	cc, err := grpc.NewClient(cfg.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Endpoint, err)
	}
	return cc, nil
}

// Conn is a Fabric Gateway and the gRPC connection under it.
type Conn struct {
	Endpoint string
	GRPC     *grpc.ClientConn
	Gateway  *client.Gateway
}

// Connect dials cfg.Endpoint and connects a Gateway over it as cfg.ID,
// signing with cfg.Sign and hashing with SHA-256.
func Connect(cfg Config) (*Conn, error) {
	if cfg.ID == nil || cfg.Sign == nil {
		return nil, errors.New("connect gateway: identity and sign are required")
	}
	cc, err := Dial(cfg)
	if err != nil {
		return nil, err
	}
	opts := []client.ConnectOption{client.WithSign(cfg.Sign), client.WithHash(hash.SHA256), client.WithClientConnection(cc)}
	for _, t := range []struct {
		d   time.Duration
		opt func(time.Duration) client.ConnectOption
	}{
		{cfg.Timeouts.Evaluate, client.WithEvaluateTimeout},
		{cfg.Timeouts.Endorse, client.WithEndorseTimeout},
		{cfg.Timeouts.Submit, client.WithSubmitTimeout},
		{cfg.Timeouts.CommitStatus, client.WithCommitStatusTimeout},
	} {
		if t.d > 0 {
			opts = append(opts, t.opt(t.d))
		}
	}
	gw, err := client.Connect(cfg.ID, opts...)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("connect gateway %s: %w", cfg.Endpoint, err), cc.Close())
	}
	return &Conn{Endpoint: cfg.Endpoint, GRPC: cc, Gateway: gw}, nil
}

// Contract is chaincode on channel, through the Gateway.
func (c *Conn) Contract(channel, chaincode string) *client.Contract {
	return c.Gateway.GetNetwork(channel).GetContract(chaincode)
}

// Close closes the Gateway, then its connection. A nil Conn is closed.
func (c *Conn) Close() error {
	if c == nil {
		return nil
	}
	return errors.Join(c.Gateway.Close(), c.GRPC.Close())
}
