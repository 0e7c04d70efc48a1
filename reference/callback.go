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
// stops before the hub hears of it. Rows stay once sent, as a record.
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
	callbackBatch      = 50
)

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

// reportCallbacks sends the service's due callbacks until ctx is done:
// at once when wakeCallbacks is called after an event is processed, and on
// every callbackPoll for retries.
func (s *service) reportCallbacks(ctx context.Context) {
	ticker := time.NewTicker(callbackPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-s.callbackWake:
		}
		for {
			n, err := s.sendDueCallbacks(ctx)
			if err != nil && ctx.Err() == nil {
				s.logger.Error("callbacks failed", "service", s.info.ID, "error", err)
			}
			if err != nil || n < callbackBatch {
				break
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

// callbackConcurrency is how many callbacks are sent to the hub at once.
const callbackConcurrency = 8

// sendDueCallbacks sends each pending callback whose time has come, and
// schedules the next attempt of each one the hub did not take. It returns
// how many were due.
func (s *service) sendDueCallbacks(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT delivery_id, outcome, attempts FROM callbacks
		WHERE state = 'pending' AND next_attempt <= $1 ORDER BY next_attempt LIMIT $2`,
		s.now().UnixMicro(), callbackBatch)
	if err != nil {
		return 0, fmt.Errorf("find due callbacks: %w", err)
	}
	var due []pendingCallback
	for rows.Next() {
		var c pendingCallback
		var raw string
		if err := rows.Scan(&c.delivery, &raw, &c.attempts); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find due callbacks: %w", err)
		}
		if err := json.Unmarshal([]byte(raw), &c.outcome); err != nil {
			rows.Close()
			return 0, fmt.Errorf("decode callback outcome of %s: %w", c.delivery, err)
		}
		due = append(due, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find due callbacks: %w", err)
	}

	errs := make([]error, len(due))
	var wg sync.WaitGroup
	slots := make(chan struct{}, callbackConcurrency)
	for i, c := range due {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			errs[i] = s.client.ReportOutcome(ctx, c.delivery, c.outcome)
		})
	}
	wg.Wait()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return len(due), fmt.Errorf("record callbacks: %w", err)
	}
	defer tx.Rollback()
	for i, c := range due {
		if errs[i] == nil {
			if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET state = 'sent', attempts = attempts + 1, last_error = ''
				WHERE delivery_id = $1 AND state = 'pending'`, string(c.delivery)); err != nil {
				return len(due), fmt.Errorf("mark callback sent: %w", err)
			}
			s.logger.Info("outcome reported", "service", s.info.ID, "delivery_id", c.delivery, "status", c.outcome.Status)
			continue
		}
		if ctx.Err() != nil {
			return len(due), nil
		}

		backoff := min(time.Duration(1<<min(c.attempts, 20))*time.Second, maxCallbackBackoff)
		s.logger.Warn("outcome report failed", "service", s.info.ID, "delivery_id", c.delivery,
			"attempts", c.attempts+1, "retry_in", backoff, "error", errs[i])
		if _, err := tx.ExecContext(ctx, `UPDATE callbacks SET attempts = attempts + 1, next_attempt = $1, last_error = $2
			WHERE delivery_id = $3 AND state = 'pending'`,
			s.now().Add(backoff).UnixMicro(), joinedup.ErrorMessage(errs[i]), string(c.delivery)); err != nil {
			return len(due), fmt.Errorf("schedule callback: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return len(due), fmt.Errorf("record callbacks: %w", err)
	}
	return len(due), nil
}
