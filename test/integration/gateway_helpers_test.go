//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/fabricconn"
	"github.com/e2l-project/e2l/internal/signer"
	"github.com/e2l-project/e2l/network"
)

// connectGateway connects to the Fabric Gateway of the first peer in the
// host's E2L_PEER_ENDPOINTS (its own org's) as that host, the way the
// collector does. The connection closes when the test ends.
func connectGateway(t *testing.T, id network.HostIdentity) *client.Gateway {
	t.Helper()
	host, err := signer.Load(id.CertPath, id.KeyPath, id.MSPID)
	if err != nil {
		t.Fatal(err)
	}
	endpoint, _, _ := strings.Cut(id.Lookup("E2L_PEER_ENDPOINTS"), ",")
	conn, err := fabricconn.Connect(fabricconn.Config{
		Endpoint: endpoint, TLSRootCAFile: id.Lookup("E2L_PEER_TLS_CA"), ID: host.X509, Sign: host.Sign,
		Timeouts: fabricconn.Timeouts{Evaluate: 30 * time.Second, Endorse: 30 * time.Second, Submit: 30 * time.Second, CommitStatus: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.Gateway
}

// e2lContract is the e2l chaincode on the e2l channel.
func e2lContract(gw *client.Gateway) *client.Contract {
	return gw.GetNetwork(network.ChannelName).GetContract(network.ChaincodeName)
}

// submitValid submits a transaction, waits for its commit and fails the
// test unless it committed VALID. It returns the commit status.
func submitValid(t *testing.T, contract *client.Contract, name string, args ...string) *client.Status {
	t.Helper()
	_, commit, err := contract.SubmitAsync(name, client.WithArguments(args...))
	if err != nil {
		t.Fatalf("submit %s: %v", name, describeGatewayError(err))
	}
	// A transaction the ordering service accepted but never ordered would
	// wait forever: bound the wait, so that the test fails with a reason.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	status, err := commit.StatusWithContext(ctx)
	if err != nil {
		t.Fatalf("commit status of %s (%s): %v", name, commit.TransactionID(), err)
	}
	if status.Code != peer.TxValidationCode_VALID {
		t.Fatalf("transaction %s committed in block %d as %s, want VALID", status.TransactionID, status.BlockNumber, status.Code)
	}
	return status
}

// describeGatewayError adds the per-peer details of a gateway error.
func describeGatewayError(err error) error {
	var details []string
	for _, d := range status.Convert(err).Details() {
		if ed, ok := d.(*gateway.ErrorDetail); ok {
			details = append(details, fmt.Sprintf("%s (%s): %s", ed.GetAddress(), ed.GetMspId(), ed.GetMessage()))
		}
	}
	if len(details) == 0 {
		return err
	}
	return fmt.Errorf("%w [%s]", err, strings.Join(details, "; "))
}

// endorsingMSPs reads a committed transaction with qscc GetTransactionByID
// and returns the MSP IDs of its endorsers.
func endorsingMSPs(t *testing.T, gw *client.Gateway, txID string) []string {
	t.Helper()
	qscc := gw.GetNetwork(network.ChannelName).GetContract("qscc")
	b, err := qscc.EvaluateWithContext(t.Context(), "GetTransactionByID", client.WithArguments(network.ChannelName, txID))
	if err != nil {
		t.Fatalf("qscc GetTransactionByID %s: %v", txID, err)
	}
	var pt peer.ProcessedTransaction
	var payload common.Payload
	var tx peer.Transaction
	if err := proto.Unmarshal(b, &pt); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(pt.GetTransactionEnvelope().GetPayload(), &payload); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(payload.GetData(), &tx); err != nil {
		t.Fatal(err)
	}
	var msps []string
	for _, action := range tx.GetActions() {
		var cap peer.ChaincodeActionPayload
		if err := proto.Unmarshal(action.GetPayload(), &cap); err != nil {
			t.Fatal(err)
		}
		for _, e := range cap.GetAction().GetEndorsements() {
			var sid msp.SerializedIdentity
			if err := proto.Unmarshal(e.GetEndorser(), &sid); err != nil {
				t.Fatal(err)
			}
			msps = append(msps, sid.GetMspid())
		}
	}
	return msps
}
