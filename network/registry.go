package network

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/wire"
)

// registryTimeout bounds one registry transaction: endorsement, ordering,
// the commit on o's peer and on every other running peer.
const registryTimeout = 2 * time.Minute

// RegisterHost records host in the chaincode's host registry as o's, with
// swarmRole (wire.SwarmManager or wire.SwarmWorker), signed by o's admin
// through o's peer Gateway. Registering a host again with its current role
// changes nothing; another org's host is refused (host-owned) unless its
// owner released it to o. It returns once the transaction committed VALID
// and every running peer has the block, so that the host's first batch,
// wherever it is endorsed, finds the registration. A refusal is returned
// as the chaincode's *wire.Refusal, wrapped (errors.Is(err, wire.CodeHostOwned)).
func (n *Network) RegisterHost(ctx context.Context, o Org, host, swarmRole string) error {
	return n.submitAsAdmin(ctx, o, "RegisterHost", host, swarmRole)
}

// ReleaseHost lets the org whose MSP ID is toMSP take over o's host (its
// admin then calls RegisterHost); until then o keeps it. Signed by o's
// admin; it returns like RegisterHost.
func (n *Network) ReleaseHost(ctx context.Context, o Org, host, toMSP string) error {
	return n.submitAsAdmin(ctx, o, "ReleaseHost", host, toMSP)
}

// GetHost reads host's registry entry, with its history, through o's peer
// as o's admin. An unregistered host is an error carrying the chaincode's
// not-registered refusal.
func (n *Network) GetHost(ctx context.Context, o Org, host string) (wire.HostRegistration, error) {
	var reg wire.HostRegistration
	if err := o.valid(); err != nil {
		return reg, err
	}
	gw, closeGW, err := n.cfg.adminGateway(o, fabricconn.Timeouts{Evaluate: 30 * time.Second})
	if err != nil {
		return reg, err
	}
	defer closeGW()
	b, err := e2lContract(gw).EvaluateWithContext(ctx, "GetHost", client.WithArguments(host))
	if err != nil {
		return reg, chaincodeError(fmt.Sprintf("GetHost(%s) as %s admin", host, o), err)
	}
	if err := json.Unmarshal(b, &reg); err != nil {
		return reg, fmt.Errorf("GetHost %s: %w", host, err)
	}
	return reg, nil
}

// submitAsAdmin submits fn(args) as o's admin, waits for its commit on o's
// peer, then until every running peer has its block.
func (n *Network) submitAsAdmin(ctx context.Context, o Org, fn string, args ...string) error {
	if err := o.valid(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	what := fmt.Sprintf("%s(%s) as %s admin", fn, strings.Join(args, ", "), o)
	gw, closeGW, err := n.cfg.adminGateway(o, fabricconn.Timeouts{Endorse: 30 * time.Second, Submit: 30 * time.Second, CommitStatus: registryTimeout})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer closeGW()
	_, commit, err := e2lContract(gw).SubmitAsyncWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		return chaincodeError(what, err)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return fmt.Errorf("%s: commit status of %s: %w", what, commit.TransactionID(), err)
	}
	if !st.Successful {
		return fmt.Errorf("%s: transaction %s committed in block %d as %s", what, st.TransactionID, st.BlockNumber, st.Code)
	}
	if err := n.cfg.awaitBlock(ctx, st.BlockNumber); err != nil {
		return fmt.Errorf("%s: committed in block %d: %w", what, st.BlockNumber, err)
	}
	return nil
}

// chaincodeError is err of the call what: the chaincode's refusal (a
// *wire.Refusal: errors.Is(err, wire.CodeHostOwned)) when the Gateway's
// status or one of its peers' details carries one, else err as is.
func chaincodeError(what string, err error) error {
	s := status.Convert(err)
	msgs := []string{s.Message()}
	for _, d := range s.Details() {
		if ed, ok := d.(*gateway.ErrorDetail); ok {
			msgs = append(msgs, ed.GetMessage())
		}
	}
	for _, m := range msgs {
		if r, ok := wire.ParseRefusal(m); ok {
			return fmt.Errorf("%s: %w", what, r)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// awaitBlock waits until every running peer's ledger holds block.
func (c Config) awaitBlock(ctx context.Context, block uint64) error {
	return eachOrg(ctx, func(ctx context.Context, o Org) error {
		if !c.running(peerNode(o)) {
			return nil
		}
		gw, closeGW, err := c.adminGateway(o, fabricconn.Timeouts{Evaluate: 10 * time.Second})
		if err != nil {
			return err
		}
		defer closeGW()
		qscc := gw.GetNetwork(ChannelName).GetContract("qscc")
		var height uint64
		err = poll(ctx, 50*time.Millisecond, func() (bool, error) {
			b, err := qscc.EvaluateWithContext(ctx, "GetChainInfo", client.WithArguments(ChannelName))
			if err != nil {
				return false, retry(err)
			}
			var info common.BlockchainInfo
			if err := proto.Unmarshal(b, &info); err != nil {
				return false, fmt.Errorf("GetChainInfo: %w", err)
			}
			height = info.GetHeight()
			return height > block, nil
		})
		if err != nil {
			return fmt.Errorf("%s at height %d, waiting for block %d: %w", peerNode(o), height, block, err)
		}
		return nil
	})
}
