package network

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// adminGateway connects to o's peer Gateway as o's admin: cryptogen's
// Admin@<domain>, whose certificate has OU admin under NodeOUs (the identity
// the chaincode requires of a host registry change). opts add timeouts.
// closeGW closes the gateway and its connection.
func (c Config) adminGateway(o Org, opts ...client.ConnectOption) (gw *client.Gateway, closeGW func(), err error) {
	caPEM, err := os.ReadFile(c.peerTLSCA(o))
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("no certificate in %s", c.peerTLSCA(o))
	}
	id, sign, err := loadIdentity(o.MSPID(), c.peerAdminCert(o), c.peerAdminKey(o))
	if err != nil {
		return nil, nil, fmt.Errorf("%s admin identity: %w", o, err)
	}
	conn, err := grpc.NewClient(addr(c.port(slotPeer, o.index(), offMain)),
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
	if err != nil {
		return nil, nil, err
	}
	gw, err = client.Connect(id, append([]client.ConnectOption{client.WithSign(sign), client.WithClientConnection(conn)}, opts...)...)
	if err != nil {
		return nil, nil, errors.Join(err, conn.Close())
	}
	return gw, func() { _ = gw.Close(); _ = conn.Close() }, nil
}

// loadIdentity reads a PEM certificate and its PEM private key.
func loadIdentity(mspID, certPath, keyPath string) (*identity.X509Identity, identity.Sign, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	id, err := identity.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, err
	}
	return id, sign, nil
}

// e2lContract is the e2l chaincode on the e2l channel.
func e2lContract(gw *client.Gateway) *client.Contract {
	return gw.GetNetwork(ChannelName).GetContract(ChaincodeName)
}

// gatewayEndorse asks o's peer Gateway, as o's admin, to endorse the
// readiness query: it succeeds only once the Gateway has found (through
// gossip and discovery) enough peers of other orgs to satisfy the
// endorsement policy. Nothing is submitted.
func (c Config) gatewayEndorse(ctx context.Context, o Org) error {
	gw, closeGW, err := c.adminGateway(o, client.WithEndorseTimeout(10*time.Second))
	if err != nil {
		return err
	}
	defer closeGW()
	proposal, err := e2lContract(gw).NewProposal("org.hyperledger.fabric:GetMetadata")
	if err != nil {
		return err
	}
	_, err = proposal.EndorseWithContext(ctx)
	return err
}

// awaitGateway waits until o's peer Gateway can collect endorsements.
func (c Config) awaitGateway(ctx context.Context, o Org, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := poll(ctx, 250*time.Millisecond, func() (bool, error) {
		if !c.running(peerNode(o)) {
			return false, errors.New("exited")
		}
		err := c.gatewayEndorse(ctx, o)
		return err == nil, retry(err)
	})
	if err != nil {
		return c.nodeError(peerNode(o), fmt.Errorf("gateway endorsement: %w", err))
	}
	return nil
}

// awaitReady waits until every peer answers a chaincode query and every
// peer's Gateway can collect endorsements.
func (c Config) awaitReady(ctx context.Context) error {
	return eachOrg(ctx, func(ctx context.Context, o Org) error {
		if err := c.awaitChaincode(ctx, o, 2*time.Minute); err != nil {
			return err
		}
		return c.awaitGateway(ctx, o, 2*time.Minute)
	})
}
