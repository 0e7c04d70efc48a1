package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
)

// CreateLifeEvent stores a new life event with its consent and its
// deliveries in one transaction, and queues one outbox message per
// delivery. The caller fills the ids; RegisteredAt and the deliveries'
// times are set here. It returns once the transaction has committed. On
// SQLite, events registered at the same moment share a commit through the
// store's group commit. Each of also runs in the same transaction after
// the event is stored, and an error from it rolls the event back.
func (db *DB) CreateLifeEvent(ctx context.Context, ev *joinedup.LifeEvent, also ...func(tx *Tx) error) error {
	return db.Tx(ctx, func(tx *Tx) error {
		if err := insertLifeEvent(ctx, tx, ev); err != nil {
			return err
		}
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertLifeEvent(ctx context.Context, tx *Tx, ev *joinedup.LifeEvent) error {
	now := tx.Now()
	ev.RegisteredAt = now
	ev.Consent.RecordedAt = now

	if _, err := tx.ExecContext(ctx, `
		INSERT INTO life_events (id, reference, type, registered_at, registered_by, payload, dedupe_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ev.ID, ev.Reference, ev.Type, Micros(now), ev.RegisteredBy, string(ev.Payload), ev.DedupeKey); err != nil {
		return fmt.Errorf("insert life event: %w", err)
	}
	if err := insertConsent(ctx, tx, ev.ID, &ev.Consent); err != nil {
		return err
	}
	for _, d := range ev.Deliveries {
		d.EventID = ev.ID
		if err := insertDelivery(ctx, tx, d, nil); err != nil {
			return err
		}
	}
	return nil
}

func insertConsent(ctx context.Context, tx *Tx, event joinedup.EventID, c *joinedup.Consent) error {
	givenBy, err := json.Marshal(c.GivenBy)
	if err != nil {
		return err
	}
	onBehalf, err := json.Marshal(c.OnBehalf)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO consents (id, event_id, given_by, capacity, on_behalf, purpose, basis, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, event, string(givenBy), c.Capacity, string(onBehalf), c.Purpose, c.Basis, Micros(c.RecordedAt)); err != nil {
		return fmt.Errorf("insert consent: %w", err)
	}
	for i := range c.Decisions {
		d := &c.Decisions[i]
		d.DecidedAt = c.RecordedAt
		fields := ""
		if d.Fields != nil {
			b, err := json.Marshal(d.Fields)
			if err != nil {
				return fmt.Errorf("encode consented fields: %w", err)
			}
			fields = string(b)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO consent_decisions (consent_id, service_id, decision, basis, decided_at, fields)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, d.Service, d.Decision, d.Basis, Micros(d.DecidedAt), fields); err != nil {
			return fmt.Errorf("insert consent decision: %w", err)
		}
	}
	return nil
}

// insertDelivery inserts a pending delivery and its outbox message. data is
// the notice's own data, for kinds other than the life event itself. A
// delivery to a retired service is stored dead-lettered with
// joinedup.RetiredLastError and gets no outbox message. On PostgreSQL the
// service's row is read FOR SHARE, so that RetireService either ends this
// delivery or commits before it is queued (see RetireService).
func insertDelivery(ctx context.Context, tx *Tx, d *joinedup.Delivery, data []byte) error {
	now := tx.Now()
	lock := ""
	if tx.Dialect() == Postgres {
		lock = " FOR SHARE"
	}
	err := tx.QueryRowContext(ctx, `
		INSERT INTO deliveries (id, event_id, service_id, kind, data, state, last_error, created_at, updated_at)
		SELECT $1, $2, id, $3, $4,
			CASE WHEN retired_at = 0 THEN 'pending' ELSE 'dead-lettered' END,
			CASE WHEN retired_at = 0 THEN '' ELSE $5 END,
			CAST($6 AS BIGINT), CAST($6 AS BIGINT)
		FROM services WHERE id = $7`+lock+`
		RETURNING state, last_error`,
		d.ID, d.EventID, d.Kind, string(data), joinedup.RetiredLastError, Micros(now), d.Service).
		Scan(&d.State, &d.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Invalid("The delivery names a service that does not exist.",
			joinedup.FieldError{Field: "/service", Message: fmt.Sprintf("There is no service %q", d.Service)})
	} else if err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	d.CreatedAt, d.UpdatedAt = now, now
	if d.State != joinedup.StatePending {
		return nil
	}
	return insertOutbox(ctx, tx, d.ID, d.Service, 0)
}

// MessageID returns the JetStream message id of a delivery's generation.
// Each replay of a delivery is a new generation, so it is not taken for a
// duplicate of the first publish.
func MessageID(id joinedup.DeliveryID, generation int) string {
	return fmt.Sprintf("%s.%d", id, generation)
}

func insertOutbox(ctx context.Context, tx *Tx, id joinedup.DeliveryID, service joinedup.ServiceID, generation int) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (msg_id, delivery_id, service_id, created_at) VALUES ($1, $2, $3, $4)`,
		MessageID(id, generation), id, service, Micros(tx.Now())); err != nil {
		return fmt.Errorf("insert outbox message: %w", err)
	}
	return nil
}

// FindLifeEvent returns the life event with its consent, deliveries and
// deferred actions, or ENOTFOUND.
func (db *DB) FindLifeEvent(ctx context.Context, id joinedup.EventID) (*joinedup.LifeEvent, error) {
	return db.findLifeEvent(ctx, "id", string(id))
}

// FindLifeEventByReference returns the life event with the given reference
// number, or ENOTFOUND. The reference is matched without regard to case.
func (db *DB) FindLifeEventByReference(ctx context.Context, reference string) (*joinedup.LifeEvent, error) {
	return db.findLifeEvent(ctx, "reference", strings.ToUpper(strings.TrimSpace(reference)))
}

func (db *DB) findLifeEvent(ctx context.Context, column, value string) (*joinedup.LifeEvent, error) {
	var ev *joinedup.LifeEvent
	err := db.View(ctx, func(tx *Tx) error {
		row := tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM life_events WHERE `+column+` = $1`, value)
		var err error
		ev, err = scanLifeEvent(row)
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no life event with that %s.", column)
		} else if err != nil {
			return err
		}
		return loadEventDetail(ctx, tx, []*joinedup.LifeEvent{ev})
	})
	return ev, err
}

// FindLifeEvents returns the life events with the given ids, each with its
// consent, deliveries and deferred actions as FindLifeEvent returns them,
// in the order of ids. An id with no life event is left out, and an id
// given twice is returned once, at its first place. It reads in one
// transaction with at most five queries for each maxIDsPerQuery ids.
//
// It takes ids rather than joining a table that lists them, such as
// resident_children, so that it serves any list of events. It binds the
// ids in chunks to stay within each backend's limit on parameters.
func (db *DB) FindLifeEvents(ctx context.Context, ids []joinedup.EventID) ([]*joinedup.LifeEvent, error) {
	unique := make([]joinedup.EventID, 0, len(ids))
	seen := make(map[joinedup.EventID]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	if len(unique) == 0 {
		return []*joinedup.LifeEvent{}, nil
	}

	var found []*joinedup.LifeEvent
	err := db.View(ctx, func(tx *Tx) error {
		for chunk := range slices.Chunk(unique, maxIDsPerQuery) {
			in, args := inList(chunk)
			events, err := queryLifeEvents(ctx, tx, `WHERE id IN (`+in+`)`, args...)
			if err != nil {
				return fmt.Errorf("find life events: %w", err)
			}
			found = append(found, events...)
		}
		return loadEventDetail(ctx, tx, found)
	})
	if err != nil {
		return nil, err
	}

	byID := make(map[joinedup.EventID]*joinedup.LifeEvent, len(found))
	for _, ev := range found {
		byID[ev.ID] = ev
	}
	out := make([]*joinedup.LifeEvent, 0, len(found))
	for _, id := range unique {
		if ev, ok := byID[id]; ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

// queryLifeEvents returns the life events that where selects, without
// their consent, deliveries or actions.
func queryLifeEvents(ctx context.Context, tx *Tx, where string, args ...any) ([]*joinedup.LifeEvent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM life_events `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*joinedup.LifeEvent
	for rows.Next() {
		ev, err := scanLifeEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

const eventColumns = `id, reference, type, registered_at, registered_by, payload`

func scanLifeEvent(row interface{ Scan(...any) error }) (*joinedup.LifeEvent, error) {
	var ev joinedup.LifeEvent
	var at int64
	var payload string
	if err := row.Scan(&ev.ID, &ev.Reference, &ev.Type, &at, &ev.RegisteredBy, &payload); err != nil {
		return nil, err
	}
	ev.RegisteredAt = FromMicros(at)
	ev.Payload = json.RawMessage(payload)
	ev.Deliveries = []*joinedup.Delivery{}
	return &ev, nil
}

// maxIDsPerQuery bounds the ids bound in one IN list. SQLite accepts at
// most 32,766 bound parameters in a statement (its default since 3.32.0)
// and PostgreSQL's wire protocol at most 65,535, so longer lists are read
// in chunks of this size. 512 is above ListLifeEvents' largest page of
// 500, so a page of events loads in one chunk. It must be a power of two,
// because inList pads each list to one.
const maxIDsPerQuery = 512

// inList returns the placeholders $1, $2, ... for an IN list of ids and
// the matching arguments. The list is padded to the next power of two by
// repeating the last id, which changes no result, so that each query has
// at most ten forms in the statement cache rather than one per length.
// ids must hold between 1 and maxIDsPerQuery ids.
func inList(ids []joinedup.EventID) (string, []any) {
	size := 1
	for size < len(ids) {
		size *= 2
	}
	args := make([]any, size)
	for i := range args {
		args[i] = ids[min(i, len(ids)-1)]
	}
	return inPlaceholders[bits.Len(uint(size))-1], args
}

// inPlaceholders holds the placeholder lists of inList, "$1" up to
// "$1, …, $512", indexed by the base-2 logarithm of their length.
var inPlaceholders = placeholderLists()

func placeholderLists() []string {
	var lists []string
	var b strings.Builder
	for i := 1; i <= maxIDsPerQuery; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i)
		if i&(i-1) == 0 {
			lists = append(lists, b.String())
		}
	}
	return lists
}

// loadEventDetail fills the consent, deliveries and actions of events,
// with four queries for each maxIDsPerQuery events. The events must have
// distinct ids.
func loadEventDetail(ctx context.Context, tx *Tx, events []*joinedup.LifeEvent) error {
	for chunk := range slices.Chunk(events, maxIDsPerQuery) {
		if err := loadEventDetailChunk(ctx, tx, chunk); err != nil {
			return err
		}
	}
	return nil
}

func loadEventDetailChunk(ctx context.Context, tx *Tx, events []*joinedup.LifeEvent) error {
	byID := make(map[joinedup.EventID]*joinedup.LifeEvent, len(events))
	ids := make([]joinedup.EventID, 0, len(events))
	for _, ev := range events {
		ev.Consent = joinedup.Consent{}
		ev.Deliveries = []*joinedup.Delivery{}
		ev.Actions = nil
		byID[ev.ID] = ev
		ids = append(ids, ev.ID)
	}
	in, args := inList(ids)

	if err := loadConsents(ctx, tx, byID, in, args); err != nil {
		return err
	}
	if err := loadDecisions(ctx, tx, byID, in, args); err != nil {
		return err
	}
	deliveries, err := queryDeliveries(ctx, tx, `WHERE event_id IN (`+in+`) ORDER BY created_at, service_id, id`, args...)
	if err != nil {
		return err
	}
	if err := markAttemptsUnderway(ctx, tx, deliveries); err != nil {
		return err
	}
	for _, d := range deliveries {
		ev := byID[d.EventID]
		ev.Deliveries = append(ev.Deliveries, d)
	}
	actions, err := queryActions(ctx, tx, `WHERE event_id IN (`+in+`) ORDER BY due, id`, args...)
	if err != nil {
		return err
	}
	for _, a := range actions {
		ev := byID[a.EventID]
		ev.Actions = append(ev.Actions, a)
	}
	return nil
}

// loadConsents fills the consent of each event in byID, without its
// decisions. in is the IN list of the events' ids and args binds it.
// Every life event is stored with its consent, so an event without one
// is ENOTFOUND.
func loadConsents(ctx context.Context, tx *Tx, byID map[joinedup.EventID]*joinedup.LifeEvent, in string, args []any) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT id, given_by, capacity, on_behalf, purpose, basis, recorded_at, event_id
		FROM consents WHERE event_id IN (`+in+`)`, args...)
	if err != nil {
		return fmt.Errorf("load consents: %w", err)
	}
	defer rows.Close()
	found := make(map[joinedup.EventID]bool, len(byID))
	for rows.Next() {
		var event joinedup.EventID
		c, err := scanConsent(rows, &event)
		if err != nil {
			return err
		}
		byID[event].Consent = *c
		found[event] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load consents: %w", err)
	}
	for id := range byID {
		if !found[id] {
			return fmt.Errorf("load consent of life event %s: %w", id, sql.ErrNoRows)
		}
	}
	return nil
}

// loadDecisions appends the consent decisions of the events in byID to
// their consents, in service id order. in and args are as for
// loadConsents.
func loadDecisions(ctx context.Context, tx *Tx, byID map[joinedup.EventID]*joinedup.LifeEvent, in string, args []any) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT d.service_id, d.decision, d.basis, d.decided_at, d.fields, c.event_id
		FROM consent_decisions d JOIN consents c ON c.id = d.consent_id
		WHERE c.event_id IN (`+in+`) ORDER BY d.service_id`, args...)
	if err != nil {
		return fmt.Errorf("load consent decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var event joinedup.EventID
		d, err := scanDecision(rows, &event)
		if err != nil {
			return err
		}
		c := &byID[event].Consent
		c.Decisions = append(c.Decisions, d)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load consent decisions: %w", err)
	}
	return nil
}

// scanConsent scans a consent's id, given_by, capacity, on_behalf,
// purpose, basis and recorded_at columns, followed by any extra columns
// into extra.
func scanConsent(row interface{ Scan(...any) error }, extra ...any) (*joinedup.Consent, error) {
	var c joinedup.Consent
	var givenBy, onBehalf string
	var at int64
	dest := []any{&c.ID, &givenBy, &c.Capacity, &onBehalf, &c.Purpose, &c.Basis, &at}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, fmt.Errorf("load consent: %w", err)
	}
	if err := json.Unmarshal([]byte(givenBy), &c.GivenBy); err != nil {
		return nil, fmt.Errorf("decode consent giver: %w", err)
	}
	if err := json.Unmarshal([]byte(onBehalf), &c.OnBehalf); err != nil {
		return nil, fmt.Errorf("decode consent subjects: %w", err)
	}
	c.RecordedAt = FromMicros(at)
	return &c, nil
}

// scanDecision scans a consent decision's service_id, decision, basis,
// decided_at and fields columns, followed by any extra columns into extra.
func scanDecision(row interface{ Scan(...any) error }, extra ...any) (joinedup.ConsentDecision, error) {
	var d joinedup.ConsentDecision
	var at int64
	var fields string
	dest := []any{&d.Service, &d.Decision, &d.Basis, &at, &fields}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return d, fmt.Errorf("load consent decision: %w", err)
	}
	if fields != "" {
		if err := json.Unmarshal([]byte(fields), &d.Fields); err != nil {
			return d, fmt.Errorf("decode consented fields: %w", err)
		}
	}
	d.DecidedAt = FromMicros(at)
	return d, nil
}

// ListLifeEvents returns the page of life events that f selects, newest
// first, each with its consent, deliveries and actions, with the total
// that match and the page's offset, all read from one snapshot. A limit
// outside 1 to 500 lists 50. A filter that sets more than one of Offset,
// After and Before is EINVALID.
func (db *DB) ListLifeEvents(ctx context.Context, f joinedup.LifeEventFilter) (joinedup.LifeEventPage, error) {
	if err := checkPlace("life events", f.Offset, f.After != nil, f.Before != nil); err != nil {
		return joinedup.LifeEventPage{}, err
	}
	q := lifeEventListQuery(f)
	var page joinedup.LifeEventPage
	err := db.ViewSnapshot(ctx, func(tx *Tx) error {
		var err error
		if page, err = readPage(ctx, tx, q, queryLifeEvents); err != nil {
			return err
		}
		return loadEventDetail(ctx, tx, page.Items)
	})
	return page, err
}

// lifeEventListQuery returns the queries of the page of life events that
// f selects. The index life_events_registered holds events in order of
// registered_at and id, so a page is read from it, backwards, without
// sorting every match.
func lifeEventListQuery(f joinedup.LifeEventFilter) listQueries {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	l := keyedList{table: "life_events", at: "registered_at", newestFirst: true}
	bind := func(v any) string {
		l.args = append(l.args, v)
		return fmt.Sprintf("$%d", len(l.args))
	}
	if f.Type != "" {
		l.conds = append(l.conds, "type = "+bind(f.Type))
	}
	switch {
	case f.Services != nil:
		// The state, when given, is that of a delivery to one of the
		// services, so that the list reveals nothing of the others.
		marks := []string{"''"} // an empty list matches no service
		for _, svc := range f.Services {
			marks = append(marks, bind(string(svc)))
		}
		state := ""
		if f.State != "" {
			state = " AND d.state = " + bind(string(f.State))
		}
		l.conds = append(l.conds, fmt.Sprintf(`id IN (SELECT d.event_id FROM deliveries d WHERE d.service_id IN (%s)%s
			AND NOT EXISTS (SELECT 1 FROM consents c JOIN consent_decisions cd ON cd.consent_id = c.id
				WHERE c.event_id = d.event_id AND cd.service_id = d.service_id AND cd.decision = %s))`,
			strings.Join(marks, ", "), state, bind(joinedup.ConsentWithdrawn)))
	case f.State != "":
		l.conds = append(l.conds, "id IN (SELECT event_id FROM deliveries WHERE state = "+bind(string(f.State))+")")
	}
	if f.Organisation != "" {
		cond := "registered_by IN (SELECT id FROM accounts WHERE organisation = " + bind(string(f.Organisation)) + ")"
		if len(f.OrganisationAccounts) > 0 {
			var marks []string
			for _, account := range f.OrganisationAccounts {
				marks = append(marks, bind(account))
			}
			cond = "(" + cond + " OR registered_by IN (" + strings.Join(marks, ", ") + "))"
		}
		l.conds = append(l.conds, cond)
	}
	if f.Worker != "" {
		l.conds = append(l.conds, `id IN (SELECT c.event_id FROM worker_allocations a
			JOIN resident_children c ON c.account_id = a.resident_id WHERE a.worker_id = `+bind(f.Worker)+`)`)
	}
	return l.queries(f.Offset, cursorOf(f.After), cursorOf(f.Before), limit)
}

// ListUnrecognisedEvents returns up to limit life events registered at or
// after since, oldest first, whose child has no record from source in the
// person index.
func (db *DB) ListUnrecognisedEvents(ctx context.Context, source string, since time.Time, limit int) ([]*joinedup.LifeEvent, error) {
	var out []*joinedup.LifeEvent
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM life_events e
			WHERE e.registered_at >= $2
			AND NOT EXISTS (SELECT 1 FROM person_records r WHERE r.source = $1 AND r.record_id = e.id || '/child')
			ORDER BY registered_at, id LIMIT %d`, eventColumns, limit), source, Micros(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev, err := scanLifeEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return rows.Err()
	})
	return out, err
}

// FindReferenceByDedupeKey returns the reference number of the life event
// with the given dedupe key, or ENOTFOUND.
func (db *DB) FindReferenceByDedupeKey(ctx context.Context, key string) (string, error) {
	var reference string
	err := db.View(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT reference FROM life_events WHERE dedupe_key = $1`, key).Scan(&reference)
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no life event with that key.")
		}
		return err
	})
	return reference, err
}

// legacyKeyPattern matches the dedupe keys in the legacy form. The
// migration of the partial index life_events_legacy_dedupe_key writes out
// the same pattern. The index serves only a condition with the same text.
const legacyKeyPattern = joinedup.LegacyBirthKeyPrefix + "%"

// ListLegacyKeyedEvents returns up to limit life events whose dedupe key
// is in the legacy form and whose id sorts after after, in id order. Only
// ID, Reference, Payload and DedupeKey are filled. A partial index holds
// only such events, so once none is left the query reads no rows.
func (db *DB) ListLegacyKeyedEvents(ctx context.Context, after joinedup.EventID, limit int) ([]*joinedup.LifeEvent, error) {
	var out []*joinedup.LifeEvent
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, legacyKeyQuery(limit), after)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ev joinedup.LifeEvent
			var payload string
			if err := rows.Scan(&ev.ID, &ev.Reference, &payload, &ev.DedupeKey); err != nil {
				return err
			}
			ev.Payload = json.RawMessage(payload)
			out = append(out, &ev)
		}
		return rows.Err()
	})
	return out, err
}

// legacyKeyQuery returns the query of ListLegacyKeyedEvents. The pattern
// is part of the text rather than a parameter, because the planners of
// SQLite and PostgreSQL use a partial index only for a condition they can
// compare with the index's own when the statement is prepared.
func legacyKeyQuery(limit int) string {
	return fmt.Sprintf(`SELECT id, reference, payload, dedupe_key FROM life_events
		WHERE dedupe_key LIKE '%s' AND id > $1 ORDER BY id LIMIT %d`, legacyKeyPattern, limit)
}

// ReplaceDedupeKey sets the dedupe key of the life event id to key if its
// key is still old, and does nothing otherwise. It returns ECONFLICT when
// another life event has key already.
func (db *DB) ReplaceDedupeKey(ctx context.Context, id joinedup.EventID, old, key string) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE life_events SET dedupe_key = $1 WHERE id = $2 AND dedupe_key = $3`, key, id, old)
		return err
	})
}
