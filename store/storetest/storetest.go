// Package storetest opens fresh stores for tests: an SQLite file in the
// test's temporary directory always, and a PostgreSQL database of its own
// when JOINEDUP_TEST_DATABASE_URL names a server.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
)

// DatabaseURLVar names the environment variable that enables the
// PostgreSQL runs, such as postgres://postgres@127.0.0.1:5432/test.
const DatabaseURLVar = "JOINEDUP_TEST_DATABASE_URL"

// Each runs fn as a subtest on every backend available: "sqlite" always,
// and "postgres" when DatabaseURLVar is set.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a fresh SQLite store in t's temporary directory.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "joinedup.db"))
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Postgres opens a store on a fresh PostgreSQL database, or skips t when
// DatabaseURLVar is not set.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates an empty database that is dropped when t ends and
// returns its URL, or skips t when DatabaseURLVar is not set. Tests that
// start several hub processes on one database use it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(DatabaseURLVar)
	if base == "" {
		t.Skipf("PostgreSQL not configured: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run this test on PostgreSQL", DatabaseURLVar)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", DatabaseURLVar, err)
	}

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer admin.Close()

	var b [6]byte
	rand.Read(b[:])
	name := "joinedup_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("connect to postgres: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}
