package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/e2l-project/e2l/internal/wire"
)

// state is what the state directory remembers of its network (network.json).
type state struct {
	PortBase     int           `json:"portBase"`
	BatchTimeout time.Duration `json:"batchTimeout"`
	BinDir       string        `json:"binDir"`
	ChaincodeBin string        `json:"chaincodeBin"`
	Chaincode    ChaincodeInfo `json:"chaincode"`
	// Ready is set once the network was created completely; only a ready
	// network is restarted by Up, any other is created again.
	Ready bool `json:"ready"`
	// StateLayout is the chaincode state layout (wire.StateLayout) the
	// network was created for; 0 before it was recorded (layout 2 or
	// earlier). Up creates a network of another layout again.
	StateLayout int `json:"stateLayout,omitempty"`
}

// reusable says whether Up may restart the network st records rather than
// create it again, and if not, why.
func (st state) reusable() (bool, string) {
	switch {
	case !st.Ready:
		return false, ""
	case st.StateLayout != wire.StateLayout:
		return false, fmt.Sprintf("it was created for chaincode state layout %s and this e2l writes layout %d, to which a channel is not migrated (docs/operations.md)",
			layoutName(st.StateLayout), wire.StateLayout)
	}
	return true, ""
}

func layoutName(v int) string {
	if v == 0 {
		return "2 or earlier"
	}
	return fmt.Sprint(v)
}

// ErrNoNetwork says a directory holds no network state (Open).
var ErrNoNetwork = errors.New("no network state")

func loadState(c Config) (state, error) {
	var st state
	b, err := os.ReadFile(c.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("%s: %w (run e2lnet up)", c.Dir, ErrNoNetwork)
	}
	if err != nil {
		return st, fmt.Errorf("read network state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read network state %s: %w", c.statePath(), err)
	}
	return st, nil
}

func (c Config) saveState(st state) error {
	if err := writeJSON(c.statePath(), st); err != nil {
		return fmt.Errorf("write network state: %w", err)
	}
	return nil
}

// apply makes c describe the network recorded in st: its ports and batch
// timeout are fixed at creation; binaries left unset in c come from st.
func (st state) apply(c Config) Config {
	c.PortBase = st.PortBase
	c.BatchTimeout = st.BatchTimeout
	if c.BinDir == "" {
		c.BinDir = st.BinDir
	}
	if c.ChaincodeBin == "" {
		c.ChaincodeBin = st.ChaincodeBin
	}
	return c
}
