package store_test

import (
	"context"
	"regexp"
	"testing"

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
		claim := func(bus string, move bool, wantRecorded string, wantWaiting int) {
			t.Helper()
			recorded, waiting, err := db.ClaimEventBus(ctx, bus, move)
			if err != nil {
				t.Fatalf("claim %q: %v", bus, err)
			}
			if recorded != wantRecorded || waiting != wantWaiting {
				t.Errorf("claim %q, move %t = %q, %d waiting; want %q, %d", bus, move, recorded, waiting, wantRecorded, wantWaiting)
			}
		}

		claim("stream A", false, "", 0)
		claim("stream A", false, "stream A", 0)

		// Without move, another bus never takes over, even with nothing
		// waiting.
		claim("stream B", false, "stream A", 0)
		claim("stream A", false, "stream A", 0)

		// A delivery waits in stream A, so stream B may not take over.
		seed(t, db)
		ev := newEvent(t, db, "gp")
		claim("stream B", true, "stream A", 1)
		claim("stream A", false, "stream A", 0)

		// Once none waits, another bus may take over when moved.
		if _, err := db.RecordOutcome(ctx, "gp", ev.Deliveries[0].ID, joinedup.Outcome{Status: joinedup.OutcomeAccepted}); err != nil {
			t.Fatalf("record outcome: %v", err)
		}
		claim("stream B", true, "stream A", 0)
		claim("stream B", false, "stream B", 0)
	})
}
