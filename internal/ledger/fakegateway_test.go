package ledger

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/e2l-project/e2l/internal/testkit/testpki"
)

// fakeGateway is a Fabric Gateway gRPC service whose answers the test sets,
// so that the real client returns its real typed errors.
type fakeGateway struct {
	gateway.UnimplementedGatewayServer
	mu           sync.Mutex
	endorseErr   error                 // returned by Endorse when set
	submitErr    error                 // returned by Submit when set
	statusErr    error                 // returned by CommitStatus when set
	code         peer.TxValidationCode // commit status
	result       []byte                // chaincode result
	endorsements atomic.Int32
	// statusNever makes CommitStatus wait until the call is cancelled, like
	// a peer asked for a transaction that is never ordered.
	statusNever bool
}

func (g *fakeGateway) Endorse(ctx context.Context, req *gateway.EndorseRequest) (*gateway.EndorseResponse, error) {
	g.endorsements.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.endorseErr != nil {
		return nil, g.endorseErr
	}
	return &gateway.EndorseResponse{PreparedTransaction: envelope(req.GetChannelId(), g.result)}, nil
}

func (g *fakeGateway) Submit(context.Context, *gateway.SubmitRequest) (*gateway.SubmitResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.submitErr != nil {
		return nil, g.submitErr
	}
	return &gateway.SubmitResponse{}, nil
}

func (g *fakeGateway) CommitStatus(ctx context.Context, _ *gateway.SignedCommitStatusRequest) (*gateway.CommitStatusResponse, error) {
	g.mu.Lock()
	never := g.statusNever
	g.mu.Unlock()
	if never {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.statusErr != nil {
		return nil, g.statusErr
	}
	return &gateway.CommitStatusResponse{Result: g.code, BlockNumber: 7}, nil
}

func (g *fakeGateway) set(f func(g *fakeGateway)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

// envelope is the smallest prepared transaction the client can read the
// chaincode result from.
func envelope(channel string, result []byte) *common.Envelope {
	m := func(msg proto.Message) []byte {
		b, err := proto.Marshal(msg)
		if err != nil {
			panic(err)
		}
		return b
	}
	action := &peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{
		ProposalResponsePayload: m(&peer.ProposalResponsePayload{
			Extension: m(&peer.ChaincodeAction{Response: &peer.Response{Status: 200, Payload: result}}),
		}),
	}}
	payload := &common.Payload{
		Header: &common.Header{ChannelHeader: m(&common.ChannelHeader{ChannelId: channel})},
		Data:   m(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: m(action)}}}),
	}
	return &common.Envelope{Payload: m(payload)}
}

// gatewayError is a gRPC error as the Fabric gateway returns it, with one
// ErrorDetail per peer message.
func gatewayError(t testing.TB, code codes.Code, msg string, peerMsgs ...string) error {
	t.Helper()
	st := status.New(code, msg)
	var details []protoadapt.MessageV1
	for _, pm := range peerMsgs {
		details = append(details, protoadapt.MessageV1Of(&gateway.ErrorDetail{Address: "peer0:7051", MspId: "ProviderMSP", Message: pm}))
	}
	if len(details) > 0 {
		var err error
		st, err = st.WithDetails(details...)
		if err != nil {
			t.Fatal(err)
		}
	}
	return st.Err()
}

// startGateway serves g on a local port; with tlsCert, over TLS.
func startGateway(t testing.TB, g *fakeGateway, tlsCert *tls.Certificate) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if tlsCert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(tlsCert)))
	}
	srv := grpc.NewServer(opts...)
	gateway.RegisterGatewayServer(srv, g)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// closedPort returns an address where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

// testIdentity is an in-memory client identity.
func testIdentity(t testing.TB) (*identity.X509Identity, identity.Sign) {
	t.Helper()
	key, cert := selfSigned(t, "node1", nil)
	id, err := identity.NewX509Identity("ProviderMSP", cert)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	return id, sign
}

func selfSigned(t testing.TB, cn string, ips []net.IP) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	c := testpki.New(t, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
		IPAddresses: ips, DNSNames: []string{"localhost"},
	}, nil)
	return c.Key, c.Cert
}

// serverTLS returns a TLS certificate for 127.0.0.1 and the PEM file of its CA.
func serverTLS(t testing.TB) (*tls.Certificate, string) {
	t.Helper()
	key, cert := selfSigned(t, "peer0", []net.IP{net.IPv4(127, 0, 0, 1)})
	caFile := filepath.Join(t.TempDir(), "tlsca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}, caFile
}

// plainConn is a Conn to the endpoints without TLS.
func plainConn(t testing.TB, endpoints ...string) *Conn {
	t.Helper()
	id, sign := testIdentity(t)
	c, err := dial(ConnConfig{
		Endpoints: endpoints, ID: id, Sign: sign, Channel: "e2l", Chaincode: "e2l",
		EndorseTimeout: 5 * time.Second, SubmitTimeout: 5 * time.Second, CommitStatusTimeout: 5 * time.Second,
	}, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
