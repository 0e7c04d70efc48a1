package audit

import (
	"context"
	"time"
)

// Storage keeps the log's entries and signed checkpoints. The package store
// implements it on SQLite and PostgreSQL.
type Storage interface {
	// AppendAudit runs one transaction. It locks the log against every
	// other writer, on every node, calls prepare with the stored head, and
	// then stores the records and the checkpoint that prepare returns,
	// and removes the entries of head.Queued from the queue. A nil batch
	// stores nothing. An error from prepare rolls the transaction back and
	// is returned as is.
	AppendAudit(ctx context.Context, prepare func(ctx context.Context, head Head) (*Batch, error)) error

	// AuditRecords returns at most limit records with a sequence number of
	// from or more, in sequence order, as they are stored. Gaps in the
	// sequence are returned as they are, so that Verify can find them.
	AuditRecords(ctx context.Context, from uint64, limit int) ([]Record, error)

	// AuditLeafHashes returns the stored leaf hashes of the records with
	// sequence numbers from up to but not including to, in order.
	AuditLeafHashes(ctx context.Context, from, to uint64) ([][]byte, error)

	// AuditCheckpoints returns the stored checkpoints with a tree size
	// greater than after and at most upTo, smallest first.
	AuditCheckpoints(ctx context.Context, after, upTo uint64) ([]StoredCheckpoint, error)

	// LatestAuditCheckpoint returns the checkpoint with the largest tree
	// size, or an ENOTFOUND error when the log is empty.
	LatestAuditCheckpoint(ctx context.Context) (*StoredCheckpoint, error)
}

// Head is the state of the log that an append extends, read inside the
// append's transaction.
type Head struct {
	// Size is the tree size of the latest checkpoint, which is the sequence
	// number the next entry takes. It is 0 for an empty log.
	Size uint64

	// Checkpoint is the latest signed checkpoint, nil for an empty log.
	Checkpoint []byte

	// LeafHashes reads stored leaf hashes inside the transaction, as
	// Storage.AuditLeafHashes does.
	LeafHashes func(ctx context.Context, from, to uint64) ([][]byte, error)

	// Queued are entries that transactions queued in the storage, oldest
	// first, read inside this transaction; a storage that queues none
	// leaves it empty. They are in canonical form, with no sequence number
	// or time. The batch must hold them first, in this order.
	Queued []Entry
}

// Batch is the content of one append transaction: the new records, in
// sequence order, and the checkpoint that covers them.
type Batch struct {
	Records    []Record
	Checkpoint StoredCheckpoint
}

// Record is an entry as stored, with the leaf format version it was encoded
// in and the RFC 6962 hash of that leaf.
type Record struct {
	Entry
	Version  int
	LeafHash []byte
}

// StoredCheckpoint is a signed checkpoint as stored: the tree size it
// covers and its signed note, with the time it was stored.
type StoredCheckpoint struct {
	Size      uint64
	Note      []byte
	CreatedAt time.Time
}
