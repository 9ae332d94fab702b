package network

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/e2l-project/e2l/internal/promtext"
)

func (c Config) ordererNode(i int) node {
	return node{
		name: ordererNode(i),
		bin:  c.bin("orderer"),
		env:  []string{"FABRIC_CFG_PATH=" + c.ordererDir(i), "FABRIC_LOGGING_SPEC=info"},
		dir:  c.ordererDir(i),
		ports: []int{
			c.port(slotOrderer, i, offMain), c.port(slotOrderer, i, offCluster),
			c.port(slotOrderer, i, offAdmin), c.port(slotOrderer, i, offOperations),
		},
	}
}

func (c Config) writeOrdererConfig(i int) error {
	var cas []string
	for j := range Orgs() {
		cas = append(cas, c.ordererTLSCA(j))
	}
	return render("orderer.yaml.tmpl", filepath.Join(c.ordererDir(i), "orderer.yaml"), map[string]any{
		"ID":                c.ordererHost(i),
		"MSPID":             Orgs()[i].OrdererMSPID(),
		"ListenHost":        "127.0.0.1",
		"Port":              c.port(slotOrderer, i, offMain),
		"ClusterPort":       c.port(slotOrderer, i, offCluster),
		"AdminAddress":      addr(c.port(slotOrderer, i, offAdmin)),
		"OperationsAddress": addr(c.port(slotOrderer, i, offOperations)),
		"TLSDir":            filepath.Join(c.ordererNodeDir(i), "tls"),
		"MSPDir":            filepath.Join(c.ordererNodeDir(i), "msp"),
		"DataDir":           filepath.Join(c.ordererDir(i), "data"),
		"ClusterCAs":        cas,
	})
}

// joinOrderer makes orderer i a consenter of the channel with osnadmin,
// authenticated by its organisation admin's TLS client certificate.
func (c Config) joinOrderer(ctx context.Context, i int) error {
	tlsDir := c.ordererAdminTLS(i)
	err := c.run(ctx, "osnadmin", nil, "", "channel", "join",
		"--channelID", ChannelName, "--config-block", c.genesisBlock(),
		"-o", addr(c.port(slotOrderer, i, offAdmin)),
		"--ca-file", c.ordererTLSCA(i),
		"--client-cert", filepath.Join(tlsDir, "client.crt"),
		"--client-key", filepath.Join(tlsDir, "client.key"))
	if err != nil {
		return c.nodeError(ordererNode(i), fmt.Errorf("join channel: %w", err))
	}
	return nil
}

// channelInfo is the orderer admin API's view of a channel.
type channelInfo struct {
	Name              string `json:"name"`
	Status            string `json:"status"`            // onboarding, active, inactive, failed
	ConsensusRelation string `json:"consensusRelation"` // consenter, follower, ...
	Height            uint64 `json:"height"`
}

// ordererChannel reads the channel's status from orderer i's admin API
// (mutual TLS, as the orderer organisation's admin).
func (c Config) ordererChannel(ctx context.Context, i int) (channelInfo, error) {
	var info channelInfo
	tlsDir := c.ordererAdminTLS(i)
	cert, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "client.crt"), filepath.Join(tlsDir, "client.key"))
	if err != nil {
		return info, err
	}
	caPEM, err := os.ReadFile(c.ordererTLSCA(i))
	if err != nil {
		return info, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12,
		}},
	}
	defer client.CloseIdleConnections()
	url := "https://" + addr(c.port(slotOrderer, i, offAdmin)) + "/participation/v1/channels/" + ChannelName
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return info, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return info, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return info, err
	}
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("channel info: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return info, fmt.Errorf("channel info: %w", err)
	}
	return info, nil
}

// RaftStatus is what an orderer's Raft gauges say of the channel.
type RaftStatus struct {
	Leader         bool   // consensus_etcdraft_is_leader
	ActiveNodes    int    // consensus_etcdraft_active_nodes: cluster members it hears from
	CommittedBlock uint64 // consensus_etcdraft_committed_block_number
}

// raftStatus reads orderer i's consensus_etcdraft_* gauges for the channel
// from its operations endpoint.
func (c Config) raftStatus(ctx context.Context, i int) (RaftStatus, error) {
	var st RaftStatus
	url := "http://" + addr(c.port(slotOrderer, i, offOperations)) + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	samples, err := promtext.Parse(resp.Body)
	if err != nil {
		return st, err
	}
	leader, seen := samples.Get("consensus_etcdraft_is_leader", "channel", ChannelName)
	active, _ := samples.Get("consensus_etcdraft_active_nodes", "channel", ChannelName)
	committed, _ := samples.Get("consensus_etcdraft_committed_block_number", "channel", ChannelName)
	st.Leader, st.ActiveNodes, st.CommittedBlock = leader == 1, int(active), uint64(committed)
	if !seen {
		return st, errors.New("no raft metrics for the channel yet")
	}
	return st, nil
}

// raftLeader returns the index of the running orderer that leads the
// channel's Raft cluster, waiting until there is one.
func (c Config) raftLeader(ctx context.Context) (int, error) {
	leader := -1
	err := poll(ctx, 100*time.Millisecond, func() (bool, error) {
		var errs []error
		for i := range Orgs() {
			if !c.running(ordererNode(i)) {
				continue
			}
			st, err := c.raftStatus(ctx, i)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ordererNode(i), err))
				continue
			}
			if st.Leader {
				leader = i
				return true, nil
			}
		}
		if len(errs) > 0 {
			return false, retry(errors.Join(errs...))
		}
		return false, retry(errors.New("no leader yet"))
	})
	if err != nil {
		return -1, fmt.Errorf("raft leader: %w", err)
	}
	return leader, nil
}

// awaitChannelActive waits until orderer i reports the channel active.
func (c Config) awaitChannelActive(ctx context.Context, i int) error {
	err := poll(ctx, 100*time.Millisecond, func() (bool, error) {
		if !c.running(ordererNode(i)) {
			return false, errors.New("exited")
		}
		info, err := c.ordererChannel(ctx, i)
		if err != nil {
			return false, retry(err)
		}
		if info.Status == "failed" {
			return false, fmt.Errorf("channel status failed (%s)", info.ConsensusRelation)
		}
		return info.Status == "active", retry(fmt.Errorf("channel status %q", info.Status))
	})
	if err != nil {
		return c.nodeError(ordererNode(i), fmt.Errorf("channel %s not active: %w", ChannelName, err))
	}
	return nil
}
