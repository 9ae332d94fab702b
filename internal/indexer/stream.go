package indexer

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/e2l-project/e2l/internal/audit"
)

// prefetch is how many blocks the reader prepares ahead of the run being
// verified and applied.
const prefetch = 4

// prepared is a block as read, encoded and parsed, with what its
// transactions wrote decoded (audit.Writes keeps that with the block).
type prepared struct {
	number uint64
	raw    []byte
	parsed *audit.Block
	err    error
}

// records is the number of records the block's transactions wrote.
func (p prepared) records(chaincode string) int {
	recs, _, _ := audit.Writes(p.parsed, chaincode)
	return len(recs)
}

// prepare encodes and parses a block read from the stream and decodes what
// it wrote: the work a run's verification needs done on every block, done
// by the reader while the run before is verified and applied.
func (x *Indexer) prepare(b *common.Block) prepared {
	p := prepared{number: b.GetHeader().GetNumber()}
	if p.raw, p.err = proto.Marshal(b); p.err != nil {
		p.err = fmt.Errorf("block %d: %w", p.number, p.err)
		return p
	}
	if p.parsed, p.err = audit.ParseBlock(p.raw); p.err != nil {
		p.err = fmt.Errorf("block %d: %w", p.number, p.err)
		return p
	}
	if p.number == 0 {
		if got := hex.EncodeToString(audit.HeaderHash(b.GetHeader())); got != x.cfg.Anchor {
			p.err = fmt.Errorf("the channel's genesis block is %s, not the trust anchor %s: refusing to index it", got, x.cfg.Anchor)
			return p
		}
	}
	audit.Writes(p.parsed, x.cfg.Chaincode)
	return p
}

// read prepares the blocks of ch in order onto out, until ch closes or
// ctx ends; it closes out.
func (x *Indexer) read(ctx context.Context, ch <-chan *common.Block, out chan<- prepared) {
	defer close(out)
	for {
		var b *common.Block
		var ok bool
		select {
		case <-ctx.Done():
			return
		case b, ok = <-ch:
			if !ok {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case out <- x.prepare(b):
		}
	}
}

// stream reads blocks from x.next and applies them a run at a time: a run
// ends at RunBlocks blocks or RunRecords records, at the target height
// (catch-up), or when no block came for RunWait. It returns nil when a
// catch-up reached target, and an error when the stream broke. A reader
// goroutine prepares the blocks ahead of the run being applied.
func (x *Indexer) stream(ctx context.Context, target uint64) error {
	sctx, cancel := context.WithCancel(ctx)
	ch, err := x.src.Blocks(sctx, x.next)
	if err != nil {
		cancel()
		return err
	}
	blocks := make(chan prepared, prefetch)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		x.read(sctx, ch, blocks)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()

	var pending []prepared
	records := 0
	idle := time.NewTimer(x.cfg.RunWait)
	defer idle.Stop()
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := x.apply(ctx, pending)
		pending, records = pending[:0], 0
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case b, ok := <-blocks:
			if !ok {
				if err := flush(); err != nil {
					return err
				}
				return fmt.Errorf("the block stream ended at block %d", x.next)
			}
			want := x.next + uint64(len(pending))
			if b.number < want {
				continue // a block already applied, sent again after a reconnect
			}
			if b.number > want {
				return fmt.Errorf("the block stream skipped from block %d to %d", want, b.number)
			}
			if b.err != nil {
				if err := flush(); err != nil {
					return err
				}
				return b.err
			}
			pending = append(pending, b)
			records += b.records(x.cfg.Chaincode)
			x.setHeight(b.number + 1)
			if len(pending) >= x.cfg.RunBlocks || records >= x.cfg.RunRecords || (!x.cfg.Follow && b.number+1 >= target) {
				if err := flush(); err != nil {
					return err
				}
			}
			if !x.cfg.Follow && x.next >= target {
				return nil
			}
			idle.Reset(x.cfg.RunWait)
		case <-idle.C:
			if err := flush(); err != nil {
				return err
			}
			idle.Reset(x.cfg.RunWait)
		}
	}
}
