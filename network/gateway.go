package network

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/signer"
)

// adminGateway connects to o's peer Gateway as o's admin: cryptogen's
// Admin@<domain>, whose certificate has OU admin under NodeOUs (the identity
// the chaincode requires of a host registry change), with timeouts t.
// closeGW closes the gateway and its connection.
func (c Config) adminGateway(o Org, t fabricconn.Timeouts) (gw *client.Gateway, closeGW func(), err error) {
	admin, err := signer.Load(c.peerAdminCert(o), c.peerAdminKey(o), o.MSPID())
	if err != nil {
		return nil, nil, fmt.Errorf("%s admin identity: %w", o, err)
	}
	conn, err := fabricconn.Connect(fabricconn.Config{
		Endpoint: addr(c.port(slotPeer, o.index(), offMain)), TLSRootCAFile: c.peerTLSCA(o),
		ID: admin.X509, Sign: admin.Sign, Timeouts: t,
	})
	if err != nil {
		return nil, nil, err
	}
	return conn.Gateway, func() { _ = conn.Close() }, nil
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
	gw, closeGW, err := c.adminGateway(o, fabricconn.Timeouts{Endorse: 10 * time.Second})
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
