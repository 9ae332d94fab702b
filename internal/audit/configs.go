package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Configs is a channel's configuration history: the organisations and CAs
// in force from each configuration block on. A block is checked against
// the configuration its orderer signature names (its LAST_CONFIG), so
// records written before a CA rotation still verify against the CAs of
// their time, and records written after it against the new ones.
//
// The genesis block is the trust anchor: it carries no signature, and its
// header hash (Genesis) is what the parties compare out of band. Every
// later configuration block is accepted as Fabric accepts it: its orderer
// signatures satisfy the BlockValidation policy of the configuration
// before it, and its configuration is the next one produced by an update
// whose signatures satisfy, for every element it adds, removes or
// modifies, that element's mod_policy in the configuration before it (so
// no single organisation can rotate another's CAs).
type Configs struct {
	// Genesis is the hex SHA-256 of the genesis block's header ("" for the
	// single configuration block of a version 1 archive).
	Genesis string
	// Numbers are the configuration blocks' numbers, ascending.
	Numbers []uint64
	trust   map[uint64]*Trust
	legacy  *Trust // version 1 archives: one configuration for every block
}

// CheckConfigs reads a channel's configuration blocks (any order; the
// genesis block must be among them) and checks each against the one before
// it: self-naming LAST_CONFIG, (blockProblems) header data hash and
// orderer signatures satisfying the previous configuration's
// BlockValidation policy, and (updateProblems) an update authorized by
// the previous configuration's mod_policies; the genesis block, unsigned,
// only for its data hash. It returns nil and
// the problems when the history cannot be trusted as a whole.
func CheckConfigs(raws [][]byte) (*Configs, []string) {
	if len(raws) == 0 {
		return nil, []string{"no configuration block"}
	}
	var blocks []*Block
	for i, raw := range raws {
		b, err := ParseBlock(raw)
		if err != nil {
			return nil, []string{fmt.Sprintf("configuration block %d of the evidence: %v", i, err)}
		}
		blocks = append(blocks, b)
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].Number < blocks[j].Number })
	c := &Configs{trust: map[uint64]*Trust{}}
	var problems []string
	var prev *Trust
	for i, b := range blocks {
		if i > 0 && b.Number == blocks[i-1].Number {
			if !sameBlock(b, blocks[i-1]) {
				problems = append(problems, fmt.Sprintf("two different configuration blocks numbered %d", b.Number))
			}
			continue
		}
		t, err := TrustFromConfigBlock(b)
		if err != nil {
			problems = append(problems, err.Error())
			return nil, problems
		}
		if i == 0 {
			if b.Number != 0 {
				problems = append(problems, fmt.Sprintf("the genesis block (configuration block 0) is missing: the oldest is %d, whose signers cannot be checked", b.Number))
				return nil, problems
			}
			// Unsigned: its data hash is all blockProblems would check.
			if !bytes.Equal(DataHash(b.Block.GetData()), b.Block.GetHeader().GetDataHash()) {
				problems = append(problems, "the genesis block: the data hash in its header does not match its content")
			}
			h := sha256.Sum256(HeaderBytes(b.Block.GetHeader()))
			c.Genesis = hex.EncodeToString(h[:])
		} else {
			if n, err := LastConfig(b.Block); err != nil || n != b.Number {
				problems = append(problems, fmt.Sprintf("configuration block %d names configuration block %d as its own (%v)", b.Number, n, err))
			}
			for _, p := range blockProblems(b, prev) {
				problems = append(problems, fmt.Sprintf("configuration block %d, checked against configuration block %d: %s", b.Number, prev.ConfigBlock, p))
			}
			problems = append(problems, updateProblems(b, prev, t)...)
		}
		if prev != nil && t.Channel != prev.Channel {
			problems = append(problems, fmt.Sprintf("configuration block %d is of channel %s, not %s", b.Number, t.Channel, prev.Channel))
		}
		c.trust[b.Number] = t
		c.Numbers = append(c.Numbers, b.Number)
		prev = t
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return c, nil
}

// SingleConfig trusts one configuration block for every block, as version
// 1 archives did (they hold only the configuration current at export).
func SingleConfig(raw []byte) (*Configs, error) {
	b, err := ParseBlock(raw)
	if err != nil {
		return nil, fmt.Errorf("configuration block: %w", err)
	}
	t, err := TrustFromConfigBlock(b)
	if err != nil {
		return nil, err
	}
	return &Configs{Numbers: []uint64{b.Number}, trust: map[uint64]*Trust{b.Number: t}, legacy: t}, nil
}

// For returns the configuration a block was ordered under: the one its
// LAST_CONFIG names, or for a configuration block (which names itself)
// the one before it.
func (c *Configs) For(b *Block) (*Trust, error) {
	if c.legacy != nil {
		return c.legacy, nil
	}
	n, err := LastConfig(b.Block)
	if err != nil {
		return nil, err
	}
	if n > b.Number {
		return nil, fmt.Errorf("block %d names configuration block %d, which comes after it", b.Number, n)
	}
	if n == b.Number && n > 0 {
		// A configuration block names itself, but was ordered (and its
		// orderer signatures made) under the configuration before it.
		for i := len(c.Numbers) - 1; i >= 0; i-- {
			if c.Numbers[i] < n {
				return c.trust[c.Numbers[i]], nil
			}
		}
		return nil, fmt.Errorf("configuration block %d was ordered under the configuration before it, which the evidence does not hold", n)
	}
	t := c.trust[n]
	if t == nil {
		return nil, fmt.Errorf("block %d was ordered under configuration block %d, which the evidence does not hold", b.Number, n)
	}
	return t, nil
}

// Latest is the newest configuration.
func (c *Configs) Latest() *Trust { return c.trust[c.Numbers[len(c.Numbers)-1]] }

// Describe says what the trust rests on, for the report.
func (c *Configs) Describe() string {
	if c.legacy != nil {
		return fmt.Sprintf("checked against configuration block %d alone (a version 1 archive): records written under an earlier configuration may not verify", c.legacy.ConfigBlock)
	}
	nums := make([]string, len(c.Numbers))
	for i, n := range c.Numbers {
		nums[i] = fmt.Sprint(n)
	}
	if len(nums) == 1 {
		return fmt.Sprintf("channel %s: trust anchored in its genesis block (header sha256:%s), its only configuration block", c.Latest().Channel, c.Genesis)
	}
	return fmt.Sprintf("channel %s: trust anchored in its genesis block (header sha256:%s); configuration blocks %s, each later one signed under the one before and its changes authorized by their mod_policy there",
		c.Latest().Channel, c.Genesis, strings.Join(nums, ", "))
}

func sameBlock(a, b *Block) bool {
	return bytes.Equal(HeaderBytes(a.Block.GetHeader()), HeaderBytes(b.Block.GetHeader()))
}
