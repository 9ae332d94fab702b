package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
)

// Height returns the number of blocks of the channel.
func (c *Client) Height(ctx context.Context) (uint64, error) {
	b, err := c.evaluate(ctx, "qscc", "GetChainInfo", c.cfg.Channel)
	if err != nil {
		return 0, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		return 0, fmt.Errorf("GetChainInfo: decode: %w", err)
	}
	return info.GetHeight(), nil
}

// BlockByNumber returns a block's bytes.
func (c *Client) BlockByNumber(ctx context.Context, n uint64) ([]byte, error) {
	return c.evaluate(ctx, "qscc", "GetBlockByNumber", c.cfg.Channel, strconv.FormatUint(n, 10))
}

// BlockByTxID returns the bytes of the block holding a transaction.
func (c *Client) BlockByTxID(ctx context.Context, txID string) ([]byte, error) {
	return c.evaluate(ctx, "qscc", "GetBlockByTxID", c.cfg.Channel, txID)
}

// ConfigBlocks returns every configuration block of the channel, the
// genesis block first. The newest block names the latest configuration
// block; each configuration block's predecessor is the one named by the
// block just before it. A channel has few: the cost is two blocks each.
func (c *Client) ConfigBlocks(ctx context.Context) ([][]byte, error) {
	h, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	if h == 0 {
		return nil, errors.New("the channel has no block")
	}
	raw, err := c.BlockByNumber(ctx, h-1)
	if err != nil {
		return nil, err
	}
	n, err := lastConfig(raw, h-1)
	if err != nil {
		return nil, err
	}
	at := h - 1 // the block raw holds
	var out [][]byte
	for {
		if at != n {
			if raw, err = c.BlockByNumber(ctx, n); err != nil {
				return nil, fmt.Errorf("configuration block %d: %w", n, err)
			}
		}
		out = append(out, raw)
		if n == 0 {
			slices.Reverse(out)
			return out, nil
		}
		if raw, err = c.BlockByNumber(ctx, n-1); err != nil {
			return nil, err
		}
		p, err := lastConfig(raw, n-1)
		if err != nil {
			return nil, err
		}
		if p >= n {
			return nil, fmt.Errorf("block %d names configuration block %d, not an earlier one", n-1, p)
		}
		at, n = n-1, p
	}
}

func lastConfig(raw []byte, num uint64) (uint64, error) {
	var b common.Block
	if err := proto.Unmarshal(raw, &b); err != nil {
		return 0, fmt.Errorf("block %d: %w", num, err)
	}
	return audit.LastConfig(&b)
}

// Blocks streams the channel's blocks from start as they commit, from the
// first endpoint that accepts the request. The channel closes when ctx ends
// or the stream breaks.
func (c *Client) Blocks(ctx context.Context, start uint64) (<-chan *common.Block, error) {
	var tried []string
	for n := range c.peers {
		i := (c.current + n) % len(c.peers)
		p := c.peers[i]
		ch, err := p.gw.GetNetwork(c.cfg.Channel).BlockEvents(ctx, client.WithStartBlock(start))
		if err == nil {
			return ch, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %s", p.endpoint, Describe(err)))
	}
	return nil, fmt.Errorf("block events: %s", strings.Join(tried, "; "))
}
