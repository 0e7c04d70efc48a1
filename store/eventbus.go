package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/joinedup/joinedup"
)

// settingEventBus names the settings row of the event bus that carries
// the store's deliveries.
const settingEventBus = "event_bus"

// settingStreamCreated names the settings row of the time the NATS server
// created the stream of that event bus, in the form of FormatStreamCreated.
// An empty value means that a node claimed the bus before the stream
// existed, and records the time once it has created the stream. Stores
// whose bus was recorded by a version without the row have none.
const settingStreamCreated = "event_bus_stream_created"

// eventBusLockKey is the PostgreSQL advisory lock that serialises claims
// of the store's event bus.
const eventBusLockKey = 0x6a7562757301

// FormatStreamCreated returns t as the store records a stream's creation
// time: RFC 3339 in UTC, truncated to the microsecond, with six digits
// of fraction, such as 2026-03-01T09:30:00.123456Z. Two times are the
// same stream's when these texts are equal.
func FormatStreamCreated(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z07:00")
}

// EventBusClaim is a node's request that the store's deliveries go
// through its event bus.
type EventBusClaim struct {
	// Bus describes the node's event bus, such as "stream DELIVERIES on
	// the NATS server at -nats-url".
	Bus string
	// StreamCreated is the time the NATS server created the bus's stream,
	// or the zero time when the stream does not exist yet.
	StreamCreated time.Time
	// Move lets the claim replace the bus or the stream that the store
	// records, and queue the waiting deliveries again for the new one.
	Move bool
}

// EventBusRecord is the event bus that a store recorded before a claim,
// with what the claim did.
type EventBusRecord struct {
	// Bus is the recorded bus, or "" for none.
	Bus string
	// StreamCreated is the recorded creation time of the bus's stream, or
	// the zero time for none.
	StreamCreated time.Time
	// Claimed is whether the store records the claimed bus and stream
	// after the claim.
	Claimed bool
	// Moved is whether the claim replaced another bus or stream.
	Moved bool
	// Waiting counts the deliveries pending or retrying when the claim
	// names another bus or stream than the store records, and is 0
	// otherwise.
	Waiting int
	// Requeued counts the waiting deliveries that a move queued again in
	// the outbox. A waiting delivery whose message is still in the outbox
	// is not queued twice.
	Requeued int
}

// ClaimEventBus records claim's bus and stream as those that carry the
// store's deliveries, when the store records none or records the same.
// A store that records another bus, or the same bus with a stream created
// at another time, is changed only when claim.Move is set. A store whose
// bus was recorded by an earlier version, without a stream creation time,
// takes claim's if its stream exists. A store whose claimed stream did
// not exist yet takes claim's whether or not it exists now, because the
// node that claimed it may still be creating it. The messages of waiting deliveries were published into
// the recorded stream, which only that bus's nodes read. So a move queues
// each waiting delivery's message again in the outbox, in the same
// transaction, for the relay to publish into the new stream.
func (db *DB) ClaimEventBus(ctx context.Context, claim EventBusClaim) (EventBusRecord, error) {
	var rec EventBusRecord
	err := db.Tx(ctx, func(tx *Tx) error {
		rec = EventBusRecord{}
		if err := lockEventBus(ctx, tx); err != nil {
			return err
		}
		var pending bool
		var err error
		if rec.Bus, rec.StreamCreated, pending, err = readEventBus(ctx, tx); err != nil {
			return err
		}

		switch {
		case rec.Bus == "":
			// A new store, or one from a version that did not record its bus.
		case rec.Bus == claim.Bus && sameStream(rec.StreamCreated, pending, claim.StreamCreated):
			rec.Claimed = true
			if rec.StreamCreated.IsZero() && !claim.StreamCreated.IsZero() {
				return writeSetting(ctx, tx, settingStreamCreated, FormatStreamCreated(claim.StreamCreated))
			}
			return nil
		default:
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE state IN ($1, $2)`,
				joinedup.StatePending, joinedup.StateRetrying).Scan(&rec.Waiting); err != nil {
				return fmt.Errorf("count waiting deliveries: %w", err)
			}
			if !claim.Move {
				return nil
			}
			rec.Moved = true
			if rec.Requeued, err = requeueWaiting(ctx, tx); err != nil {
				return err
			}
		}

		rec.Claimed = true
		if err := writeSetting(ctx, tx, settingEventBus, claim.Bus); err != nil {
			return fmt.Errorf("record the store's event bus: %w", err)
		}
		// A stream that does not exist yet gets its time from
		// RecordStreamCreated once the node has created it.
		created := ""
		if !claim.StreamCreated.IsZero() {
			created = FormatStreamCreated(claim.StreamCreated)
		}
		return writeSetting(ctx, tx, settingStreamCreated, created)
	})
	return rec, err
}

// sameStream reports whether a stream created at created, or none when
// created is zero, is the one that the store records as created at
// recorded. A pending record, of a stream that a node was to create,
// matches a stream of any time and none. No record, from a store whose
// bus an earlier version recorded, matches any stream that exists.
func sameStream(recorded time.Time, pending bool, created time.Time) bool {
	switch {
	case !recorded.IsZero():
		return !created.IsZero() && FormatStreamCreated(recorded) == FormatStreamCreated(created)
	case pending:
		return true
	}
	return !created.IsZero()
}

// requeueWaiting inserts an outbox message for the current generation of
// each pending or retrying delivery that has none, and returns how many
// it inserted. Each message id is the one MessageID returns. The rows
// take their delivery's creation time, so the relay publishes the oldest
// first.
func requeueWaiting(ctx context.Context, tx *Tx) (int, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO outbox (msg_id, delivery_id, service_id, created_at)
		SELECT id || '.' || CAST(generation AS TEXT), id, service_id, created_at
		FROM deliveries WHERE state IN ($1, $2)
		ON CONFLICT (msg_id) DO NOTHING`, joinedup.StatePending, joinedup.StateRetrying)
	if err != nil {
		return 0, fmt.Errorf("queue waiting deliveries again: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RecordStreamCreated records created as the creation time of the stream
// of bus when the store records bus and no creation time, as after a
// claim made before the node created its stream. It returns the creation
// time that the store then records, which differs from created when the
// stream was deleted and created again while the node started. A store
// that records another bus, because another node moved it meanwhile, is
// an error.
func (db *DB) RecordStreamCreated(ctx context.Context, bus string, created time.Time) (time.Time, error) {
	var recorded time.Time
	err := db.Tx(ctx, func(tx *Tx) error {
		if err := lockEventBus(ctx, tx); err != nil {
			return err
		}
		recordedBus, at, _, err := readEventBus(ctx, tx)
		if err != nil {
			return err
		}
		if recordedBus != bus {
			return fmt.Errorf("the store's deliveries now go through the %s, not the %s: another node moved them while this node started", recordedBus, bus)
		}
		recorded = at
		if !recorded.IsZero() {
			return nil
		}
		recorded = created.UTC().Truncate(time.Microsecond)
		return writeSetting(ctx, tx, settingStreamCreated, FormatStreamCreated(created))
	})
	return recorded, err
}

// lockEventBus makes nodes that claim the store's event bus at the same
// moment on PostgreSQL do so one at a time. SQLite runs one write
// transaction at a time already.
func lockEventBus(ctx context.Context, tx *Tx) error {
	if tx.Dialect() != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(eventBusLockKey)); err != nil {
		return fmt.Errorf("lock the store's event bus: %w", err)
	}
	return nil
}

// readEventBus returns the event bus and stream creation time that the
// store records, "" and the zero time for none. pending is whether the
// store records that a node claimed the bus before its stream existed
// and has yet to record the stream's time.
func readEventBus(ctx context.Context, tx *Tx) (bus string, created time.Time, pending bool, err error) {
	bus, _, err = readSetting(ctx, tx, settingEventBus)
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("read the store's event bus: %w", err)
	}
	value, found, err := readSetting(ctx, tx, settingStreamCreated)
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("read the creation time of the store's stream: %w", err)
	}
	if value == "" {
		return bus, time.Time{}, found, nil
	}
	created, err = time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("read the creation time of the store's stream: the settings row %s has the value %q, which is not a time in RFC 3339: delete the row to have the next node record its stream's time", settingStreamCreated, value)
	}
	return bus, created.UTC(), false, nil
}

// readSetting returns the value of the settings row name, and whether
// the row exists.
func readSetting(ctx context.Context, tx *Tx, name string) (value string, found bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, err
}

// writeSetting sets the settings row name to value, adding it if needed.
func writeSetting(ctx context.Context, tx *Tx, name, value string) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}

// ErrEventBusMoved is the error of a relay pass, or of a node's check,
// when the store's deliveries go through another event bus or stream than
// the node's, because a node started with -move-event-bus moved them.
var ErrEventBusMoved = errors.New("the store's deliveries were moved to another event bus")

// keptBus is the event bus and stream that KeepEventBus names.
type keptBus struct {
	bus     string
	created time.Time
}

// KeepEventBus makes RelayOutbox on PostgreSQL publish only while the
// store records bus, with a stream created at created. A node calls it
// once the store records its bus. After a move, the outbox rows of the
// deliveries that this node accepts stay in the outbox for the nodes on
// the new bus to publish. Otherwise they would go into a stream that no
// node reads once this node stops.
func (db *DB) KeepEventBus(bus string, created time.Time) {
	db.keptBus.Store(&keptBus{bus: bus, created: created})
}

// EventBus returns the event bus and stream creation time that the store
// records, "" and the zero time for none.
func (db *DB) EventBus(ctx context.Context) (bus string, created time.Time, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		bus, created, _, err = readEventBus(ctx, tx)
		return err
	})
	return bus, created, err
}

// MovedError returns an error wrapping ErrEventBusMoved when the store
// records another bus than bus, or a stream created at another time than
// created, and nil otherwise. A store that records no creation time
// matches any.
func MovedError(bus string, created time.Time, recordedBus string, recordedCreated time.Time) error {
	if recordedBus == bus && (recordedCreated.IsZero() || FormatStreamCreated(recordedCreated) == FormatStreamCreated(created)) {
		return nil
	}
	at := "none"
	if !recordedCreated.IsZero() {
		at = FormatStreamCreated(recordedCreated)
	}
	return fmt.Errorf("%w: they now go through the %s, whose stream was created at %s", ErrEventBusMoved, recordedBus, at)
}

// checkKeptBus returns an error wrapping ErrEventBusMoved when the store
// no longer records the bus that KeepEventBus named. It holds the claims'
// lock shared until tx ends, so that a move waits for a relay pass that
// found the bus unchanged to finish publishing, and then queues again
// every delivery still waiting.
func (db *DB) checkKeptBus(ctx context.Context, tx *Tx) error {
	kept := db.keptBus.Load()
	if kept == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, int64(eventBusLockKey)); err != nil {
		return fmt.Errorf("lock the store's event bus: %w", err)
	}
	bus, created, _, err := readEventBus(ctx, tx)
	if err != nil {
		return err
	}
	return MovedError(kept.bus, kept.created, bus, created)
}
