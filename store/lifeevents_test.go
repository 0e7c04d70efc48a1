package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// eventIDs returns the ids of events, in order.
func eventIDs(events []*joinedup.LifeEvent) []joinedup.EventID {
	ids := make([]joinedup.EventID, 0, len(events))
	for _, ev := range events {
		ids = append(ids, ev.ID)
	}
	return ids
}

// refusedEvent stores a birth whose informant refused every service, so
// it has consent decisions and no deliveries.
func refusedEvent(t *testing.T, db *store.DB) *joinedup.LifeEvent {
	t.Helper()
	ev := birthEvent()
	for _, s := range []joinedup.ServiceID{"gp", "school"} {
		ev.Consent.Decisions = append(ev.Consent.Decisions, joinedup.ConsentDecision{Service: s, Decision: joinedup.ConsentRefused})
	}
	if err := db.CreateLifeEvent(context.Background(), ev); err != nil {
		t.Fatalf("create life event: %v", err)
	}
	return ev
}

// actedEvent stores a birth delivered to the GP and the school. The school acts
// and schedules a deferred action. The GP accepts, and then consent for
// the GP is withdrawn, which queues a withdrawal notice. So the event has
// three deliveries of two kinds and one action.
func actedEvent(t *testing.T, db *store.DB) *joinedup.LifeEvent {
	t.Helper()
	ctx := context.Background()
	ev := newEvent(t, db, "gp", "school")
	gp, school := ev.Deliveries[0], ev.Deliveries[1]
	if gp.Service != "gp" || school.Service != "school" {
		t.Fatalf("deliveries are to %s and %s, want the GP and the school", gp.Service, school.Service)
	}
	if _, err := db.RecordOutcome(ctx, "gp", gp.ID, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil {
		t.Fatalf("record outcome: %v", err)
	}
	if _, err := db.RecordOutcome(ctx, "school", school.ID, joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Place offered",
		Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}}}); err != nil {
		t.Fatalf("record outcome: %v", err)
	}
	if _, err := db.WithdrawConsent(ctx, ev.ID, "gp"); err != nil {
		t.Fatalf("withdraw consent: %v", err)
	}
	return ev
}

// matchFindLifeEvent checks that each of events, read by the method
// named source, equals what FindLifeEvent returns for its id.
func matchFindLifeEvent(t *testing.T, db *store.DB, source string, events []*joinedup.LifeEvent) {
	t.Helper()
	for _, ev := range events {
		single, err := db.FindLifeEvent(context.Background(), ev.ID)
		if err != nil {
			t.Fatalf("find life event %s: %v", ev.ID, err)
		}
		if diff := cmp.Diff(single, ev); diff != "" {
			t.Errorf("event %s from %s differs from FindLifeEvent (-FindLifeEvent +%s):\n%s", ev.ID, source, source, diff)
		}
	}
}

func TestFindLifeEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		plain := newEvent(t, db, "gp", "school")
		refused := refusedEvent(t, db)
		acted := actedEvent(t, db)
		newEvent(t, db, "school") // not asked for

		ids := []joinedup.EventID{acted.ID, "evt_missing", refused.ID, plain.ID, acted.ID}
		got, err := db.FindLifeEvents(ctx, ids)
		if err != nil {
			t.Fatalf("find life events: %v", err)
		}
		want := []joinedup.EventID{acted.ID, refused.ID, plain.ID}
		if diff := cmp.Diff(want, eventIDs(got)); diff != "" {
			t.Fatalf("event ids (-want +got):\n%s", diff)
		}

		matchFindLifeEvent(t, db, "FindLifeEvents", got)

		// An event nothing happened to since its registration reads as it
		// was stored.
		if diff := cmp.Diff(plain, got[2]); diff != "" {
			t.Errorf("plain event differs from the one stored (-stored +found):\n%s", diff)
		}

		if got[1].Deliveries == nil || len(got[1].Deliveries) != 0 {
			t.Errorf("refused event deliveries = %#v, want an empty list", got[1].Deliveries)
		}
		if len(got[1].Consent.Decisions) != 2 || got[1].Consent.Given("gp") || got[1].Consent.Given("school") {
			t.Errorf("refused event decisions = %+v, want two refusals", got[1].Consent.Decisions)
		}
		if len(got[1].Actions) != 0 {
			t.Errorf("refused event actions = %+v, want none", got[1].Actions)
		}

		var kinds []string
		for _, d := range got[0].Deliveries {
			if d.EventID != acted.ID {
				t.Errorf("acted event has delivery %s of event %s", d.ID, d.EventID)
			}
			kinds = append(kinds, string(d.Service)+" "+d.Kind)
		}
		wantKinds := []string{"gp " + joinedup.EventBirthRegistered, "school " + joinedup.EventBirthRegistered, "gp " + joinedup.EventConsentWithdrawn}
		if diff := cmp.Diff(wantKinds, kinds); diff != "" {
			t.Errorf("acted event deliveries (-want +got):\n%s", diff)
		}
		if len(got[0].Actions) != 1 || got[0].Actions[0].Action != "nursery-contact" || got[0].Actions[0].EventID != acted.ID {
			t.Errorf("acted event actions = %+v, want the school's nursery-contact", got[0].Actions)
		}
		if got[0].Consent.Given("gp") || !got[0].Consent.Given("school") {
			t.Errorf("acted event consent: gp %v, school %v; want false, true", got[0].Consent.Given("gp"), got[0].Consent.Given("school"))
		}
	})
}

func TestFindLifeEventsNone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		newEvent(t, db, "school")

		lists := []struct {
			name string
			ids  []joinedup.EventID
		}{
			{"nil", nil},
			{"empty", []joinedup.EventID{}},
			{"missing", []joinedup.EventID{"evt_missing", "evt_other"}},
		}
		for _, l := range lists {
			got, err := db.FindLifeEvents(ctx, l.ids)
			if err != nil {
				t.Errorf("%s: find life events: %v", l.name, err)
				continue
			}
			if got == nil || len(got) != 0 {
				t.Errorf("%s: found %#v, want an empty list", l.name, got)
			}
		}
	})
}

// TestFindLifeEventsManyIDs requests more ids than SQLite binds in one
// statement, with events at the start, the middle and the end.
func TestFindLifeEventsManyIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		const count = 40_000
		ids := make([]joinedup.EventID, count)
		for i := range ids {
			ids[i] = joinedup.EventID(fmt.Sprintf("evt_missing_%d", i))
		}
		var want []joinedup.EventID
		for _, at := range []int{0, count / 2, count - 1} {
			ev := newEvent(t, db, "gp")
			ids[at] = ev.ID
			want = append(want, ev.ID)
		}

		got, err := db.FindLifeEvents(ctx, ids)
		if err != nil {
			t.Fatalf("find life events: %v", err)
		}
		if diff := cmp.Diff(want, eventIDs(got)); diff != "" {
			t.Fatalf("event ids (-want +got):\n%s", diff)
		}
		for _, ev := range got {
			if len(ev.Deliveries) != 1 || ev.Deliveries[0].EventID != ev.ID {
				t.Errorf("event %s deliveries = %+v, want its one delivery", ev.ID, ev.Deliveries)
			}
		}
	})
}

// TestListLifeEventsDetail checks that each listed event carries its own
// consent, deliveries and actions, which are read for the whole page
// together.
func TestListLifeEventsDetail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		stored := []*joinedup.LifeEvent{newEvent(t, db, "gp", "school"), refusedEvent(t, db), actedEvent(t, db)}

		page, err := db.ListLifeEvents(ctx, joinedup.LifeEventFilter{})
		if err != nil {
			t.Fatalf("list life events: %v", err)
		}
		listed, total := page.Items, page.Total
		if total != len(stored) || len(listed) != len(stored) {
			t.Fatalf("listed %d of %d events, want %d of %d", len(listed), total, len(stored), len(stored))
		}
		matchFindLifeEvent(t, db, "ListLifeEvents", listed)
	})
}

// BenchmarkRecordEvents reads the life events of a record with 20
// children, with one FindLifeEvent call for each event and with one
// FindLifeEvents call for all of them. Each event has deliveries to two
// services, one with an outcome and a deferred action. It runs on SQLite
// and, when storetest.DatabaseURLVar is set, on PostgreSQL.
func BenchmarkRecordEvents(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) *store.DB
	}{
		{"sqlite", storetest.SQLite},
		{"postgres", storetest.Postgres},
	}
	for _, backend := range backends {
		b.Run(backend.name, func(b *testing.B) {
			ctx := context.Background()
			db := backend.open(b)
			seed(b, db)
			const children = 20
			ids := make([]joinedup.EventID, 0, children)
			for range children {
				ev := birthEvent("gp", "school")
				if err := db.CreateLifeEvent(ctx, ev); err != nil {
					b.Fatal(err)
				}
				if _, err := db.RecordOutcome(ctx, "school", ev.Deliveries[1].ID, joinedup.Outcome{Status: joinedup.OutcomeActed,
					Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}}}); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, ev.ID)
			}

			b.Run("one-by-one", func(b *testing.B) {
				for b.Loop() {
					for _, id := range ids {
						if _, err := db.FindLifeEvent(ctx, id); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
			b.Run("batched", func(b *testing.B) {
				for b.Loop() {
					events, err := db.FindLifeEvents(ctx, ids)
					if err != nil {
						b.Fatal(err)
					}
					if len(events) != children {
						b.Fatalf("found %d events, want %d", len(events), children)
					}
				}
			})
		})
	}
}
