package store_test

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// TestStoreIDStaysTheSame reads a store's identity twice, and from a second
// store: the first store keeps its id, and the second has another.
func TestStoreIDStaysTheSame(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		first, err := db.StoreID(ctx)
		if err != nil {
			t.Fatalf("StoreID: %v", err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(first) {
			t.Errorf("StoreID = %q, want 32 hexadecimal digits", first)
		}
		again, err := db.StoreID(ctx)
		if err != nil {
			t.Fatalf("StoreID again: %v", err)
		}
		if again != first {
			t.Errorf("StoreID again = %q, want %q", again, first)
		}

		other, err := storetest.SQLite(t).StoreID(ctx)
		if err != nil {
			t.Fatalf("StoreID of a second store: %v", err)
		}
		if other == first {
			t.Errorf("two stores both have id %q, want different ids", first)
		}
	})
}

func TestClaimEventBus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		created := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		claim := func(bus string, move bool, wantRecorded string, wantClaimed bool, wantWaiting int) store.EventBusRecord {
			t.Helper()
			rec, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus, StreamCreated: created, Move: move})
			if err != nil {
				t.Fatalf("claim %q: %v", bus, err)
			}
			if rec.Bus != wantRecorded || rec.Claimed != wantClaimed || rec.Waiting != wantWaiting {
				t.Errorf("claim %q, move %t = %q, claimed %t, %d waiting; want %q, claimed %t, %d waiting",
					bus, move, rec.Bus, rec.Claimed, rec.Waiting, wantRecorded, wantClaimed, wantWaiting)
			}
			return rec
		}

		claim("stream A", false, "", true, 0)
		claim("stream A", false, "stream A", true, 0)

		// Without move, another bus never takes over, even with nothing
		// waiting.
		claim("stream B", false, "stream A", false, 0)
		claim("stream A", false, "stream A", true, 0)

		// A delivery waits in stream A, so stream B takes over only when
		// moved, and the move queues the delivery again.
		seed(t, db)
		ev := newEvent(t, db, "gp")
		drainOutbox(t, db)
		db.WaitOutboxDeletes()
		claim("stream B", false, "stream A", false, 1)
		if rec := claim("stream B", true, "stream A", true, 1); !rec.Moved || rec.Requeued != 1 {
			t.Errorf("move with 1 waiting: moved %t, %d queued again; want moved, 1 queued again", rec.Moved, rec.Requeued)
		}
		claim("stream B", false, "stream B", true, 0)

		// Once none waits, a move queues nothing.
		drainOutbox(t, db)
		db.WaitOutboxDeletes()
		if _, err := db.RecordOutcome(ctx, "gp", ev.Deliveries[0].ID, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil {
			t.Fatalf("record outcome: %v", err)
		}
		if rec := claim("stream A", true, "stream B", true, 0); !rec.Moved || rec.Requeued != 0 {
			t.Errorf("move with none waiting: moved %t, %d queued again; want moved, none queued again", rec.Moved, rec.Requeued)
		}
		claim("stream A", false, "stream A", true, 0)
	})
}

// TestClaimEventBusStreamCreated claims one bus with streams created at
// different times. The store keeps the first stream's time to the
// microsecond, and another stream of the same name, or none, takes over
// only when moved.
func TestClaimEventBusStreamCreated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const bus = "stream A on the NATS server at -nats-url"
		first := time.Date(2026, 3, 1, 9, 30, 0, 123456100, time.FixedZone("CET", 3600))
		claim := func(created time.Time, move bool) store.EventBusRecord {
			t.Helper()
			rec, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus, StreamCreated: created, Move: move})
			if err != nil {
				t.Fatalf("claim stream created at %v: %v", created, err)
			}
			return rec
		}

		if rec := claim(first, false); !rec.Claimed {
			t.Fatal("first claim: not claimed")
		}
		if got := settingValue(t, db, "event_bus_stream_created"); got != "2026-03-01T08:30:00.123456Z" {
			t.Errorf("recorded creation time = %q, want 2026-03-01T08:30:00.123456Z", got)
		}
		rec := claim(first, false)
		if !rec.Claimed {
			t.Errorf("claim of the same stream: not claimed")
		}
		if want := first.UTC().Truncate(time.Microsecond); !rec.StreamCreated.Equal(want) {
			t.Errorf("recorded creation time read back = %v, want %v", rec.StreamCreated, want)
		}

		// The nanoseconds below the recorded microsecond do not tell
		// streams apart.
		if rec := claim(first.Add(800*time.Nanosecond), false); !rec.Claimed {
			t.Errorf("claim of a time within the recorded microsecond: not claimed")
		}

		for name, other := range map[string]time.Time{"another stream": first.Add(time.Microsecond), "no stream": {}} {
			if rec := claim(other, false); rec.Claimed || rec.Moved {
				t.Errorf("%s: claimed %t, moved %t; want neither", name, rec.Claimed, rec.Moved)
			}
			if got := settingValue(t, db, "event_bus_stream_created"); got != "2026-03-01T08:30:00.123456Z" {
				t.Errorf("%s: recorded creation time = %q after the claim, want it unchanged", name, got)
			}
		}

		second := first.Add(time.Hour)
		if rec := claim(second, true); !rec.Claimed || !rec.Moved {
			t.Errorf("move to another stream: claimed %t, moved %t; want both", rec.Claimed, rec.Moved)
		}
		if got := settingValue(t, db, "event_bus_stream_created"); got != "2026-03-01T09:30:00.123456Z" {
			t.Errorf("recorded creation time after the move = %q, want 2026-03-01T09:30:00.123456Z", got)
		}

		// A move to a stream that does not exist yet leaves the time to
		// RecordStreamCreated.
		if rec := claim(time.Time{}, true); !rec.Claimed || !rec.Moved {
			t.Errorf("move to no stream: claimed %t, moved %t; want both", rec.Claimed, rec.Moved)
		}
		if got := settingValue(t, db, "event_bus_stream_created"); got != "" {
			t.Errorf("recorded creation time after a move to no stream = %q, want none", got)
		}
	})
}

// TestClaimEventBusWithoutStreamCreated claims the bus of a store that
// records it without a stream creation time, as versions before the time
// was recorded left it. A stream that exists is adopted, and a missing
// one is not.
func TestClaimEventBusWithoutStreamCreated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const bus = "stream A on the NATS server at -nats-url"
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('event_bus', $1)`, bus); err != nil {
			t.Fatal(err)
		}

		rec, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Claimed {
			t.Errorf("claim with no stream on a store without a creation time: claimed, want not")
		}

		created := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		rec, err = db.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus, StreamCreated: created})
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Claimed || rec.Moved || !rec.StreamCreated.IsZero() {
			t.Errorf("claim of an existing stream = claimed %t, moved %t, recorded time %v; want claimed, not moved, no time recorded before",
				rec.Claimed, rec.Moved, rec.StreamCreated)
		}
		if got := settingValue(t, db, "event_bus_stream_created"); got != "2026-03-01T09:30:00.000000Z" {
			t.Errorf("recorded creation time = %q, want 2026-03-01T09:30:00.000000Z", got)
		}
	})
}

// TestMoveEventBusRequeues moves a store whose deliveries are waiting in
// the stream, pending, retrying or replayed, or in the outbox, or are
// settled. Each delivery waiting in the stream gets an outbox message
// again, with its current generation, and no other delivery does.
func TestMoveEventBusRequeues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db)
		if _, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: "stream A"}); err != nil {
			t.Fatal(err)
		}
		published := newEvent(t, db, "gp", "school")
		retrying := newEvent(t, db, "gp").Deliveries[0].ID
		replayed := newEvent(t, db, "gp").Deliveries[0].ID
		drainOutbox(t, db)
		db.WaitOutboxDeletes()
		if _, err := db.RecordOutcome(ctx, "school", published.Deliveries[1].ID, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordFailure(ctx, retrying, 0, "webhook returned status 503", time.Now().Add(time.Hour), false, true); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordFailure(ctx, replayed, 0, "webhook returned status 503", time.Time{}, true, true); err != nil {
			t.Fatal(err)
		}
		if err := db.ReplayDelivery(ctx, replayed); err != nil {
			t.Fatal(err)
		}
		drainOutbox(t, db)
		db.WaitOutboxDeletes()
		queued := newEvent(t, db, "gp")

		rec, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: "stream B", Move: true})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Waiting != 4 || rec.Requeued != 3 {
			t.Errorf("move = %d waiting, %d queued again; want 4 waiting, 3 queued again", rec.Waiting, rec.Requeued)
		}
		want := map[string]bool{
			store.MessageID(published.Deliveries[0].ID, 0): true,
			store.MessageID(retrying, 0):                   true,
			store.MessageID(replayed, 1):                   true,
			store.MessageID(queued.Deliveries[0].ID, 0):    true,
		}
		got := map[string]bool{}
		if _, err := db.RelayOutbox(ctx, 100, func(msgs []store.OutboxMessage) []string {
			for _, m := range msgs {
				got[m.MsgID] = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("outbox after the move = %v, want %v", got, want)
		}
		for id := range want {
			if !got[id] {
				t.Errorf("outbox after the move lacks %s", id)
			}
		}
	})
}

// TestClaimEventBusStreamPending claims a bus whose stream does not exist
// yet, as nodes that start together on a new store do. Until one of them
// records the stream's time, a claim with the stream or without it
// passes, and after that a claim without it does not.
func TestClaimEventBusStreamPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const bus = "stream A on the NATS server at -nats-url"
		created := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
		claim := func(created time.Time) bool {
			t.Helper()
			rec, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus, StreamCreated: created})
			if err != nil {
				t.Fatal(err)
			}
			return rec.Claimed
		}

		if !claim(time.Time{}) {
			t.Errorf("first claim without a stream: not claimed")
		}
		if !claim(time.Time{}) {
			t.Errorf("second claim without a stream, before the time is recorded: not claimed")
		}
		if !claim(created) {
			t.Errorf("claim of the stream, before its time is recorded: not claimed")
		}
		if got := settingValue(t, db, "event_bus_stream_created"); got != "2026-03-01T09:30:00.000000Z" {
			t.Errorf("recorded creation time = %q, want 2026-03-01T09:30:00.000000Z", got)
		}
		if claim(time.Time{}) {
			t.Errorf("claim without a stream, once its time is recorded: claimed, want not")
		}
	})
}

func TestRecordStreamCreated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const bus = "stream A on the NATS server at -nats-url"
		if _, err := db.ClaimEventBus(ctx, store.EventBusClaim{Bus: bus}); err != nil {
			t.Fatal(err)
		}
		first := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)
		recorded, err := db.RecordStreamCreated(ctx, bus, first)
		if err != nil {
			t.Fatal(err)
		}
		if want := first.Truncate(time.Microsecond); !recorded.Equal(want) {
			t.Errorf("RecordStreamCreated = %v, want %v", recorded, want)
		}

		// A stream created again in the meantime does not replace the
		// recorded one.
		recorded, err = db.RecordStreamCreated(ctx, bus, first.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := first.Truncate(time.Microsecond); !recorded.Equal(want) {
			t.Errorf("RecordStreamCreated of a later stream = %v, want the recorded %v", recorded, want)
		}

		if _, err := db.RecordStreamCreated(ctx, "stream B on the NATS server at -nats-url", first); err == nil {
			t.Errorf("RecordStreamCreated for a bus the store does not record: no error")
		}
	})
}

// settingValue returns the value of the settings row name, or "" when
// there is none.
func settingValue(t *testing.T, db *store.DB, name string) string {
	t.Helper()
	var value string
	err := db.SQL().QueryRowContext(context.Background(), `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return value
}
