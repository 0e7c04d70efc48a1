package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

func TestListLegacyKeyedEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		var legacy []joinedup.EventID
		for i := range 5 {
			ev := birthEvent("school")
			if i%2 == 0 {
				ev.DedupeKey = fmt.Sprintf("%s%064d", joinedup.LegacyBirthKeyPrefix, i)
				legacy = append(legacy, ev.ID)
			} else {
				ev.DedupeKey = fmt.Sprintf("current:%d", i)
			}
			if err := db.CreateLifeEvent(ctx, ev); err != nil {
				t.Fatalf("create life event: %v", err)
			}
		}
		newEvent(t, db, "gp") // no key at all
		// The list is in order of id, and two ids made within one
		// millisecond need not sort in the order they were made.
		slices.Sort(legacy)

		got, err := db.ListLegacyKeyedEvents(ctx, "", 2)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(got) != 2 || got[0].ID != legacy[0] || got[1].ID != legacy[1] {
			t.Fatalf("first page = %v, want %v", ids(got), legacy[:2])
		}
		if !strings.HasPrefix(got[0].DedupeKey, joinedup.LegacyBirthKeyPrefix) || got[0].Reference == "" || len(got[0].Payload) == 0 {
			t.Errorf("event not filled: %+v", got[0])
		}
		got, err = db.ListLegacyKeyedEvents(ctx, legacy[1], 2)
		if err != nil {
			t.Fatalf("list after: %v", err)
		}
		if len(got) != 1 || got[0].ID != legacy[2] {
			t.Fatalf("second page = %v, want %v", ids(got), legacy[2:])
		}

		// A replaced key leaves the list.
		if err := db.ReplaceDedupeKey(ctx, legacy[0], storedKey(t, db, legacy[0]), "current:replaced"); err != nil {
			t.Fatalf("replace key: %v", err)
		}
		got, err = db.ListLegacyKeyedEvents(ctx, "", 10)
		if err != nil {
			t.Fatalf("list after replacing: %v", err)
		}
		if len(got) != 2 || got[0].ID != legacy[1] {
			t.Fatalf("after replacing = %v, want %v", ids(got), legacy[1:])
		}
	})
}

// TestLegacyKeyQueryUsesIndex checks that the search for legacy keys is
// served by the partial index that holds only such events, so that a
// start of the hub does not read every life event.
func TestLegacyKeyQueryUsesIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		plan := explain(t, db, store.LegacyKeyQuery(500), "")
		if !strings.Contains(plan, "life_events_legacy_dedupe_key") {
			t.Errorf("the query does not use the partial index; plan:\n%s", plan)
		}
	})
}

// explain returns the plan that db's backend makes for query, one line
// per row of EXPLAIN.
func explain(t *testing.T, db *store.DB, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatalf("connection: %v", err)
	}
	defer conn.Close()

	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect() == store.Postgres {
		// PostgreSQL reads a small table whole, whatever its indexes.
		// With sequential scans off, the plan shows whether an index can
		// serve the query.
		if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
			t.Fatalf("set enable_seqscan: %v", err)
		}
		defer conn.ExecContext(ctx, `RESET enable_seqscan`)
		prefix = "EXPLAIN "
	}

	rows, err := conn.QueryContext(ctx, prefix+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("plan columns: %v", err)
	}

	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan plan: %v", err)
		}
		fmt.Fprintln(&plan, vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	return plan.String()
}

func storedKey(t *testing.T, db *store.DB, id joinedup.EventID) string {
	t.Helper()
	var key string
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT dedupe_key FROM life_events WHERE id = $1`, id).Scan(&key); err != nil {
		t.Fatalf("read key: %v", err)
	}
	return key
}

func ids(evs []*joinedup.LifeEvent) []joinedup.EventID {
	out := make([]joinedup.EventID, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

// BenchmarkLegacyKeySearch measures the search that each start of the
// hub makes for legacy keys, on SQLite with 100,000 births whose keys are
// all current. "index" is the query the store runs. "scan" is the same
// search with the pattern as a parameter, which no index serves.
func BenchmarkLegacyKeySearch(b *testing.B) {
	db := storetest.SQLite(b)
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
		INSERT INTO life_events (id, reference, type, registered_at, registered_by, payload, dedupe_key)
		SELECT printf('evt_%08d', i), printf('JU-%08d', i), 'birth.registered', i, '',
			'{"child":{"name":{"given":"Zoë"}}}', printf('current:%064d', i) FROM n`); err != nil {
		b.Fatalf("insert births: %v", err)
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if evs, err := db.ListLegacyKeyedEvents(ctx, "", 500); err != nil || len(evs) != 0 {
				b.Fatalf("list: %v, %d events", err, len(evs))
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM life_events WHERE dedupe_key LIKE $1 ESCAPE '\' AND id > $2`,
				joinedup.LegacyBirthKeyPrefix+"%", "").Scan(&n); err != nil || n != 0 {
				b.Fatalf("scan: %v, %d events", err, n)
			}
		}
	})
}

// TestActionsQueryUsesIndex checks that reading a life event's deferred
// actions is served by an index on event_id rather than a scan of every
// deferred action.
func TestActionsQueryUsesIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		plan := explain(t, db, `SELECT id FROM deferred_actions WHERE event_id IN ($1, $2) ORDER BY due, id`, "evt_a", "evt_b")
		if !strings.Contains(plan, "deferred_actions_event") {
			t.Errorf("the query does not use the index on event_id; plan:\n%s", plan)
		}
	})
}

// TestDeliveryListQueriesUseIndexes checks that each kind of delivery
// list reads its page in order from an index, by offset or from a cursor
// in either direction, so that a page neither scans every delivery nor
// sorts every match.
func TestDeliveryListQueriesUseIndexes(t *testing.T) {
	cursor := &joinedup.DeliveryCursor{At: time.Unix(1_800_000_000, 0), ID: "dlv_x"}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, c := range []struct {
			filter joinedup.DeliveryFilter
			index  string
		}{
			{joinedup.DeliveryFilter{}, "deliveries_created"},
			{joinedup.DeliveryFilter{NewestFirst: true}, "deliveries_created"},
			{joinedup.DeliveryFilter{State: joinedup.StateFailed}, "deliveries_state"},
			{joinedup.DeliveryFilter{Service: "gp", NewestFirst: true}, "deliveries_service"},
			{joinedup.DeliveryFilter{State: joinedup.StateFailed, Service: "gp"}, "deliveries_"},
			{joinedup.DeliveryFilter{State: joinedup.StateFailed, After: cursor}, "deliveries_state"},
			{joinedup.DeliveryFilter{State: joinedup.StateFailed, Before: cursor}, "deliveries_state"},
			{joinedup.DeliveryFilter{Service: "gp", NewestFirst: true, After: cursor}, "deliveries_service"},
			{joinedup.DeliveryFilter{Service: "gp", NewestFirst: true, Before: cursor}, "deliveries_service"},
		} {
			if c.filter.After == nil && c.filter.Before == nil {
				c.filter.Offset = 40
			}
			c.filter.Limit = 20
			q := store.DeliveryListQuery(c.filter)
			plan := explain(t, db, "SELECT id FROM deliveries "+q.Page, q.PageArgs...)
			if !strings.Contains(plan, c.index) {
				t.Errorf("%+v: the page does not use index %s; plan:\n%s", c.filter, c.index, plan)
			}
			if strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
				t.Errorf("%+v: the page sorts its matches; plan:\n%s", c.filter, plan)
			}
			if c.filter.State == "" && c.filter.Service == "" {
				continue
			}
			counts := []string{q.Count}
			if q.Position != "" {
				counts = append(counts, q.Position)
			}
			for _, count := range counts {
				args := q.Args
				if count == q.Position {
					args = q.PageArgs
				}
				if plan := explain(t, db, count, args...); !strings.Contains(plan, "deliveries_") {
					t.Errorf("%+v: the count %q does not use an index; plan:\n%s", c.filter, count, plan)
				}
			}
		}
	})
}

// TestLifeEventListQueriesUseIndex checks that a page of life events,
// by offset or from a cursor in either direction, is read in order from
// the index life_events_registered rather than by sorting every event:
// the whole list, as operators read it, and a registrar's, narrowed to
// their organisation. The cursor's position is counted from the same
// index. Lists narrowed by a delivery state, to a service or to a social
// worker's residents start from the deliveries or allocations that
// match, which are few, and sort only those.
func TestLifeEventListQueriesUseIndex(t *testing.T) {
	cursor := &joinedup.EventCursor{At: time.Unix(1_800_000_000, 0), ID: "evt_x"}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, narrow := range []joinedup.LifeEventFilter{
			{},
			{Organisation: "council", OrganisationAccounts: []string{"api-token"}},
		} {
			for _, place := range []joinedup.LifeEventFilter{{Offset: 40}, {After: cursor}, {Before: cursor}} {
				f := narrow
				f.Offset, f.After, f.Before, f.Limit = place.Offset, place.After, place.Before, 20
				q := store.LifeEventListQuery(f)
				plan := explain(t, db, "SELECT id FROM life_events "+q.Page, q.PageArgs...)
				if !strings.Contains(plan, "life_events_registered") {
					t.Errorf("%+v: the page does not use index life_events_registered; plan:\n%s", f, plan)
				}
				if strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort") {
					t.Errorf("%+v: the page sorts its matches; plan:\n%s", f, plan)
				}
				if q.Position != "" && narrow.Organisation == "" {
					if plan := explain(t, db, q.Position, q.PageArgs...); !strings.Contains(plan, "life_events_registered") {
						t.Errorf("%+v: the cursor's position is not counted from the index; plan:\n%s", f, plan)
					}
				}
			}
		}
	})
}
