package delivery

import (
	"context"

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

// settleLoop records queued outcomes until ctx ends: it takes every
// request waiting, up to maxSettleBatch, and commits them together.
func (e *Engine) settleLoop(ctx context.Context) {
	for {
		var batch []settleRequest
		select {
		case req := <-e.settleQueue:
			batch = append(batch, req)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < maxSettleBatch {
			select {
			case req := <-e.settleQueue:
				batch = append(batch, req)
			default:
				break fill
			}
		}

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
	}
}
