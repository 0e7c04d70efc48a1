package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/joinedup/joinedup"
)

// RetireService removes service id from use in one transaction. It sets
// the service's retired_at, dead-letters its pending and retrying
// deliveries with joinedup.RetiredLastError, drops their outbox messages
// and cancels its scheduled deferred actions. The service's row stays,
// because consent decisions, deliveries and the audit log refer to it. A
// service that does not exist, or is already retired, is ENOTFOUND.
func (db *DB) RetireService(ctx context.Context, id joinedup.ServiceID) (*joinedup.RetiredService, error) {
	var out joinedup.RetiredService
	err := db.Tx(ctx, func(tx *Tx) error {
		// On PostgreSQL a transaction that queues a delivery to the service
		// reads its row FOR SHARE, so this lock orders the two. Either that
		// transaction commits first and the updates below end its delivery,
		// or it waits and then sees the service retired. FOR NO KEY UPDATE
		// does not wait for the FOR KEY SHARE locks that foreign keys take.
		lock := ""
		if tx.Dialect() == Postgres {
			lock = " FOR NO KEY UPDATE"
		}
		s, err := scanService(tx.QueryRowContext(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1`+lock, id))
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %q.", id)
		} else if err != nil {
			return err
		}
		if s.Retired() {
			return joinedup.ServiceRemoved(s)
		}

		now := tx.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE services SET retired_at = $1 WHERE id = $2`, Micros(now), id); err != nil {
			return fmt.Errorf("retire service: %w", err)
		}
		// retired_at stores Unix microseconds, so the returned service
		// carries the stored instant, not the transaction's nanoseconds.
		s.RetiredAt = FromMicros(Micros(now))
		out.Service = s

		res, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET state = $1, last_error = $2, next_attempt_at = 0, updated_at = $3
			WHERE service_id = $4 AND state IN ('pending', 'retrying')`,
			joinedup.StateDeadLettered, joinedup.RetiredLastError, Micros(now), id)
		if err != nil {
			return fmt.Errorf("dead-letter queued deliveries: %w", err)
		}
		if out.DeadLettered, err = rowsAffected(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE service_id = $1`, id); err != nil {
			return fmt.Errorf("drop outbox messages: %w", err)
		}

		// On PostgreSQL an action that another node is firing is skipped,
		// not waited for, because its action.due delivery then finds the
		// service retired and is stored dead-lettered.
		actions := `SELECT id FROM deferred_actions WHERE service_id = $2 AND state = 'scheduled'`
		if tx.Dialect() == Postgres {
			actions += ` FOR UPDATE SKIP LOCKED`
		}
		res, err = tx.ExecContext(ctx, `UPDATE deferred_actions SET state = $1 WHERE id IN (`+actions+`)`,
			joinedup.ActionCancelled, id)
		if err != nil {
			return fmt.Errorf("cancel deferred actions: %w", err)
		}
		out.ActionsCancelled, err = rowsAffected(res)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func rowsAffected(res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	return int(n), err
}

// lockServiceShared reads whether service id is retired. On PostgreSQL it
// also locks the row FOR SHARE until the transaction ends, so that
// RetireService, which takes FOR NO KEY UPDATE, cannot commit in between
// and miss what the transaction queues for the service. Callers take this
// lock before they lock any of the service's deliveries, in the order
// RetireService takes its locks.
func lockServiceShared(ctx context.Context, tx *Tx, id joinedup.ServiceID) (retired bool, err error) {
	lock := ""
	if tx.Dialect() == Postgres {
		lock = " FOR SHARE"
	}
	var retiredAt int64
	err = tx.QueryRowContext(ctx, `SELECT retired_at FROM services WHERE id = $1`+lock, id).Scan(&retiredAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %q.", id)
	} else if err != nil {
		return false, fmt.Errorf("read service %s: %w", id, err)
	}
	return retiredAt != 0, nil
}
