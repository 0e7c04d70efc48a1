package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/joinedup/joinedup"
)

// OutboxMessage is one message waiting to be published to the event bus.
type OutboxMessage struct {
	MsgID    string
	Delivery joinedup.DeliveryID
	Service  joinedup.ServiceID
}

// RelayOutbox reads up to limit outbox messages, oldest first, passes them
// to publish, and deletes those whose ids publish returns as published. It
// returns how many it read.
//
// On PostgreSQL the rows stay locked (FOR UPDATE SKIP LOCKED) while publish
// runs, so several nodes relay different messages, and they are deleted in
// the same transaction. On SQLite one process owns the file and the rows
// are read without a lock, so that intake is not held up while publish
// waits for the bus. Their delete is queued for the store's writer and
// RelayOutbox returns without waiting for its commit: the next call reads
// on at once and skips the messages whose delete is still queued. Either
// way a crash after publish and before the delete commits publishes the
// message again, which the bus drops as a duplicate of its message id.
//
// On PostgreSQL, once KeepEventBus has named the node's bus, a pass made
// after another node moved the store to its own bus reads and publishes
// nothing, and returns an error wrapping ErrEventBusMoved.
func (db *DB) RelayOutbox(ctx context.Context, limit int, publish func([]OutboxMessage) []string) (int, error) {
	const query = `SELECT msg_id, delivery_id, service_id FROM outbox ORDER BY created_at, msg_id LIMIT $1`

	if db.dialect == Postgres {
		n := 0
		err := db.Tx(ctx, func(tx *Tx) error {
			if err := db.checkKeptBus(ctx, tx); err != nil {
				return err
			}
			msgs, err := readOutbox(ctx, tx, query+` FOR UPDATE SKIP LOCKED`, limit)
			if err != nil {
				return err
			}
			n = len(msgs)
			if n == 0 {
				return nil
			}
			return deleteOutbox(ctx, tx, publish(msgs))
		})
		return n, err
	}

	// The lock is held from before the read until the rows are filtered,
	// so a message leaves relaying only after its delete committed and
	// every read that could still see its row has skipped it.
	db.relayMu.Lock()
	var msgs []OutboxMessage
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		msgs, err = readOutbox(ctx, tx, query, limit+len(db.relaying))
		return err
	})
	msgs = slices.DeleteFunc(msgs, func(m OutboxMessage) bool {
		_, queued := db.relaying[m.MsgID]
		return queued
	})
	db.relayMu.Unlock()
	if err != nil {
		return 0, err
	}
	msgs = msgs[:min(len(msgs), limit)]
	if len(msgs) == 0 {
		return 0, nil
	}
	published := publish(msgs)
	if len(published) == 0 {
		return len(msgs), nil
	}
	db.relayMu.Lock()
	for _, id := range published {
		db.relaying[id] = struct{}{}
	}
	db.relayMu.Unlock()
	db.deletes.Go(func() {
		// A delete that fails leaves its messages in the outbox; the relay
		// publishes them again and the bus drops them as duplicates.
		ctx := context.WithoutCancel(ctx)
		_ = db.Tx(ctx, func(tx *Tx) error { return deleteOutbox(ctx, tx, published) })
		db.relayMu.Lock()
		for _, id := range published {
			delete(db.relaying, id)
		}
		db.relayMu.Unlock()
	})
	return len(msgs), nil
}

func readOutbox(ctx context.Context, tx *Tx, query string, limit int) ([]OutboxMessage, error) {
	rows, err := tx.QueryContext(ctx, query, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		if err := rows.Scan(&m.MsgID, &m.Delivery, &m.Service); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func deleteOutbox(ctx context.Context, tx *Tx, ids []string) error {
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE msg_id = $1`, id); err != nil {
			return fmt.Errorf("delete outbox message: %w", err)
		}
	}
	return nil
}

// OutboxDepth returns the number of messages waiting to be published.
func (db *DB) OutboxDepth(ctx context.Context) (int, error) {
	var n int
	err := db.View(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n)
	})
	return n, err
}
