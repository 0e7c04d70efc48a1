package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

func newKey(t testing.TB) *audit.Key {
	t.Helper()
	k, err := audit.GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	return k
}

func openLog(t testing.TB, s audit.Storage, k *audit.Key, maxBatch int) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), audit.Config{Storage: s, Key: k, MaxBatch: maxBatch})
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	return l
}

func entry(i int) audit.Entry {
	return audit.Entry{Actor: "staff-1", Action: audit.ActionAccess, Subject: fmt.Sprintf("person-%d", i), Purpose: "care"}
}

// gatedStorage holds the first append transaction open until release is
// closed, so that a test can queue appends behind it. When second is not
// nil, it holds the second transaction open until second is closed.
type gatedStorage struct {
	*store.DB
	entered chan struct{}
	release chan struct{}
	second  chan struct{}

	mu      sync.Mutex
	appends int
}

func newGatedStorage(db *store.DB) *gatedStorage {
	return &gatedStorage{DB: db, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedStorage) AppendAudit(ctx context.Context, prepare func(context.Context, audit.Head) (*audit.Batch, error)) error {
	g.mu.Lock()
	g.appends++
	n := g.appends
	g.mu.Unlock()
	switch {
	case n == 1:
		close(g.entered)
		<-g.release
	case n == 2 && g.second != nil:
		<-g.second
	}
	return g.DB.AppendAudit(ctx, prepare)
}

// waitPending waits until n append requests are queued on l.
func waitPending(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d append requests queued, want %d", l.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func checkpointSizes(t *testing.T, s audit.Storage) []uint64 {
	t.Helper()
	cps, err := s.AuditCheckpoints(context.Background(), 0, 1<<40)
	if err != nil {
		t.Fatalf("read checkpoints: %v", err)
	}
	var sizes []uint64
	for _, c := range cps {
		sizes = append(sizes, c.Size)
	}
	return sizes
}

func TestAppendGroupsConcurrentCalls(t *testing.T) {
	cases := []struct {
		name      string
		maxBatch  int
		queued    int
		wantSizes string
	}{
		{"one transaction", 1000, 10, "[1 11]"},
		{"split at the batch limit", 4, 10, "[1 5 9 11]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := newGatedStorage(storetest.SQLite(t))
			l := openLog(t, g, newKey(t), tc.maxBatch)

			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.Append(ctx, entry(0)); err != nil {
					t.Errorf("first append: %v", err)
				}
			}()
			<-g.entered
			for i := 1; i <= tc.queued; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := l.Append(ctx, entry(i)); err != nil {
						t.Errorf("append %d: %v", i, err)
					}
				}()
			}
			waitPending(t, l, tc.queued)
			close(g.release)
			wg.Wait()

			if got := fmt.Sprint(checkpointSizes(t, g)); got != tc.wantSizes {
				t.Errorf("checkpoint sizes = %s, want %s", got, tc.wantSizes)
			}
			if err := l.Verify(ctx, nil); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestAppendCancelledWhileQueued(t *testing.T) {
	g := newGatedStorage(storetest.SQLite(t))
	l := openLog(t, g, newKey(t), 0)

	done := make(chan error)
	go func() {
		_, err := l.Append(context.Background(), entry(0))
		done <- err
	}()
	<-g.entered

	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error)
	go func() {
		_, err := l.Append(ctx, entry(1))
		queued <- err
	}()
	waitPending(t, l, 1)
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled append = %v, want context.Canceled", err)
	}

	close(g.release)
	if err := <-done; err != nil {
		t.Fatalf("first append: %v", err)
	}
	if got := fmt.Sprint(checkpointSizes(t, g)); got != "[1]" {
		t.Errorf("checkpoint sizes = %s, want [1]: the cancelled entry must not be stored", got)
	}
}

// TestAppendReturnsBeforeLaterCalls checks that the caller whose Append
// commits a batch does not also wait for the requests queued behind it.
func TestAppendReturnsBeforeLaterCalls(t *testing.T) {
	ctx := context.Background()
	g := newGatedStorage(storetest.SQLite(t))
	g.second = make(chan struct{})
	l := openLog(t, g, newKey(t), 0)

	first := make(chan error)
	go func() {
		_, err := l.Append(ctx, entry(0))
		first <- err
	}()
	<-g.entered
	second := make(chan error)
	go func() {
		_, err := l.Append(ctx, entry(1))
		second <- err
	}()
	waitPending(t, l, 1)
	close(g.release)

	// The second transaction is held open, so the first caller returns
	// only if it handed the queue on.
	select {
	case err := <-first:
		if err != nil {
			t.Errorf("first append: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("first append still waits while the second transaction is open")
	}
	close(g.second)
	if err := <-second; err != nil {
		t.Errorf("second append: %v", err)
	}
	if got := fmt.Sprint(checkpointSizes(t, g)); got != "[1 2]" {
		t.Errorf("checkpoint sizes = %s, want [1 2]", got)
	}
}

// staleStorage returns the checkpoint before the latest on its first
// LatestAuditCheckpoint call, as a read does that runs just before an
// append commits.
type staleStorage struct {
	*store.DB
	once sync.Once
}

func (s *staleStorage) LatestAuditCheckpoint(ctx context.Context) (*audit.StoredCheckpoint, error) {
	latest, err := s.DB.LatestAuditCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	stale := false
	s.once.Do(func() { stale = true })
	if !stale {
		return latest, nil
	}
	older, err := s.DB.AuditCheckpoints(ctx, 0, latest.Size-1)
	if err != nil || len(older) == 0 {
		return nil, fmt.Errorf("read older checkpoints: %v", err)
	}
	return &older[len(older)-1], nil
}

func TestVerifyWhileAppending(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	k := newKey(t)
	l := openLog(t, db, k, 0)
	for i := 0; i < 4; i++ {
		if _, err := l.Append(ctx, entry(i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}

	if err := audit.Verify(ctx, &staleStorage{DB: db}, k, nil); err != nil {
		t.Errorf("verify with an entry appended after the run began = %v, want nil", err)
	}
}

func TestAppendRejectsInvalidEntry(t *testing.T) {
	db := storetest.SQLite(t)
	l := openLog(t, db, newKey(t), 0)
	_, err := l.Append(context.Background(), entry(0), audit.Entry{Actor: "staff-1"})
	if code := joinedup.ErrorCode(err); code != joinedup.EINVALID {
		t.Fatalf("append with an entry without action = %v, want %s", err, joinedup.EINVALID)
	}
	if sizes := checkpointSizes(t, db); len(sizes) != 0 {
		t.Errorf("checkpoint sizes = %v, want none: no entry of the call may be stored", sizes)
	}
}

func TestReadOnlyLog(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	k := newKey(t)
	w := openLog(t, db, k, 0)
	if _, err := w.Append(ctx, entry(0), entry(1)); err != nil {
		t.Fatalf("append: %v", err)
	}

	public, err := audit.ParsePublicKey(k.PublicKey())
	if err != nil {
		t.Fatalf("parse public key: %v", err)
	}
	r := openLog(t, db, public, 0)
	if _, err := r.Append(ctx, entry(2)); err == nil {
		t.Errorf("append with a public key = nil error, want an error")
	}
	cp, err := r.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if cp.Size != 2 {
		t.Errorf("checkpoint size = %d, want 2", cp.Size)
	}
	if err := r.Verify(ctx, nil); err != nil {
		t.Errorf("verify with a public key: %v", err)
	}
}

func TestLogErrors(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	l := openLog(t, db, newKey(t), 0)
	if _, err := l.Checkpoint(ctx); joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		t.Errorf("checkpoint of an empty log = %v, want %s", err, joinedup.ENOTFOUND)
	}
	if err := l.Verify(ctx, nil); err != nil {
		t.Errorf("verify an empty log: %v", err)
	}
	for i := 0; i < 5; i++ {
		if _, err := l.Append(ctx, entry(i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}

	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"inclusion index at size", func() error { _, err := l.InclusionProof(ctx, 5, 5); return err }, joinedup.EINVALID},
		{"inclusion size beyond log", func() error { _, err := l.InclusionProof(ctx, 0, 6); return err }, joinedup.ENOTFOUND},
		{"consistency old above new", func() error { _, err := l.ConsistencyProof(ctx, 3, 2); return err }, joinedup.EINVALID},
		{"consistency new beyond log", func() error { _, err := l.ConsistencyProof(ctx, 3, 9); return err }, joinedup.ENOTFOUND},
		{"entries from above to", func() error { _, err := l.Entries(ctx, 3, 2); return err }, joinedup.EINVALID},
		{"entries range too long", func() error { _, err := l.Entries(ctx, 0, audit.MaxEntries+1); return err }, joinedup.EINVALID},
		{"entries beyond log", func() error { _, err := l.Entries(ctx, 3, 7); return err }, joinedup.ENOTFOUND},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); joinedup.ErrorCode(err) != tc.want {
				t.Errorf("error = %v, want code %s", err, tc.want)
			}
		})
	}

	// Proofs of size 0 and of equal sizes are empty and valid.
	if p, err := l.ConsistencyProof(ctx, 0, 5); err != nil || len(p) != 0 {
		t.Errorf("consistency proof from 0 = %d hashes, %v; want none and nil", len(p), err)
	}
	if p, err := l.ConsistencyProof(ctx, 5, 5); err != nil || len(p) != 0 {
		t.Errorf("consistency proof from 5 to 5 = %d hashes, %v; want none and nil", len(p), err)
	}
}

// TestCheckpointWhileAppending reads the checkpoint while other
// goroutines append, and checks that no read takes an append that
// overtook it for entries removed.
func TestCheckpointWhileAppending(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, storetest.SQLite(t), newKey(t), 0)
	if _, err := l.Append(ctx, entry(0)); err != nil {
		t.Fatalf("append: %v", err)
	}

	const appenders, appends = 8, 50
	var wg sync.WaitGroup
	for a := range appenders {
		wg.Go(func() {
			for i := range appends {
				if _, err := l.Append(ctx, entry(a*appends+i)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}

	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			var last uint64
			for {
				select {
				case <-done:
					return
				default:
				}
				cp, err := l.Checkpoint(ctx)
				if err != nil {
					t.Errorf("checkpoint while appending: %v", err)
					return
				}
				if cp.Size < last {
					t.Errorf("checkpoint size went from %d to %d", last, cp.Size)
				}
				last = cp.Size
			}
		})
	}

	wg.Wait()
	close(done)
	readers.Wait()
}

// TestChangedCheckpointStopsAppends changes the stored note of the latest
// checkpoint, which the Log signed itself, and checks that the next
// append and checkpoint read fail rather than trust it.
func TestChangedCheckpointStopsAppends(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	l := openLog(t, db, newKey(t), 0)
	for i := range 3 {
		if _, err := l.Append(ctx, entry(i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	latest, err := db.LatestAuditCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(latest.Note, []byte("\n3\n"), []byte("\n3\n\n"), 1)
	if bytes.Equal(changed, latest.Note) {
		t.Fatalf("note %q has no tree size line to change", latest.Note)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_checkpoints SET note = $1 WHERE size = $2`, changed, latest.Size); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, entry(3)); err == nil {
		t.Error("append after the latest checkpoint was changed succeeded, want an error")
	}
	if _, err := l.Checkpoint(ctx); err == nil {
		t.Error("checkpoint after it was changed succeeded, want an error")
	}
}
