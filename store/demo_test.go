package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// TestDemoLoadedMarker checks that a new store records no load of the
// demo, and that a store marked twice keeps the time of the first mark.
func TestDemoLoadedMarker(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, loaded, err := db.DemoLoaded(ctx); err != nil || loaded {
			t.Fatalf("DemoLoaded of a new store = %v, %v; want false and no error", loaded, err)
		}

		first := time.Date(2026, time.December, 4, 12, 0, 0, 0, time.UTC)
		if err := db.MarkDemoLoaded(ctx, first); err != nil {
			t.Fatalf("MarkDemoLoaded: %v", err)
		}
		if err := db.MarkDemoLoaded(ctx, first.Add(time.Hour)); err != nil {
			t.Fatalf("MarkDemoLoaded again: %v", err)
		}
		at, loaded, err := db.DemoLoaded(ctx)
		if err != nil || !loaded {
			t.Fatalf("DemoLoaded after MarkDemoLoaded = %v, %v; want true and no error", loaded, err)
		}
		if !at.Equal(first) {
			t.Errorf("DemoLoaded after two marks = %v, want the first, %v", at, first)
		}
	})
}
