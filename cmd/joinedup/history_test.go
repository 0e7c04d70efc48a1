package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

// manyChildren is above SQLite's limit of 32,766 bound parameters, the
// limit a query with one parameter for each child's event would break.
const manyChildren = 40_000

// seedManyChildren stores a resident who is the parent of manyChildren
// birth events. For i from 1, the audit entry at seq 2i is about event i
// and the entry at seq 2i+1 about an unrelated subject. Two entries at
// seqs 100,001 and 100,002 are about the resident. The rows are written
// with SQL, because appending 80,000 entries through the audit log is slow.
func seedManyChildren(t testing.TB, db *store.DB) {
	t.Helper()
	numbers := fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) `, manyChildren)
	statements := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO accounts (id, username, role, created_at) VALUES ('parent-1', 'parent-1', 'resident', 0)`, nil},
		{numbers + `INSERT INTO life_events (id, reference, type, registered_at, payload)
			SELECT 'ev-' || i, 'REF-' || i, 'birth.registered', i, '{}' FROM n`, nil},
		{numbers + `INSERT INTO resident_children (account_id, event_id, created_at) SELECT 'parent-1', 'ev-' || i, i FROM n`, nil},
		{numbers + `INSERT INTO audit_entries (seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash)
			SELECT 2 * i, 1, i, 'staff-1', 'access', 'ev-' || i, 'care', '[]', '{}', $1 FROM n`, []any{[]byte{0}}},
		{numbers + `INSERT INTO audit_entries (seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash)
			SELECT 2 * i + 1, 1, i, 'staff-1', 'access', 'other-' || i, 'care', '[]', '{}', $1 FROM n`, []any{[]byte{0}}},
		{`INSERT INTO audit_entries (seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash)
			VALUES (100001, 1, 0, 'staff-1', 'access', 'parent-1', 'care', '[]', '{}', $1),
			       (100002, 1, 0, 'staff-1', 'access', 'parent-1', 'care', '[]', '{}', $1)`, []any{[]byte{0}}},
	}
	for _, s := range statements {
		if _, err := db.SQL().Exec(s.query, s.args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, s.query)
		}
	}
}

// openHistoryStore opens an empty store on backend, "sqlite" or
// "postgres", and closes it when the test ends.
func openHistoryStore(t testing.TB, backend string) *store.DB {
	t.Helper()
	var db *store.DB
	var err error
	if backend == "postgres" {
		db, err = postgres.Open(context.Background(), storetest.PostgresURL(t))
	} else {
		db, err = sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "joinedup.db"))
	}
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestHistoryManyChildren(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openHistoryStore(t, backend)
			seedManyChildren(t, db)
			records := &trustRecords{db: db}

			pages := []struct {
				before uint64
				limit  int
				want   []uint64
			}{
				{0, 5, []uint64{100002, 100001, 80000, 79998, 79996}},
				{79996, 3, []uint64{79994, 79992, 79990}},
				{5, 10, []uint64{4, 2}},
				{2, 10, nil},
			}
			for _, p := range pages {
				entries, err := records.History(ctx, "parent-1", p.before, p.limit)
				if err != nil {
					t.Fatalf("History(before %d, limit %d): %v", p.before, p.limit, err)
				}
				var seqs []uint64
				for _, e := range entries {
					seqs = append(seqs, e.Seq)
				}
				if !slices.Equal(seqs, p.want) {
					t.Errorf("History(before %d, limit %d) seqs = %v, want %v", p.before, p.limit, seqs, p.want)
				}
			}
		})
	}
}

// BenchmarkHistoryManyChildren reads the first page of the history of a
// resident with many children and many audit entries, on SQLite, and on
// PostgreSQL when the environment names one.
func BenchmarkHistoryManyChildren(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			db := openHistoryStore(b, backend)
			seedManyChildren(b, db)
			records := &trustRecords{db: db}
			for b.Loop() {
				if _, err := records.History(context.Background(), "parent-1", 0, 200); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHistoryLeavesOutOwnAccesses stores entries by the resident, by
// staff and by the child's other parent, and checks that History leaves
// out only the resident's own accesses.
func TestHistoryLeavesOutOwnAccesses(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openHistoryStore(t, backend)

			leaf := []any{[]byte{0}}
			statements := []struct {
				query string
				args  []any
			}{
				{`INSERT INTO accounts (id, username, role, created_at) VALUES ('parent-1', 'parent-1', 'resident', 0), ('parent-2', 'parent-2', 'resident', 0)`, nil},
				{`INSERT INTO life_events (id, reference, type, registered_at, payload) VALUES ('ev-1', 'REF-1', 'birth.registered', 0, '{}')`, nil},
				{`INSERT INTO resident_children (account_id, event_id, created_at) VALUES ('parent-1', 'ev-1', 0), ('parent-2', 'ev-1', 0)`, nil},
				{`INSERT INTO audit_entries (seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash) VALUES
					(1, 1, 0, 'parent-1', 'sign-in', 'parent-1', '', '[]', '{}', $1),
					(2, 1, 0, 'parent-1', 'access', 'parent-1', 'subject-access', '[]', '{}', $1),
					(3, 1, 0, 'parent-1', 'access', 'ev-1', 'subject-access', '[]', '{}', $1),
					(4, 1, 0, 'parent-1', 'consent.withdrawn', 'ev-1', '', '[]', '{}', $1),
					(5, 1, 0, 'staff-1', 'access', 'parent-1', 'social-care', '[]', '{}', $1),
					(6, 1, 0, 'staff-1', 'access', 'ev-1', 'social-care', '[]', '{}', $1),
					(7, 1, 0, 'parent-2', 'access', 'ev-1', 'subject-access', '[]', '{}', $1),
					(8, 1, 0, 'parent-2', 'access', 'parent-2', 'subject-access', '[]', '{}', $1)`, leaf},
			}
			for _, s := range statements {
				if _, err := db.SQL().Exec(s.query, s.args...); err != nil {
					t.Fatalf("seed: %v\n%s", err, s.query)
				}
			}

			entries, err := (&trustRecords{db: db}).History(ctx, "parent-1", 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, e := range entries {
				seqs = append(seqs, e.Seq)
			}
			if want := []uint64{7, 6, 5, 4, 1}; !slices.Equal(seqs, want) {
				t.Errorf("History(parent-1) seqs = %v, want %v: every entry but the resident's own accesses (2 and 3) and the other parent's read of their own record (8)", seqs, want)
			}
		})
	}
}

// TestSearchResidentsWildcards checks that a search for a user name
// finds it when the name holds "_", and that "%" and "_" each match only
// themselves rather than every resident.
func TestSearchResidentsWildcards(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openHistoryStore(t, backend)
			for i, name := range []string{"j_smith", "jasmith", "k-jones"} {
				a := &auth.Account{ID: fmt.Sprintf("acct-search-%d", i), Username: name, Role: policy.RoleResident}
				if err := db.CreateAccount(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			records := &trustRecords{db: db}
			for query, want := range map[string][]string{
				"j_smith": {"j_smith"},
				"_":       {"j_smith"},
				"%":       nil,
				"!":       nil,
				"smith":   {"j_smith", "jasmith"},
			} {
				found, err := records.SearchResidents(ctx, query, 10)
				if err != nil {
					t.Fatalf("search %q: %v", query, err)
				}
				var got []string
				for _, a := range found {
					got = append(got, a.Username)
				}
				if !slices.Equal(got, want) {
					t.Errorf("search %q found %v, want %v", query, got, want)
				}
			}
		})
	}
}
