package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/linkage"
)

// AddPersonRecord stores r in the person index and, when review is not
// nil, opens it, in one transaction. The record joins the person that
// r.Matched belongs to now, or r.PersonID, or else a new person; r.PersonID
// and r.AddedAt are set. A record already stored is ECONFLICT, and an
// unknown person or matched record EINVALID.
func (db *DB) AddPersonRecord(ctx context.Context, r *linkage.PersonRecord, review *linkage.Review) error {
	return db.AddPersonRecords(ctx, []*linkage.PersonRecord{r}, []*linkage.Review{review})
}

// AddPersonRecords stores records in order, each as AddPersonRecord does
// with the review at the same index, in one transaction. A record may
// match one stored before it in the same call. An error stores none.
func (db *DB) AddPersonRecords(ctx context.Context, records []*linkage.PersonRecord, reviews []*linkage.Review) error {
	if len(reviews) != len(records) {
		return fmt.Errorf("add person records: %d records and %d reviews", len(records), len(reviews))
	}
	encoded := make([]string, len(records))
	fields := make([]string, len(records))
	for i, r := range records {
		record, err := json.Marshal(r.Record)
		if err != nil {
			return fmt.Errorf("encode person record: %w", err)
		}
		encoded[i] = string(record)
		if reviews[i] != nil {
			f, err := json.Marshal(reviews[i].Fields)
			if err != nil {
				return fmt.Errorf("encode review fields: %w", err)
			}
			fields[i] = string(f)
		}
	}
	return db.Tx(ctx, func(tx *Tx) error {
		added, err := nextAddedAt(ctx, tx)
		if err != nil {
			return err
		}
		for i, r := range records {
			if err := addPersonRecord(ctx, tx, r, encoded[i], reviews[i], fields[i], added); err != nil {
				return err
			}
		}
		return nil
	})
}

// nextAddedAt returns the added_at of the records that tx stores: the
// transaction's time, or the newest stored added_at when that is later,
// as when another node's clock is ahead or this one's stepped back.
// Under LockPersons, records then commit in the order of their added_at,
// so a node that read the records added up to some time finds every
// later one by reading from that time on.
func nextAddedAt(ctx context.Context, tx *Tx) (time.Time, error) {
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(added_at) FROM person_records`).Scan(&newest); err != nil {
		return time.Time{}, fmt.Errorf("read the newest person record: %w", err)
	}
	if at := FromMicros(newest.Int64); newest.Valid && at.After(tx.Now()) {
		return at, nil
	}
	return tx.Now(), nil
}

// personsLockKey is the PostgreSQL advisory lock that serialises the
// person index's resolutions across nodes.
const personsLockKey = 0x706572736f6e01

// LockPersons implements linkage.PersonStore. On PostgreSQL it holds a
// transaction-level advisory lock in a transaction of its own until
// unlock is called, and a node that stops meanwhile releases it with its
// connection. On SQLite one process owns the store, and its Persons
// serialises its own resolutions, so LockPersons does nothing.
func (db *DB) LockPersons(ctx context.Context) (unlock func(), err error) {
	if db.dialect != Postgres {
		return func() {}, nil
	}
	// The transaction outlives ctx, which only bounds the wait for the
	// lock: database/sql would roll it back, releasing the lock, as soon
	// as its own context ended.
	lockCtx, release := context.WithCancel(context.WithoutCancel(ctx))
	tx, err := db.db.BeginTx(lockCtx, nil)
	if err != nil {
		release()
		return nil, db.wrap(fmt.Errorf("begin transaction: %w", err))
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(personsLockKey)); err != nil {
		_ = tx.Rollback()
		release()
		return nil, db.wrap(fmt.Errorf("lock the person index: %w", err))
	}
	return func() {
		_ = tx.Rollback()
		release()
	}, nil
}

// addPersonRecord stores r, encoded as record, added at added, and opens
// review, whose fields are encoded as fields, in tx.
func addPersonRecord(ctx context.Context, tx *Tx, r *linkage.PersonRecord, record string, review *linkage.Review, fields string, added time.Time) error {
	personID := r.PersonID
	if r.Matched != nil {
		err := tx.QueryRowContext(ctx, `SELECT person_id FROM person_records WHERE source = $1 AND record_id = $2`,
			r.Matched.Source, r.Matched.RecordID).Scan(&personID)
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.EINVALID, "There is no record %q of %s to link the record to.", r.Matched.RecordID, r.Matched.Source)
		}
		if err != nil {
			return fmt.Errorf("find person of matched record: %w", err)
		}
	}
	if personID == "" {
		personID = joinedup.NewID("per")
		if _, err := tx.ExecContext(ctx, `INSERT INTO persons (id, created_at) VALUES ($1, $2)`, personID, Micros(tx.Now())); err != nil {
			return fmt.Errorf("insert person: %w", err)
		}
	} else if err := requirePerson(ctx, tx, personID); err != nil {
		return err
	}

	_, err := tx.ExecContext(ctx, `
		INSERT INTO person_records (source, record_id, person_id, record, linked_by, weight, added_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.Source, r.Record.ID, personID, record, string(r.LinkedBy), r.Weight, Micros(added))
	if err != nil {
		return fmt.Errorf("insert person record: %w", err)
	}

	if review != nil {
		_, err = tx.ExecContext(ctx, `
			INSERT INTO person_reviews (id, source, record_id, candidate_source, candidate_record_id,
				weight, probability, fields, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			review.ID, review.Source, review.RecordID, review.CandidateSource, review.CandidateRecordID,
			review.Weight, review.Probability, fields, string(linkage.ReviewOpen), Micros(tx.Now()))
		if err != nil {
			return fmt.Errorf("insert review: %w", err)
		}
		review.State, review.CreatedAt = linkage.ReviewOpen, tx.Now()
	}
	r.PersonID, r.AddedAt = personID, added
	return nil
}

func requirePerson(ctx context.Context, tx *Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM persons WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Errorf(joinedup.EINVALID, "There is no person %q to link the record to.", id)
	}
	return err
}

const personRecordColumns = `source, record_id, person_id, record, linked_by, weight, added_at`

func scanPersonRecord(row interface{ Scan(...any) error }) (*linkage.PersonRecord, error) {
	var r linkage.PersonRecord
	var recordID, record, linkedBy string
	var added int64
	if err := row.Scan(&r.Source, &recordID, &r.PersonID, &record, &linkedBy, &r.Weight, &added); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(record), &r.Record); err != nil {
		return nil, fmt.Errorf("decode person record %s/%s: %w", r.Source, recordID, err)
	}
	r.Record.ID = recordID
	r.LinkedBy = linkage.LinkReason(linkedBy)
	r.AddedAt = FromMicros(added)
	return &r, nil
}

// ListPersonRecords returns every record in the person index, oldest
// first.
func (db *DB) ListPersonRecords(ctx context.Context) ([]linkage.PersonRecord, error) {
	return db.ListPersonRecordsSince(ctx, time.Time{})
}

// ListPersonRecordsSince returns the records added at or after since,
// oldest first.
func (db *DB) ListPersonRecordsSince(ctx context.Context, since time.Time) ([]linkage.PersonRecord, error) {
	return db.listPersonRecords(ctx, `SELECT `+personRecordColumns+` FROM person_records
		WHERE added_at >= $1 ORDER BY added_at, source, record_id`, Micros(since))
}

// ListRecordsOfPerson returns the records linked to one person, oldest
// first; a person without records is ENOTFOUND.
func (db *DB) ListRecordsOfPerson(ctx context.Context, personID string) ([]linkage.PersonRecord, error) {
	out, err := db.listPersonRecords(ctx, `SELECT `+personRecordColumns+` FROM person_records
		WHERE person_id = $1 ORDER BY added_at, source, record_id`, personID)
	if err == nil && len(out) == 0 {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "There is no person %q.", personID)
	}
	return out, err
}

func (db *DB) listPersonRecords(ctx context.Context, query string, args ...any) ([]linkage.PersonRecord, error) {
	var out []linkage.PersonRecord
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanPersonRecord(rows)
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return rows.Err()
	})
	return out, err
}

// FindPersonRecord returns the record of source with the holder's id
// recordID, or ENOTFOUND.
func (db *DB) FindPersonRecord(ctx context.Context, source, recordID string) (*linkage.PersonRecord, error) {
	var r *linkage.PersonRecord
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		r, err = scanPersonRecord(tx.QueryRowContext(ctx, `SELECT `+personRecordColumns+` FROM person_records
			WHERE source = $1 AND record_id = $2`, source, recordID))
		if errors.Is(err, sql.ErrNoRows) {
			return joinedup.Errorf(joinedup.ENOTFOUND, "There is no record %q of %s in the person index.", recordID, source)
		}
		return err
	})
	return r, err
}

const reviewColumns = `id, source, record_id, candidate_source, candidate_record_id, weight, probability,
	fields, state, reason, decided_by, created_at, decided_at`

func scanReview(row interface{ Scan(...any) error }) (*linkage.Review, error) {
	var rv linkage.Review
	var fields, state string
	var created, decided int64
	err := row.Scan(&rv.ID, &rv.Source, &rv.RecordID, &rv.CandidateSource, &rv.CandidateRecordID,
		&rv.Weight, &rv.Probability, &fields, &state, &rv.Reason, &rv.DecidedBy, &created, &decided)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &rv.Fields); err != nil {
		return nil, fmt.Errorf("decode review %s fields: %w", rv.ID, err)
	}
	rv.State = linkage.ReviewState(state)
	rv.CreatedAt, rv.DecidedAt = FromMicros(created), FromMicros(decided)
	return &rv, nil
}

// ListPersonReviews returns up to limit reviews in the given state, oldest
// first, or in every state when state is empty.
func (db *DB) ListPersonReviews(ctx context.Context, state linkage.ReviewState, limit int) ([]*linkage.Review, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []*linkage.Review
	err := db.View(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+reviewColumns+` FROM person_reviews
			WHERE $1 = '' OR state = $1 ORDER BY created_at, id LIMIT $2`, string(state), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rv, err := scanReview(rows)
			if err != nil {
				return err
			}
			out = append(out, rv)
		}
		return rows.Err()
	})
	return out, err
}

// FindPersonReview returns the review with the given id, or ENOTFOUND.
func (db *DB) FindPersonReview(ctx context.Context, id string) (*linkage.Review, error) {
	var rv *linkage.Review
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		rv, err = findReview(ctx, tx, id, false)
		return err
	})
	return rv, err
}

func findReview(ctx context.Context, tx *Tx, id string, forUpdate bool) (*linkage.Review, error) {
	query := `SELECT ` + reviewColumns + ` FROM person_reviews WHERE id = $1`
	if forUpdate && tx.Dialect() == Postgres {
		query += ` FOR UPDATE`
	}
	rv, err := scanReview(tx.QueryRowContext(ctx, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "There is no review %q.", id)
	}
	return rv, err
}

// DecidePersonReview confirms or rejects the open review id, recording
// the reason and who decided. Confirming merges the record's person into
// the candidate's: every record of the one moves to the other and the
// emptied person is deleted. A review already decided is ECONFLICT and an
// empty reason EINVALID.
func (db *DB) DecidePersonReview(ctx context.Context, id string, confirm bool, reason, decidedBy string) (*linkage.Review, error) {
	if reason == "" {
		return nil, joinedup.Invalid("Give a reason for the decision.",
			joinedup.FieldError{Field: "/reason", Message: "Enter why the records are or are not the same person"})
	}
	var rv *linkage.Review
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		if rv, err = findReview(ctx, tx, id, true); err != nil {
			return err
		}
		if rv.State != linkage.ReviewOpen {
			return joinedup.Errorf(joinedup.ECONFLICT, "Review %q was already %s.", id, rv.State)
		}
		rv.State = linkage.ReviewRejected
		if confirm {
			rv.State = linkage.ReviewConfirmed
			if err := mergePersons(ctx, tx, rv); err != nil {
				return err
			}
		}
		rv.Reason, rv.DecidedBy, rv.DecidedAt = reason, decidedBy, tx.Now()
		_, err = tx.ExecContext(ctx, `UPDATE person_reviews SET state = $1, reason = $2, decided_by = $3, decided_at = $4
			WHERE id = $5`, string(rv.State), reason, decidedBy, Micros(tx.Now()), id)
		return err
	})
	return rv, err
}

// mergePersons moves every record of the review's record's person to the
// candidate's person.
func mergePersons(ctx context.Context, tx *Tx, rv *linkage.Review) error {
	personOf := func(source, recordID string) (string, error) {
		var p string
		err := tx.QueryRowContext(ctx, `SELECT person_id FROM person_records WHERE source = $1 AND record_id = $2`,
			source, recordID).Scan(&p)
		return p, err
	}
	from, err := personOf(rv.Source, rv.RecordID)
	if err != nil {
		return fmt.Errorf("find person of record: %w", err)
	}
	to, err := personOf(rv.CandidateSource, rv.CandidateRecordID)
	if err != nil {
		return fmt.Errorf("find person of candidate: %w", err)
	}
	if from == to {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE person_records SET person_id = $1 WHERE person_id = $2`, to, from); err != nil {
		return fmt.Errorf("move records: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE person_records SET linked_by = $1 WHERE source = $2 AND record_id = $3`,
		string(linkage.LinkedReview), rv.Source, rv.RecordID); err != nil {
		return fmt.Errorf("mark record reviewed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM persons WHERE id = $1`, from); err != nil {
		return fmt.Errorf("delete merged person: %w", err)
	}
	return nil
}
