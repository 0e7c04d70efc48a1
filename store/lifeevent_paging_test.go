package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// listEvents lists the life events that f selects, or fails t.
func listEvents(t *testing.T, db *store.DB, f joinedup.LifeEventFilter) joinedup.LifeEventPage {
	t.Helper()
	page, err := db.ListLifeEvents(context.Background(), f)
	if err != nil {
		t.Fatalf("list life events %+v: %v", f, err)
	}
	return page
}

// TestListLifeEventsCursors pages through lists of life events three at a
// time with cursors, forwards from the first page and backwards from the
// last. Three of the births share one microsecond, so the list orders
// them by id. The pages put together must be the whole list in order,
// each with its offset in the list.
func TestListLifeEventsCursors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		base := time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)
		set := testClock(db, base)
		for i := range 8 {
			at := base.Add(time.Duration(i) * time.Second)
			if i >= 3 && i <= 5 {
				at = base.Add(3 * time.Second)
			}
			set(at)
			newEvent(t, db, "school")
		}

		for _, f := range []joinedup.LifeEventFilter{
			{},
			{State: joinedup.StatePending},
			{Type: joinedup.EventBirthRegistered, Services: []joinedup.ServiceID{"school"}},
		} {
			whole := f
			whole.Limit = 100
			want := eventIDs(listEvents(t, db, whole).Items)
			if len(want) != 8 {
				t.Fatalf("%+v: the whole list has %d events, want 8", f, len(want))
			}

			var forwards []joinedup.EventID
			page := f
			page.Limit = 3
			for range len(want) {
				got := listEvents(t, db, page)
				if got.Offset != len(forwards) || got.Total != len(want) {
					t.Errorf("%+v: offset %d and total %d, want %d and %d", page, got.Offset, got.Total, len(forwards), len(want))
				}
				forwards = append(forwards, eventIDs(got.Items)...)
				if len(got.Items) < 3 {
					break
				}
				page.After = ptr(joinedup.EventCursorOf(got.Items[len(got.Items)-1]))
			}
			if !slices.Equal(forwards, want) {
				t.Errorf("%+v: pages after cursors list %v, want %v", f, forwards, want)
			}

			// From the last event backwards.
			last, err := db.FindLifeEvent(context.Background(), want[len(want)-1])
			if err != nil {
				t.Fatal(err)
			}
			backwards := []joinedup.EventID{last.ID}
			page = f
			page.Limit, page.Before = 3, ptr(joinedup.EventCursorOf(last))
			for range len(want) {
				got := listEvents(t, db, page)
				if wantOffset := max(len(want)-len(backwards)-3, 0); got.Offset != wantOffset {
					t.Errorf("%+v: offset %d, want %d", page, got.Offset, wantOffset)
				}
				backwards = append(eventIDs(got.Items), backwards...)
				if len(got.Items) < 3 || got.Offset == 0 {
					break
				}
				page.Before = ptr(joinedup.EventCursorOf(got.Items[0]))
			}
			if !slices.Equal(backwards, want) {
				t.Errorf("%+v: pages before cursors list %v, want %v", f, backwards, want)
			}
		}

		// Past either end of the list a cursor gives an empty page that
		// still reports where it is.
		all := listEvents(t, db, joinedup.LifeEventFilter{Limit: 100}).Items
		if got := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3, After: ptr(joinedup.EventCursorOf(all[len(all)-1]))}); len(got.Items) != 0 || got.Offset != len(all) || got.Total != len(all) {
			t.Errorf("the page after the last event: %d events at offset %d of %d, want none at %d of %d", len(got.Items), got.Offset, got.Total, len(all), len(all))
		}
		if got := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3, Before: ptr(joinedup.EventCursorOf(all[0]))}); len(got.Items) != 0 || got.Offset != 0 {
			t.Errorf("the page before the first event: %d events at offset %d, want none at 0", len(got.Items), got.Offset)
		}

		// Each page carries its events' consent and deliveries, as the
		// pages by offset do.
		got := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3, After: ptr(joinedup.EventCursorOf(all[0]))})
		matchFindLifeEvent(t, db, "ListLifeEvents after a cursor", got.Items)
	})
}

// TestListLifeEventsBirthBetweenPages registers a birth between the
// requests for two pages of the list, which is newest first so that the
// birth joins it at the top. The page after the first page's cursor
// starts with the event after that page's last, repeating none, and
// counts the new birth in its offset and total. The page before the
// second page's cursor is the first page again.
func TestListLifeEventsBirthBetweenPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		base := time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)
		set := testClock(db, base)
		for i := range 6 {
			set(base.Add(time.Duration(i) * time.Second))
			newEvent(t, db, "school")
		}
		before := eventIDs(listEvents(t, db, joinedup.LifeEventFilter{Limit: 100}).Items)

		first := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3})
		set(base.Add(time.Minute))
		born := newEvent(t, db, "gp")
		second := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3, After: ptr(joinedup.EventCursorOf(first.Items[2]))})

		if got := eventIDs(append(first.Items, second.Items...)); !slices.Equal(got, before) {
			t.Errorf("the two pages list %v, want each event listed before the birth once: %v", got, before)
		}
		if second.Offset != 4 || second.Total != 7 {
			t.Errorf("the second page has offset %d and total %d, want 4 and 7", second.Offset, second.Total)
		}
		back := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3, Before: ptr(joinedup.EventCursorOf(second.Items[0]))})
		if !slices.Equal(eventIDs(back.Items), eventIDs(first.Items)) || back.Offset != 1 {
			t.Errorf("the page before the second lists %v at offset %d, want the first page %v at offset 1",
				eventIDs(back.Items), back.Offset, eventIDs(first.Items))
		}
		top := listEvents(t, db, joinedup.LifeEventFilter{Limit: 3})
		if top.Items[0].ID != born.ID {
			t.Errorf("the first page starts with %s, want the new birth %s", top.Items[0].ID, born.ID)
		}
	})
}

// TestListLifeEventsStateLeavesBetweenPages lists the events with a
// dead-lettered delivery, and replays the delivery of the first event on
// the first page before the second page is read, which takes that event
// out of the list. The page after the first page's cursor still starts
// with the event after that page's last, skipping none.
func TestListLifeEventsStateLeavesBetweenPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		base := time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)
		set := testClock(db, base)
		for i := range 6 {
			set(base.Add(time.Duration(i) * time.Second))
			ev := newEvent(t, db, "school")
			if err := db.RecordFailure(ctx, ev.Deliveries[0].ID, 0, "connection refused", time.Time{}, true, true); err != nil {
				t.Fatalf("dead-letter a delivery: %v", err)
			}
		}
		newEvent(t, db, "gp") // pending, so not in the list
		deadLettered := joinedup.LifeEventFilter{State: joinedup.StateDeadLettered}
		whole := deadLettered
		whole.Limit = 100
		want := eventIDs(listEvents(t, db, whole).Items)
		if len(want) != 6 {
			t.Fatalf("%d events with a dead-lettered delivery, want 6", len(want))
		}

		page := deadLettered
		page.Limit = 2
		first := listEvents(t, db, page)
		if err := db.ReplayDelivery(ctx, first.Items[0].Deliveries[0].ID); err != nil {
			t.Fatalf("replay: %v", err)
		}
		got := eventIDs(first.Items)
		last := first.Items[len(first.Items)-1]
		for i := range len(want) {
			page.After = ptr(joinedup.EventCursorOf(last))
			next := listEvents(t, db, page)
			if i == 0 && (next.Offset != 1 || next.Total != 5) {
				t.Errorf("the second page has offset %d and total %d, want 1 and 5", next.Offset, next.Total)
			}
			got = append(got, eventIDs(next.Items)...)
			if len(next.Items) < 2 {
				break
			}
			last = next.Items[len(next.Items)-1]
		}
		if !slices.Equal(got, want) {
			t.Errorf("the pages list %v, want every event that was in the list once: %v", got, want)
		}
	})
}

// TestListLifeEventsPlacedOnce checks that a list of life events placed
// by more than one of offset, after and before is refused.
func TestListLifeEventsPlacedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := ptr(joinedup.EventCursor{At: time.Unix(1_800_000_000, 0), ID: "evt_x"})
		for _, f := range []joinedup.LifeEventFilter{
			{Offset: 1, After: c},
			{Offset: 1, Before: c},
			{After: c, Before: c},
		} {
			if _, err := db.ListLifeEvents(context.Background(), f); joinedup.ErrorCode(err) != joinedup.EINVALID {
				t.Errorf("%+v: error %v, want invalid", f, err)
			}
		}
	})
}

// TestListLifeEventsNarrowed checks the lists narrowed to a registrar's
// organisation and to a social worker's allocated residents: each holds,
// and counts, only the events of its kind, so that its pages are full.
func TestListLifeEventsNarrowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		for _, a := range []*auth.Account{
			{ID: "acc_registrar", Username: "registrar", Role: "registrar", Organisation: "council"},
			{ID: "acc_other", Username: "other-registrar", Role: "registrar", Organisation: "other-council"},
			{ID: "acc_worker", Username: "social-worker", Role: "social-worker", Organisation: "council"},
			{ID: "acc_idle", Username: "idle-worker", Role: "social-worker", Organisation: "council"},
			{ID: "acc_mother", Username: "mother", Role: "resident"},
		} {
			if err := db.CreateAccount(ctx, a); err != nil {
				t.Fatalf("create account %s: %v", a.Username, err)
			}
		}
		base := time.Date(2026, time.December, 1, 9, 0, 0, 0, time.UTC)
		set := testClock(db, base)
		register := func(by string) *joinedup.LifeEvent {
			base = base.Add(time.Second)
			set(base)
			ev := birthEvent("school")
			ev.RegisteredBy = by
			if err := db.CreateLifeEvent(ctx, ev); err != nil {
				t.Fatalf("create life event: %v", err)
			}
			return ev
		}
		ours1, theirs, token, nobody, ours2 := register("acc_registrar"), register("acc_other"), register("api-token"), register(""), register("acc_registrar")
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO worker_allocations (worker_id, resident_id, created_at) VALUES ('acc_worker', 'acc_mother', 0)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO resident_children (account_id, event_id, created_at) VALUES ('acc_mother', $1, 0), ('acc_mother', $2, 0)`, theirs.ID, nobody.ID); err != nil {
			t.Fatal(err)
		}

		for _, tt := range []struct {
			name   string
			filter joinedup.LifeEventFilter
			want   []*joinedup.LifeEvent // newest first
		}{
			{"the council's registrar", joinedup.LifeEventFilter{Organisation: "council"}, []*joinedup.LifeEvent{ours2, ours1}},
			{"the council's registrar, with the token's events", joinedup.LifeEventFilter{Organisation: "council", OrganisationAccounts: []string{"api-token"}},
				[]*joinedup.LifeEvent{ours2, token, ours1}},
			{"the other council's registrar", joinedup.LifeEventFilter{Organisation: "other-council"}, []*joinedup.LifeEvent{theirs}},
			{"an organisation without accounts", joinedup.LifeEventFilter{Organisation: "nowhere"}, nil},
			{"the mother's social worker", joinedup.LifeEventFilter{Worker: "acc_worker"}, []*joinedup.LifeEvent{nobody, theirs}},
			{"a social worker with no allocation", joinedup.LifeEventFilter{Worker: "acc_idle"}, nil},
		} {
			tt.filter.Limit = 1
			var got []joinedup.EventID
			for range 6 {
				page := listEvents(t, db, tt.filter)
				if page.Total != len(tt.want) {
					t.Errorf("%s: total %d, want %d", tt.name, page.Total, len(tt.want))
				}
				if len(page.Items) == 0 {
					break
				}
				got = append(got, eventIDs(page.Items)...)
				tt.filter.After = ptr(joinedup.EventCursorOf(page.Items[0]))
			}
			if !slices.Equal(got, eventIDs(tt.want)) {
				t.Errorf("%s: pages of one list %v, want %v", tt.name, got, eventIDs(tt.want))
			}
		}
	})
}
