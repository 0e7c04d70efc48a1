package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
)

const deliveryColumns = `id, event_id, service_id, kind, state, attempts, last_error,
	next_attempt_at, outcome, created_at, updated_at, reached_attempts`

// scanDelivery scans the deliveryColumns of row, followed by any extra
// columns into extra.
func scanDelivery(row interface{ Scan(...any) error }, extra ...any) (*joinedup.Delivery, error) {
	var d joinedup.Delivery
	var next, created, updated int64
	var outcome string
	var reached int
	dest := []any{&d.ID, &d.EventID, &d.Service, &d.Kind, &d.State, &d.Attempts, &d.LastError,
		&next, &outcome, &created, &updated, &reached}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	d.Reached = reached > 0
	d.NextAttempt, d.CreatedAt, d.UpdatedAt = FromMicros(next), FromMicros(created), FromMicros(updated)
	if outcome != "" {
		d.Outcome = new(joinedup.Outcome)
		if err := json.Unmarshal([]byte(outcome), d.Outcome); err != nil {
			return nil, fmt.Errorf("decode outcome of delivery %s: %w", d.ID, err)
		}
	}
	return &d, nil
}

func queryDeliveries(ctx context.Context, tx *Tx, where string, args ...any) ([]*joinedup.Delivery, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*joinedup.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func findDelivery(ctx context.Context, tx *Tx, id joinedup.DeliveryID) (*joinedup.Delivery, int, error) {
	return queryDelivery(ctx, tx, id, "")
}

// findDeliveryForUpdate reads a delivery and, on PostgreSQL, locks its row
// until the transaction ends. SQLite has one writer, so it needs no lock.
func findDeliveryForUpdate(ctx context.Context, tx *Tx, id joinedup.DeliveryID) (*joinedup.Delivery, int, error) {
	if tx.Dialect() == Postgres {
		return queryDelivery(ctx, tx, id, " FOR UPDATE")
	}
	return queryDelivery(ctx, tx, id, "")
}

func queryDelivery(ctx context.Context, tx *Tx, id joinedup.DeliveryID, lock string) (*joinedup.Delivery, int, error) {
	var gen int
	row := tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, generation FROM deliveries WHERE id = $1`+lock, id)
	d, err := scanDelivery(row, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, joinedup.Errorf(joinedup.ENOTFOUND, "There is no delivery %q.", id)
	} else if err != nil {
		return nil, 0, err
	}
	return d, gen, nil
}

// FindDelivery returns one delivery, or ENOTFOUND.
func (db *DB) FindDelivery(ctx context.Context, id joinedup.DeliveryID) (*joinedup.Delivery, error) {
	var d *joinedup.Delivery
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		d, _, err = findDelivery(ctx, tx, id)
		return err
	})
	return d, err
}

// ListDeliveries returns one page of the deliveries that match f. A
// limit outside 1 to 1000 lists 100. A filter that sets more than one of
// Offset, After and Before is EINVALID.
func (db *DB) ListDeliveries(ctx context.Context, f joinedup.DeliveryFilter) (joinedup.DeliveryPage, error) {
	if err := checkPlace("deliveries", f.Offset, f.After != nil, f.Before != nil); err != nil {
		return joinedup.DeliveryPage{}, err
	}
	q := deliveryListQuery(f)
	var page joinedup.DeliveryPage
	err := db.ViewSnapshot(ctx, func(tx *Tx) error {
		var err error
		page, err = readPage(ctx, tx, q, queryDeliveries)
		return err
	})
	return page, err
}

// deliveryListQuery returns the queries of the page of deliveries that f
// selects. The indexes deliveries_state, deliveries_service and
// deliveries_created hold rows in order of created_at and id, so a page
// is read from an index without sorting every match.
func deliveryListQuery(f joinedup.DeliveryFilter) listQueries {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	l := keyedList{table: "deliveries", at: "created_at", newestFirst: f.NewestFirst}
	if f.State != "" {
		l.args = append(l.args, f.State)
		l.conds = append(l.conds, fmt.Sprintf("state = $%d", len(l.args)))
	}
	if f.Service != "" {
		l.args = append(l.args, f.Service)
		l.conds = append(l.conds, fmt.Sprintf("service_id = $%d", len(l.args)))
	}
	if f.Services != nil {
		marks := []string{"''"} // an empty list matches no service
		for _, svc := range f.Services {
			l.args = append(l.args, svc)
			marks = append(marks, fmt.Sprintf("$%d", len(l.args)))
		}
		l.conds = append(l.conds, "service_id IN ("+strings.Join(marks, ", ")+")")
	}
	return l.queries(f.Offset, cursorOf(f.After), cursorOf(f.Before), limit)
}

// CountDeliveries returns the number of deliveries of each service in each
// state.
func (db *DB) CountDeliveries(ctx context.Context) (map[joinedup.ServiceID]map[joinedup.DeliveryState]int, error) {
	out := map[joinedup.ServiceID]map[joinedup.DeliveryState]int{}
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT service_id, state, COUNT(*) FROM deliveries GROUP BY service_id, state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s joinedup.ServiceID
			var st joinedup.DeliveryState
			var n int
			if err := rows.Scan(&s, &st, &n); err != nil {
				return err
			}
			if out[s] == nil {
				out[s] = map[joinedup.DeliveryState]int{}
			}
			out[s][st] = n
		}
		return rows.Err()
	})
	return out, err
}

// Task is everything a delivery worker needs to send one delivery.
type Task struct {
	Delivery   *joinedup.Delivery
	Generation int
	Service    *joinedup.Service
	Reference  string    // the life event's reference number
	Registered time.Time // when the life event was registered
	Purpose    string    // the purpose the informant consented to
	OnBehalf   []string  // JSON Pointers of the people the consent covers
	Decision   string    // the consent decision for this delivery's service
	// ConsentFields are the fields the service declared when the decision
	// was made, or nil for a decision recorded before the hub kept them.
	ConsentFields []string
	EventType     string          // the life event's type
	Payload       json.RawMessage // the life event's payload
	Data          json.RawMessage // the notice's own data, for kinds other than the life event's
}

// SentFields returns the fields that an attempt at t discloses: for the
// life event itself, the service's declared fields within those its
// consent decision recorded, and for a notice, the service's fields.
func (t *Task) SentFields() []string {
	if t.Delivery.Kind == t.EventType {
		return joinedup.WithinFields(t.Service.Fields, t.ConsentFields)
	}
	return t.Service.Fields
}

// LoadTask returns the task for delivery id, or ENOTFOUND. It reads the
// delivery, its life event, its consent and its service in one query.
func (db *DB) LoadTask(ctx context.Context, id joinedup.DeliveryID) (*Task, error) {
	tasks, err := db.LoadTasks(ctx, []joinedup.DeliveryID{id})
	if err != nil {
		return nil, err
	}
	t, ok := tasks[id]
	if !ok {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "There is no delivery %q.", id)
	}
	return t, nil
}

// LoadTasks returns the tasks of the deliveries ids, as LoadTask returns
// one, reading up to maxTasksRead in each query, because every delivery
// attempt starts here and the delivery worker loads the deliveries of
// one message together. A delivery that does not exist has no task in
// the map.
func (db *DB) LoadTasks(ctx context.Context, ids []joinedup.DeliveryID) (map[joinedup.DeliveryID]*Task, error) {
	tasks := make(map[joinedup.DeliveryID]*Task, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxTasksRead)
		if err := db.loadTasks(ctx, ids[:n], tasks); err != nil {
			return nil, db.wrap(err)
		}
		ids = ids[n:]
	}
	return tasks, nil
}

// maxTasksRead bounds the deliveries that one query of LoadTasks reads.
const maxTasksRead = 32

// loadTasks reads the tasks of up to maxTasksRead deliveries into tasks.
// The list of ids is padded with its last id to a power of two, so that
// the statement cache holds one statement for each of a few sizes.
func (db *DB) loadTasks(ctx context.Context, ids []joinedup.DeliveryID, tasks map[joinedup.DeliveryID]*Task) error {
	size := 1
	for size < len(ids) {
		size *= 2
	}
	args := make([]any, size)
	placeholders := make([]string, size)
	for i := range size {
		args[i] = ids[min(i, len(ids)-1)]
		placeholders[i] = "$" + strconv.Itoa(i+1)
	}
	rows, err := db.query(ctx, `
		SELECT d.id, d.event_id, d.service_id, d.kind, d.state, d.attempts, d.last_error,
			d.next_attempt_at, d.outcome, d.created_at, d.updated_at,
			d.generation, d.data, e.reference, e.type, e.registered_at, e.payload, c.purpose,
			c.on_behalf, COALESCE(cd.decision, ''), COALESCE(cd.fields, ''),
			s.id, s.organisation, s.name, s.event_types, s.fields, s.purpose,
			s.endpoint_kind, s.endpoint_url, s.endpoint_subject, s.secret, s.created_at, s.lawful_basis
		FROM deliveries d
		JOIN life_events e ON e.id = d.event_id
		JOIN consents c ON c.event_id = d.event_id
		LEFT JOIN consent_decisions cd ON cd.consent_id = c.id AND cd.service_id = d.service_id
		JOIN services s ON s.id = d.service_id
		WHERE d.id IN (`+strings.Join(placeholders, ", ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("load delivery tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return err
		}
		tasks[t.Delivery.ID] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load delivery tasks: %w", err)
	}
	return nil
}

// scanTask reads a row of loadTasks's query.
func scanTask(row interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var d joinedup.Delivery
	var s joinedup.Service
	var next, created, updated, registered, serviceCreated int64
	var outcome, data, payload, types, fields, onBehalf, consentFields string
	err := row.Scan(&d.ID, &d.EventID, &d.Service, &d.Kind, &d.State, &d.Attempts, &d.LastError,
		&next, &outcome, &created, &updated,
		&t.Generation, &data, &t.Reference, &t.EventType, &registered, &payload, &t.Purpose,
		&onBehalf, &t.Decision, &consentFields,
		&s.ID, &s.Organisation, &s.Name, &types, &fields, &s.Purpose,
		&s.Endpoint.Kind, &s.Endpoint.URL, &s.Endpoint.Subject, &s.Secret, &serviceCreated, &s.LawfulBasis)
	if err != nil {
		return nil, fmt.Errorf("load delivery task: %w", err)
	}

	d.NextAttempt, d.CreatedAt, d.UpdatedAt = FromMicros(next), FromMicros(created), FromMicros(updated)
	if outcome != "" {
		d.Outcome = new(joinedup.Outcome)
		if err := json.Unmarshal([]byte(outcome), d.Outcome); err != nil {
			return nil, fmt.Errorf("decode outcome of delivery %s: %w", d.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(onBehalf), &t.OnBehalf); err != nil {
		return nil, fmt.Errorf("decode consent of delivery %s: %w", d.ID, err)
	}
	if consentFields != "" {
		if err := json.Unmarshal([]byte(consentFields), &t.ConsentFields); err != nil {
			return nil, fmt.Errorf("decode consented fields of delivery %s: %w", d.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(types), &s.EventTypes); err != nil {
		return nil, fmt.Errorf("decode event types of service %s: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(fields), &s.Fields); err != nil {
		return nil, fmt.Errorf("decode fields of service %s: %w", s.ID, err)
	}
	s.CreatedAt = FromMicros(serviceCreated)
	t.Delivery, t.Service = &d, &s
	t.Registered = FromMicros(registered)
	t.Payload = json.RawMessage(payload)
	if data != "" {
		t.Data = json.RawMessage(data)
	}
	return &t, nil
}

// RecordOutcome records what the service reported for delivery id. When
// service is not empty, a delivery of another service is ENOTFOUND. It
// returns false, and changes nothing, when the delivery already has a
// final outcome or the outcome only reports that the service accepted a delivery
// already marked delivered. An "acted" outcome creates the deferred actions
// it requests. An outcome that arrives for a delivery withdrawn while it was
// in flight is recorded, and a withdrawal notice is queued so the service
// undoes it.
func (db *DB) RecordOutcome(ctx context.Context, service joinedup.ServiceID, id joinedup.DeliveryID, o joinedup.Outcome) (bool, error) {
	results, err := db.RecordOutcomes(ctx, []OutcomeRecord{{Service: service, Delivery: id, Outcome: o}})
	if err != nil {
		return false, err
	}
	return results[0].Changed, results[0].Err
}

// OutcomeRecord is one outcome to record with RecordOutcomes.
type OutcomeRecord struct {
	Service  joinedup.ServiceID // when set, the delivery must be this service's
	Delivery joinedup.DeliveryID
	Outcome  joinedup.Outcome
	// Attempt counts the send that returned the outcome as an attempt.
	Attempt bool
	// AttemptsBefore is the delivery's attempt count when the send began.
	// With Attempt, the send is not counted again if the count has moved
	// since, because a callback for the same send has counted it.
	AttemptsBefore int
}

// OutcomeResult is the effect of recording one outcome. Err holds a
// *joinedup.Error about that outcome alone, such as ENOTFOUND.
type OutcomeResult struct {
	Changed bool
	// Created is when the delivery was created: for the deliveries of a
	// life event, when the event was registered.
	Created time.Time
	Err     error
}

// RecordOutcomes records several outcomes in one transaction, as
// RecordOutcome does for one, so that outcomes arriving together share one
// commit. An error about one outcome is returned in its result and the
// others are still recorded; an error from the database fails them all.
func (db *DB) RecordOutcomes(ctx context.Context, records []OutcomeRecord) ([]OutcomeResult, error) {
	var results []OutcomeResult
	err := db.Tx(ctx, func(tx *Tx) error {
		results = make([]OutcomeResult, len(records))
		for i, r := range records {
			changed, created, err := recordOutcome(ctx, tx, r)
			var e *joinedup.Error
			if errors.As(err, &e) {
				results[i].Err = err
				continue
			} else if err != nil {
				return err
			}
			results[i].Changed, results[i].Created = changed, created
		}
		return nil
	})
	return results, err
}

// CallbackKeep is how long the store keeps a callback message to refuse
// it when it is sent again: longer than its signature is accepted, which
// is 5 minutes either side of the hub's clock.
const CallbackKeep = 11 * time.Minute

// RecordCallback records an outcome that a service sent by callback, in
// the signed message msg, as RecordOutcome does. It also stores msg, in
// the same transaction, and a message stored before is EUNAUTHORIZED and
// changes nothing. A callback that is refused for any other reason is not
// stored, so the service may send it again.
func (db *DB) RecordCallback(ctx context.Context, service joinedup.ServiceID, id joinedup.DeliveryID, o joinedup.Outcome, msg joinedup.CallbackMessage) (OutcomeResult, error) {
	var result OutcomeResult
	err := db.Tx(ctx, func(tx *Tx) error {
		now := tx.Now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM callback_messages WHERE received_at < $1`, Micros(now.Add(-CallbackKeep))); err != nil {
			return fmt.Errorf("forget old callbacks: %w", err)
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO callback_messages (service_id, webhook_id, webhook_timestamp, received_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, service, msg.ID, msg.Timestamp, Micros(now))
		if err != nil {
			return fmt.Errorf("store callback: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return joinedup.Errorf(joinedup.EUNAUTHORIZED, "This callback, message %q, was accepted before. Send a new attempt with a new timestamp and signature.", msg.ID)
		}
		changed, created, err := recordOutcome(ctx, tx, OutcomeRecord{Service: service, Delivery: id, Outcome: o})
		result.Changed, result.Created = changed, created
		return err
	})
	return result, err
}

// recordOutcome records one outcome. It returns a *joinedup.Error only
// before it has written anything, so the caller's transaction can go on.
func recordOutcome(ctx context.Context, tx *Tx, r OutcomeRecord) (bool, time.Time, error) {
	o := r.Outcome
	// An outcome may queue a withdrawal notice or a deferred action for
	// the delivery's service, which locks the service's row. On
	// PostgreSQL that row is locked here first, before the delivery, in
	// the order RetireService takes its locks, so neither waits for the
	// other in a cycle.
	// A delivery not found leaves no row to lock, and findDeliveryForUpdate
	// then reports it.
	if err := lockDeliveryService(ctx, tx, r.Delivery); err != nil {
		return false, time.Time{}, err
	}
	// On PostgreSQL the row is locked, so that a worker's "accepted" and a
	// callback's "acted" for one delivery settle one after the other and
	// the later sees the earlier.
	d, _, err := findDeliveryForUpdate(ctx, tx, r.Delivery)
	if err != nil {
		return false, time.Time{}, err
	}
	if r.Service != "" && d.Service != r.Service {
		return false, d.CreatedAt, joinedup.Errorf(joinedup.ENOTFOUND, "There is no delivery %q.", r.Delivery)
	}

	var state joinedup.DeliveryState
	switch o.Status {
	case joinedup.OutcomeAccepted:
		state = joinedup.StateDelivered
	case joinedup.OutcomeActed:
		state = joinedup.StateActed
	case joinedup.OutcomeFailed:
		state = joinedup.StateFailed
	default:
		return false, d.CreatedAt, joinedup.Invalid("Unknown outcome status.",
			joinedup.FieldError{Field: "/status", Message: "Status must be accepted, acted or failed"})
	}
	for _, req := range o.Deferred {
		if req.Action == "" || req.Due.IsZero() {
			return false, d.CreatedAt, joinedup.Invalid("A deferred action needs an action name and a due date.",
				joinedup.FieldError{Field: "/deferred", Message: "Each deferred action needs action and due"})
		}
	}

	// A service acts on a delivery only after receiving an attempt, so an
	// outcome by callback for a delivery with no attempt counted counts
	// one. The worker's record of that attempt was lost to a crash, or is
	// still to come and then finds that the count has moved.
	attempts := 0
	switch {
	case r.Attempt && d.Attempts == r.AttemptsBefore:
		attempts = 1
	case !r.Attempt && d.Attempts == 0:
		attempts = 1
	}
	// A callback that reports a final outcome other than the one recorded,
	// in its status or its summary, contradicts it, so it is rejected and
	// the first final outcome is kept. A worker's attempt is not rejected,
	// because its message would then be offered again and again.
	if !r.Attempt && d.Outcome != nil && (d.State == joinedup.StateActed || d.State == joinedup.StateFailed) &&
		state != joinedup.StateDelivered && (o.Status != d.Outcome.Status || o.Summary != d.Outcome.Summary) {
		return false, d.CreatedAt, joinedup.Errorf(joinedup.ECONFLICT,
			"Delivery %s already has a final outcome, %q with its own summary, and a later outcome cannot change it.", r.Delivery, d.Outcome.Status)
	}
	// An attempt in flight when consent was withdrawn reached the service
	// if it returned any outcome, even "accepted", so the service is told
	// of the withdrawal once.
	withdrawnInFlight := d.State == joinedup.StateWithdrawn && d.Outcome == nil
	switch {
	case withdrawnInFlight:
		state = joinedup.StateWithdrawn
	// A dead-lettered delivery stays where an operator sees it until its
	// service reports a final outcome, or it is replayed: "accepted"
	// promises an outcome but is not one.
	case d.State.Final() && d.State != joinedup.StateDeadLettered,
		d.State == joinedup.StateDeadLettered && state == joinedup.StateDelivered,
		d.State == joinedup.StateDelivered && state == joinedup.StateDelivered:
		if attempts > 0 {
			_, err := tx.ExecContext(ctx, `UPDATE deliveries SET attempts = attempts + 1, reached_attempts = reached_attempts + 1 WHERE id = $1`, r.Delivery)
			return false, d.CreatedAt, err
		}
		return false, d.CreatedAt, nil
	}

	now := tx.Now()
	if o.ReportedAt.IsZero() {
		o.ReportedAt = now
	}
	outcome, err := json.Marshal(o)
	if err != nil {
		return false, d.CreatedAt, err
	}
	confirmed := int64(0)
	if state != joinedup.StateDelivered {
		confirmed = Micros(now)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE deliveries SET state = $1, outcome = $2, last_error = '', next_attempt_at = 0, claimed_until = 0,
			updated_at = $3, confirmed_at = $4, attempts = attempts + $5, reached_attempts = reached_attempts + $5
		WHERE id = $6`, state, string(outcome), Micros(now), confirmed, attempts, r.Delivery); err != nil {
		return false, d.CreatedAt, fmt.Errorf("update delivery: %w", err)
	}

	if withdrawnInFlight && d.Kind != joinedup.EventActionDue && d.Kind != joinedup.EventConsentWithdrawn {
		return true, d.CreatedAt, queueWithdrawalNoticeOnce(ctx, tx, d)
	}
	if state == joinedup.StateActed && d.Kind != joinedup.EventConsentWithdrawn && d.Kind != joinedup.EventActionDue {
		for _, req := range o.Deferred {
			if err := insertAction(ctx, tx, d, req); err != nil {
				return false, d.CreatedAt, err
			}
		}
	}
	return true, d.CreatedAt, nil
}

// RecordFailure records a failed attempt at delivery id of the given
// generation: the delivery is retrying with the next attempt at next, or
// dead-lettered when deadLetter is set. reached is false for an attempt
// that never connected to the service, which so received nothing. An
// attempt at a delivery withdrawn while the attempt was in flight is
// counted, and the delivery gets a withdrawal notice when this attempt
// or an earlier one may have reached the service. An attempt of an older
// generation, or at a delivery in any other state, changes nothing.
func (db *DB) RecordFailure(ctx context.Context, id joinedup.DeliveryID, generation int, cause string, next time.Time, deadLetter, reached bool) error {
	state := joinedup.StateRetrying
	if deadLetter {
		state = joinedup.StateDeadLettered
	}
	return db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET state = $1, attempts = attempts + 1, reached_attempts = reached_attempts + $2,
				last_error = $3, next_attempt_at = $4, updated_at = $5, claimed_until = 0
			WHERE id = $6 AND generation = $7 AND state IN ('pending', 'retrying')`,
			state, boolInt(reached), cause, Micros(next), Micros(tx.Now()), id, generation)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// A delivery withdrawn while the attempt was under way counts it,
		// and stays withdrawn.
		res, err = tx.ExecContext(ctx, `
			UPDATE deliveries SET attempts = attempts + 1, reached_attempts = reached_attempts + $1,
				last_error = $2, updated_at = $3, claimed_until = 0
			WHERE id = $4 AND generation = $5 AND state = 'withdrawn'`,
			boolInt(reached), cause, Micros(tx.Now()), id, generation)
		if err != nil {
			return fmt.Errorf("count the attempt at a withdrawn delivery: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return noticeAfterFailedAttempt(ctx, tx, id, generation)
	})
}

// boolInt returns 1 for true and 0 for false.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CutOffError is the last error of a delivery whose attempt was cut off,
// as when the hub stopped while the attempt was under way.
const CutOffError = "The hub stopped before it recorded the result of this attempt."

// RecordCutOffAttempts counts the attempts at delivery id, of the given
// generation, up to attempted, when the delivery has fewer: attempts that
// began, and so were disclosed, but whose outcome or failure a crash kept
// from being recorded. Each may have reached the service. The delivery
// is then retrying and due at once, since the service may have acted on
// it and the next attempt learns its outcome, or dead-lettered when
// deadLetter is set. A delivery withdrawn since counts them too, stays
// withdrawn and gets a withdrawal notice, once, as after any failed
// attempt. It returns whether the delivery is still to be sent with the
// attempts counted.
func (db *DB) RecordCutOffAttempts(ctx context.Context, id joinedup.DeliveryID, generation, attempted int, deadLetter bool) (bool, error) {
	state, next := joinedup.StateRetrying, int64(0)
	if deadLetter {
		state = joinedup.StateDeadLettered
	}
	var counted bool
	err := db.Tx(ctx, func(tx *Tx) error {
		if !deadLetter {
			next = Micros(tx.Now())
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET state = $1, reached_attempts = reached_attempts + $2 - attempts,
				attempts = $2, last_error = $3, next_attempt_at = $4, updated_at = $5
			WHERE id = $6 AND generation = $7 AND attempts < $2 AND state IN ('pending', 'retrying')`,
			state, attempted, CutOffError, next, Micros(tx.Now()), id, generation)
		if err != nil {
			return fmt.Errorf("count cut-off attempts: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil || n > 0 {
			counted = n > 0
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET reached_attempts = reached_attempts + $1 - attempts,
				attempts = $1, last_error = $2, updated_at = $3
			WHERE id = $4 AND generation = $5 AND attempts < $1 AND state = 'withdrawn'`,
			attempted, CutOffError, Micros(tx.Now()), id, generation); err != nil {
			return fmt.Errorf("count cut-off attempts at a withdrawn delivery: %w", err)
		}
		return noticeAfterFailedAttempt(ctx, tx, id, generation)
	})
	return counted, err
}

// lockDeliveryService locks, on PostgreSQL, the row of the service of
// delivery id for sharing. It does nothing on SQLite, whose writer holds
// the whole database, or for a delivery that does not exist.
func lockDeliveryService(ctx context.Context, tx *Tx, id joinedup.DeliveryID) error {
	if tx.Dialect() != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		SELECT 1 FROM services WHERE id = (SELECT service_id FROM deliveries WHERE id = $1) FOR SHARE`, id); err != nil {
		return fmt.Errorf("lock the delivery's service: %w", err)
	}
	return nil
}

// noticeAfterFailedAttempt queues a withdrawal notice for delivery id when
// its consent was withdrawn while an attempt of the given generation was
// in flight, that attempt failed, and an attempt may have reached the
// service, which may then hold the delivery although its response was
// lost.
func noticeAfterFailedAttempt(ctx context.Context, tx *Tx, id joinedup.DeliveryID, generation int) error {
	// The service's row is locked before the delivery's, in the order
	// that RetireService takes its locks, because a notice is queued for it.
	if err := lockDeliveryService(ctx, tx, id); err != nil {
		return err
	}
	d, gen, err := findDeliveryForUpdate(ctx, tx, id)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if gen != generation || d.State != joinedup.StateWithdrawn || d.Outcome != nil || !d.Reached ||
		d.Kind == joinedup.EventActionDue || d.Kind == joinedup.EventConsentWithdrawn {
		return nil
	}
	return queueWithdrawalNoticeOnce(ctx, tx, d)
}

// ClaimDelivery claims the next attempt at delivery id, of the given
// generation and with the given attempts made, until until. It returns
// false, and changes nothing, when the delivery has moved on or another
// claim on it runs past now. In a cluster, each node claims a delivery
// before it sends it: a delivery can reach two nodes at once, in two
// messages, and only the node that holds the claim sends it. Recording
// the attempt's outcome or failure, or a replay, ends the claim.
func (db *DB) ClaimDelivery(ctx context.Context, id joinedup.DeliveryID, generation, attempts int, until time.Time) (bool, error) {
	var claimed bool
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET claimed_until = $1
			WHERE id = $2 AND generation = $3 AND attempts = $4
				AND state IN ('pending', 'retrying') AND claimed_until < $5`,
			Micros(until), id, generation, attempts, Micros(tx.Now()))
		if err != nil {
			return fmt.Errorf("claim delivery: %w", err)
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

// StuckAfter is how long a delivery must have waited for its first
// attempt before an operator may replay it. A delivery whose message the
// event bus lost, as when its files were removed, would wait for ever.
// The replay queues a message of a new generation. A message of the old
// generation that turns up later is acknowledged without a send.
const (
	StuckAfter     = 15 * time.Minute
	StuckAfterText = "15 minutes"
)

// ReplayDelivery sends a dead-lettered or failed delivery, or one stuck
// pending for StuckAfter, again as a new generation, with its attempts
// counted from zero. Any other state, and a delivery to a retired
// service, is ECONFLICT.
func (db *DB) ReplayDelivery(ctx context.Context, id joinedup.DeliveryID) error {
	return db.Tx(ctx, func(tx *Tx) error {
		// A delivery's service never changes, so it is read before the
		// service is locked, and the delivery after it.
		d, _, err := findDelivery(ctx, tx, id)
		if err != nil {
			return err
		}
		retired, err := lockServiceShared(ctx, tx, d.Service)
		if err != nil {
			return err
		}
		if retired {
			return joinedup.Errorf(joinedup.ECONFLICT,
				"Delivery %s cannot be replayed, because its service %q was removed.", id, d.Service)
		}
		// Only the notice of a withdrawal may go to a service once consent
		// to tell it was withdrawn.
		if d.Kind != joinedup.EventConsentWithdrawn {
			_, decision, err := consentDecision(ctx, tx, d.EventID, d.Service)
			if err != nil && joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
				return err
			}
			if decision == joinedup.ConsentWithdrawn {
				name := string(d.Service)
				if err := tx.QueryRowContext(ctx, `SELECT name FROM services WHERE id = $1`, d.Service).Scan(&name); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				return joinedup.Errorf(joinedup.ECONFLICT,
					"This delivery cannot be sent again, because consent to tell %s was withdrawn.", name)
			}
		}
		d, gen, err := findDeliveryForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		stuck := d.State == joinedup.StatePending && d.Attempts == 0 && !tx.Now().Before(d.UpdatedAt.Add(StuckAfter))
		if d.State != joinedup.StateDeadLettered && d.State != joinedup.StateFailed && !stuck {
			return joinedup.Errorf(joinedup.ECONFLICT,
				"Only a dead-lettered or failed delivery, or one pending for %s without an attempt, can be replayed; this one is %s.",
				StuckAfterText, d.State)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE deliveries SET state = 'pending', generation = $1, attempts = 0, last_error = '',
				next_attempt_at = 0, outcome = '', confirmed_at = 0, claimed_until = 0, updated_at = $2
			WHERE id = $3`, gen+1, Micros(tx.Now()), id); err != nil {
			return err
		}
		return insertOutbox(ctx, tx, id, d.Service, gen+1)
	})
}

// ConfirmedLatencies returns, for deliveries confirmed since the given
// instant, the time from the life event's registration to the
// confirmation. Benchmarks use it.
func (db *DB) ConfirmedLatencies(ctx context.Context, since time.Time) ([]time.Duration, error) {
	var out []time.Duration
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT d.confirmed_at - e.registered_at FROM deliveries d
			JOIN life_events e ON e.id = d.event_id
			WHERE d.confirmed_at >= $1`, Micros(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var us int64
			if err := rows.Scan(&us); err != nil {
				return err
			}
			out = append(out, time.Duration(us)*time.Microsecond)
		}
		return rows.Err()
	})
	return out, err
}
