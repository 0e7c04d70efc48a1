package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

// settingAuditKey names the settings row of the public key that signs
// the store's audit log, in the form of audit.Key.PublicKey.
const settingAuditKey = "audit_public_key"

// AuditKey returns the public key that signs the store's audit log, or
// "" when the store records none yet.
func (db *DB) AuditKey(ctx context.Context) (string, error) {
	var key string
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		key, _, err = readSetting(ctx, tx, settingAuditKey)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read the store's audit key: %w", err)
	}
	return key, nil
}

// ClaimAuditKey records key as the public key that signs the store's
// audit log, when the store records none, and returns the key that the
// store records then. Nodes that claim at the same moment get the same
// key back, that of the claim that committed first, so each node can
// tell whether its own key is the store's.
func (db *DB) ClaimAuditKey(ctx context.Context, key string) (string, error) {
	var recorded string
	err := db.Tx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, settingAuditKey, key); err != nil {
			return err
		}
		var err error
		recorded, _, err = readSetting(ctx, tx, settingAuditKey)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("record the store's audit key: %w", err)
	}
	return recorded, nil
}
