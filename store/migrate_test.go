package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

// migrationBackend opens one database again and again, as a hub that
// restarts does, and reaches it with plain SQL too.
type migrationBackend struct {
	open       func(opts ...store.OpenOption) (*store.DB, error)
	raw        func() *sql.DB
	migrations string // directory of the migrations the store embeds
}

func migrationBackends(t *testing.T) map[string]func(t *testing.T) migrationBackend {
	return map[string]func(t *testing.T) migrationBackend{
		"sqlite": func(t *testing.T) migrationBackend {
			path := filepath.Join(t.TempDir(), "joinedup.db")
			return migrationBackend{
				open: func(opts ...store.OpenOption) (*store.DB, error) {
					return sqlite.Open(context.Background(), path, opts...)
				},
				raw:        func() *sql.DB { return openRaw(t, "sqlite", "file:"+path) },
				migrations: "sqlite/migrations",
			}
		},
		"postgres": func(t *testing.T) migrationBackend {
			url := storetest.PostgresURL(t)
			return migrationBackend{
				open: func(opts ...store.OpenOption) (*store.DB, error) {
					return postgres.Open(context.Background(), url, opts...)
				},
				raw:        func() *sql.DB { return openRaw(t, "pgx", url) },
				migrations: "postgres/migrations",
			}
		},
	}
}

func openRaw(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// latestMigration returns the highest version among the migration files
// in dir and the number of files.
func latestMigration(t *testing.T, dir string) (latest int64, count int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("list migrations in %s: %v, %d files", dir, err, len(files))
	}
	for _, f := range files {
		var v int64
		if _, err := fmt.Sscanf(filepath.Base(f), "%d_", &v); err != nil {
			t.Fatalf("parse version of %s: %v", f, err)
		}
		latest = max(latest, v)
	}
	return latest, len(files)
}

// TestOpenRejectsNewerSchema migrates a store, then records a migration
// from a newer joinedup that adds a NOT NULL column, as an upgraded node
// would. Opening the store again fails, naming both versions, and
// applies nothing.
func TestOpenRejectsNewerSchema(t *testing.T) {
	for name, backend := range migrationBackends(t) {
		t.Run(name, func(t *testing.T) {
			b := backend(t)
			db, err := b.open()
			if err != nil {
				t.Fatal(err)
			}
			db.Close()

			raw := b.raw()
			for _, q := range []string{
				`ALTER TABLE life_events ADD COLUMN newer_column TEXT NOT NULL DEFAULT ''`,
				`INSERT INTO goose_db_version (version_id, is_applied) VALUES (400, TRUE)`,
			} {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var rowsBefore int
			if err := raw.QueryRow(`SELECT COUNT(*) FROM goose_db_version`).Scan(&rowsBefore); err != nil {
				t.Fatal(err)
			}

			db, err = b.open()
			if err == nil {
				db.Close()
				t.Fatal("opened a store migrated by a newer joinedup, want an error")
			}
			latest, _ := latestMigration(t, b.migrations)
			msg := err.Error()
			for _, want := range []string{"schema version 400", fmt.Sprintf("this joinedup is version %d", latest), "upgrade this node"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error = %q, want it to contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error = %q, want one line", msg)
			}

			var rowsAfter int
			if err := raw.QueryRow(`SELECT COUNT(*) FROM goose_db_version`).Scan(&rowsAfter); err != nil {
				t.Fatal(err)
			}
			if rowsAfter != rowsBefore {
				t.Errorf("goose_db_version has %d rows after the rejected open, want %d", rowsAfter, rowsBefore)
			}
		})
	}
}

// TestOpenLogsAppliedMigrations opens a new store with a logger, which
// logs every migration by version and file name, then opens it again,
// which applies and logs none.
func TestOpenLogsAppliedMigrations(t *testing.T) {
	for name, backend := range migrationBackends(t) {
		t.Run(name, func(t *testing.T) {
			b := backend(t)
			var out bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&out, nil))
			db, err := b.open(store.WithLogger(logger))
			if err != nil {
				t.Fatal(err)
			}
			db.Close()

			_, count := latestMigration(t, b.migrations)
			logged := strings.Count(out.String(), `msg="applied migration"`)
			if logged != count {
				t.Errorf("logged %d applied migrations, want %d:\n%s", logged, count, out.String())
			}
			if !strings.Contains(out.String(), "level=INFO msg=\"applied migration\" version=1 name=00001_core.sql") {
				t.Errorf("log has no info record of migration 1 with its name:\n%s", out.String())
			}

			out.Reset()
			db, err = b.open(store.WithLogger(logger))
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			if out.Len() != 0 {
				t.Errorf("opening a migrated store logged:\n%s", out.String())
			}
		})
	}
}
