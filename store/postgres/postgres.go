// Package postgres opens the hub's store on PostgreSQL, for cluster mode,
// through pgx. Several hub processes may share one database: migrations
// are applied under a session advisory lock, and work that only one node
// may do is claimed with FOR UPDATE SKIP LOCKED.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the database at url (postgres://…) and applies the
// migrations, unless a newer joinedup has migrated the database.
func Open(ctx context.Context, url string, opts ...store.OpenOption) (*store.DB, error) {
	sqlDB, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB.SetMaxOpenConns(32)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub,
		goose.WithAllowOutofOrder(true), goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	if err := store.Migrate(ctx, p, opts...); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	return store.New(sqlDB, sqlDB, store.Postgres, translate), nil
}

// translate maps PostgreSQL SQLSTATE codes to domain errors.
func translate(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return &joinedup.Error{Code: joinedup.ECONFLICT, Message: "It already exists.", Err: err}
		case "23503": // foreign_key_violation
			return &joinedup.Error{Code: joinedup.EINVALID, Message: "It refers to something that does not exist.", Err: err}
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return &joinedup.Error{Code: joinedup.EUNAVAILABLE, Message: "The store is busy; try again.", Err: err}
		}
	}
	return err
}
