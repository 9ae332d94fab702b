package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// BlockSet is the blocks of a piece of evidence (an archive's data and
// configuration blocks, a receipt's blocks), one per number.
//
// Two copies of one number are harmless when they are the same block: the
// same header, transactions and validation flags (copies fetched from
// different peers may carry different orderers' signatures; the first copy
// is kept and its signatures are the ones checked). Two different blocks of
// one number are an error: one of them is not the channel's. Wherever
// blocks N and N+1 are both present, N+1's PreviousHash must be the SHA-256
// of N's header: the evidence then proves their order, and that neither
// was replaced by a block of another chain.
type BlockSet struct {
	// Numbers are the numbers held, ascending.
	Numbers  []uint64
	byNumber map[uint64]*Block
	// conflict holds the numbers of which the evidence holds two
	// different blocks.
	conflict map[uint64]bool
	// Problems are what is wrong with the set as a whole: blocks that do
	// not decode, two different blocks of one number, broken links.
	Problems []string
}

// NewBlockSet parses the raw blocks of every group (the first copy of a
// number is kept) and checks the set: one block per number, and the
// PreviousHash link of every pair of consecutive blocks. what names each
// group in the problems ("archive block", "configuration block").
func NewBlockSet(groups ...BlockGroup) *BlockSet {
	var parsed []*Block
	var problems []string
	for _, g := range groups {
		for i, raw := range g.Raw {
			b, err := ParseBlock(raw)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s %d of the evidence: %v", g.What, i, err))
				continue
			}
			parsed = append(parsed, b)
		}
	}
	s := newBlockSetOf(parsed)
	s.Problems = append(problems, s.Problems...)
	return s
}

// newBlockSetOf is NewBlockSet of blocks already parsed (the first copy of
// a number is kept).
func newBlockSetOf(blocks []*Block) *BlockSet {
	s := &BlockSet{byNumber: map[uint64]*Block{}, conflict: map[uint64]bool{}}
	for _, b := range blocks {
		s.add(b)
	}
	for n := range s.byNumber {
		s.Numbers = append(s.Numbers, n)
	}
	sort.Slice(s.Numbers, func(i, j int) bool { return s.Numbers[i] < s.Numbers[j] })
	for i := 1; i < len(s.Numbers); i++ {
		n := s.Numbers[i]
		if n != s.Numbers[i-1]+1 {
			continue
		}
		prev, b := s.byNumber[n-1], s.byNumber[n]
		want := HeaderHash(prev.Block.GetHeader())
		if got := b.Block.GetHeader().GetPreviousHash(); !bytes.Equal(got, want) {
			s.Problems = append(s.Problems, fmt.Sprintf("broken block link: block %d's previous hash %s is not the hash %s of block %d's header: they are not consecutive blocks of one chain",
				n, shortHex(got), shortHex(want), n-1))
		}
	}
	return s
}

// BlockGroup is raw blocks and what to call them in a problem.
type BlockGroup struct {
	What string
	Raw  [][]byte
}

func (s *BlockSet) add(b *Block) {
	old := s.byNumber[b.Number]
	if old == nil {
		s.byNumber[b.Number] = b
		return
	}
	if why := differ(old, b); why != "" {
		if !s.conflict[b.Number] {
			s.Problems = append(s.Problems, fmt.Sprintf("two different blocks numbered %d in the evidence (%s): at most one of them is the channel's", b.Number, why))
		}
		s.conflict[b.Number] = true
	}
}

// differ says how two blocks of one number differ in what verification
// relies on (header, transactions, validation flags); "" when they do not.
func differ(a, b *Block) string {
	switch {
	case !bytes.Equal(HeaderBytes(a.Block.GetHeader()), HeaderBytes(b.Block.GetHeader())):
		return "their headers differ"
	case !sameData(a.Block.GetData(), b.Block.GetData()):
		return "their transactions differ"
	case !bytes.Equal(metadata(a.Block, common.BlockMetadataIndex_TRANSACTIONS_FILTER), metadata(b.Block, common.BlockMetadataIndex_TRANSACTIONS_FILTER)):
		return "their transactions' validation flags differ"
	case lastConfigOf(a) != lastConfigOf(b):
		return "they name different configuration blocks"
	}
	return ""
}

func lastConfigOf(b *Block) string {
	n, err := LastConfig(b.Block)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(n)
}

func sameData(a, b *common.BlockData) bool {
	x, y := a.GetData(), b.GetData()
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !bytes.Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// blocks returns the set's blocks, by number.
func (s *BlockSet) blocks() []*Block {
	out := make([]*Block, 0, len(s.Numbers))
	for _, n := range s.Numbers {
		out = append(out, s.byNumber[n])
	}
	return out
}

// Get returns the block of a number, nil when the set holds none.
func (s *BlockSet) Get(n uint64) *Block { return s.byNumber[n] }

// Conflicted reports whether the evidence holds two different blocks of n.
func (s *BlockSet) Conflicted(n uint64) bool { return s.conflict[n] }

// Txs returns every transaction of the set in ledger order (block number,
// then position in the block).
func (s *BlockSet) Txs() []*Tx {
	var out []*Tx
	for _, n := range s.Numbers {
		for _, tx := range s.byNumber[n].Txs {
			if tx != nil {
				out = append(out, tx)
			}
		}
	}
	return out
}

// HeaderHash is the SHA-256 of a block header's ASN.1 encoding: what the
// next block's PreviousHash holds, and (for the genesis block) the trust
// anchor.
func HeaderHash(h *common.BlockHeader) []byte {
	sum := sha256.Sum256(HeaderBytes(h))
	return sum[:]
}

func shortHex(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	return short(hex.EncodeToString(b))
}

// txPos is a transaction's place in ledger order.
type txPos struct {
	Block uint64
	Index int
}

func posOf(tx *Tx) txPos { return txPos{tx.Block, tx.Index} }

func (p txPos) before(q txPos) bool {
	return p.Block < q.Block || (p.Block == q.Block && p.Index < q.Index)
}

func (p txPos) String() string { return fmt.Sprintf("block %d tx %d", p.Block, p.Index) }
