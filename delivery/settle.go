package delivery

import (
	"context"
	"sync"

	"github.com/joinedup/joinedup/store"
)

// maxSettleBatch bounds how many outcomes share one transaction.
const maxSettleBatch = 128

// settleRequest is one outcome waiting to be recorded.
type settleRequest struct {
	record store.OutcomeRecord
	done   chan store.OutcomeResult
}

// settle records an outcome through the settle loop, which writes the
// outcomes that arrive together in one transaction: each commit costs a
// disk sync, and workers sending to many services at once would otherwise
// queue behind one another's syncs.
func (e *Engine) settle(ctx context.Context, r store.OutcomeRecord) (store.OutcomeResult, error) {
	req := settleRequest{record: r, done: make(chan store.OutcomeResult, 1)}
	select {
	case e.settleQueue <- req:
	case <-ctx.Done():
		return store.OutcomeResult{}, ctx.Err()
	}
	res := <-req.done
	return res, res.Err
}

// maxSettling bounds the batches of outcomes being recorded at once.
const maxSettling = 4

// settleLoop records queued outcomes until ctx ends: it takes every
// request waiting, up to maxSettleBatch, and records them together. It
// starts the next batch while earlier ones wait for their commit, up to
// maxSettling at once, so that an outcome does not wait for the disk sync
// of a batch it arrived too late to join. The store's writer still
// commits batches that reach it together in one transaction.
func (e *Engine) settleLoop(ctx context.Context) {
	slots := make(chan struct{}, maxSettling)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var batch []settleRequest
		select {
		case req := <-e.settleQueue:
			batch = append(batch, req)
		case <-ctx.Done():
			return
		}
		slots <- struct{}{}
	fill:
		for len(batch) < maxSettleBatch {
			select {
			case req := <-e.settleQueue:
				batch = append(batch, req)
			default:
				break fill
			}
		}

		wg.Go(func() {
			defer func() { <-slots }()
			records := make([]store.OutcomeRecord, len(batch))
			for i, req := range batch {
				records[i] = req.record
			}
			results, err := e.db.RecordOutcomes(context.WithoutCancel(ctx), records)
			for i, req := range batch {
				if err != nil {
					req.done <- store.OutcomeResult{Err: err}
				} else {
					req.done <- results[i]
				}
			}
		})
	}
}
