package sqlitecache

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

func openTest(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(DriverName, "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return db
}

// cached returns the SQL texts the pool's one connection keeps.
func cached(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("conn: %v", err)
	}
	defer c.Close()
	out := map[string]bool{}
	err = c.Raw(func(dc any) error {
		for q := range dc.(*conn).stmts {
			out[q] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("raw: %v", err)
	}
	return out
}

func TestStatementsAreReused(t *testing.T) {
	db := openTest(t)
	const insert = `INSERT INTO people (id, name) VALUES ($1, $2)`
	for i := range 10 {
		if _, err := db.Exec(insert, i, "Person"); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}

	var n int
	if err := db.QueryRow(`SELECT count(*) FROM people WHERE name = $1`, "Person").Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 10 {
		t.Errorf("count = %d, want 10", n)
	}
	got := cached(t, db)
	if !got[insert] {
		t.Errorf("insert statement not cached; cached: %v", got)
	}
	if !got[`SELECT count(*) FROM people WHERE name = $1`] {
		t.Errorf("count statement not cached; cached: %v", got)
	}
}

func TestQueryWhileSameQueryOpen(t *testing.T) {
	db := openTest(t)
	for i := range 3 {
		if _, err := db.Exec(`INSERT INTO people (id, name) VALUES ($1, $2)`, i, "Person"); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()

	const query = `SELECT id FROM people WHERE id >= $1 ORDER BY id`
	outer, err := tx.Query(query, 0)
	if err != nil {
		t.Fatalf("outer query: %v", err)
	}
	var pairs int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatalf("scan outer: %v", err)
		}
		// The same text again while the outer rows are open must run on a
		// statement of its own and leave the outer rows where they are.
		inner, err := tx.Query(query, id)
		if err != nil {
			t.Fatalf("inner query: %v", err)
		}
		for inner.Next() {
			pairs++
		}
		if err := inner.Close(); err != nil {
			t.Fatalf("close inner: %v", err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatalf("outer rows: %v", err)
	}
	outer.Close()
	if pairs != 6 {
		t.Errorf("pairs = %d, want 6 (3+2+1)", pairs)
	}
}

func TestPreparedStatementInTransaction(t *testing.T) {
	db := openTest(t)
	stmt, err := db.Prepare(`INSERT INTO people (id, name) VALUES ($1, $2)`)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	for i := range 3 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatalf("begin: %v", err)
		}
		if _, err := tx.Stmt(stmt).Exec(i, "Person"); err != nil {
			t.Fatalf("exec %d: %v", i, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	if err := stmt.Close(); err != nil {
		t.Fatalf("close statement: %v", err)
	}
	// The statement stays usable on the connection after the sql.Stmt that
	// prepared it is closed.
	if _, err := db.Exec(`INSERT INTO people (id, name) VALUES ($1, $2)`, 3, "Person"); err != nil {
		t.Fatalf("exec after close: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM people`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 4 {
		t.Errorf("count = %d, want 4", n)
	}
}

func TestSeveralStatementsNotCached(t *testing.T) {
	db := openTest(t)
	const script = `INSERT INTO people (id, name) VALUES (1, 'A'); INSERT INTO people (id, name) VALUES (2, 'B')`
	if _, err := db.Exec(script); err != nil {
		t.Fatalf("exec script: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM people`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 2 {
		t.Errorf("count = %d, want 2: both statements of the script run", n)
	}
	if cached(t, db)[script] {
		t.Errorf("script with two statements was cached")
	}
}

func TestFailedStatementLeavesCacheUsable(t *testing.T) {
	db := openTest(t)
	const insert = `INSERT INTO people (id, name) VALUES ($1, $2)`
	if _, err := db.Exec(insert, 1, "Person"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if _, err := db.Exec(insert, 1, "Person"); err == nil {
		t.Fatalf("second insert of id 1 succeeded, want a constraint error")
	}
	if _, err := db.Exec(insert, 2, "Person"); err != nil {
		t.Fatalf("insert after the failure: %v", err)
	}
}
