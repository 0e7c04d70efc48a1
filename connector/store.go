package connector

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/webhook"
)

// schema creates the connector's two tables in the service's database.
// connector_outcomes keeps, for every webhook-id the service processed, the
// outcome it returned, forever, so a redelivery gets the same response,
// unless that outcome was failed.
// connector_messages keeps each (webhook-id, webhook-timestamp) pair
// accepted in the last replayWindow, which is enough to recognise a
// captured message sent again while its timestamp is still within
// tolerance. The SQL runs on SQLite and PostgreSQL.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS connector_outcomes (
		webhook_id   TEXT PRIMARY KEY,
		event_type   TEXT NOT NULL,
		outcome      TEXT NOT NULL,
		processed_at BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS connector_messages (
		webhook_id        TEXT NOT NULL,
		webhook_timestamp BIGINT NOT NULL,
		received_at       BIGINT NOT NULL,
		PRIMARY KEY (webhook_id, webhook_timestamp)
	)`,
	`CREATE INDEX IF NOT EXISTS connector_messages_received_at ON connector_messages (received_at)`,
}

// replayWindow is how long an accepted message is remembered. A message
// with timestamp T is accepted only while the clock reads T±Tolerance, so
// it can arrive at most 2×Tolerance after the first copy. The extra minute
// allows for clocks that step back.
const replayWindow = 2*webhook.Tolerance + time.Minute

func createSchema(ctx context.Context, db *sql.DB) error {
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create connector tables: %w", err)
		}
	}
	return nil
}

// errReplay means the exact message, same webhook-id and same timestamp,
// was accepted before.
var errReplay = errors.New("message already received")

// statements are the connector's queries, prepared once on the service's
// database so that each delivery skips parsing them.
type statements struct {
	forget, mark, find, store, unstore *sql.Stmt
}

func prepareStatements(ctx context.Context, db *sql.DB) (*statements, error) {
	var s statements
	for _, q := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&s.forget, `DELETE FROM connector_messages WHERE received_at < $1`},
		{&s.mark, `INSERT INTO connector_messages (webhook_id, webhook_timestamp, received_at)
			VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`},
		{&s.find, `SELECT outcome FROM connector_outcomes WHERE webhook_id = $1`},
		{&s.store, `INSERT INTO connector_outcomes (webhook_id, event_type, outcome, processed_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`},
		{&s.unstore, `DELETE FROM connector_outcomes WHERE webhook_id = $1`},
	} {
		stmt, err := db.PrepareContext(ctx, q.query)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare connector statements: %w", err)
		}
		*q.stmt = stmt
	}
	return &s, nil
}

func (s *statements) close() {
	for _, stmt := range []*sql.Stmt{s.forget, s.mark, s.find, s.store, s.unstore} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// forgetOld deletes the records of messages received more than
// replayWindow before now.
func (s *statements) forgetOld(ctx context.Context, tx *sql.Tx, now time.Time) error {
	if _, err := tx.StmtContext(ctx, s.forget).ExecContext(ctx, now.Add(-replayWindow).UnixMicro()); err != nil {
		return fmt.Errorf("forget old messages: %w", err)
	}
	return nil
}

// markReceived records the message (id, timestamp) as received at now and
// returns errReplay if it was received before.
func (s *statements) markReceived(ctx context.Context, tx *sql.Tx, id string, timestamp int64, now time.Time) error {
	res, err := tx.StmtContext(ctx, s.mark).ExecContext(ctx, id, timestamp, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("record message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("record message: %w", err)
	}
	if n == 0 {
		return errReplay
	}
	return nil
}

// findOutcome returns the outcome stored for id, and false when id has
// not been processed. It reads through tx, or through the pool when tx is
// nil.
func (s *statements) findOutcome(ctx context.Context, tx *sql.Tx, id string) (joinedup.Outcome, bool, error) {
	stmt := s.find
	if tx != nil {
		stmt = tx.StmtContext(ctx, stmt)
	}
	var raw string
	err := stmt.QueryRowContext(ctx, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return joinedup.Outcome{}, false, nil
	} else if err != nil {
		return joinedup.Outcome{}, false, fmt.Errorf("find outcome: %w", err)
	}

	var o joinedup.Outcome
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		return joinedup.Outcome{}, false, fmt.Errorf("decode stored outcome: %w", err)
	}
	return o, true, nil
}

// forgetOutcome deletes the outcome stored for id, so that the event is
// handled again.
func (s *statements) forgetOutcome(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.StmtContext(ctx, s.unstore).ExecContext(ctx, id); err != nil {
		return fmt.Errorf("forget failed outcome: %w", err)
	}
	return nil
}

// storeOutcome records o as the outcome of id. It returns false when
// another transaction stored an outcome for id first, in which case the
// caller must roll back so that its effects are undone.
func (s *statements) storeOutcome(ctx context.Context, tx *sql.Tx, id, eventType string, o joinedup.Outcome, now time.Time) (bool, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return false, fmt.Errorf("encode outcome: %w", err)
	}
	res, err := tx.StmtContext(ctx, s.store).ExecContext(ctx, id, eventType, string(raw), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("store outcome: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store outcome: %w", err)
	}
	return n == 1, nil
}
