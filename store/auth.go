package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
)

// The methods in this file implement auth.Store.
var _ auth.Store = (*DB)(nil)

// CreateAccount stores a new account. A user name or OIDC identity that
// another account has returns ECONFLICT.
func (db *DB) CreateAccount(ctx context.Context, a *auth.Account) error {
	return db.Tx(ctx, func(tx *Tx) error { return CreateAccountTx(ctx, tx, a) })
}

// CreateAccountTx stores a new account in tx, as CreateAccount does, so
// that a caller can store what belongs with the account in the same
// transaction.
func CreateAccountTx(ctx context.Context, tx *Tx, a *auth.Account) error {
	services, err := json.Marshal(a.Services)
	if err != nil {
		return fmt.Errorf("encode services: %w", err)
	}
	if a.Services == nil {
		services = []byte("[]")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = tx.Now()
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO accounts (id, username, password_hash, role, organisation, services,
			oidc_issuer, oidc_subject, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.Username, a.PasswordHash, string(a.Role), string(a.Organisation), string(services),
		a.Issuer, a.Subject, Micros(a.CreatedAt))
	if e := tx.db.wrap(err); joinedup.ErrorCode(e) == joinedup.ECONFLICT {
		return &joinedup.Error{Code: joinedup.ECONFLICT, Message: fmt.Sprintf("The user name %q or the sign-in identity is already in use.", a.Username), Err: err}
	}
	return err
}

const accountColumns = `id, username, password_hash, role, organisation, services,
	oidc_issuer, oidc_subject, created_at`

func scanAccount(row interface{ Scan(...any) error }) (*auth.Account, error) {
	var a auth.Account
	var services string
	var created int64
	if err := row.Scan(&a.ID, &a.Username, &a.PasswordHash, &a.Role, &a.Organisation, &services,
		&a.Issuer, &a.Subject, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(services), &a.Services); err != nil {
		return nil, fmt.Errorf("decode services of account %s: %w", a.ID, err)
	}
	a.CreatedAt = FromMicros(created)
	return &a, nil
}

// FindAccount returns the account with the given id, or ENOTFOUND.
func (db *DB) FindAccount(ctx context.Context, id string) (*auth.Account, error) {
	return db.findAccount(ctx, `id = $1`, id)
}

// FindAccountByUsername returns the account with the given normalised
// user name, or ENOTFOUND.
func (db *DB) FindAccountByUsername(ctx context.Context, username string) (*auth.Account, error) {
	return db.findAccount(ctx, `username = $1`, username)
}

// FindAccountByIdentity returns the account linked to an OIDC issuer and
// subject, or ENOTFOUND.
func (db *DB) FindAccountByIdentity(ctx context.Context, issuer, subject string) (*auth.Account, error) {
	if subject == "" {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "No account is linked to this sign-in.")
	}
	return db.findAccount(ctx, `oidc_issuer = $1 AND oidc_subject = $2`, issuer, subject)
}

// ListAccounts returns every account in order of user name, without its
// password hash.
func (db *DB) ListAccounts(ctx context.Context) ([]*auth.Account, error) {
	var out []*auth.Account
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY username`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			a.PasswordHash = ""
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

func (db *DB) findAccount(ctx context.Context, where string, args ...any) (*auth.Account, error) {
	var a *auth.Account
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+where, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no such account.")
		}
		return err
	})
	return a, err
}

// CreateSession stores a new session.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`,
			s.IDHash, s.AccountID, Micros(s.CreatedAt), Micros(s.LastSeenAt), Micros(s.ExpiresAt))
		return err
	})
}

// FindSession returns the session with the given id hash, or ENOTFOUND.
// It returns expired sessions too; the caller checks the expiry.
func (db *DB) FindSession(ctx context.Context, idHash string) (*auth.Session, error) {
	var s auth.Session
	err := db.View(ctx, func(tx *Tx) error {
		var created, lastSeen, expires int64
		err := tx.QueryRowContext(ctx, `
			SELECT id_hash, account_id, created_at, last_seen_at, expires_at
			FROM sessions WHERE id_hash = $1`, idHash).
			Scan(&s.IDHash, &s.AccountID, &created, &lastSeen, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no such session.")
		}
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = FromMicros(created), FromMicros(lastSeen), FromMicros(expires)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// TouchSession sets the last use of a session, or returns ENOTFOUND.
func (db *DB) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, Micros(at), idHash)
		if err != nil {
			return err
		}
		return requireRow(res, "There is no such session.")
	})
}

// DeleteSession ends one session, or returns ENOTFOUND.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	return db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
		if err != nil {
			return err
		}
		return requireRow(res, "There is no such session.")
	})
}

// DeleteAccountSessions ends every session of an account and returns how
// many there were.
func (db *DB) DeleteAccountSessions(ctx context.Context, accountID string) (int, error) {
	return db.deleteSessions(ctx, `DELETE FROM sessions WHERE account_id = $1`, accountID)
}

// DeleteExpiredSessions removes sessions whose absolute expiry is at or
// before now, or whose last use is at or before idleSince, and returns
// how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleSince time.Time) (int, error) {
	return db.deleteSessions(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2`,
		Micros(now), Micros(idleSince))
}

func (db *DB) deleteSessions(ctx context.Context, query string, args ...any) (int, error) {
	var n int64
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

func requireRow(res sql.Result, message string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return joinedup.Errorf(joinedup.ENOTFOUND, "%s", message)
	}
	return nil
}
