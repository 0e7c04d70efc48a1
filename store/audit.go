package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
)

// auditLockKey is the PostgreSQL advisory lock that serialises appends to
// the audit log across nodes.
const auditLockKey = 0x61756469740001

// AppendAudit implements audit.Storage. On PostgreSQL a transaction-level
// advisory lock keeps other nodes' appends out until the transaction ends.
// On SQLite the write transaction already excludes every other writer.
func (db *DB) AppendAudit(ctx context.Context, prepare func(ctx context.Context, head audit.Head) (*audit.Batch, error)) error {
	return db.Tx(ctx, func(tx *Tx) error {
		if tx.Dialect() == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
				return fmt.Errorf("lock audit log: %w", err)
			}
		}
		head := audit.Head{
			LeafHashes: func(ctx context.Context, from, to uint64) ([][]byte, error) {
				return auditLeafHashes(ctx, tx, from, to)
			},
		}
		latest, err := latestAuditCheckpoint(ctx, tx)
		if err == nil {
			head.Size, head.Checkpoint = latest.Size, latest.Note
		} else if joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			return err
		}

		queued, err := readAuditQueue(ctx, tx)
		if err != nil {
			return err
		}
		for _, q := range queued {
			head.Queued = append(head.Queued, q.entries...)
		}

		batch, err := prepare(ctx, head)
		if err != nil {
			return err
		}
		if batch == nil {
			if len(queued) > 0 {
				return errors.New("append audit entries: the batch left out the queued entries")
			}
			return nil
		}
		if len(batch.Records) < len(head.Queued) {
			return errors.New("append audit entries: the batch left out some queued entries")
		}
		if err := insertAuditRecords(ctx, tx, batch.Records); err != nil {
			return err
		}
		for _, q := range queued {
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_queue WHERE id = $1`, q.id); err != nil {
				return fmt.Errorf("remove appended entries from the audit queue: %w", err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, note, created_at) VALUES ($1, $2, $3)`,
			int64(batch.Checkpoint.Size), string(batch.Checkpoint.Note), Micros(batch.Checkpoint.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert audit checkpoint: %w", err)
		}
		return nil
	})
}

// auditQueueRead bounds the queued transactions that one append takes.
// A queue longer than that, left by a long outage, empties over several
// appends.
const auditQueueRead = 256

type queuedAudit struct {
	id      string
	entries []audit.Entry
}

// QueueAudit queues entries for the audit log in tx, so that they are
// appended if and only if tx commits. The log appends them at its next
// commit, which audit.Log.AppendQueued requests. Entries are checked and put
// in canonical form here, so a bad entry fails tx.
func (tx *Tx) QueueAudit(ctx context.Context, entries ...audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	canonical, err := audit.Canonical(entries...)
	if err != nil {
		return err
	}
	encoded, err := json.Marshal(canonical)
	if err != nil {
		return fmt.Errorf("encode queued audit entries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_queue (id, entries, queued_at) VALUES ($1, $2, $3)`,
		joinedup.NewID("aq"), string(encoded), Micros(tx.Now())); err != nil {
		return fmt.Errorf("queue audit entries: %w", err)
	}
	return nil
}

// readAuditQueue reads the oldest queued transactions' entries, up to
// auditQueueRead transactions. It runs under the audit log's lock, so no
// other append reads the same rows before they are removed.
func readAuditQueue(ctx context.Context, tx *Tx) ([]queuedAudit, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, entries FROM audit_queue ORDER BY queued_at, id LIMIT $1`, auditQueueRead)
	if err != nil {
		return nil, fmt.Errorf("read audit queue: %w", err)
	}
	defer rows.Close()
	var out []queuedAudit
	for rows.Next() {
		var q queuedAudit
		var encoded string
		if err := rows.Scan(&q.id, &encoded); err != nil {
			return nil, fmt.Errorf("read audit queue: %w", err)
		}
		if err := json.Unmarshal([]byte(encoded), &q.entries); err != nil {
			return nil, fmt.Errorf("decode queued audit entries %s: %w", q.id, err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

const auditInsert = `INSERT INTO audit_entries
	(seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash) VALUES `

// auditInsertRows is the number of rows in one INSERT statement on
// PostgreSQL, where each statement costs a round trip. 100 rows of 10
// columns stay well under its limit of 65,535 parameters.
const auditInsertRows = 100

// insertAuditRecords inserts records with one cached single-row statement
// on SQLite, which has no round trips to save. SQLite binds $N parameters
// by name, in time that grows with their number, so large statements are
// slow there. On PostgreSQL it sends multi-row statements.
func insertAuditRecords(ctx context.Context, tx *Tx, records []audit.Record) error {
	rows := 1
	if tx.Dialect() == Postgres {
		rows = auditInsertRows
	}
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	for len(records) > 0 {
		n := min(len(records), rows)
		args := make([]any, 0, n*10)
		for _, r := range records[:n] {
			reasons := r.Reasons
			if reasons == nil {
				reasons = []string{}
			}
			rj, err := json.Marshal(reasons)
			if err != nil {
				return fmt.Errorf("encode reasons of audit entry %d: %w", r.Seq, err)
			}
			args = append(args, int64(r.Seq), r.Version, Micros(r.Time), r.Actor, r.Action, r.Subject,
				r.Purpose, string(rj), string(r.Detail), r.LeafHash)
		}

		var err error
		if n == rows && n > 1 && stmt == nil {
			stmt, err = tx.PrepareContext(ctx, auditInsert+auditValues(n))
			if err != nil {
				return fmt.Errorf("prepare audit insert: %w", err)
			}
		}
		if n == rows && n > 1 {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			// On SQLite the store's statement cache keeps the one-row
			// statement, so it is parsed once, not once a batch.
			_, err = tx.ExecContext(ctx, auditInsert+auditValues(n), args...)
		}
		if err != nil {
			return fmt.Errorf("insert audit entries from %d: %w", records[0].Seq, err)
		}
		records = records[n:]
	}
	return nil
}

// auditValues returns the VALUES lists of n rows: ($1, …, $10), ($11, …).
func auditValues(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		p := i * 10
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)",
			p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9, p+10)
	}
	return b.String()
}

// AuditRecords implements audit.Storage.
func (db *DB) AuditRecords(ctx context.Context, from uint64, limit int) ([]audit.Record, error) {
	var out []audit.Record
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT seq, version, recorded_at, actor, action, subject, purpose, reasons, detail, leaf_hash
			FROM audit_entries WHERE seq >= $1 ORDER BY seq LIMIT $2`, int64(from), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r audit.Record
			var seq, at int64
			var reasons, detail string
			if err := rows.Scan(&seq, &r.Version, &at, &r.Actor, &r.Action, &r.Subject, &r.Purpose,
				&reasons, &detail, &r.LeafHash); err != nil {
				return err
			}
			r.Seq, r.Time, r.Detail = uint64(seq), FromMicros(at), []byte(detail)
			if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
				// The entry was changed in the database; Verify reports
				// it as not matching its leaf hash.
				r.Reasons = []string{reasons}
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// AuditLeafHashes implements audit.Storage.
func (db *DB) AuditLeafHashes(ctx context.Context, from, to uint64) ([][]byte, error) {
	var out [][]byte
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		out, err = auditLeafHashes(ctx, tx, from, to)
		return err
	})
	return out, err
}

func auditLeafHashes(ctx context.Context, tx *Tx, from, to uint64) ([][]byte, error) {
	rows, err := tx.QueryContext(ctx, `SELECT leaf_hash FROM audit_entries WHERE seq >= $1 AND seq < $2 ORDER BY seq`,
		int64(from), int64(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([][]byte, 0, to-from)
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// AuditCheckpoints implements audit.Storage.
func (db *DB) AuditCheckpoints(ctx context.Context, after, upTo uint64) ([]audit.StoredCheckpoint, error) {
	var out []audit.StoredCheckpoint
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT size, note, created_at FROM audit_checkpoints
			WHERE size > $1 AND size <= $2 ORDER BY size`, int64(after), int64(upTo))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanAuditCheckpoint(rows)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return rows.Err()
	})
	return out, err
}

// LatestAuditCheckpoint implements audit.Storage.
func (db *DB) LatestAuditCheckpoint(ctx context.Context) (*audit.StoredCheckpoint, error) {
	var out *audit.StoredCheckpoint
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		out, err = latestAuditCheckpoint(ctx, tx)
		return err
	})
	return out, err
}

func latestAuditCheckpoint(ctx context.Context, tx *Tx) (*audit.StoredCheckpoint, error) {
	row := tx.QueryRowContext(ctx, `SELECT size, note, created_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1`)
	c, err := scanAuditCheckpoint(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "The audit log is empty.")
	}
	return c, err
}

func scanAuditCheckpoint(row interface{ Scan(...any) error }) (*audit.StoredCheckpoint, error) {
	var size, at int64
	var note string
	if err := row.Scan(&size, &note, &at); err != nil {
		return nil, err
	}
	return &audit.StoredCheckpoint{Size: uint64(size), Note: []byte(note), CreatedAt: FromMicros(at)}, nil
}

// DisclosedAttempt returns the highest attempt at delivery id, in the
// given generation, that the audit log shows a disclosure for, or 0 when
// it shows none. event is the delivery's life event, which every
// disclosure about it names as its subject. The hub appends the
// disclosure before each attempt, so an attempt under way, or one that a
// crash cut off before its outcome or failure was recorded, is found
// here.
func (db *DB) DisclosedAttempt(ctx context.Context, event joinedup.EventID, id joinedup.DeliveryID, generation int) (int, error) {
	var highest int
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		highest, err = disclosedAttempt(ctx, tx, event, id, generation)
		return err
	})
	return highest, err
}

func disclosedAttempt(ctx context.Context, tx *Tx, event joinedup.EventID, id joinedup.DeliveryID, generation int) (int, error) {
	// The audit log stores each detail in its canonical form, compact JSON
	// with no space after a colon, so the pattern matches every entry
	// about the delivery. It only narrows the rows, and each is decoded.
	rows, err := tx.QueryContext(ctx, `
		SELECT detail FROM audit_entries
		WHERE subject = $1 AND action = $2 AND detail LIKE $3`,
		event, audit.ActionDisclosure, `%"delivery":"`+string(id)+`"%`)
	if err != nil {
		return 0, fmt.Errorf("find disclosures of delivery: %w", err)
	}
	defer rows.Close()
	highest := 0
	for rows.Next() {
		var detail string
		if err := rows.Scan(&detail); err != nil {
			return 0, err
		}
		var d struct {
			Delivery   joinedup.DeliveryID `json:"delivery"`
			Generation *int                `json:"generation"`
			Attempt    int                 `json:"attempt"`
		}
		// An entry that does not decode, or that names no generation,
		// as entries written before generations were recorded do not,
		// counts no attempt.
		if json.Unmarshal([]byte(detail), &d) != nil || d.Delivery != id || d.Generation == nil || *d.Generation != generation {
			continue
		}
		highest = max(highest, d.Attempt)
	}
	return highest, rows.Err()
}

// attemptUnderway reports whether the audit log shows an attempt at
// delivery d, in its current generation, beyond those recorded: one under
// way, or cut off by a crash, which may have reached the service. Only a
// delivery that is pending, retrying or withdrawn is looked up.
func attemptUnderway(ctx context.Context, tx *Tx, d *joinedup.Delivery) (bool, error) {
	if d.State != joinedup.StatePending && d.State != joinedup.StateRetrying && d.State != joinedup.StateWithdrawn {
		return false, nil
	}
	var generation int
	if err := tx.QueryRowContext(ctx, `SELECT generation FROM deliveries WHERE id = $1`, d.ID).Scan(&generation); err != nil {
		return false, fmt.Errorf("read generation of delivery %s: %w", d.ID, err)
	}
	highest, err := disclosedAttempt(ctx, tx, d.EventID, d.ID, generation)
	return highest > d.Attempts, err
}

// markAttemptsUnderway sets Reached on each of deliveries that no
// recorded attempt reached but that has an attempt under way, as
// attemptUnderway finds it.
func markAttemptsUnderway(ctx context.Context, tx *Tx, deliveries []*joinedup.Delivery) error {
	for _, d := range deliveries {
		if d.Reached || d.Outcome != nil {
			continue
		}
		underway, err := attemptUnderway(ctx, tx, d)
		if err != nil {
			return err
		}
		d.Reached = underway
	}
	return nil
}
