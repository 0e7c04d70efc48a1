package audit_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/sqlite"
	"github.com/joinedup/joinedup/store/storetest"
)

var benchEntries = flag.Int("audit.entries", 1_000_000, "number of entries in the log that BenchmarkVerify and BenchmarkInclusionProof use")

// BenchmarkAppend measures durable appends, each call of one entry
// returning only after its transaction has committed. The concurrent
// cases show how far batching lifts the rate when many requests append
// at once.
func BenchmarkAppend(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) *store.DB
	}{
		{"sqlite", storetest.SQLite},
		{"postgres", storetest.Postgres},
	}
	for _, backend := range backends {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", backend.name, writers), func(b *testing.B) {
				l := openLog(b, backend.open(b), newKey(b), 0)
				ctx := context.Background()
				var next sync.Mutex
				n := 0
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							next.Lock()
							i := n
							n++
							next.Unlock()
							if i >= b.N {
								return
							}
							if _, err := l.Append(ctx, entry(i)); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// benchLog is an SQLite log of *benchEntries entries, built once for the
// benchmarks that read it.
var benchLog struct {
	once sync.Once
	db   *store.DB
	log  *audit.Log
	err  error
}

// openBenchLog builds the log in batches of 10,000 entries a transaction.
func openBenchLog(b *testing.B) (*store.DB, *audit.Log) {
	b.Helper()
	benchLog.once.Do(func() {
		ctx := context.Background()
		dir, err := tempDir()
		if err != nil {
			benchLog.err = err
			return
		}
		db, err := sqlite.Open(ctx, filepath.Join(dir, "joinedup.db"))
		if err != nil {
			benchLog.err = err
			return
		}
		benchLog.db = db
		l, err := audit.Open(ctx, audit.Config{Storage: db, Key: newKey(b)})
		if err != nil {
			benchLog.err = err
			return
		}
		const batch = 10_000
		entries := make([]audit.Entry, 0, batch)
		for i := 0; i < *benchEntries; i++ {
			entries = append(entries, entry(i))
			if len(entries) == batch || i == *benchEntries-1 {
				if _, err := l.Append(ctx, entries...); err != nil {
					benchLog.err = err
					return
				}
				entries = entries[:0]
			}
		}
		benchLog.log = l
	})
	if benchLog.err != nil {
		b.Fatalf("build a log of %d entries: %v", *benchEntries, benchLog.err)
	}
	return benchLog.db, benchLog.log
}

// BenchmarkInclusionProof measures one inclusion proof of a random entry
// in the whole log, as InclusionProof serves it.
func BenchmarkInclusionProof(b *testing.B) {
	_, l := openBenchLog(b)
	ctx := context.Background()
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		b.Fatalf("checkpoint: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.InclusionProof(ctx, r.Uint64N(cp.Size), cp.Size); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures one verification of the whole log from its
// stored entries, as joinedup audit verify runs it.
func BenchmarkVerify(b *testing.B) {
	db, l := openBenchLog(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := audit.Verify(ctx, db, l.Key(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(*benchEntries)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
