package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/joinedup/joinedup"
)

// settingStoreID names the settings row of the store's identity.
const settingStoreID = "store_id"

// StoreID returns the store's identity: 32 random hexadecimal digits,
// created by the first call on a new store and the same for every hub
// that shares the store from then on.
func (db *DB) StoreID(ctx context.Context) (string, error) {
	var id string
	err := db.Tx(ctx, func(tx *Tx) error {
		// A hub sharing the store may insert its own id at the same time.
		// Only one insert commits, and both read the id that did.
		_, err := tx.ExecContext(ctx, `
			INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, settingStoreID, newStoreID())
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, settingStoreID).Scan(&id)
	})
	return id, err
}

func newStoreID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// settingEventBus names the settings row of the event bus that carries
// the store's deliveries.
const settingEventBus = "event_bus"

// ClaimEventBus records bus as the event bus that carries the store's
// deliveries when the store records none, and returns the bus recorded
// before, "" for none. A store that records another bus is changed only
// when move is set and no delivery waits to be sent, because the
// messages of waiting deliveries are in that other bus and only its
// nodes can send them. When deliveries wait, ClaimEventBus changes
// nothing and returns how many.
func (db *DB) ClaimEventBus(ctx context.Context, bus string, move bool) (recorded string, waiting int, err error) {
	err = db.Tx(ctx, func(tx *Tx) error {
		recorded, waiting = "", 0
		if tx.Dialect() == Postgres {
			// Nodes that start at the same moment claim one at a time.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(eventBusLockKey)); err != nil {
				return fmt.Errorf("lock the store's event bus: %w", err)
			}
		}
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, settingEventBus).Scan(&recorded)
		if errors.Is(err, sql.ErrNoRows) {
			recorded = ""
		} else if err != nil {
			return fmt.Errorf("read the store's event bus: %w", err)
		}
		if recorded == bus || (recorded != "" && !move) {
			return nil
		}
		if recorded != "" {
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE state IN ($1, $2)`,
				joinedup.StatePending, joinedup.StateRetrying).Scan(&waiting); err != nil {
				return fmt.Errorf("count waiting deliveries: %w", err)
			}
			if waiting > 0 {
				return nil
			}
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, settingEventBus, bus)
		if err != nil {
			return fmt.Errorf("record the store's event bus: %w", err)
		}
		return nil
	})
	return recorded, waiting, err
}

// eventBusLockKey is the PostgreSQL advisory lock that serialises claims
// of the store's event bus.
const eventBusLockKey = 0x6a7562757301
