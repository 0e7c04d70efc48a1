package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
