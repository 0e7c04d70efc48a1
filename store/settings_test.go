package store_test

import (
	"context"
	"regexp"
	"testing"

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
