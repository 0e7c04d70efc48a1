package connector

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
)

// maxGroup bounds how many deliveries share one transaction.
const maxGroup = 64

// groupCommitter runs deliveries that arrive while a transaction is open
// together in the next one, each inside its own savepoint, and commits
// them with one disk sync. A delivery's savepoint is rolled back when it
// fails, so it changes nothing, and the others keep their changes. No
// result is returned before the commit.
type groupCommitter struct {
	r *Receiver

	mu      sync.Mutex
	queue   []*groupRequest
	running bool
}

type groupRequest struct {
	ctx       context.Context
	event     *Event
	timestamp int64
	now       time.Time

	outcome  joinedup.Outcome
	replayed bool
	err      error
	done     chan struct{}
}

// process queues one delivery and waits for its transaction to commit.
// The first caller to find no transaction running becomes the writer. It
// commits one batch and hands the rest of the queue to a new goroutine, so
// that its own response is not held up.
func (g *groupCommitter) process(ctx context.Context, e *Event, timestamp int64, now time.Time) (joinedup.Outcome, bool, error) {
	req := &groupRequest{ctx: ctx, event: e, timestamp: timestamp, now: now, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		g.drain(true)
	}
	select {
	case <-req.done:
		return req.outcome, req.replayed, req.err
	case <-ctx.Done():
		// The delivery may still commit; the hub's redelivery then gets
		// the stored outcome.
		return joinedup.Outcome{}, false, ctx.Err()
	}
}

// drain runs batches until the queue is empty. With handOff it runs one
// batch and leaves the rest to a new goroutine.
func (g *groupCommitter) drain(handOff bool) {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), maxGroup)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		g.commit(batch)
		if handOff {
			go g.drain(false)
			return
		}
	}
}

// commit runs batch in one transaction and sets each request's result.
func (g *groupCommitter) commit(batch []*groupRequest) {
	r := g.r
	finish := func(err error) {
		for _, req := range batch {
			if err != nil && req.err == nil {
				req.outcome, req.replayed, req.err = joinedup.Outcome{}, false, err
			}
			close(req.done)
		}
	}

	// The transaction belongs to the whole batch, so no one request's
	// cancellation may roll it back.
	ctx := context.Background()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return
	}
	defer tx.Rollback()
	if err := r.stmts.forgetOld(ctx, tx, batch[0].now); err != nil {
		finish(err)
		return
	}
	for _, req := range batch {
		if err := g.applyInSavepoint(ctx, tx, req); err != nil {
			finish(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("commit: %w", err))
		return
	}

	for _, req := range batch {
		if errors.Is(req.err, errOutcomeExists) {
			g.findConcurrentOutcome(ctx, req)
		}
	}
	finish(nil)
}

// applyInSavepoint applies req inside a savepoint of tx and sets its
// result. A request that fails is rolled back to the savepoint. The error
// returned is one that ends the whole transaction.
func (g *groupCommitter) applyInSavepoint(ctx context.Context, tx *sql.Tx, req *groupRequest) error {
	if err := req.ctx.Err(); err != nil {
		req.err = err
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT connector_delivery`); err != nil {
		return fmt.Errorf("begin savepoint: %w", err)
	}
	req.outcome, req.replayed, req.err = g.r.apply(req.ctx, tx, req.event, req.timestamp, req.now)
	if req.err != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO connector_delivery`); err != nil {
			return fmt.Errorf("roll back savepoint: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE connector_delivery`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// findConcurrentOutcome sets req's result to the outcome that a writer
// outside this receiver stored first. The savepoint of req was rolled
// back, so its own changes are gone.
func (g *groupCommitter) findConcurrentOutcome(ctx context.Context, req *groupRequest) {
	o, found, err := g.r.stmts.findOutcome(ctx, nil, req.event.ID)
	switch {
	case err != nil:
		req.err = fmt.Errorf("find concurrent outcome: %w", err)
	case !found:
		req.err = errors.New("find concurrent outcome: no outcome stored after a conflict")
	default:
		req.outcome, req.replayed, req.err = o, true, nil
	}
}
