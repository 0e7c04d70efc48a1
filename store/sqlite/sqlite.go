// Package sqlite opens the hub's store on an SQLite file, for the embedded
// default. It uses modernc.org/sqlite, which needs no cgo.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// transaction that has committed is on disk and survives a crash of the
// process or of the machine. Writers take the lock when they begin
// (BEGIN IMMEDIATE) and wait up to the busy timeout for it, so concurrent
// writers queue rather than fail.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens or creates the SQLite database at path and applies the
// migrations, unless a newer joinedup has migrated the database.
func Open(ctx context.Context, path string, opts ...store.OpenOption) (*store.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(30000)")
	// Savepoints keep their undo records in a temporary journal. On disk
	// that journal took more page writes than the database's own log, so
	// it is kept in memory.
	q.Add("_pragma", "temp_store(memory)")
	readQuery := q.Encode()
	q.Set("_txlock", "immediate")

	// SQLite allows one writer at a time, so writes share one connection
	// and queue in Go rather than in SQLite's busy handler. Reads use their
	// own pool and proceed beside the writer in WAL mode.
	sqlDB, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB.SetMaxOpenConns(1)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, sqlDB, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	if err := store.Migrate(ctx, p, opts...); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate sqlite: %w", err)
	}

	readDB, err := sql.Open("sqlite", "file:"+path+"?"+readQuery)
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open sqlite for reading: %w", err)
	}
	// Idle connections stay open: each keeps its prepared statements, and
	// opening one runs the pragmas again.
	readDB.SetMaxOpenConns(8)
	readDB.SetMaxIdleConns(8)
	return store.New(sqlDB, readDB, store.SQLite, translate), nil
}

// translate maps SQLite result codes to domain errors.
func translate(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &joinedup.Error{Code: joinedup.ECONFLICT, Message: "It already exists.", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &joinedup.Error{Code: joinedup.EINVALID, Message: "It refers to something that does not exist.", Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &joinedup.Error{Code: joinedup.EUNAVAILABLE, Message: "The store is busy; try again.", Err: err}
		}
	}
	return err
}
