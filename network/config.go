package network

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Defaults of Config.
const (
	DefaultDir          = ".e2l/network"
	DefaultPortBase     = 7000
	DefaultBatchTimeout = 500 * time.Millisecond
	DefaultBinDir       = ".bin/fabric"

	// ChannelName and ChaincodeName are fixed by docs/TEAM-CONTRACTS.md.
	ChannelName   = "e2l"
	ChaincodeName = "e2l"

	// BatchMaxMessageCount is the channel's BatchSize.MaxMessageCount.
	BatchMaxMessageCount = 50
)

// Config describes a network. The zero value of every field but
// ChaincodeBin has a default (see WithDefaults).
type Config struct {
	// Dir holds all the network's state. Default DefaultDir.
	Dir string
	// PortBase is the first of the 120 ports the network uses (see ports.go).
	// Default DefaultPortBase.
	PortBase int
	// BatchTimeout is the orderers' BatchTimeout: how long a block waits for
	// more transactions. It bounds the latency of a lone transaction and the
	// throughput of few transactions in flight (about in-flight ÷
	// BatchTimeout). Default DefaultBatchTimeout (500ms).
	BatchTimeout time.Duration
	// BinDir holds peer, orderer, configtxgen, cryptogen, osnadmin,
	// fabric-ca-server and fabric-ca-client. Default DefaultBinDir.
	BinDir string
	// ChaincodeBin is the chaincode server binary (built from
	// ./cmd/e2l-chaincode). Required to deploy the chaincode.
	ChaincodeBin string
	// Fresh makes Up discard existing state and create a new network.
	Fresh bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// WithDefaults returns c with defaults filled in and paths made absolute.
func (c Config) WithDefaults() (Config, error) {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.PortBase == 0 {
		c.PortBase = DefaultPortBase
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.BinDir == "" {
		c.BinDir = DefaultBinDir
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	var err error
	for _, p := range []*string{&c.Dir, &c.BinDir, &c.ChaincodeBin} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
	}
	return c, nil
}

// validate checks a config that WithDefaults has completed.
func (c Config) validate() error {
	var errs []error
	if c.PortBase < 1024 || c.PortBase+portSpan > 65535 {
		errs = append(errs, fmt.Errorf("port base %d out of range [1024, %d]", c.PortBase, 65535-portSpan))
	}
	if c.BatchTimeout < 10*time.Millisecond || c.BatchTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("batch timeout %s out of range [10ms, 1m]", c.BatchTimeout))
	}
	for _, b := range fabricBinaries() {
		if _, err := os.Stat(filepath.Join(c.BinDir, b)); err != nil {
			errs = append(errs, fmt.Errorf("fabric binary %s: %w (run make fabric-bin)", b, err))
		}
	}
	if c.ChaincodeBin == "" {
		errs = append(errs, errors.New("chaincode binary not set"))
	} else if _, err := os.Stat(c.ChaincodeBin); err != nil {
		errs = append(errs, fmt.Errorf("chaincode binary: %w", err))
	}
	return errors.Join(errs...)
}

// fabricBinaries are the programs tools/fabric builds into BinDir.
func fabricBinaries() []string {
	return []string{"peer", "orderer", "configtxgen", "cryptogen", "osnadmin", "fabric-ca-server", "fabric-ca-client"}
}
