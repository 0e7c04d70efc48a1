package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/postgres"
	"github.com/joinedup/joinedup/store/storetest"
)

// queue queues entries in a transaction of their own, which commits
// unless fail is set.
func queue(t *testing.T, db *store.DB, fail bool, entries ...audit.Entry) error {
	t.Helper()
	errRollBack := errors.New("roll back")
	err := db.Tx(context.Background(), func(tx *store.Tx) error {
		if err := tx.QueueAudit(context.Background(), entries...); err != nil {
			return err
		}
		if fail {
			return errRollBack
		}
		return nil
	})
	if errors.Is(err, errRollBack) {
		return nil
	}
	return err
}

func subjects(t *testing.T, l *audit.Log) []string {
	t.Helper()
	cp, err := l.Checkpoint(context.Background())
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return nil
	} else if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	entries, err := l.Entries(context.Background(), 0, cp.Size)
	if err != nil {
		t.Fatalf("entries: %v", err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Subject)
	}
	return out
}

func TestQueuedEntriesAppendedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k := newKey(t)
		l := openLog(t, db, k, 0)

		if err := queue(t, db, false, entry(1), entry(2)); err != nil {
			t.Fatalf("queue: %v", err)
		}
		if err := queue(t, db, true, entry(99)); err != nil {
			t.Fatalf("queue in a transaction rolled back: %v", err)
		}
		if got := subjects(t, l); len(got) != 0 {
			t.Fatalf("log before any append = %v, want empty", got)
		}

		// Any append takes the queued entries first, as after a crash
		// that left them queued.
		if _, err := l.Append(ctx, entry(3)); err != nil {
			t.Fatalf("append: %v", err)
		}
		if err := queue(t, db, false, entry(4)); err != nil {
			t.Fatalf("queue: %v", err)
		}
		if err := l.AppendQueued(ctx); err != nil {
			t.Fatalf("append queued: %v", err)
		}
		// Nothing queued: no entry and no checkpoint.
		before := checkpointSizes(t, db)
		if err := l.AppendQueued(ctx); err != nil {
			t.Fatalf("append queued with none queued: %v", err)
		}
		if after := checkpointSizes(t, db); len(after) != len(before) {
			t.Errorf("checkpoints after an empty AppendQueued = %v, want %v", after, before)
		}

		want := "[person-1 person-2 person-3 person-4]"
		if got := fmt.Sprint(subjects(t, l)); got != want {
			t.Errorf("log = %s, want %s", got, want)
		}
		if err := audit.Verify(ctx, db, k, nil); err != nil {
			t.Errorf("verify: %v", err)
		}

		// A log opened again, as after a restart, appends nothing twice.
		again := openLog(t, db, k, 0)
		if err := again.AppendQueued(ctx); err != nil {
			t.Fatalf("append queued after reopening: %v", err)
		}
		if got := fmt.Sprint(subjects(t, again)); got != want {
			t.Errorf("log after reopening = %s, want %s", got, want)
		}
	})
}

func TestQueueRejectsInvalidEntry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bad := entry(1)
		bad.Action = "Not An Action"
		err := queue(t, db, false, entry(0), bad)
		if joinedup.ErrorCode(err) != joinedup.EINVALID {
			t.Fatalf("queue an invalid entry = %v, want EINVALID", err)
		}
		l := openLog(t, db, newKey(t), 0)
		if err := l.AppendQueued(context.Background()); err != nil {
			t.Fatalf("append queued: %v", err)
		}
		if got := subjects(t, l); len(got) != 0 {
			t.Errorf("log after a rejected queue = %v, want empty: the transaction must fail whole", got)
		}
	})
}

// Two nodes on one database append each queued entry once between them.
func TestQueueAcrossNodes(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	k := newKey(t)
	dbs := []*store.DB{open(), open()}
	logs := []*audit.Log{openLog(t, dbs[0], k, 0), openLog(t, dbs[1], k, 0)}

	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			db, l := dbs[i%2], logs[i%2]
			if err := queue(t, db, false, entry(i)); err != nil {
				t.Errorf("queue %d: %v", i, err)
				return
			}
			if err := l.AppendQueued(ctx); err != nil {
				t.Errorf("append queued %d: %v", i, err)
			}
		})
	}
	wg.Wait()

	seen := map[string]int{}
	for _, s := range subjects(t, logs[0]) {
		seen[s]++
	}
	for i := range n {
		if s := fmt.Sprintf("person-%d", i); seen[s] != 1 {
			t.Errorf("%s appended %d times, want once", s, seen[s])
		}
	}
	if len(seen) != n {
		t.Errorf("log holds %d subjects, want %d", len(seen), n)
	}
	if err := audit.Verify(ctx, dbs[1], k, nil); err != nil {
		t.Errorf("verify: %v", err)
	}
}
