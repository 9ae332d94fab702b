package indexer_test

import (
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/e2l-project/e2l/internal/audit"
	"github.com/e2l-project/e2l/internal/index"
	"github.com/e2l-project/e2l/internal/indexer"
)

// chainOf makes n linked blocks without transactions: enough for the
// indexer's plumbing (runs, checkpoints, the anchor, resumption); what a
// block's transactions hold is VerifyRun's, tested in internal/audit and
// on the real network.
func chainOf(n int) []*common.Block {
	var out []*common.Block
	var prev []byte
	for i := range n {
		b := &common.Block{Header: &common.BlockHeader{Number: uint64(i), PreviousHash: prev, DataHash: []byte{byte(i)}},
			Data: &common.BlockData{}, Metadata: &common.BlockMetadata{Metadata: make([][]byte, 5)}}
		prev = audit.HeaderHash(b.Header)
		out = append(out, b)
	}
	return out
}

func anchorOf(blocks []*common.Block) string {
	return hex.EncodeToString(audit.HeaderHash(blocks[0].Header))
}

// source serves blocks from a slice; its stream ends after breakAfter
// blocks when set (a broken stream).
type source struct {
	mu         sync.Mutex
	blocks     []*common.Block
	breakAfter int
	opened     []uint64 // start of each stream opened
}

func (s *source) Height(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.blocks)), nil
}

func (s *source) Blocks(ctx context.Context, start uint64) (<-chan *common.Block, error) {
	s.mu.Lock()
	s.opened = append(s.opened, start)
	blocks, limit := s.blocks[start:], s.breakAfter
	s.mu.Unlock()
	ch := make(chan *common.Block)
	go func() {
		defer close(ch)
		for i, b := range blocks {
			if limit > 0 && i == limit {
				return
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	}()
	return ch, nil
}

// store is a real SQLite index whose Apply calls are counted, and which
// can advance under the indexer (another indexer of the same index).
type store struct {
	*index.Store
	applies [][2]uint64 // first and last block of each Apply
	before  func(ctx context.Context, ups []index.Update)
}

func (s *store) Apply(ctx context.Context, ups []index.Update) error {
	if s.before != nil {
		s.before(ctx, ups)
	}
	err := s.Store.Apply(ctx, ups)
	if err == nil {
		s.applies = append(s.applies, [2]uint64{ups[0].Block.Number, ups[len(ups)-1].Block.Number})
	}
	return err
}

func openStore(t *testing.T) *store {
	t.Helper()
	st, err := index.Open(t.Context(), filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &store{Store: st}
}

func run(t *testing.T, src indexer.Source, st indexer.Store, cfg indexer.Config) (indexer.Progress, error) {
	t.Helper()
	x, err := indexer.New(src, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return x.Run(t.Context())
}

func TestACatchUpAppliesRunsAndStopsAtTheHeight(t *testing.T) {
	blocks := chainOf(7)
	src, st := &source{blocks: blocks}, openStore(t)
	var seen []indexer.Progress
	prog, err := run(t, src, st, indexer.Config{Anchor: anchorOf(blocks), RunBlocks: 3, Progress: func(p indexer.Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]uint64{{0, 2}, {3, 5}, {6, 6}}; !equalRuns(st.applies, want) {
		t.Fatalf("applies %v, want %v", st.applies, want)
	}
	if prog.Next != 7 || prog.Blocks != 7 || prog.Height != 7 || len(seen) != 3 {
		t.Fatalf("progress %+v after %d reports", prog, len(seen))
	}
	next, _, err := st.Head(t.Context())
	if err != nil || next != 7 {
		t.Fatalf("head %d (%v), want 7", next, err)
	}
	t.Run("the digests chain through the blocks as indexed", func(t *testing.T) {
		var prev []byte
		if err := st.Blocks(t.Context(), 0, 6, func(b index.Block) error {
			if want := index.ChainRoot(prev, b.HeaderHash, b.Digest); string(want) != string(b.Root) {
				t.Errorf("block %d: root does not chain", b.Number)
			}
			prev = b.Root
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a second catch-up resumes at the checkpoint and applies what came since", func(t *testing.T) {
		src.blocks = chainOf(9)
		st.applies = nil
		if _, err := run(t, src, st, indexer.Config{Anchor: anchorOf(blocks), RunBlocks: 3}); err != nil {
			t.Fatal(err)
		}
		if want := [][2]uint64{{7, 8}}; !equalRuns(st.applies, want) || src.opened[len(src.opened)-1] != 7 {
			t.Fatalf("applies %v from stream start %v, want %v from 7", st.applies, src.opened, want)
		}
	})
}

func equalRuns(a, b [][2]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAnIndexerRefusesAnotherChannel(t *testing.T) {
	blocks, other := chainOf(3), chainOf(4)
	other[0].Header.DataHash = []byte("another genesis")
	tests := []struct {
		name  string
		setup func(t *testing.T, st *store)
		src   []*common.Block
		want  string
	}{
		{"a channel whose genesis is not the anchor", func(*testing.T, *store) {}, other,
			"the channel's genesis block is " + anchorOf(other) + ", not the trust anchor " + anchorOf(blocks) + ": refusing to index it"},
		{"an index of another channel", func(t *testing.T, st *store) {
			if _, err := run(t, &source{blocks: other}, st, indexer.Config{Anchor: anchorOf(other)}); err != nil {
				t.Fatal(err)
			}
		}, blocks, "this index holds a channel whose genesis block is " + anchorOf(other) + ", not the trust anchor " + anchorOf(blocks)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			tc.setup(t, st)
			_, err := run(t, &source{blocks: tc.src}, st, indexer.Config{Anchor: anchorOf(blocks)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("no anchor", func(t *testing.T) {
		if _, err := indexer.New(&source{}, openStore(t), indexer.Config{}); err == nil || !strings.Contains(err.Error(), "no trust anchor") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestAnIndexerContinuesWhereAnotherAdvancedTheIndex(t *testing.T) {
	blocks := chainOf(6)
	src, st := &source{blocks: blocks}, openStore(t)
	// Another indexer of the same index applies blocks 0-1 just before
	// this one's first run (0-2) is applied.
	other := openStore(t)
	other.Store = st.Store
	st.before = func(ctx context.Context, ups []index.Update) {
		if ups[0].Block.Number == 0 && len(st.applies) == 0 {
			st.before = nil
			if _, err := run(t, &source{blocks: blocks[:2]}, other, indexer.Config{Anchor: anchorOf(blocks)}); err != nil {
				t.Error(err)
			}
		}
	}
	prog, err := run(t, src, st, indexer.Config{Anchor: anchorOf(blocks), RunBlocks: 3})
	if err != nil {
		t.Fatal(err)
	}
	next, _, _ := st.Head(t.Context())
	if next != 6 || prog.Next != 6 {
		t.Fatalf("head %d, progress %+v, want 6", next, prog)
	}
	if last := src.opened[len(src.opened)-1]; last != 2 {
		t.Fatalf("streams opened at %v: the indexer must resume at the other's checkpoint 2", src.opened)
	}
}

func TestACatchUpFailsWhenTheStreamBreaksAndFollowReopensIt(t *testing.T) {
	blocks := chainOf(5)
	t.Run("catch-up", func(t *testing.T) {
		st := openStore(t)
		_, err := run(t, &source{blocks: blocks, breakAfter: 2}, st, indexer.Config{Anchor: anchorOf(blocks), RunBlocks: 10})
		if err == nil || !strings.Contains(err.Error(), "the block stream ended at block 2") {
			t.Fatalf("error %v", err)
		}
		if next, _, _ := st.Head(t.Context()); next != 2 {
			t.Fatalf("head %d: the blocks received before the break are applied", next)
		}
	})
	t.Run("follow", func(t *testing.T) {
		st := openStore(t)
		src := &source{blocks: blocks, breakAfter: 2}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		x, err := indexer.New(src, st, indexer.Config{Anchor: anchorOf(blocks), Follow: true, Retry: 1, RunBlocks: 10,
			Progress: func(p indexer.Progress) {
				if p.Next == 5 {
					cancel()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if len(src.opened) < 3 || src.opened[1] != 2 {
			t.Fatalf("streams opened at %v, want reopened at 2 then 4", src.opened)
		}
	})
}
