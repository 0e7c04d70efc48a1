package store_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

const testOrigin = "joinedup.test/audit"

func newAuditLog(t testing.TB, db *store.DB) *audit.Log {
	t.Helper()
	key, err := audit.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	l, err := audit.Open(context.Background(), audit.Config{Storage: db, Key: key})
	if err != nil {
		t.Fatalf("open audit log: %v", err)
	}
	return l
}

func testEntry(i int) audit.Entry {
	return audit.Entry{
		Actor:   fmt.Sprintf("staff-%d", i%7),
		Action:  audit.ActionAccess,
		Subject: fmt.Sprintf("person-%04d", i),
		Purpose: "adult-social-care",
		Reasons: []string{"policy0", "relationship: allocated worker"},
		Detail:  json.RawMessage(fmt.Sprintf(`{"record":"rec-%d","fields":["name","address"]}`, i)),
	}
}

// appendEach appends n entries one call at a time, so that every entry has
// a checkpoint of its own.
func appendEach(t testing.TB, l *audit.Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := l.Append(context.Background(), testEntry(i)); err != nil {
			t.Fatalf("append entry %d: %v", i, err)
		}
	}
}

func exec(t *testing.T, db *store.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("exec %q: %v", query, err)
	}
}

func TestAuditAppendAndRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)

		seqs, err := l.Append(ctx, testEntry(0), testEntry(1), testEntry(2))
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		if got, want := fmt.Sprint(seqs), "[0 1 2]"; got != want {
			t.Errorf("sequence numbers = %s, want %s", got, want)
		}

		entries, err := l.Entries(ctx, 0, 3)
		if err != nil {
			t.Fatalf("entries: %v", err)
		}
		if len(entries) != 3 {
			t.Fatalf("got %d entries, want 3", len(entries))
		}
		for i, e := range entries {
			want := testEntry(i)
			if e.Seq != uint64(i) || e.Actor != want.Actor || e.Subject != want.Subject || e.Time.IsZero() {
				t.Errorf("entry %d = %+v, want seq %d, actor %s, subject %s and a time", i, e, i, want.Actor, want.Subject)
			}
		}
		if got, want := string(entries[0].Detail), `{"fields":["name","address"],"record":"rec-0"}`; got != want {
			t.Errorf("detail = %s, want the canonical %s", got, want)
		}

		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if cp.Size != 3 {
			t.Errorf("checkpoint size = %d, want 3", cp.Size)
		}
		if err := l.Verify(ctx, nil); err != nil {
			t.Errorf("verify honest log: %v", err)
		}
	})
}

func TestAuditProofs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)
		appendEach(t, l, 5)
		old, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		batch := make([]audit.Entry, 20)
		for i := range batch {
			batch[i] = testEntry(5 + i)
		}
		if _, err := l.Append(ctx, batch...); err != nil {
			t.Fatalf("append: %v", err)
		}
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}

		entries, err := l.Entries(ctx, 0, cp.Size)
		if err != nil {
			t.Fatalf("entries: %v", err)
		}
		for _, e := range entries {
			leafHash, err := audit.LeafHash(audit.LeafVersion, e)
			if err != nil {
				t.Fatalf("leaf hash %d: %v", e.Seq, err)
			}
			p, err := l.InclusionProof(ctx, e.Seq, cp.Size)
			if err != nil {
				t.Fatalf("inclusion proof %d: %v", e.Seq, err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, e.Seq, cp.Size, leafHash, p, cp.Hash); err != nil {
				t.Errorf("inclusion proof of entry %d does not verify: %v", e.Seq, err)
			}
		}

		p, err := l.ConsistencyProof(ctx, old.Size, cp.Size)
		if err != nil {
			t.Fatalf("consistency proof: %v", err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cp.Size, p, old.Hash, cp.Hash); err != nil {
			t.Errorf("consistency proof from %d to %d does not verify: %v", old.Size, cp.Size, err)
		}
		if err := l.Verify(ctx, old); err != nil {
			t.Errorf("verify against the older checkpoint: %v", err)
		}
	})
}

func TestAuditConcurrentAppends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)

		const writers, each = 8, 25
		var wg sync.WaitGroup
		seen := make(chan uint64, writers*each)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					seqs, err := l.Append(ctx, testEntry(w*each+i))
					if err != nil {
						t.Errorf("append: %v", err)
						return
					}
					seen <- seqs[0]
				}
			}()
		}
		wg.Wait()
		close(seen)

		unique := map[uint64]bool{}
		for s := range seen {
			if unique[s] {
				t.Errorf("sequence number %d returned twice", s)
			}
			unique[s] = true
		}
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if cp.Size != writers*each || len(unique) != writers*each {
			t.Errorf("checkpoint size %d and %d sequence numbers, want %d of each", cp.Size, len(unique), writers*each)
		}
		if err := l.Verify(ctx, nil); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
}

// TestAuditTwoLogsOneStore appends through two Logs on one database, as
// two nodes of a cluster do, and checks that each catches up with the
// other's entries.
func TestAuditTwoLogsOneStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		key, err := audit.GenerateKey(rand.Reader, testOrigin)
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		a, err := audit.Open(ctx, audit.Config{Storage: db, Key: key})
		if err != nil {
			t.Fatalf("open log a: %v", err)
		}
		b, err := audit.Open(ctx, audit.Config{Storage: db, Key: key})
		if err != nil {
			t.Fatalf("open log b: %v", err)
		}

		appendEach(t, a, 3)
		appendEach(t, b, 2)
		cp, err := a.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if cp.Size != 5 {
			t.Fatalf("checkpoint size = %d, want 5", cp.Size)
		}
		entries, err := a.Entries(ctx, 4, 5)
		if err != nil {
			t.Fatalf("entries: %v", err)
		}
		leafHash, err := audit.LeafHash(audit.LeafVersion, entries[0])
		if err != nil {
			t.Fatalf("leaf hash: %v", err)
		}
		p, err := a.InclusionProof(ctx, 4, 5)
		if err != nil {
			t.Fatalf("inclusion proof from log a of an entry that log b appended: %v", err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 4, 5, leafHash, p, cp.Hash); err != nil {
			t.Errorf("inclusion proof does not verify: %v", err)
		}
	})
}

// tamperCases change the log of 20 entries, each with a checkpoint of its
// own, directly in the database.
var tamperCases = []struct {
	name   string
	tamper func(t *testing.T, db *store.DB)
	index  uint64
	last   uint64
	shrunk bool
}{
	{
		name: "edited entry",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_entries SET actor = 'staff-99' WHERE seq = 7`)
		},
		index: 7, last: 7,
	},
	{
		name: "edited entry with its leaf hash",
		tamper: func(t *testing.T, db *store.DB) {
			e := testEntry(7)
			e.Seq, e.Actor = 7, "staff-99"
			var at int64
			if err := db.SQL().QueryRow(`SELECT recorded_at FROM audit_entries WHERE seq = 7`).Scan(&at); err != nil {
				t.Fatalf("read entry 7: %v", err)
			}
			e.Time = store.FromMicros(at)
			h, err := audit.LeafHash(audit.LeafVersion, e)
			if err != nil {
				t.Fatalf("leaf hash: %v", err)
			}
			exec(t, db, `UPDATE audit_entries SET actor = $1, leaf_hash = $2 WHERE seq = 7`, e.Actor, h)
		},
		index: 7, last: 7,
	},
	{
		name: "edited reasons",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_entries SET reasons = '["policy9"]' WHERE seq = 12`)
		},
		index: 12, last: 12,
	},
	{
		name: "detail rewritten with the same meaning",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_entries SET detail = '{ "fields": ["name", "address"], "record": "rec-3" }' WHERE seq = 3`)
		},
		index: 3, last: 3,
	},
	{
		name: "deleted entries",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_entries WHERE seq BETWEEN 5 AND 7`)
		},
		index: 5, last: 5,
	},
	{
		name: "deleted and renumbered entries",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_entries WHERE seq BETWEEN 5 AND 7`)
			for seq := 8; seq < 20; seq++ {
				exec(t, db, `UPDATE audit_entries SET seq = $1 WHERE seq = $2`, seq-3, seq)
			}
		},
		index: 5, last: 5,
	},
	{
		name: "cut tail",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_entries WHERE seq >= 15`)
		},
		index: 15, last: 15, shrunk: true,
	},
	{
		name: "appended entry without checkpoint",
		tamper: func(t *testing.T, db *store.DB) {
			exec(t, db, `INSERT INTO audit_entries (seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash)
				SELECT 20, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash FROM audit_entries WHERE seq = 19`)
		},
		index: 20, last: 20,
	},
}

func TestAuditVerifyCatchesTampering(t *testing.T) {
	for _, tc := range tamperCases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				l := newAuditLog(t, db)
				appendEach(t, l, 20)
				if err := l.Verify(ctx, nil); err != nil {
					t.Fatalf("verify before tampering: %v", err)
				}

				tc.tamper(t, db)

				err := l.Verify(ctx, nil)
				var ve *audit.VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("verify after tampering = %v, want a *audit.VerifyError", err)
				}
				if ve.Index != tc.index || ve.Last != tc.last || ve.Shrunk != tc.shrunk {
					t.Errorf("verify error names index %d to %d (shrunk %t), want %d to %d (shrunk %t): %v",
						ve.Index, ve.Last, ve.Shrunk, tc.index, tc.last, tc.shrunk, err)
				}
			})
		})
	}
}

// TestAuditVerifyBatchRange rewrites an entry and its leaf hash inside a
// batch, where the signed checkpoints narrow the change down only to the
// batch.
func TestAuditVerifyBatchRange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)
		appendEach(t, l, 5)
		batch := make([]audit.Entry, 10)
		for i := range batch {
			batch[i] = testEntry(5 + i)
		}
		if _, err := l.Append(ctx, batch...); err != nil {
			t.Fatalf("append batch: %v", err)
		}
		appendEach(t, l, 5)

		records, err := db.AuditRecords(ctx, 8, 1)
		if err != nil {
			t.Fatalf("read entry 8: %v", err)
		}
		e := records[0].Entry
		e.Subject = "person-9999"
		h, err := audit.LeafHash(audit.LeafVersion, e)
		if err != nil {
			t.Fatalf("leaf hash: %v", err)
		}
		exec(t, db, `UPDATE audit_entries SET subject = $1, leaf_hash = $2 WHERE seq = 8`, e.Subject, h)

		err = l.Verify(ctx, nil)
		var ve *audit.VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("verify = %v, want a *audit.VerifyError", err)
		}
		if ve.Index != 5 || ve.Last != 14 || ve.Size != 15 {
			t.Errorf("verify error names entries %d to %d against size %d, want 5 to 14 against 15: %v", ve.Index, ve.Last, ve.Size, err)
		}
	})
}

func TestAuditVerifyCutTailWithCheckpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)
		appendEach(t, l, 20)
		published, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}

		exec(t, db, `DELETE FROM audit_entries WHERE seq >= 15`)
		exec(t, db, `DELETE FROM audit_checkpoints WHERE size > 15`)

		if err := l.Verify(ctx, nil); err != nil {
			t.Errorf("verify against the stored checkpoints = %v, want nil: the database alone cannot show this", err)
		}
		err = l.Verify(ctx, published)
		var ve *audit.VerifyError
		if !errors.As(err, &ve) || !ve.Shrunk || ve.Index != 15 || ve.Size != 20 {
			t.Errorf("verify against the published checkpoint = %v, want the log shrunk from 20 to 15", err)
		}
	})
}

func TestAuditVerifyRejectsForeignCheckpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)
		appendEach(t, l, 5)

		other, err := audit.GenerateKey(rand.Reader, testOrigin)
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		otherLog, err := audit.Open(ctx, audit.Config{Storage: storetest.SQLite(t), Key: other})
		if err != nil {
			t.Fatalf("open other log: %v", err)
		}
		appendEach(t, otherLog, 3)
		foreign, err := otherLog.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}

		if err := l.Verify(ctx, foreign); err == nil {
			t.Errorf("verify against a checkpoint signed by another key = nil, want an error")
		}
		if _, err := audit.ParseCheckpoint(foreign.Note, l.Key()); err == nil {
			t.Errorf("parse a checkpoint signed by another key = nil error, want an error")
		}

		// A stored checkpoint before the latest replaced by one that
		// another key signed for another log of the same size.
		exec(t, db, `UPDATE audit_checkpoints SET note = $1 WHERE size = 3`, string(foreign.Note))
		err = l.Verify(ctx, nil)
		var ve *audit.VerifyError
		if !errors.As(err, &ve) || ve.Size != 3 {
			t.Errorf("verify with a foreign stored checkpoint of size 3 = %v, want a *audit.VerifyError for size 3", err)
		}

		// The latest stored checkpoint replaced in the same way.
		exec(t, db, `DELETE FROM audit_checkpoints WHERE size > 3`)
		exec(t, db, `DELETE FROM audit_entries WHERE seq >= 3`)
		err = l.Verify(ctx, nil)
		if !errors.As(err, &ve) || ve.Size != 3 {
			t.Errorf("verify with a foreign latest checkpoint = %v, want a *audit.VerifyError for size 3", err)
		}
	})
}

func TestAuditOpenRejectsChangedLeafHashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newAuditLog(t, db)
		appendEach(t, l, 4)
		exec(t, db, `UPDATE audit_entries SET leaf_hash = $1 WHERE seq = 1`, make([]byte, 32))

		// A second node, which loads the leaf hashes from the database.
		_, err := audit.Open(ctx, audit.Config{Storage: db, Key: l.Key()})
		if err == nil {
			t.Errorf("open a log whose leaf hashes were changed = nil error, want an error")
		}
	})
}
