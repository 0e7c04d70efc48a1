package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/joinedup/joinedup"
)

const actionColumns = `id, delivery_id, event_id, service_id, action, summary, due, state, fired_at`

func queryActions(ctx context.Context, tx *Tx, where string, args ...any) ([]*joinedup.DeferredAction, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+actionColumns+` FROM deferred_actions `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*joinedup.DeferredAction
	for rows.Next() {
		var a joinedup.DeferredAction
		var due string
		var fired int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.EventID, &a.Service, &a.Action, &a.Summary, &due, &a.State, &fired); err != nil {
			return nil, err
		}
		if a.Due, err = joinedup.ParseDate(due); err != nil {
			return nil, fmt.Errorf("decode due date of action %s: %w", a.ID, err)
		}
		a.FiredAt = FromMicros(fired)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// insertAction schedules a deferred action that delivery d's outcome
// requested. A second request for the same action of the same delivery is
// ignored, so a repeated outcome schedules it once. A request from a
// retired service, in an outcome reported after its removal, is ignored
// too, because nothing more is sent to it.
func insertAction(ctx context.Context, tx *Tx, d *joinedup.Delivery, req joinedup.DeferredRequest) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO deferred_actions (id, delivery_id, event_id, service_id, action, summary, due, state, created_at)
		SELECT $1, $2, $3, id, $5, $6, $7, $8, CAST($9 AS BIGINT)
		FROM services WHERE id = $4 AND retired_at = 0
		ON CONFLICT (delivery_id, action) DO NOTHING`,
		joinedup.NewID("act"), d.ID, d.EventID, d.Service, req.Action, req.Summary, req.Due.String(),
		joinedup.ActionScheduled, Micros(tx.Now()))
	if err != nil {
		return fmt.Errorf("insert deferred action: %w", err)
	}
	return nil
}

// FireDueActions fires up to limit scheduled actions due on or before
// today: each is marked fired and an action.due delivery to its service is
// queued, in the same transaction, so an action fires exactly once. On
// PostgreSQL the actions are claimed with FOR UPDATE SKIP LOCKED, so
// several nodes may run this at once. It returns the actions fired.
func (db *DB) FireDueActions(ctx context.Context, today joinedup.Date, limit int) ([]*joinedup.DeferredAction, error) {
	var fired []*joinedup.DeferredAction
	err := db.Tx(ctx, func(tx *Tx) error {
		where := fmt.Sprintf(`WHERE state = 'scheduled' AND due <= $1 ORDER BY due, id LIMIT %d`, limit)
		if tx.Dialect() == Postgres {
			where += ` FOR UPDATE SKIP LOCKED`
		}
		actions, err := queryActions(ctx, tx, where, today.String())
		if err != nil {
			return err
		}
		for _, a := range actions {
			if err := fireAction(ctx, tx, a); err != nil {
				return err
			}
		}
		fired = actions
		return nil
	})
	return fired, err
}

func fireAction(ctx context.Context, tx *Tx, a *joinedup.DeferredAction) error {
	var reference string
	if err := tx.QueryRowContext(ctx, `SELECT reference FROM life_events WHERE id = $1`, a.EventID).Scan(&reference); err != nil {
		return fmt.Errorf("load life event of action: %w", err)
	}
	a.State, a.FiredAt = joinedup.ActionFired, tx.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE deferred_actions SET state = $1, fired_at = $2 WHERE id = $3`,
		a.State, Micros(a.FiredAt), a.ID); err != nil {
		return fmt.Errorf("mark action fired: %w", err)
	}
	data, err := json.Marshal(joinedup.ActionDue{Action: a.Action, Due: a.Due, Summary: a.Summary, DeliveryID: a.DeliveryID, EventReference: reference})
	if err != nil {
		return err
	}
	d := &joinedup.Delivery{ID: joinedup.DeliveryID(joinedup.NewID("dlv")), EventID: a.EventID, Service: a.Service, Kind: joinedup.EventActionDue}
	return insertDelivery(ctx, tx, d, data)
}
