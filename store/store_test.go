package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// testClock sets db's clock to at and returns a function that moves it.
// The store's writer reads the clock on a goroutine of its own, so a test
// that moves the clock after its first transaction must do it this way.
func testClock(db *store.DB, at time.Time) (set func(time.Time)) {
	var now atomic.Pointer[time.Time]
	now.Store(&at)
	db.Now = func() time.Time { return *now.Load() }
	return func(t time.Time) { now.Store(&t) }
}

// seed creates an organisation and two services that take births.
func seed(t testing.TB, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.UpsertOrganisation(ctx, joinedup.Organisation{ID: "council", Name: "Test Council"}); err != nil {
		t.Fatalf("upsert organisation: %v", err)
	}
	for _, id := range []joinedup.ServiceID{"school", "gp"} {
		s := &joinedup.Service{
			ID: id, Organisation: "council", Name: string(id), EventTypes: []string{joinedup.EventBirthRegistered},
			Fields: []string{"child.name"}, Purpose: "test", Secret: "whsec_dGVzdA==",
			Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:1/" + string(id)},
		}
		if err := db.CreateService(ctx, s); err != nil {
			t.Fatalf("create service %s: %v", id, err)
		}
	}
}

// newEvent registers a birth with deliveries to the given services.
func newEvent(t *testing.T, db *store.DB, services ...joinedup.ServiceID) *joinedup.LifeEvent {
	t.Helper()
	ev := birthEvent(services...)
	if err := db.CreateLifeEvent(context.Background(), ev); err != nil {
		t.Fatalf("create life event: %v", err)
	}
	return ev
}

// birthEvent returns a birth, not yet stored, with consent given to the
// given services and a delivery to each.
func birthEvent(services ...joinedup.ServiceID) *joinedup.LifeEvent {
	ev := &joinedup.LifeEvent{
		ID: joinedup.EventID(joinedup.NewID("evt")), Reference: joinedup.NewReference(),
		Type: joinedup.EventBirthRegistered, Payload: json.RawMessage(`{"child":{"name":{"given":"Zoë"}}}`),
		Consent: joinedup.Consent{ID: joinedup.ConsentID(joinedup.NewID("con")), GivenBy: joinedup.Name{Given: "Sam", Family: "O’Neill"},
			Capacity: "father", OnBehalf: []string{"child"}, Purpose: joinedup.PurposeTellUsOnce, Basis: "consent"},
	}
	for _, s := range services {
		ev.Consent.Decisions = append(ev.Consent.Decisions, joinedup.ConsentDecision{Service: s, Decision: joinedup.ConsentGiven})
		ev.Deliveries = append(ev.Deliveries, &joinedup.Delivery{ID: joinedup.DeliveryID(joinedup.NewID("dlv")), Service: s, Kind: ev.Type})
	}
	return ev
}

// drainOutbox publishes every outbox message and returns their delivery ids.
func drainOutbox(t *testing.T, db *store.DB) []joinedup.DeliveryID {
	t.Helper()
	var out []joinedup.DeliveryID
	_, err := db.RelayOutbox(context.Background(), 100, func(msgs []store.OutboxMessage) []string {
		var ids []string
		for _, m := range msgs {
			out = append(out, m.Delivery)
			ids = append(ids, m.MsgID)
		}
		return ids
	})
	if err != nil {
		t.Fatalf("relay outbox: %v", err)
	}
	return out
}

func TestServices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)

		got, err := db.FindService(ctx, "school")
		if err != nil {
			t.Fatalf("find service: %v", err)
		}
		if got.Endpoint.URL != "http://127.0.0.1:1/school" || len(got.Fields) != 1 || !got.Takes(joinedup.EventBirthRegistered) {
			t.Errorf("found service %+v, want the one created", got)
		}

		dup := &joinedup.Service{ID: "school", Organisation: "council", Endpoint: joinedup.Endpoint{Kind: "webhook"}}
		if err := db.CreateService(ctx, dup); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("create duplicate service: got %v, want conflict", err)
		}
		orphan := &joinedup.Service{ID: "x", Organisation: "nobody", Endpoint: joinedup.Endpoint{Kind: "webhook"}}
		if err := db.CreateService(ctx, orphan); joinedup.ErrorCode(err) != joinedup.EINVALID {
			t.Errorf("create service of unknown organisation: got %v, want invalid", err)
		}
		if _, err := db.FindService(ctx, "missing"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("find missing service: got %v, want not found", err)
		}
		all, err := db.ListServices(ctx)
		if err != nil || len(all) != 2 {
			t.Errorf("list services: got %d services, err %v; want 2", len(all), err)
		}
	})
}

func TestLifeEventRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school", "gp")

		got, err := db.FindLifeEventByReference(ctx, ev.Reference)
		if err != nil {
			t.Fatalf("find by reference: %v", err)
		}
		if string(got.Payload) != string(ev.Payload) {
			t.Errorf("payload = %s, want %s", got.Payload, ev.Payload)
		}
		if got.Consent.GivenBy != ev.Consent.GivenBy {
			t.Errorf("consent given by %+v, want %+v", got.Consent.GivenBy, ev.Consent.GivenBy)
		}
		if len(got.Deliveries) != 2 || got.Deliveries[0].State != joinedup.StatePending {
			t.Errorf("deliveries = %+v, want two pending", got.Deliveries)
		}
		// The time given back on creation is the time stored, to the
		// microsecond, so the two read the same in an API response.
		if got.RegisteredAt != ev.RegisteredAt {
			t.Errorf("registered at %v, want %v as returned on creation", got.RegisteredAt, ev.RegisteredAt)
		}
		if _, err := db.FindLifeEvent(ctx, "evt_missing"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("find missing event: got %v, want not found", err)
		}

		page, err := db.ListLifeEvents(ctx, joinedup.LifeEventFilter{State: joinedup.StatePending})
		if err != nil || page.Total != 1 || len(page.Items) != 1 {
			t.Errorf("list pending events: got %d of %d, err %v; want 1 of 1", len(page.Items), page.Total, err)
		}
	})
}

// TestRelayPublishesEachMessageOnce relays many messages a few at a time,
// so that reads overlap the deletes of earlier calls, and checks that each
// message is published once and the outbox ends empty.
func TestRelayPublishesEachMessageOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		for range 30 {
			newEvent(t, db, "school", "gp")
		}
		published := map[string]int{}
		for {
			n, err := db.RelayOutbox(ctx, 7, func(msgs []store.OutboxMessage) []string {
				var ids []string
				for _, m := range msgs {
					published[m.MsgID]++
					ids = append(ids, m.MsgID)
				}
				return ids
			})
			if err != nil {
				t.Fatalf("relay outbox: %v", err)
			}
			if n == 0 {
				break
			}
		}
		if len(published) != 60 {
			t.Errorf("published %d messages, want 60", len(published))
		}
		for id, n := range published {
			if n != 1 {
				t.Errorf("message %s published %d times, want once", id, n)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			depth, err := db.OutboxDepth(ctx)
			if err != nil {
				t.Fatalf("outbox depth: %v", err)
			}
			if depth == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("outbox still holds %d messages after relaying them all", depth)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestLoadTasks checks that LoadTasks returns the task of each delivery
// named, as LoadTask does, for lists that span several queries and
// name a delivery twice, and leaves out a delivery that does not exist.
func TestLoadTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		var ids []joinedup.DeliveryID
		for range 17 {
			ev := newEvent(t, db, "school", "gp")
			ids = append(ids, ev.Deliveries[0].ID, ev.Deliveries[1].ID)
		}
		for _, n := range []int{0, 1, 3, 32, 34} {
			requested := append(slices.Clone(ids[:n]), "del_unknown")
			if n > 0 {
				requested = append(requested, ids[0])
			}
			tasks, err := db.LoadTasks(ctx, requested)
			if err != nil {
				t.Fatalf("LoadTasks(%d deliveries): %v", n, err)
			}
			if len(tasks) != n {
				t.Errorf("LoadTasks(%d deliveries, an unknown one and a repeat) returned %d tasks, want %d", n, len(tasks), n)
			}
			for _, id := range ids[:n] {
				single, err := db.LoadTask(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(single, tasks[id]); diff != "" {
					t.Errorf("LoadTasks's task of %s differs from LoadTask's (-single +many):\n%s", id, diff)
				}
			}
		}
		if _, err := db.LoadTask(ctx, "del_unknown"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("LoadTask(unknown delivery) = %v, want ENOTFOUND", err)
		}
	})
}

func TestDeliveryLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school", "gp")

		if got := drainOutbox(t, db); len(got) != 2 {
			t.Fatalf("outbox held %d messages, want 2", len(got))
		}
		if got := drainOutbox(t, db); len(got) != 0 {
			t.Fatalf("outbox held %d messages after draining, want 0", len(got))
		}

		school, gp := ev.Deliveries[0].ID, ev.Deliveries[1].ID
		task, err := db.LoadTask(ctx, school)
		if err != nil {
			t.Fatalf("load task: %v", err)
		}
		if task.Reference != ev.Reference || task.Service.ID != "school" || task.Generation != 0 {
			t.Errorf("task = %+v, want the school's delivery of generation 0", task)
		}

		// The school acts and asks for a deferred action; repeating the
		// outcome changes nothing.
		outcome := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded",
			Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}}}
		for i, want := range []bool{true, false} {
			changed, err := db.RecordOutcome(ctx, "school", school, outcome)
			if err != nil || changed != want {
				t.Errorf("record outcome %d: changed %v, err %v; want %v", i, changed, err, want)
			}
		}
		if _, err := db.RecordOutcome(ctx, "gp", school, outcome); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("outcome from another service: got %v, want not found", err)
		}
		// A later callback that contradicts the final outcome is refused,
		// and an "accepted" after it changes nothing.
		contradiction := joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "Not recorded"}
		if _, err := db.RecordOutcome(ctx, "school", school, contradiction); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("contradicting outcome: got %v, want conflict", err)
		}
		resummarised := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded twice"}
		if _, err := db.RecordOutcome(ctx, "school", school, resummarised); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("acted with another summary: got %v, want conflict", err)
		}
		if changed, err := db.RecordOutcome(ctx, "school", school, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil || changed {
			t.Errorf("accepted after acted: changed %v, err %v; want no change and no error", changed, err)
		}
		if d, err := db.FindDelivery(ctx, school); err != nil || d.State != joinedup.StateActed || d.Outcome == nil || d.Outcome.Summary != "Recorded" {
			t.Errorf("school delivery after a contradiction = %+v, err %v; want the first outcome", d, err)
		}

		// The GP fails until dead-lettered, then is replayed.
		if err := db.RecordFailure(ctx, gp, 0, "connection refused", time.Now().Add(time.Second), false, true); err != nil {
			t.Fatalf("record failure: %v", err)
		}
		if err := db.ReplayDelivery(ctx, gp); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("replay a retrying delivery: got %v, want conflict", err)
		}
		if err := db.RecordFailure(ctx, gp, 0, "connection refused", time.Time{}, true, true); err != nil {
			t.Fatalf("record failure: %v", err)
		}
		d, err := db.FindDelivery(ctx, gp)
		if err != nil || d.State != joinedup.StateDeadLettered || d.Attempts != 2 {
			t.Fatalf("gp delivery = %+v, err %v; want dead-lettered after 2 attempts", d, err)
		}
		// A callback of "accepted" leaves it dead-lettered.
		if changed, err := db.RecordOutcome(ctx, "gp", gp, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil || changed {
			t.Errorf("accepted by callback after dead-lettering: changed %v, err %v; want no change and no error", changed, err)
		}
		if d, err := db.FindDelivery(ctx, gp); err != nil || d.State != joinedup.StateDeadLettered || d.Attempts != 2 {
			t.Fatalf("gp delivery after an accepted callback = %+v, err %v; want dead-lettered after 2 attempts", d, err)
		}
		if err := db.ReplayDelivery(ctx, gp); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if got := drainOutbox(t, db); len(got) != 1 || got[0] != gp {
			t.Errorf("outbox after replay = %v, want [%s]", got, gp)
		}
		// An attempt of the old generation no longer counts.
		if err := db.RecordFailure(ctx, gp, 0, "late", time.Time{}, true, true); err != nil {
			t.Fatalf("record stale failure: %v", err)
		}
		if d, _ := db.FindDelivery(ctx, gp); d.State != joinedup.StatePending || d.Attempts != 0 {
			t.Errorf("gp delivery after stale failure = %s with %d attempts, want pending with 0", d.State, d.Attempts)
		}

		got, err := db.FindLifeEvent(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Actions) != 1 || got.Actions[0].State != joinedup.ActionScheduled {
			t.Errorf("actions = %+v, want one scheduled", got.Actions)
		}
	})
}

// TestClaimDelivery checks that one claim at a time holds an attempt at a
// delivery, and that a failure, an outcome or a claim that has run out
// lets the next attempt be claimed.
func TestClaimDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school", "gp")
		school, gp := ev.Deliveries[0].ID, ev.Deliveries[1].ID
		later := time.Now().Add(time.Minute)

		claim := func(id joinedup.DeliveryID, generation, attempts int, until time.Time) bool {
			t.Helper()
			claimed, err := db.ClaimDelivery(ctx, id, generation, attempts, until)
			if err != nil {
				t.Fatalf("claim %s: %v", id, err)
			}
			return claimed
		}
		if !claim(gp, 0, 0, later) {
			t.Fatal("first claim of a pending delivery failed")
		}
		if claim(gp, 0, 0, later) {
			t.Error("a second claim of the same attempt succeeded while the first runs")
		}
		if claim(school, 1, 0, later) || claim(school, 0, 1, later) {
			t.Error("a claim of another generation or attempt count succeeded")
		}

		// A failed attempt ends its claim, and the next attempt is claimed
		// with the attempts counted so far.
		if err := db.RecordFailure(ctx, gp, 0, "connection refused", time.Now(), false, true); err != nil {
			t.Fatal(err)
		}
		if claim(gp, 0, 0, later) {
			t.Error("a claim with the attempt count before the failure succeeded")
		}
		if !claim(gp, 0, 1, later) {
			t.Error("the claim of the next attempt failed after a failure")
		}

		// An outcome ends the claim, and a settled delivery takes none.
		if _, err := db.RecordOutcome(ctx, "gp", gp, joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Added"}); err != nil {
			t.Fatal(err)
		}
		if claim(gp, 0, 1, later) {
			t.Error("a settled delivery was claimed")
		}

		// A claim that has run out no longer holds the attempt.
		if !claim(school, 0, 0, time.Now().Add(-time.Second)) || !claim(school, 0, 0, later) {
			t.Error("a claim that had run out still held the attempt")
		}
	})
}

func TestDeferredActionFiresOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school")
		drainOutbox(t, db)
		due := joinedup.Date{Year: 2029, Month: 9, Day: 1}
		if _, err := db.RecordOutcome(ctx, "school", ev.Deliveries[0].ID, joinedup.Outcome{Status: joinedup.OutcomeActed,
			Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: due}}}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name  string
			today joinedup.Date
			want  int
		}{
			{"day before", due.AddDate(0, 0, -1), 0},
			{"due date", due, 1},
			{"day after", due.AddDate(0, 0, 1), 0},
		}
		for _, tt := range tests {
			fired, err := db.FireDueActions(ctx, tt.today, 10)
			if err != nil {
				t.Fatalf("%s: fire due actions: %v", tt.name, err)
			}
			if len(fired) != tt.want {
				t.Errorf("%s: fired %d actions, want %d", tt.name, len(fired), tt.want)
			}
		}
		msgs := drainOutbox(t, db)
		if len(msgs) != 1 {
			t.Fatalf("outbox after firing = %v, want one action.due delivery", msgs)
		}
		task, err := db.LoadTask(ctx, msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		var data joinedup.ActionDue
		if err := json.Unmarshal(task.Data, &data); err != nil || data.Action != "nursery-contact" || data.Due != due {
			t.Errorf("action.due data = %s (err %v), want nursery-contact on %s", task.Data, err, due)
		}
		if task.Delivery.Kind != joinedup.EventActionDue {
			t.Errorf("kind = %q, want %q", task.Delivery.Kind, joinedup.EventActionDue)
		}
	})
}

func TestWithdrawConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school", "gp")
		drainOutbox(t, db)
		school, gp := ev.Deliveries[0].ID, ev.Deliveries[1].ID
		if _, err := db.RecordOutcome(ctx, "school", school, joinedup.Outcome{Status: joinedup.OutcomeActed,
			Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}}}); err != nil {
			t.Fatal(err)
		}

		w, err := db.WithdrawConsent(ctx, ev.ID, "school")
		if err != nil {
			t.Fatalf("withdraw: %v", err)
		}
		if len(w.Notices) != 1 || len(w.Actions) != 1 || len(w.Cancelled) != 0 {
			t.Errorf("withdrawal = %+v, want one notice and one cancelled action", w)
		}
		if _, err := db.WithdrawConsent(ctx, ev.ID, "school"); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("withdraw twice: got %v, want conflict", err)
		}

		msgs := drainOutbox(t, db)
		if len(msgs) != 1 {
			t.Fatalf("outbox after withdrawal = %v, want one notice", msgs)
		}
		task, err := db.LoadTask(ctx, msgs[0])
		if err != nil || task.Delivery.Kind != joinedup.EventConsentWithdrawn || task.Service.ID != "school" {
			t.Fatalf("notice task = %+v, err %v; want a withdrawal notice to the school", task, err)
		}

		got, _ := db.FindLifeEvent(ctx, ev.ID)
		if got.Consent.Given("school") || !got.Consent.Given("gp") {
			t.Errorf("consent after withdrawal: school %v, gp %v; want false, true", got.Consent.Given("school"), got.Consent.Given("gp"))
		}
		for _, d := range got.Deliveries {
			if d.ID == gp && d.State != joinedup.StatePending {
				t.Errorf("gp delivery is %s, want untouched pending", d.State)
			}
		}
		if fired, _ := db.FireDueActions(ctx, joinedup.Date{Year: 2030, Month: 1, Day: 1}, 10); len(fired) != 0 {
			t.Errorf("cancelled action fired: %+v", fired)
		}
	})
}

// TestDeferredActionsClaimedOnce fires due actions from several goroutines
// at once, as several hub nodes would, and checks each fires exactly once.
func TestDeferredActionsClaimedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		const events = 30
		for range events {
			ev := newEvent(t, db, "school")
			if _, err := db.RecordOutcome(ctx, "school", ev.Deliveries[0].ID, joinedup.Outcome{Status: joinedup.OutcomeActed,
				Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}}}); err != nil {
				t.Fatal(err)
			}
		}
		drainOutbox(t, db)

		var mu sync.Mutex
		fired := map[joinedup.ActionID]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := db.FireDueActions(ctx, joinedup.Date{Year: 2029, Month: 9, Day: 1}, 5)
					if err != nil {
						t.Errorf("fire due actions: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, a := range got {
						fired[a.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(fired) != events {
			t.Errorf("fired %d distinct actions, want %d", len(fired), events)
		}
		for id, n := range fired {
			if n != 1 {
				t.Errorf("action %s fired %d times, want once", id, n)
			}
		}
		if got := drainOutbox(t, db); len(got) != events {
			t.Errorf("outbox holds %d action.due deliveries, want %d", len(got), events)
		}
	})
}

// TestFailedTransactionAloneRollsBack runs many transactions at once, as
// SQLite groups them into shared commits, and checks that each failed one
// is rolled back alone while the others are kept.
func TestFailedTransactionAloneRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		errFail := errors.New("deliberate failure")
		var wg sync.WaitGroup
		results := make([]error, 40)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = db.Tx(ctx, func(tx *store.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO organisations (id, name) VALUES ($1, $2)`,
						fmt.Sprintf("org-%02d", i), "Organisation"); err != nil {
						return err
					}
					if i%2 == 1 {
						return errFail
					}
					return nil
				})
			}()
		}
		wg.Wait()

		orgs, err := db.ListOrganisations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kept := map[joinedup.OrgID]bool{}
		for _, o := range orgs {
			kept[o.ID] = true
		}
		for i, err := range results {
			id := joinedup.OrgID(fmt.Sprintf("org-%02d", i))
			switch {
			case i%2 == 1 && !errors.Is(err, errFail):
				t.Errorf("transaction %d: got %v, want the deliberate failure", i, err)
			case i%2 == 1 && kept[id]:
				t.Errorf("failed transaction %d was kept", i)
			case i%2 == 0 && err != nil:
				t.Errorf("transaction %d: %v", i, err)
			case i%2 == 0 && !kept[id]:
				t.Errorf("transaction %d was lost", i)
			}
		}
	})
}

// TestOutcomeCountsEachAttemptOnce records the outcomes of one send in
// every order a worker and a callback can deliver them, and checks that
// the send is counted once.
func TestOutcomeCountsEachAttemptOnce(t *testing.T) {
	accepted := joinedup.Outcome{Status: joinedup.OutcomeAccepted, Summary: "Claim received"}
	acted := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Claim started"}
	tests := []struct {
		name  string
		steps func(t *testing.T, db *store.DB, id joinedup.DeliveryID)
		want  int
	}{
		{"worker then callback", func(t *testing.T, db *store.DB, id joinedup.DeliveryID) {
			recordOutcomes(t, db, store.OutcomeRecord{Delivery: id, Outcome: accepted, Attempt: true, AttemptsBefore: 0})
			recordOutcomes(t, db, store.OutcomeRecord{Service: "school", Delivery: id, Outcome: acted})
		}, 1},
		{"callback then worker", func(t *testing.T, db *store.DB, id joinedup.DeliveryID) {
			recordOutcomes(t, db, store.OutcomeRecord{Service: "school", Delivery: id, Outcome: acted})
			recordOutcomes(t, db, store.OutcomeRecord{Delivery: id, Outcome: accepted, Attempt: true, AttemptsBefore: 0})
		}, 1},
		{"callback alone after a crash", func(t *testing.T, db *store.DB, id joinedup.DeliveryID) {
			recordOutcomes(t, db, store.OutcomeRecord{Service: "school", Delivery: id, Outcome: acted})
		}, 1},
		{"failed attempt, then callback then worker", func(t *testing.T, db *store.DB, id joinedup.DeliveryID) {
			if err := db.RecordFailure(context.Background(), id, 0, "connection refused", time.Now().Add(time.Second), false, true); err != nil {
				t.Fatalf("record failure: %v", err)
			}
			recordOutcomes(t, db, store.OutcomeRecord{Service: "school", Delivery: id, Outcome: acted})
			recordOutcomes(t, db, store.OutcomeRecord{Delivery: id, Outcome: accepted, Attempt: true, AttemptsBefore: 1})
		}, 2},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ev := newEvent(t, db, "school")
				id := ev.Deliveries[0].ID
				tt.steps(t, db, id)

				task, err := db.LoadTask(context.Background(), id)
				if err != nil {
					t.Fatalf("load task: %v", err)
				}
				if task.Delivery.Attempts != tt.want {
					t.Errorf("attempts = %d, want %d", task.Delivery.Attempts, tt.want)
				}
				if task.Delivery.State != joinedup.StateActed {
					t.Errorf("state = %s, want %s", task.Delivery.State, joinedup.StateActed)
				}
			})
		}
	})
}

func recordOutcomes(t *testing.T, db *store.DB, records ...store.OutcomeRecord) {
	t.Helper()
	results, err := db.RecordOutcomes(context.Background(), records)
	if err != nil {
		t.Fatalf("record outcomes: %v", err)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Fatalf("record outcome %d: %v", i, r.Err)
		}
	}
}

// TestReplayStuckDelivery checks that a delivery still waiting for its
// first attempt can be replayed only once it has waited StuckAfter, and
// that the replay queues a message of a new generation.
func TestReplayStuckDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
		setClock := testClock(db, at)
		seed(t, db)
		ev := newEvent(t, db, "school")
		drainOutbox(t, db)
		id := ev.Deliveries[0].ID

		setClock(at.Add(store.StuckAfter - time.Second))
		if err := db.ReplayDelivery(ctx, id); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Fatalf("replay a delivery pending for less than %s: got %v, want conflict", store.StuckAfter, err)
		}
		setClock(at.Add(store.StuckAfter))
		if err := db.ReplayDelivery(ctx, id); err != nil {
			t.Fatalf("replay a stuck delivery: %v", err)
		}
		if got := drainOutbox(t, db); len(got) != 1 || got[0] != id {
			t.Fatalf("outbox after the replay = %v, want the delivery once", got)
		}
		task, err := db.LoadTask(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Generation != 1 || task.Delivery.State != joinedup.StatePending {
			t.Errorf("after the replay: generation %d, state %s; want generation 1, pending", task.Generation, task.Delivery.State)
		}
	})
}

// TestListDeliveriesOfService lists one service's pending deliveries with
// a limit: the page is full, although deliveries to another service came
// first.
func TestListDeliveriesOfService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		for range 3 {
			newEvent(t, db, "school", "gp")
		}
		page, err := db.ListDeliveries(ctx, joinedup.DeliveryFilter{State: joinedup.StatePending, Service: "gp", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		got, total := page.Items, page.Total
		if len(got) != 2 {
			t.Fatalf("got %d deliveries, want 2", len(got))
		}
		if total != 3 {
			t.Errorf("total = %d, want 3", total)
		}
		for _, d := range got {
			if d.Service != "gp" {
				t.Errorf("delivery %s is to %s, want gp", d.ID, d.Service)
			}
		}
		page, err = db.ListDeliveries(ctx, joinedup.DeliveryFilter{State: joinedup.StatePending, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if all, total := page.Items, page.Total; len(all) != 6 || total != 6 {
			t.Errorf("got %d deliveries of every service and a total of %d, want 6 and 6", len(all), total)
		}

		// A service officer's list keeps the deliveries to their services.
		page, err = db.ListDeliveries(ctx, joinedup.DeliveryFilter{Services: []joinedup.ServiceID{"school"}, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 2 || page.Total != 3 {
			t.Errorf("list of the school's deliveries: %d items and a total of %d, want 2 and 3", len(page.Items), page.Total)
		}
		for _, d := range page.Items {
			if d.Service != "school" {
				t.Errorf("delivery %s is to %s, want school", d.ID, d.Service)
			}
		}
		page, err = db.ListDeliveries(ctx, joinedup.DeliveryFilter{Services: []joinedup.ServiceID{}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 0 || page.Total != 0 {
			t.Errorf("list of no services: %d items and a total of %d, want none", len(page.Items), page.Total)
		}
	})
}

// TestListDeliveriesPages pages through lists of deliveries two at a
// time and checks that the pages, put together, are the whole list in
// order, with the same total on each page.
func TestListDeliveriesPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		for range 5 {
			newEvent(t, db, "school", "gp")
		}

		for _, f := range []joinedup.DeliveryFilter{
			{},
			{State: joinedup.StatePending},
			{Service: "gp"},
			{Service: "gp", NewestFirst: true},
			{State: joinedup.StatePending, Service: "school"},
		} {
			whole := f
			whole.Limit = 100
			list, err := db.ListDeliveries(ctx, whole)
			if err != nil {
				t.Fatalf("%+v: list all: %v", f, err)
			}
			all, wantTotal := list.Items, list.Total
			if len(all) != wantTotal {
				t.Fatalf("%+v: %d deliveries on one page, but a total of %d", f, len(all), wantTotal)
			}
			for i := 1; i < len(all); i++ {
				earlier := all[i-1].CreatedAt.Before(all[i].CreatedAt) ||
					all[i-1].CreatedAt.Equal(all[i].CreatedAt) && all[i-1].ID < all[i].ID
				if earlier == f.NewestFirst {
					t.Errorf("%+v: delivery %s at %v is listed before %s at %v", f, all[i-1].ID, all[i-1].CreatedAt, all[i].ID, all[i].CreatedAt)
				}
			}

			var paged []joinedup.DeliveryID
			for offset := 0; offset < wantTotal+2; offset += 2 {
				page := f
				page.Offset, page.Limit = offset, 2
				got, err := db.ListDeliveries(ctx, page)
				if err != nil {
					t.Fatalf("%+v: list at offset %d: %v", f, offset, err)
				}
				total := got.Total
				if total != wantTotal {
					t.Errorf("%+v: total at offset %d = %d, want %d", f, offset, total, wantTotal)
				}
				for _, d := range got.Items {
					paged = append(paged, d.ID)
				}
			}
			var want []joinedup.DeliveryID
			for _, d := range all {
				want = append(want, d.ID)
			}
			if !slices.Equal(paged, want) {
				t.Errorf("%+v: pages of 2 list %v, want %v", f, paged, want)
			}
		}
	})
}

// TestListDeliveriesCursors pages through lists of deliveries three at a
// time with cursors, forwards from the first page and backwards from the
// last. The pages put together must be the whole list in order, each with
// its offset in the list. A delivery that leaves the list between two
// requests must not move another past the next page, as it would with
// offsets.
func TestListDeliveriesCursors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		for range 5 {
			newEvent(t, db, "school", "gp")
		}
		drainOutbox(t, db)

		ids := func(ds []*joinedup.Delivery) []joinedup.DeliveryID {
			var out []joinedup.DeliveryID
			for _, d := range ds {
				out = append(out, d.ID)
			}
			return out
		}
		for _, f := range []joinedup.DeliveryFilter{
			{State: joinedup.StatePending},
			{Service: "gp", NewestFirst: true},
		} {
			whole := f
			whole.Limit = 100
			list, err := db.ListDeliveries(ctx, whole)
			if err != nil {
				t.Fatalf("%+v: list all: %v", f, err)
			}
			want := ids(list.Items)

			var forwards []joinedup.DeliveryID
			page := f
			page.Limit = 3
			for range len(want) {
				got, err := db.ListDeliveries(ctx, page)
				if err != nil {
					t.Fatalf("%+v: list: %v", page, err)
				}
				if got.Offset != len(forwards) || got.Total != len(want) {
					t.Errorf("%+v: offset %d and total %d, want %d and %d", page, got.Offset, got.Total, len(forwards), len(want))
				}
				forwards = append(forwards, ids(got.Items)...)
				if len(got.Items) < 3 {
					break
				}
				page.After = ptr(joinedup.CursorOf(got.Items[len(got.Items)-1]))
			}
			if !slices.Equal(forwards, want) {
				t.Errorf("%+v: pages after cursors list %v, want %v", f, forwards, want)
			}

			var backwards []joinedup.DeliveryID
			page = f
			page.Limit, page.Before = 3, ptr(joinedup.CursorOf(list.Items[len(list.Items)-1]))
			backwards = append(backwards, want[len(want)-1])
			for range len(want) {
				got, err := db.ListDeliveries(ctx, page)
				if err != nil {
					t.Fatalf("%+v: list: %v", page, err)
				}
				if wantOffset := max(len(want)-len(backwards)-3, 0); got.Offset != wantOffset {
					t.Errorf("%+v: offset %d, want %d", page, got.Offset, wantOffset)
				}
				backwards = append(ids(got.Items), backwards...)
				if len(got.Items) < 3 || got.Offset == 0 {
					break
				}
				page.Before = ptr(joinedup.CursorOf(got.Items[0]))
			}
			if !slices.Equal(backwards, want) {
				t.Errorf("%+v: pages before cursors list %v, want %v", f, backwards, want)
			}
		}

		// The first pending delivery leaves the list between the first
		// page and the second. The second page still starts with the
		// delivery after the first page's last.
		list, err := db.ListDeliveries(ctx, joinedup.DeliveryFilter{State: joinedup.StatePending, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		first, err := db.ListDeliveries(ctx, joinedup.DeliveryFilter{State: joinedup.StatePending, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.RecordFailure(ctx, first.Items[0].ID, 0, "connection refused", time.Time{}, true, true); err != nil {
			t.Fatalf("dead-letter the first delivery: %v", err)
		}
		second, err := db.ListDeliveries(ctx, joinedup.DeliveryFilter{State: joinedup.StatePending, Limit: 3, After: ptr(joinedup.CursorOf(first.Items[2]))})
		if err != nil {
			t.Fatal(err)
		}
		if len(second.Items) == 0 || second.Items[0].ID != list.Items[3].ID {
			t.Errorf("the page after the first starts with %v, want %s", ids(second.Items), list.Items[3].ID)
		}
		if second.Offset != 2 || second.Total != len(list.Items)-1 {
			t.Errorf("the page after the first has offset %d and total %d, want 2 and %d", second.Offset, second.Total, len(list.Items)-1)
		}

		if _, err := db.ListDeliveries(ctx, joinedup.DeliveryFilter{Offset: 3, After: ptr(joinedup.CursorOf(first.Items[2]))}); joinedup.ErrorCode(err) != joinedup.EINVALID {
			t.Errorf("list with an offset and a cursor: error %v, want invalid", err)
		}
	})
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// TestReplayAfterWithdrawalRefused checks that a failed delivery cannot be
// replayed once consent to tell its service was withdrawn, so that the
// service is not sent the birth again, while the withdrawal notice to the
// service can still be replayed.
func TestReplayAfterWithdrawalRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "gp")
		gp := ev.Deliveries[0].ID
		drainOutbox(t, db)
		if _, err := db.RecordOutcome(ctx, "gp", gp, joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "Recorded for manual review"}); err != nil {
			t.Fatalf("record failed outcome: %v", err)
		}
		w, err := db.WithdrawConsent(ctx, ev.ID, "gp")
		if err != nil {
			t.Fatalf("withdraw consent: %v", err)
		}
		if len(w.Notices) != 1 {
			t.Fatalf("withdrawal queued %d notices, want 1", len(w.Notices))
		}
		notices := drainOutbox(t, db)

		err = db.ReplayDelivery(ctx, gp)

		if joinedup.ErrorCode(err) != joinedup.ECONFLICT || !strings.Contains(err.Error(), "consent") {
			t.Errorf("replay after withdrawal = %v, want a conflict naming the consent", err)
		}
		if d, _ := db.FindDelivery(ctx, gp); d.State != joinedup.StateFailed {
			t.Errorf("delivery state = %s, want failed as before", d.State)
		}
		if got := drainOutbox(t, db); len(got) != 0 {
			t.Errorf("outbox after the refused replay = %v, want empty", got)
		}
		for _, notice := range notices {
			if err := db.RecordFailure(ctx, notice, 0, "connection refused", time.Time{}, true, true); err != nil {
				t.Fatalf("dead-letter the notice: %v", err)
			}
			if err := db.ReplayDelivery(ctx, notice); err != nil {
				t.Errorf("replay the withdrawal notice: %v", err)
			}
		}
	})
}

// TestListLifeEventsByService checks that a list for some services, and
// its total, count only the events with a delivery to one of them.
func TestListLifeEventsByService(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		both := newEvent(t, db, "school", "gp")
		newEvent(t, db, "school")
		for _, tt := range []struct {
			services []joinedup.ServiceID
			want     int
		}{
			{nil, 2},
			{[]joinedup.ServiceID{"gp"}, 1},
			{[]joinedup.ServiceID{"gp", "school"}, 2},
			{[]joinedup.ServiceID{}, 0},
		} {
			page, err := db.ListLifeEvents(ctx, joinedup.LifeEventFilter{Services: tt.services, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			events, total := page.Items, page.Total
			if total != tt.want || len(events) != tt.want {
				t.Errorf("services %v: %d events of %d, want %d", tt.services, len(events), total, tt.want)
			}
			if tt.want == 1 && events[0].ID != both.ID {
				t.Errorf("services %v: listed %s, want the event sent to the GP", tt.services, events[0].ID)
			}
		}

		// With a state, the delivery in that state must be to one of the
		// services: the GP's delivery is pending and the school's acted on,
		// so the school's list of acted-on events holds one and the GP's
		// none.
		if _, err := db.RecordOutcome(ctx, "school", both.Deliveries[0].ID, joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Place planned"}); err != nil {
			t.Fatalf("record outcome: %v", err)
		}
		for _, tt := range []struct {
			services []joinedup.ServiceID
			want     int
		}{
			{nil, 1},
			{[]joinedup.ServiceID{"school"}, 1},
			{[]joinedup.ServiceID{"gp"}, 0},
		} {
			page, err := db.ListLifeEvents(ctx, joinedup.LifeEventFilter{State: joinedup.StateActed, Services: tt.services, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != tt.want || len(page.Items) != tt.want {
				t.Errorf("acted on, services %v: %d events of %d, want %d", tt.services, len(page.Items), page.Total, tt.want)
			}
		}

		// Once consent to tell the GP is withdrawn, the GP's list no longer
		// counts the event, and the school's still does.
		if _, err := db.WithdrawConsent(ctx, both.ID, "gp"); err != nil {
			t.Fatalf("withdraw consent: %v", err)
		}
		for _, tt := range []struct {
			services []joinedup.ServiceID
			want     int
		}{
			{[]joinedup.ServiceID{"gp"}, 0},
			{[]joinedup.ServiceID{"school"}, 2},
			{[]joinedup.ServiceID{"gp", "school"}, 2},
		} {
			page, err := db.ListLifeEvents(ctx, joinedup.LifeEventFilter{Services: tt.services, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			events, total := page.Items, page.Total
			if total != tt.want || len(events) != tt.want {
				t.Errorf("after withdrawal, services %v: %d events of %d, want %d", tt.services, len(events), total, tt.want)
			}
		}
	})
}

// TestRecordCallbackRefusesRepeat checks that a callback message accepted
// once is refused when sent again, that a new attempt with another
// timestamp is taken, and that a message refused for another reason is
// not kept.
func TestRecordCallbackRefusesRepeat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school", "gp")
		gp := ev.Deliveries[1].ID
		acted := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Added"}
		msg := joinedup.CallbackMessage{ID: "msg_1", Timestamp: time.Now().Unix()}

		// A delivery the service does not have is refused, and the message
		// is not kept, so the next callback with it is taken.
		if _, err := db.RecordCallback(ctx, "gp", "dlv_none", acted, msg); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Fatalf("callback for a delivery that does not exist: got %v, want not found", err)
		}
		if res, err := db.RecordCallback(ctx, "gp", gp, acted, msg); err != nil || !res.Changed {
			t.Fatalf("first callback: changed %v, err %v; want recorded", res.Changed, err)
		}
		if _, err := db.RecordCallback(ctx, "gp", gp, acted, msg); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
			t.Errorf("the same message again: got %v, want unauthorized", err)
		}
		msg.Timestamp++
		if res, err := db.RecordCallback(ctx, "gp", gp, acted, msg); err != nil || res.Changed {
			t.Errorf("a new attempt of the same outcome: changed %v, err %v; want no change and no error", res.Changed, err)
		}
	})
}

// TestWithdrawalAfterFailedAttempts checks that a withdrawal tells the
// service once whenever a delivery may have reached it: when an attempt
// failed before the withdrawal, and when an attempt in flight at the
// withdrawal failed or returned an outcome afterwards. A delivery never
// attempted gets no notice.
func TestWithdrawalAfterFailedAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		notices := func(ev *joinedup.LifeEvent, service joinedup.ServiceID) int {
			t.Helper()
			return countNotices(t, db, ev, service)
		}

		// An attempt failed before the withdrawal.
		retrying := newEvent(t, db, "school")
		if err := db.RecordFailure(ctx, retrying.Deliveries[0].ID, 0, "timeout", time.Now().Add(time.Minute), false, true); err != nil {
			t.Fatal(err)
		}
		w, err := db.WithdrawConsent(ctx, retrying.ID, "school")
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Cancelled) != 1 || len(w.Notices) != 1 {
			t.Errorf("withdrawal after a failed attempt = %+v, want the delivery cancelled and a notice", w)
		}
		if n := notices(retrying, "school"); n != 1 {
			t.Errorf("notices after a failed attempt = %d, want 1", n)
		}

		// Never attempted, then an attempt in flight fails twice.
		inFlight := newEvent(t, db, "school")
		if w, err := db.WithdrawConsent(ctx, inFlight.ID, "school"); err != nil || len(w.Notices) != 0 {
			t.Fatalf("withdrawal before any attempt = %+v, %v; want no notice", w, err)
		}
		if n := notices(inFlight, "school"); n != 0 {
			t.Errorf("notices before any attempt = %d, want 0", n)
		}
		for range 2 {
			if err := db.RecordFailure(ctx, inFlight.Deliveries[0].ID, 0, "timeout", time.Now().Add(time.Minute), false, true); err != nil {
				t.Fatal(err)
			}
		}
		if n := notices(inFlight, "school"); n != 1 {
			t.Errorf("notices after an attempt in flight failed = %d, want 1", n)
		}

		// Never attempted, then an attempt in flight returns "accepted".
		accepted := newEvent(t, db, "school")
		if _, err := db.WithdrawConsent(ctx, accepted.ID, "school"); err != nil {
			t.Fatal(err)
		}
		recordOutcomes(t, db, store.OutcomeRecord{Delivery: accepted.Deliveries[0].ID, Outcome: joinedup.Outcome{Status: joinedup.OutcomeAccepted}, Attempt: true})
		recordOutcomes(t, db, store.OutcomeRecord{Delivery: accepted.Deliveries[0].ID, Outcome: joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Added"}})
		if n := notices(accepted, "school"); n != 1 {
			t.Errorf("notices after an attempt in flight was accepted = %d, want 1", n)
		}

		// Attempts that never connected, before and during the
		// withdrawal, reached nothing.
		unreached := newEvent(t, db, "school")
		id := unreached.Deliveries[0].ID
		if err := db.RecordFailure(ctx, id, 0, "connection refused", time.Now().Add(time.Minute), false, false); err != nil {
			t.Fatal(err)
		}
		if d, err := db.FindDelivery(ctx, id); err != nil || d.Reached || d.Attempts != 1 {
			t.Fatalf("delivery after an attempt that never connected = %+v, %v; want 1 attempt, not reached", d, err)
		}
		if w, err := db.WithdrawConsent(ctx, unreached.ID, "school"); err != nil || len(w.Notices) != 0 {
			t.Fatalf("withdrawal after an attempt that never connected = %+v, %v; want no notice", w, err)
		}
		if err := db.RecordFailure(ctx, id, 0, "connection refused", time.Now().Add(time.Minute), false, false); err != nil {
			t.Fatal(err)
		}
		if n := notices(unreached, "school"); n != 0 {
			t.Errorf("notices after attempts that never connected = %d, want 0", n)
		}

		// An attempt of a generation before a replay reached the service.
		replayed := newEvent(t, db, "school")
		id = replayed.Deliveries[0].ID
		if err := db.RecordFailure(ctx, id, 0, "status 500", time.Time{}, true, true); err != nil {
			t.Fatal(err)
		}
		if err := db.ReplayDelivery(ctx, id); err != nil {
			t.Fatal(err)
		}
		if d, err := db.FindDelivery(ctx, id); err != nil || !d.Reached || d.Attempts != 0 {
			t.Fatalf("delivery after a replay = %+v, %v; want 0 attempts, reached", d, err)
		}
		if w, err := db.WithdrawConsent(ctx, replayed.ID, "school"); err != nil || len(w.Notices) != 1 {
			t.Errorf("withdrawal after a replay = %+v, %v; want a notice", w, err)
		}
	})
}

// TestCutOffAttempts checks that attempts the audit log shows disclosed,
// but whose result was never recorded, are counted once, and that a
// delivery withdrawn since gets one withdrawal notice.
func TestCutOffAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		log := newAuditLog(t, db)

		ev := newEvent(t, db, "school", "gp")
		school, gp := ev.Deliveries[0].ID, ev.Deliveries[1].ID
		if got, err := db.DisclosedAttempt(ctx, ev.ID, school, 0); err != nil || got != 0 {
			t.Fatalf("disclosed attempt before any = %d, %v; want 0", got, err)
		}
		// Attempt 1 failed and was recorded, attempt 2 was cut off. The
		// gp's disclosure and one of an earlier generation do not count.
		appendDisclosure(t, log, ev, school, 0, 1)
		if err := db.RecordFailure(ctx, school, 0, "timeout", time.Now(), false, true); err != nil {
			t.Fatal(err)
		}
		appendDisclosure(t, log, ev, school, 0, 2)
		appendDisclosure(t, log, ev, gp, 0, 5)
		appendDisclosure(t, log, ev, school, 1, 7)
		got, err := db.DisclosedAttempt(ctx, ev.ID, school, 0)
		if err != nil || got != 2 {
			t.Fatalf("disclosed attempt = %d, %v; want 2", got, err)
		}
		for i, want := range []bool{true, false} {
			counted, err := db.RecordCutOffAttempts(ctx, school, 0, got, false)
			if err != nil || counted != want {
				t.Errorf("count cut-off attempts, call %d: %v, %v; want %v", i, counted, err, want)
			}
		}
		d, err := db.FindDelivery(ctx, school)
		if err != nil || d.Attempts != 2 || d.State != joinedup.StateRetrying || d.LastError != store.CutOffError {
			t.Errorf("delivery after a cut-off attempt = %+v, %v; want retrying after 2 attempts", d, err)
		}

		// A delivery never attempted by the store's count, withdrawn, and
		// then found to have had an attempt cut off gets one notice.
		withdrawn := newEvent(t, db, "school")
		id := withdrawn.Deliveries[0].ID
		if w, err := db.WithdrawConsent(ctx, withdrawn.ID, "school"); err != nil || len(w.Notices) != 0 {
			t.Fatalf("withdrawal = %+v, %v; want no notice", w, err)
		}
		appendDisclosure(t, log, withdrawn, id, 0, 1)
		for range 2 {
			if counted, err := db.RecordCutOffAttempts(ctx, id, 0, 1, false); err != nil || counted {
				t.Fatalf("count cut-off attempts of a withdrawn delivery: %v, %v; want false", counted, err)
			}
		}
		if notices := countNotices(t, db, withdrawn, "school"); notices != 1 {
			t.Errorf("withdrawal notices after a cut-off attempt = %d, want 1", notices)
		}
	})
}

// TestWithdrawalDuringAttempt withdraws consent while an attempt is under
// way: the audit log shows its disclosure, and no failure or outcome is
// recorded yet. The delivery reads as reached, the withdrawal reports it
// under way and queues no notice, and the attempt's end decides whether
// a notice follows.
func TestWithdrawalDuringAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		log := newAuditLog(t, db)
		tests := []struct {
			name                    string
			earlier                 bool // an earlier attempt failed after it reached the service
			reached                 bool // the attempt under way reaches the service
			wantAttempts, wantNotes int
		}{
			{"first attempt reaches the service", false, true, 1, 1},
			{"first attempt does not connect", false, false, 1, 0},
			{"retry does not connect after one that reached", true, false, 2, 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ev := newEvent(t, db, "school")
				id := ev.Deliveries[0].ID
				attempt := 1
				if tt.earlier {
					if err := db.RecordFailure(ctx, id, 0, "status 500", time.Now(), false, true); err != nil {
						t.Fatal(err)
					}
					attempt = 2
				}
				appendDisclosure(t, log, ev, id, 0, attempt)
				got, err := db.FindLifeEvent(ctx, ev.ID)
				if err != nil || !got.Deliveries[0].Reached {
					t.Fatalf("delivery with an attempt under way = %+v, %v; want reached", got.Deliveries[0], err)
				}

				// The notice waits for the attempt, so that it cannot
				// reach the service before the birth does.
				w, err := db.WithdrawConsent(ctx, ev.ID, "school")
				if err != nil {
					t.Fatal(err)
				}
				if len(w.Underway) != 1 || w.Underway[0] != id || len(w.Notices) != 0 {
					t.Errorf("withdrawal = %+v, want the delivery under way and no notice yet", w)
				}
				if err := db.RecordFailure(ctx, id, 0, "timed out", time.Now().Add(time.Minute), false, tt.reached); err != nil {
					t.Fatal(err)
				}
				d, err := db.FindDelivery(ctx, id)
				if err != nil || d.State != joinedup.StateWithdrawn || d.Attempts != tt.wantAttempts || d.Reached != (tt.earlier || tt.reached) || !d.NextAttempt.IsZero() {
					t.Errorf("delivery after the attempt ended = %+v, %v; want withdrawn after %d attempts, reached %t, no next attempt",
						d, err, tt.wantAttempts, tt.earlier || tt.reached)
				}
				if n := countNotices(t, db, ev, "school"); n != tt.wantNotes {
					t.Errorf("notices after the attempt ended = %d, want %d", n, tt.wantNotes)
				}
			})
		}

		// An attempt cut off at the limit of attempts dead-letters the
		// delivery.
		ev := newEvent(t, db, "school")
		id := ev.Deliveries[0].ID
		if counted, err := db.RecordCutOffAttempts(ctx, id, 0, 1, true); err != nil || !counted {
			t.Fatalf("count a cut-off attempt at the limit: %v, %v; want counted", counted, err)
		}
		if d, err := db.FindDelivery(ctx, id); err != nil || d.State != joinedup.StateDeadLettered || d.Attempts != 1 || !d.Reached {
			t.Errorf("delivery after a cut-off attempt at the limit = %+v, %v; want dead-lettered after 1 attempt, reached", d, err)
		}
	})
}

// appendDisclosure appends to log the disclosure that the hub records
// before it sends attempt of delivery id, of the given generation, to the
// school about ev.
func appendDisclosure(t *testing.T, log *audit.Log, ev *joinedup.LifeEvent, id joinedup.DeliveryID, generation, attempt int) {
	t.Helper()
	detail, err := json.Marshal(map[string]any{"delivery": id, "generation": generation, "attempt": attempt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(context.Background(), audit.Entry{Actor: "hub", Action: audit.ActionDisclosure, Subject: string(ev.ID),
		Purpose: "testing", Reasons: []string{audit.ConsentGivenReason("school")}, Detail: detail}); err != nil {
		t.Fatal(err)
	}
}

// countNotices returns how many withdrawal notices ev has for service.
func countNotices(t *testing.T, db *store.DB, ev *joinedup.LifeEvent, service joinedup.ServiceID) int {
	t.Helper()
	got, err := db.FindLifeEvent(context.Background(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range got.Deliveries {
		if d.Service == service && d.Kind == joinedup.EventConsentWithdrawn {
			n++
		}
	}
	return n
}

// TestOrganisationNamesUnique stores an organisation whose name reads
// the same as another's, which a consent receipt could not tell apart.
// It must be refused, naming the other, and change nothing. A services
// file may swap the names of two organisations.
func TestOrganisationNamesUnique(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.UpsertOrganisation(ctx, joinedup.Organisation{ID: "riverside", Name: "Riverside Council"}); err != nil {
			t.Fatal(err)
		}
		err := db.UpsertOrganisation(ctx, joinedup.Organisation{ID: "copy", Name: "R\u0456verside  COUNCIL"})
		if joinedup.ErrorCode(err) != joinedup.ECONFLICT || !strings.Contains(err.Error(), `"riverside"`) {
			t.Errorf("store a look-alike name: error %v, want a conflict naming riverside", err)
		}
		if _, err := db.FindOrganisation(ctx, "copy"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("find the refused organisation: error %v, want not found", err)
		}
		// The organisation keeps its own name when it is stored again.
		if err := db.UpsertOrganisation(ctx, joinedup.Organisation{ID: "riverside", Name: "Riverside Council"}); err != nil {
			t.Errorf("store the organisation again: %v", err)
		}

		if err := db.UpsertOrganisation(ctx, joinedup.Organisation{ID: "hillside", Name: "Hillside Council"}); err != nil {
			t.Fatal(err)
		}
		swap := []joinedup.Organisation{{ID: "riverside", Name: "Hillside Council"}, {ID: "hillside", Name: "Riverside Council"}}
		if _, _, err := db.PutServicesFile(ctx, swap, nil); err != nil {
			t.Errorf("swap two organisations' names in a file: %v", err)
		}
		if o, err := db.FindOrganisation(ctx, "riverside"); err != nil || o.Name != "Hillside Council" {
			t.Errorf("riverside after the swap = %+v, %v; want the name Hillside Council", o, err)
		}
	})
}
