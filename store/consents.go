package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/joinedup/joinedup"
)

// WithdrawnConsent reports what withdrawing consent changed.
type WithdrawnConsent struct {
	Cancelled []joinedup.DeliveryID // deliveries stopped before they reached the service
	Notices   []joinedup.DeliveryID // withdrawal notices queued for the service
	// Underway lists the deliveries stopped while an attempt was under
	// way. Once the attempt ends, a notice follows for each that an
	// attempt may have reached.
	Underway []joinedup.DeliveryID
	Actions  []joinedup.ActionID // deferred actions cancelled
}

// WithdrawConsent withdraws the consent given for sharing life event
// event with service, in one transaction: future sharing stops, deliveries
// not yet made are withdrawn and their outbox messages dropped, the
// service's scheduled deferred actions for the event are cancelled, and a
// withdrawal notice is queued for each delivery the service already
// received, or that an attempt may have reached. Other services are
// untouched. Consent not in force for that service is ECONFLICT. Each
// function of also runs last in the same transaction, with what was
// withdrawn.
func (db *DB) WithdrawConsent(ctx context.Context, event joinedup.EventID, service joinedup.ServiceID, also ...func(*Tx, *WithdrawnConsent) error) (*WithdrawnConsent, error) {
	var out WithdrawnConsent
	err := db.Tx(ctx, func(tx *Tx) error {
		// The service is locked before its deliveries, in the order that
		// RetireService takes its locks, because a withdrawal notice may be
		// queued for it below.
		if _, err := lockServiceShared(ctx, tx, service); joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no consent for service %q on this life event.", service)
		} else if err != nil {
			return err
		}
		now := tx.Now()
		consent, decision, err := consentDecision(ctx, tx, event, service)
		if err != nil {
			return err
		}
		if decision != joinedup.ConsentGiven {
			return joinedup.Errorf(joinedup.ECONFLICT, "Consent for service %q is not in force: it is %s.", service, decision)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE consent_decisions SET decision = $1, decided_at = $2
			WHERE consent_id = $3 AND service_id = $4`, joinedup.ConsentWithdrawn, Micros(now), consent, service); err != nil {
			return fmt.Errorf("record withdrawal: %w", err)
		}

		deliveries, err := queryDeliveries(ctx, tx, `WHERE event_id = $1 AND service_id = $2 AND kind <> $3 ORDER BY created_at`,
			event, service, joinedup.EventConsentWithdrawn)
		if err != nil {
			return err
		}
		for _, d := range deliveries {
			switch d.State {
			case joinedup.StatePending, joinedup.StateRetrying, joinedup.StateDeadLettered:
				// An attempt under way at the withdrawal is found before the
				// state changes.
				underway, err := attemptUnderway(ctx, tx, d)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = $1, next_attempt_at = 0, updated_at = $2 WHERE id = $3`,
					joinedup.StateWithdrawn, Micros(now), d.ID); err != nil {
					return fmt.Errorf("withdraw delivery: %w", err)
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE delivery_id = $1`, d.ID); err != nil {
					return fmt.Errorf("drop outbox message: %w", err)
				}
				out.Cancelled = append(out.Cancelled, d.ID)
				// An attempt that failed may still have reached the service,
				// as when its response was lost or invalid, so the service is
				// notified. Attempts that never connected, as to a service
				// that was down, disclosed nothing and call for no notice.
				// Attempts of an earlier generation, before a replay, count.
				if d.Kind == joinedup.EventActionDue {
					continue
				}
				// A notice sent while an attempt is under way could reach
				// the service before the birth, so it waits for the attempt
				// to end.
				if underway {
					out.Underway = append(out.Underway, d.ID)
					continue
				}
				if d.Reached {
					if err := queueWithdrawalNotice(ctx, tx, d); err != nil {
						return err
					}
					out.Notices = append(out.Notices, d.ID)
				}
			case joinedup.StateDelivered, joinedup.StateActed, joinedup.StateFailed:
				if d.Kind == joinedup.EventActionDue {
					continue
				}
				if err := queueWithdrawalNotice(ctx, tx, d); err != nil {
					return err
				}
				out.Notices = append(out.Notices, d.ID)
			}
		}

		actions, err := queryActions(ctx, tx, `WHERE event_id = $1 AND service_id = $2 AND state = 'scheduled'`, event, service)
		if err != nil {
			return err
		}
		for _, a := range actions {
			if _, err := tx.ExecContext(ctx, `UPDATE deferred_actions SET state = $1 WHERE id = $2`,
				joinedup.ActionCancelled, a.ID); err != nil {
				return fmt.Errorf("cancel deferred action: %w", err)
			}
			out.Actions = append(out.Actions, a.ID)
		}
		for _, fn := range also {
			if err := fn(tx, &out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// queueWithdrawalNoticeOnce queues a consent.withdrawn notice about
// delivery d to d's service, unless one is queued already.
func queueWithdrawalNoticeOnce(ctx context.Context, tx *Tx, d *joinedup.Delivery) error {
	var n int
	err := tx.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM deliveries WHERE event_id = $1 AND service_id = $2 AND kind = $3 AND data LIKE $4`,
		d.EventID, d.Service, joinedup.EventConsentWithdrawn, `%"deliveryId":"`+string(d.ID)+`"%`).Scan(&n)
	if err != nil {
		return fmt.Errorf("find withdrawal notice: %w", err)
	}
	if n > 0 {
		return nil
	}
	return queueWithdrawalNotice(ctx, tx, d)
}

// queueWithdrawalNotice queues a consent.withdrawn notice about delivery d
// to d's service.
func queueWithdrawalNotice(ctx context.Context, tx *Tx, d *joinedup.Delivery) error {
	var reference string
	if err := tx.QueryRowContext(ctx, `SELECT reference FROM life_events WHERE id = $1`, d.EventID).Scan(&reference); err != nil {
		return fmt.Errorf("load life event of delivery: %w", err)
	}
	data, err := json.Marshal(joinedup.WithdrawalNotice{DeliveryID: d.ID, EventReference: reference, WithdrawnAt: tx.Now()})
	if err != nil {
		return err
	}
	notice := &joinedup.Delivery{ID: joinedup.DeliveryID(joinedup.NewID("dlv")), EventID: d.EventID, Service: d.Service, Kind: joinedup.EventConsentWithdrawn}
	return insertDelivery(ctx, tx, notice, data)
}

// consentDecision returns the id of the consent of event and its decision
// for service, or ENOTFOUND when the event has no decision for it.
func consentDecision(ctx context.Context, tx *Tx, event joinedup.EventID, service joinedup.ServiceID) (consent, decision string, err error) {
	err = tx.QueryRowContext(ctx, `
		SELECT c.id, d.decision FROM consents c
		JOIN consent_decisions d ON d.consent_id = c.id
		WHERE c.event_id = $1 AND d.service_id = $2`, event, service).Scan(&consent, &decision)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", joinedup.Errorf(joinedup.ENOTFOUND, "There is no consent for service %q on this life event.", service)
	}
	return consent, decision, err
}
