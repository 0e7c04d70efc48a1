package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// settingDemoLoaded names the settings row that records that a hub run
// with -demo loaded the demo into the store. Its value is the time of the
// first such start, in RFC 3339.
const settingDemoLoaded = "demo_loaded"

// MarkDemoLoaded records in the store that the demo was loaded into it at
// at. A store that already records a load keeps the time of the first.
func (db *DB) MarkDemoLoaded(ctx context.Context, at time.Time) error {
	err := db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, settingDemoLoaded, at.UTC().Format(time.RFC3339))
		return err
	})
	if err != nil {
		return fmt.Errorf("record that the demo was loaded: %w", err)
	}
	return nil
}

// DemoLoaded returns the time that MarkDemoLoaded recorded, and false
// when the store records no load of the demo.
func (db *DB) DemoLoaded(ctx context.Context) (at time.Time, loaded bool, err error) {
	var value string
	err = db.Tx(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, settingDemoLoaded).Scan(&value)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return time.Time{}, false, nil
	case err != nil:
		return time.Time{}, false, fmt.Errorf("read whether the demo was loaded: %w", err)
	}
	at, err = time.Parse(time.RFC3339, value)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read whether the demo was loaded: the settings row %s has the value %q, which is not a time in RFC 3339", settingDemoLoaded, value)
	}
	return at, true, nil
}
