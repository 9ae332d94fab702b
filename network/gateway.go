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

// gatewayEndorse asks o's peer Gateway, as o's admin, to endorse the
// readiness query: it succeeds only once the Gateway has found (through
// gossip and discovery) enough peers of other orgs to satisfy the
// endorsement policy. Nothing is submitted.
func (c Config) gatewayEndorse(ctx context.Context, o Org) error {
	caPEM, err := os.ReadFile(c.peerTLSCA(o))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in %s", c.peerTLSCA(o))
	}
	conn, err := grpc.NewClient(addr(c.port(slotPeer, o.index(), offMain)),
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
	if err != nil {
		return err
	}
	defer conn.Close()
	certPEM, err := os.ReadFile(c.peerAdminCert(o))
	if err != nil {
		return err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return err
	}
	id, err := identity.NewX509Identity(o.MSPID(), cert)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(c.peerAdminKey(o))
	if err != nil {
		return err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return err
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(conn),
		client.WithEndorseTimeout(10*time.Second))
	if err != nil {
		return err
	}
	defer gw.Close()
	proposal, err := gw.GetNetwork(ChannelName).GetContract(ChaincodeName).NewProposal("org.hyperledger.fabric:GetMetadata")
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
