package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// deliveryState returns the state and last error of delivery id.
func deliveryState(t *testing.T, db *store.DB, id joinedup.DeliveryID) (joinedup.DeliveryState, string) {
	t.Helper()
	d, err := db.FindDelivery(context.Background(), id)
	if err != nil {
		t.Fatalf("find delivery %s: %v", id, err)
	}
	return d.State, d.LastError
}

func TestRetireServiceEndsQueuedWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		nursery := joinedup.DeferredRequest{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}

		both := newEvent(t, db, "school", "gp")
		pending, gpPending := both.Deliveries[0].ID, both.Deliveries[1].ID
		retrying := newEvent(t, db, "school").Deliveries[0].ID
		if err := db.RecordFailure(ctx, retrying, 0, "connection refused", time.Now().Add(time.Minute), false, true); err != nil {
			t.Fatal(err)
		}
		delivered := newEvent(t, db, "school").Deliveries[0].ID
		if _, err := db.RecordOutcome(ctx, "school", delivered, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil {
			t.Fatal(err)
		}
		actedEvent := newEvent(t, db, "school")
		acted := actedEvent.Deliveries[0].ID
		if _, err := db.RecordOutcome(ctx, "school", acted, joinedup.Outcome{Status: joinedup.OutcomeActed,
			Deferred: []joinedup.DeferredRequest{nursery}}); err != nil {
			t.Fatal(err)
		}
		deadLettered := newEvent(t, db, "school").Deliveries[0].ID
		if err := db.RecordFailure(ctx, deadLettered, 0, "connection refused", time.Time{}, true, true); err != nil {
			t.Fatal(err)
		}

		retired, err := db.RetireService(ctx, "school")
		if err != nil {
			t.Fatalf("retire service: %v", err)
		}
		if retired.DeadLettered != 2 {
			t.Errorf("dead-lettered %d deliveries, want 2 (the pending and the retrying one)", retired.DeadLettered)
		}
		if retired.ActionsCancelled != 1 {
			t.Errorf("cancelled %d actions, want 1", retired.ActionsCancelled)
		}
		if !retired.Service.Retired() || retired.Service.ID != "school" {
			t.Errorf("retired service = %+v, want school with retiredAt set", retired.Service)
		}

		for _, id := range []joinedup.DeliveryID{pending, retrying} {
			state, lastError := deliveryState(t, db, id)
			if state != joinedup.StateDeadLettered {
				t.Errorf("queued delivery %s is %s, want dead-lettered", id, state)
			}
			if lastError != joinedup.RetiredLastError {
				t.Errorf("queued delivery %s has last error %q, want %q", id, lastError, joinedup.RetiredLastError)
			}
		}
		untouched := []struct {
			id        joinedup.DeliveryID
			state     joinedup.DeliveryState
			lastError string
		}{
			{delivered, joinedup.StateDelivered, ""},
			{acted, joinedup.StateActed, ""},
			{deadLettered, joinedup.StateDeadLettered, "connection refused"},
			{gpPending, joinedup.StatePending, ""},
		}
		for _, u := range untouched {
			state, lastError := deliveryState(t, db, u.id)
			if state != u.state || lastError != u.lastError {
				t.Errorf("delivery %s is %s with last error %q, want %s with %q", u.id, state, lastError, u.state, u.lastError)
			}
		}

		if got := drainOutbox(t, db); !slices.Equal(got, []joinedup.DeliveryID{gpPending}) {
			t.Errorf("outbox after retiring the school = %v, want only the GP's delivery %s", got, gpPending)
		}
		ev, err := db.FindLifeEvent(ctx, actedEvent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Actions) != 1 || ev.Actions[0].State != joinedup.ActionCancelled {
			t.Errorf("actions = %+v, want the school's one cancelled", ev.Actions)
		}
		if fired, err := db.FireDueActions(ctx, joinedup.Date{Year: 2030, Month: 1, Day: 1}, 10); err != nil || len(fired) != 0 {
			t.Errorf("fire due actions after retiring: fired %d, err %v; want none", len(fired), err)
		}
	})
}

func TestRetiredServiceKeptButNotOffered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		if _, err := db.RetireService(ctx, "school"); err != nil {
			t.Fatalf("retire service: %v", err)
		}

		found, err := db.FindService(ctx, "school")
		if err != nil {
			t.Fatalf("find retired service: %v", err)
		}
		if !found.Retired() {
			t.Errorf("found service has no retiredAt: %+v", found)
		}
		inUse, err := db.ListServices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(inUse) != 1 || inUse[0].ID != "gp" {
			t.Errorf("services in use = %v, want only gp", serviceIDs(inUse))
		}
		all, err := db.ListAllServices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceIDs(all); !slices.Equal(got, []joinedup.ServiceID{"gp", "school"}) {
			t.Errorf("all services = %v, want gp and school", got)
		}

		_, err = db.RetireService(ctx, "school")
		if joinedup.ErrorCode(err) != joinedup.ENOTFOUND || !strings.Contains(joinedup.ErrorMessage(err), "was removed") {
			t.Errorf("retire twice: got %v, want not found saying it was removed", err)
		}
		if _, err := db.RetireService(ctx, "missing"); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("retire a missing service: got %v, want not found", err)
		}

		again := *found
		again.Name = "New school"
		again.RetiredAt = time.Time{}
		err = db.CreateService(ctx, &again)
		if joinedup.ErrorCode(err) != joinedup.ECONFLICT || !strings.Contains(joinedup.ErrorMessage(err), "removed service had the id") {
			t.Errorf("create with a retired id: got %v, want conflict naming the removed service", err)
		}
		if err := db.PutService(ctx, &again); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
			t.Errorf("put a retired service: got %v, want conflict", err)
		}
		err = db.UpdateService(ctx, &again)
		if joinedup.ErrorCode(err) != joinedup.ENOTFOUND || !strings.Contains(joinedup.ErrorMessage(err), "was removed") {
			t.Errorf("update a retired service: got %v, want not found saying it was removed", err)
		}
		missing := again
		missing.ID = "missing"
		if err := db.UpdateService(ctx, &missing); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			t.Errorf("update a missing service: got %v, want not found", err)
		}

		after, err := db.FindService(ctx, "school")
		if err != nil {
			t.Fatal(err)
		}
		if after.Name != found.Name || !after.RetiredAt.Equal(found.RetiredAt) {
			t.Errorf("retired service after the rejected changes = %+v, want it unchanged: %+v", after, found)
		}
	})
}

func TestRetiredServiceGetsNothingNew(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		ev := newEvent(t, db, "school")
		drainOutbox(t, db)
		delivered := ev.Deliveries[0].ID
		if _, err := db.RecordOutcome(ctx, "school", delivered, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil {
			t.Fatal(err)
		}
		failed := newEvent(t, db, "school").Deliveries[0].ID
		drainOutbox(t, db)
		if err := db.RecordFailure(ctx, failed, 0, "connection refused", time.Time{}, true, true); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RetireService(ctx, "school"); err != nil {
			t.Fatalf("retire service: %v", err)
		}

		// A registration that read the services before the removal still
		// queues nothing for the school.
		late := newEvent(t, db, "school", "gp")
		state, lastError := deliveryState(t, db, late.Deliveries[0].ID)
		if state != joinedup.StateDeadLettered || lastError != joinedup.RetiredLastError {
			t.Errorf("delivery queued after retiring is %s with %q, want dead-lettered with %q", state, lastError, joinedup.RetiredLastError)
		}
		if got := drainOutbox(t, db); !slices.Equal(got, []joinedup.DeliveryID{late.Deliveries[1].ID}) {
			t.Errorf("outbox = %v, want only the GP's delivery", got)
		}

		err := db.ReplayDelivery(ctx, failed)
		if joinedup.ErrorCode(err) != joinedup.ECONFLICT || !strings.Contains(joinedup.ErrorMessage(err), "was removed") {
			t.Errorf("replay a delivery to a retired service: got %v, want conflict saying the service was removed", err)
		}
		if state, _ := deliveryState(t, db, failed); state != joinedup.StateDeadLettered {
			t.Errorf("delivery after the rejected replay is %s, want dead-lettered", state)
		}

		// The informant may still withdraw consent. The notice to the
		// retired service is recorded, but ended at once.
		w, err := db.WithdrawConsent(ctx, ev.ID, "school")
		if err != nil {
			t.Fatalf("withdraw consent for a retired service: %v", err)
		}
		if len(w.Notices) != 1 {
			t.Fatalf("withdrawal queued %d notices, want 1", len(w.Notices))
		}
		if got := drainOutbox(t, db); len(got) != 0 {
			t.Errorf("outbox after the withdrawal = %v, want empty", got)
		}
		got, err := db.FindLifeEvent(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range got.Deliveries {
			if d.Kind == joinedup.EventConsentWithdrawn && (d.State != joinedup.StateDeadLettered || d.LastError != joinedup.RetiredLastError) {
				t.Errorf("withdrawal notice is %s with %q, want dead-lettered with %q", d.State, d.LastError, joinedup.RetiredLastError)
			}
		}

		// An outcome reported after the removal is recorded, but the
		// deferred action it requests is not scheduled.
		if _, err := db.RecordOutcome(ctx, "school", delivered, joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded",
			Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: joinedup.Date{Year: 2029, Month: 9, Day: 1}}}}); err != nil {
			t.Fatalf("record outcome after retiring: %v", err)
		}
		if state, _ := deliveryState(t, db, delivered); state != joinedup.StateActed {
			t.Errorf("delivery after the late outcome is %s, want acted", state)
		}
		got, err = db.FindLifeEvent(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Actions) != 0 {
			t.Errorf("actions = %+v, want none scheduled for a retired service", got.Actions)
		}
	})
}

// TestRetireServiceDuringRegistrations retires a service while births
// naming it are stored from several goroutines, and checks that none of
// its deliveries is left queued and no message for it is left to relay.
func TestRetireServiceDuringRegistrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		const writers, perWriter = 4, 20

		var wg sync.WaitGroup
		errs := make(chan error, writers*perWriter)
		started := make(chan struct{}, writers*perWriter)
		for range writers {
			wg.Go(func() {
				for range perWriter {
					if err := db.CreateLifeEvent(ctx, birthEvent("school", "gp")); err != nil {
						errs <- err
						return
					}
					started <- struct{}{}
				}
			})
		}
		for range writers {
			<-started
		}
		if _, err := db.RetireService(ctx, "school"); err != nil {
			t.Fatalf("retire service: %v", err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("create life event: %v", err)
		}

		for _, state := range []joinedup.DeliveryState{joinedup.StatePending, joinedup.StateRetrying} {
			queued, err := db.ListDeliveries(ctx, joinedup.DeliveryFilter{State: state, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range queued.Items {
				if d.Service == "school" {
					t.Errorf("delivery %s to the retired school is still %s", d.ID, state)
				}
			}
		}
		for _, id := range drainOutbox(t, db) {
			d, err := db.FindDelivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.Service == "school" {
				t.Errorf("outbox still contains a message for delivery %s to the retired school", id)
			}
		}
	})
}

func serviceIDs(services []*joinedup.Service) []joinedup.ServiceID {
	var ids []joinedup.ServiceID
	for _, s := range services {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestRetireServiceWhileOutcomesQueueNotices retires a service while
// batches of outcomes for its deliveries are recorded. Each batch ends
// with a delivery whose consent was withdrawn in flight, whose outcome
// queues a withdrawal notice to the service. Both sides lock the service
// before its deliveries, so neither waits for the other in a cycle and
// neither fails. On PostgreSQL, locking the service only for the notice
// deadlocked in every round.
func TestRetireServiceWhileOutcomesQueueNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		for round := range 5 {
			service := joinedup.ServiceID(fmt.Sprintf("school-%d", round))
			if err := db.CreateService(ctx, &joinedup.Service{
				ID: service, Organisation: "council", Name: string(service), EventTypes: []string{joinedup.EventBirthRegistered},
				Fields: []string{"child.name"}, Purpose: "test", Secret: "whsec_dGVzdA==",
				Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:1/" + string(service)},
			}); err != nil {
				t.Fatal(err)
			}
			// Each batch locks pending deliveries, which the retirement
			// dead-letters, before the withdrawn one that queues a notice.
			acted := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded"}
			batches := make([][]store.OutcomeRecord, 4)
			for i := range batches {
				for range 30 {
					batches[i] = append(batches[i], store.OutcomeRecord{Delivery: newEvent(t, db, service).Deliveries[0].ID, Outcome: acted})
				}
				ev := newEvent(t, db, service)
				if _, err := db.WithdrawConsent(ctx, ev.ID, service); err != nil {
					t.Fatal(err)
				}
				batches[i] = append(batches[i], store.OutcomeRecord{Delivery: ev.Deliveries[0].ID, Outcome: acted})
			}
			drainOutbox(t, db)

			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for _, batch := range batches {
				wg.Go(func() {
					if _, err := db.RecordOutcomes(ctx, batch); err != nil {
						errs <- fmt.Errorf("record outcomes: %w", err)
					}
				})
			}
			wg.Go(func() {
				if _, err := db.RetireService(ctx, service); err != nil {
					errs <- fmt.Errorf("retire service: %w", err)
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("round %d: %v", round, err)
			}
		}
	})
}
