package reference

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
)

// callbackSchema holds the outcomes a service has yet to report to the hub
// by callback. A row is written in the transaction that acts on an event
// and responds "accepted", so the outcome is reported even if the process
// stops before the hub hears of it. Rows stay once sent, as a record, and
// a row the hub rejects because it holds a different final outcome is
// marked rejected.
var callbackSchema = []string{
	`CREATE TABLE IF NOT EXISTS callbacks (
		delivery_id  TEXT PRIMARY KEY,
		outcome      TEXT NOT NULL,
		state        TEXT NOT NULL DEFAULT 'pending',
		attempts     INTEGER NOT NULL DEFAULT 0,
		next_attempt BIGINT NOT NULL,
		last_error   TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (state, next_attempt)`,
}

// Timing of callbacks. A failed callback is tried again after 1, 2, 4 …
// seconds, at most maxCallbackBackoff apart, and never given up, because
// an outcome the hub never hears of leaves the delivery open.
const (
	callbackPoll       = 200 * time.Millisecond
	maxCallbackBackoff = 5 * time.Minute
)

// callbackConcurrency is how many callbacks are in flight to the hub at
// once.
const callbackConcurrency = 8

// queueCallback stores o to be reported for delivery by callback.
func (s *service) queueCallback(ctx context.Context, tx *sql.Tx, delivery joinedup.DeliveryID, o joinedup.Outcome) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode callback outcome: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO callbacks (delivery_id, outcome, next_attempt) VALUES ($1, $2, $3)`,
		string(delivery), string(raw), s.now().UnixMicro()); err != nil {
		return fmt.Errorf("queue callback: %w", err)
	}
	return nil
}

// cancelCallback stops a callback for delivery that has not been sent.
func cancelCallback(ctx context.Context, tx *sql.Tx, delivery joinedup.DeliveryID) error {
	if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'cancelled' WHERE delivery_id = $1 AND state = 'pending'`,
		string(delivery)); err != nil {
		return fmt.Errorf("cancel callback: %w", err)
	}
	return nil
}

// reportCallbacks sends the service's due callbacks until ctx is done. It
// looks for due callbacks when wakeCallbacks is called after an event is
// processed, on every callbackPoll for retries, and when a send finishes.
// A callback goes as soon as one of the callbackConcurrency slots is free,
// not after the rest of a batch, so one slow response from the hub delays
// no other callback. The results of the sends that have finished are
// recorded together in one transaction, in a goroutine of their own, so
// that new callbacks go out while a commit waits for the disk.
func (s *service) reportCallbacks(ctx context.Context) {
	ticker := time.NewTicker(callbackPoll)
	defer ticker.Stop()
	// Each send puts its result here without waiting, because the channel
	// has room for as many results as there can be sends in flight.
	results := make(chan callbackResult, callbackConcurrency)
	// busy contains the callbacks sent whose result is not yet recorded,
	// so that they are not sent again meanwhile. sending counts those
	// whose send has not finished.
	busy := map[joinedup.DeliveryID]bool{}
	sending := 0
	// finished holds results waiting for the recorder, which takes one
	// batch at a time and returns it on recorded once it is committed.
	var finished []callbackResult
	toRecord := make(chan []callbackResult)
	recorded := make(chan []callbackResult)
	recording := false
	var workers sync.WaitGroup
	defer workers.Wait()
	workers.Go(func() {
		for batch := range toRecord {
			if err := s.recordCallbacks(ctx, batch); err != nil && ctx.Err() == nil {
				// The callbacks stay pending and are sent again. The hub
				// records an outcome once, however often it receives it.
				s.logger.Error("callbacks failed", "service", s.info.ID, "error", err)
			}
			recorded <- batch
		}
	})
	defer close(toRecord)

	for {
		if free := callbackConcurrency - sending; free > 0 && ctx.Err() == nil {
			due, err := s.dueCallbacks(ctx, free, busy)
			if err != nil && ctx.Err() == nil {
				s.logger.Error("callbacks failed", "service", s.info.ID, "error", err)
			}
			for _, c := range due {
				busy[c.delivery] = true
				sending++
				workers.Go(func() {
					results <- callbackResult{pendingCallback: c, err: s.client.ReportOutcome(ctx, c.delivery, c.outcome)}
				})
			}
		}
		if !recording && len(finished) > 0 {
			// The recorder is idle, so it takes the batch at once.
			toRecord <- finished
			finished, recording = nil, true
		}

		select {
		case <-ctx.Done():
			if recording {
				<-recorded
			}
			for ; sending > 0; sending-- {
				<-results
			}
			return
		case <-ticker.C:
		case <-s.callbackWake:
		case r := <-results:
			sending--
			finished = append(finished, r)
		case batch := <-recorded:
			recording = false
			for _, r := range batch {
				delete(busy, r.delivery)
			}
		}
	}
}

// wakeCallbacks tells reportCallbacks that a callback may be due.
func (s *service) wakeCallbacks() {
	select {
	case s.callbackWake <- struct{}{}:
	default:
	}
}

type pendingCallback struct {
	delivery joinedup.DeliveryID
	outcome  joinedup.Outcome
	attempts int
}

// callbackResult is the hub's response to one callback.
type callbackResult struct {
	pendingCallback
	err error
}

// dueCallbacks returns up to n pending callbacks whose time has come,
// oldest first, leaving out those in skip.
func (s *service) dueCallbacks(ctx context.Context, n int, skip map[joinedup.DeliveryID]bool) ([]pendingCallback, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT delivery_id, outcome, attempts FROM callbacks
		WHERE state = 'pending' AND next_attempt <= $1 ORDER BY next_attempt LIMIT $2`,
		s.now().UnixMicro(), n+len(skip))
	if err != nil {
		return nil, fmt.Errorf("find due callbacks: %w", err)
	}
	defer rows.Close()
	var due []pendingCallback
	for rows.Next() && len(due) < n {
		var c pendingCallback
		var raw string
		if err := rows.Scan(&c.delivery, &raw, &c.attempts); err != nil {
			return nil, fmt.Errorf("find due callbacks: %w", err)
		}
		if skip[c.delivery] {
			continue
		}
		if err := json.Unmarshal([]byte(raw), &c.outcome); err != nil {
			return nil, fmt.Errorf("decode callback outcome of %s: %w", c.delivery, err)
		}
		due = append(due, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find due callbacks: %w", err)
	}
	return due, nil
}

// recordCallbacks marks each callback the hub took as sent and schedules
// the next attempt of each one it did not take.
func (s *service) recordCallbacks(ctx context.Context, finished []callbackResult) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record callbacks: %w", err)
	}
	defer tx.Rollback()
	for _, c := range finished {
		if c.err == nil {
			if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'sent', attempts = attempts + 1, last_error = ''
				WHERE delivery_id = $1 AND state = 'pending'`, string(c.delivery)); err != nil {
				return fmt.Errorf("mark callback sent: %w", err)
			}
			s.logger.Info("outcome reported", "service", s.info.ID, "delivery_id", c.delivery, "status", c.outcome.Status)
			continue
		}
		if ctx.Err() != nil {
			// The send was cut short by shutdown, not rejected by the hub.
			continue
		}
		if joinedup.ErrorCode(c.err) == joinedup.ECONFLICT {
			// The hub holds a different final outcome for the delivery,
			// and sending this one again cannot change that.
			s.logger.Warn("outcome report rejected", "service", s.info.ID, "delivery_id", c.delivery, "error", c.err)
			if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'rejected', attempts = attempts + 1, last_error = $1
				WHERE delivery_id = $2 AND state = 'pending'`, joinedup.ErrorMessage(c.err), string(c.delivery)); err != nil {
				return fmt.Errorf("mark callback rejected: %w", err)
			}
			continue
		}
		backoff := min(time.Duration(1<<min(c.attempts, 20))*time.Second, maxCallbackBackoff)
		s.logger.Warn("outcome report failed", "service", s.info.ID, "delivery_id", c.delivery,
			"attempts", c.attempts+1, "retry_in", backoff, "error", c.err)
		if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET attempts = attempts + 1, next_attempt = $1, last_error = $2
			WHERE delivery_id = $3 AND state = 'pending'`,
			s.now().Add(backoff).UnixMicro(), joinedup.ErrorMessage(c.err), string(c.delivery)); err != nil {
			return fmt.Errorf("schedule callback: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record callbacks: %w", err)
	}
	return nil
}
