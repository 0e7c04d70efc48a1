package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
)

// Config holds what a Log needs.
type Config struct {
	Storage Storage

	// Key signs new checkpoints and verifies stored ones. A key without
	// its private part gives a log that can be read and verified but not
	// appended to.
	Key *Key

	// Logger receives the log's errors. It defaults to slog.Default.
	Logger *slog.Logger

	// MaxBatch is the largest number of entries that one append
	// transaction groups from concurrent calls. A single call with more
	// entries is still stored in one transaction. It defaults to 1,000.
	MaxBatch int

	// Now returns the current time. It defaults to time.Now.
	Now func() time.Time
}

// MaxEntries is the largest range that Entries returns in one call.
const MaxEntries = 1000

// Log is the hub's append-only audit log. It is safe for concurrent use.
// Several Logs, in one process or on several nodes, may share one Storage.
// Each appends under the storage's lock and catches up with the others'
// entries before it extends the tree.
type Log struct {
	storage  Storage
	key      *Key
	logger   *slog.Logger
	maxBatch int
	now      func() time.Time

	// mu guards tree, checked and checkedSize. Proofs take the read lock.
	mu   sync.RWMutex
	tree *tree
	// checked is the note of a checkpoint of checkedSize entries that
	// this Log signed, or verified against its tree. A stored checkpoint
	// with the same note at that size needs no second verification.
	checked     []byte
	checkedSize uint64

	// batchMu guards pending and committing. The first caller to find no
	// commit under way becomes the committer, as commitPending describes.
	batchMu    sync.Mutex
	pending    []*appendRequest
	committing bool
}

type appendRequest struct {
	entries []Entry
	seqs    []uint64
	err     error
	done    chan struct{}
}

// finished reports whether the request's transaction has ended.
func (r *appendRequest) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Open loads the hashes of the Merkle tree of the log kept in cfg.Storage,
// checks them against the latest checkpoint and returns the log.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Storage == nil || cfg.Key == nil {
		return nil, errors.New("open audit log: storage and key are required")
	}
	l := &Log{
		storage:  cfg.Storage,
		key:      cfg.Key,
		logger:   cfg.Logger,
		maxBatch: cfg.MaxBatch,
		now:      cfg.Now,
		tree:     newTree(),
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if l.maxBatch <= 0 {
		l.maxBatch = 1000
	}
	if l.now == nil {
		l.now = time.Now
	}
	if _, err := l.catchUp(ctx); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return l, nil
}

// Key returns the log's key.
func (l *Log) Key() *Key { return l.key }

// Append stores entries at the end of the log and returns their sequence
// numbers. It validates every entry first and stores none when one is
// invalid. The log sets Seq and Time of the stored entries and ignores the
// values passed in.
//
// Calls made while a commit is under way are grouped into the next
// transaction, which stores their entries and one new checkpoint. Entries
// are durable when Append returns nil. When ctx ends before the entries
// are taken into a transaction, Append returns ctx.Err() and stores none;
// after that it waits for the transaction and returns its result.
func (l *Log) Append(ctx context.Context, entries ...Entry) ([]uint64, error) {
	if !l.key.CanSign() {
		return nil, joinedup.Errorf(joinedup.EINTERNAL, "The audit log is read-only: its key has no private part.")
	}
	if len(entries) == 0 {
		return nil, nil
	}
	// Details are put in canonical form here, in the caller's goroutine,
	// so that the store's single writer only hashes and inserts.
	canonical, err := Canonical(entries...)
	if err != nil {
		return nil, err
	}
	return l.append(ctx, canonical)
}

// AppendQueued appends the entries that transactions queued in the
// storage, as a registration queues its consent decisions, and returns
// once a commit that started after the call has ended. Every commit
// appends queued entries first, so an entry left queued by a crash or a
// failed append is appended by this call or by any later one.
func (l *Log) AppendQueued(ctx context.Context) error {
	if !l.key.CanSign() {
		return joinedup.Errorf(joinedup.EINTERNAL, "The audit log is read-only: its key has no private part.")
	}
	_, err := l.append(ctx, nil)
	return err
}

// Canonical checks entries as a caller would pass them to Append and
// returns them with their details in canonical form, or an EINVALID error
// naming every bad field. Entries queued in the storage go through it
// before they are queued.
func Canonical(entries ...Entry) ([]Entry, error) {
	canonical := make([]Entry, len(entries))
	for i, e := range entries {
		detail, err := e.validate(i)
		if err != nil {
			return nil, err
		}
		e.Detail = detail
		canonical[i] = e
	}
	return canonical, nil
}

// append queues canonical entries, none for AppendQueued, for the next
// commit and waits for it.
func (l *Log) append(ctx context.Context, canonical []Entry) ([]uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	req := &appendRequest{entries: canonical, done: make(chan struct{})}
	l.batchMu.Lock()
	l.pending = append(l.pending, req)
	commit := !l.committing
	l.committing = true
	l.batchMu.Unlock()

	if commit {
		// The committer stores other callers' entries too, so its own
		// cancellation must not stop their transaction.
		l.commitPending(context.WithoutCancel(ctx), req)
		return req.seqs, req.err
	}

	select {
	case <-req.done:
		return req.seqs, req.err
	case <-ctx.Done():
	}
	l.batchMu.Lock()
	for i, r := range l.pending {
		if r == req {
			l.pending = append(l.pending[:i], l.pending[i+1:]...)
			l.batchMu.Unlock()
			return nil, ctx.Err()
		}
	}
	l.batchMu.Unlock()
	<-req.done
	return req.seqs, req.err
}

// commitPending stores queued requests, up to maxBatch entries a
// transaction, until the queue is empty. Once the transaction of own has ended, it hands the
// queue to a new goroutine, so that a caller's Append does not wait for
// the requests that keep arriving after its own. own is nil in that
// goroutine.
func (l *Log) commitPending(ctx context.Context, own *appendRequest) {
	for {
		l.batchMu.Lock()
		if own != nil && own.finished() && len(l.pending) > 0 {
			l.batchMu.Unlock()
			go l.commitPending(ctx, nil)
			return
		}
		n, count := 0, 0
		for n < len(l.pending) && (n == 0 || count+len(l.pending[n].entries) <= l.maxBatch) {
			count += len(l.pending[n].entries)
			n++
		}
		batch := append([]*appendRequest(nil), l.pending[:n]...)
		l.pending = l.pending[n:]
		if len(batch) == 0 {
			l.committing = false
			l.batchMu.Unlock()
			return
		}
		l.batchMu.Unlock()

		err := l.commit(ctx, batch)
		if err != nil {
			l.logger.ErrorContext(ctx, "audit append failed", "entries", count, "error", err)
		}
		for _, r := range batch {
			if err != nil {
				r.seqs, r.err = nil, err
			}
			close(r.done)
		}
	}
}

// commit stores the entries of batch and a new checkpoint in one
// transaction, then adds their leaf hashes to the tree.
func (l *Log) commit(ctx context.Context, batch []*appendRequest) error {
	now := l.now().UTC().Truncate(time.Microsecond)
	var start uint64
	var leafHashes [][]byte
	var signed []byte // the note of the checkpoint stored

	err := l.storage.AppendAudit(ctx, func(ctx context.Context, head Head) (*Batch, error) {
		if err := l.catchUpTo(ctx, head); err != nil {
			return nil, err
		}
		start = head.Size
		leafHashes = leafHashes[:0]
		b := &Batch{}
		seq := head.Size
		// add appends e to the batch as the entry at seq and returns seq.
		add := func(e Entry) (uint64, error) {
			e.Seq, e.Time = seq, now
			h, err := canonicalLeafHash(e)
			if err != nil {
				return 0, err
			}
			b.Records = append(b.Records, Record{Entry: e, Version: LeafVersion, LeafHash: h})
			leafHashes = append(leafHashes, h)
			seq++
			return e.Seq, nil
		}
		for _, e := range head.Queued {
			if _, err := add(e); err != nil {
				return nil, err
			}
		}
		for _, r := range batch {
			r.seqs = make([]uint64, len(r.entries))
			for i, e := range r.entries {
				var err error
				if r.seqs[i], err = add(e); err != nil {
					return nil, err
				}
			}
		}
		if len(b.Records) == 0 {
			// Only AppendQueued requested a commit, and nothing was queued.
			return nil, nil
		}

		l.mu.RLock()
		root, err := l.tree.extended(leafHashes)
		l.mu.RUnlock()
		if err != nil {
			return nil, fmt.Errorf("compute root hash: %w", err)
		}
		note, err := signCheckpoint(l.key, seq, root)
		if err != nil {
			return nil, err
		}
		b.Checkpoint = StoredCheckpoint{Size: seq, Note: note, CreatedAt: now}
		signed = note
		return b, nil
	})
	if err != nil {
		return fmt.Errorf("append audit entries: %w", err)
	}

	// A proof request may have caught up with this commit already.
	l.mu.Lock()
	defer l.mu.Unlock()
	if size := l.tree.size(); size >= start && size < start+uint64(len(leafHashes)) {
		if err := l.tree.append(leafHashes[size-start:]); err != nil {
			return fmt.Errorf("add audit leaves to the tree: %w", err)
		}
	}
	if end := start + uint64(len(leafHashes)); len(leafHashes) > 0 && l.tree.size() == end {
		l.checked, l.checkedSize = signed, end
	}
	return nil
}

// catchUp adds the leaves of entries that other Logs appended to the tree,
// up to the latest stored checkpoint, and returns that checkpoint, or nil
// when the log is empty.
func (l *Log) catchUp(ctx context.Context) (*Checkpoint, error) {
	// The checkpoint is read under the tree's lock. An append adds its
	// leaves to the tree under that lock after its checkpoint commits, so
	// the checkpoint read here covers every leaf in the tree.
	l.mu.Lock()
	defer l.mu.Unlock()
	stored, err := l.storage.LatestAuditCheckpoint(ctx)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read latest checkpoint: %w", err)
	}
	head := Head{Size: stored.Size, Checkpoint: stored.Note, LeafHashes: l.storage.AuditLeafHashes}
	if err := l.catchUpLocked(ctx, head); err != nil {
		return nil, err
	}
	return ParseCheckpoint(stored.Note, l.key)
}

// catchUpTo brings the tree to head.Size and checks its root hash against
// head's checkpoint, so that the log never signs a tree that does not
// extend the last one it signed.
func (l *Log) catchUpTo(ctx context.Context, head Head) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.catchUpLocked(ctx, head)
}

// catchUpLocked is catchUpTo with l.mu held.
func (l *Log) catchUpLocked(ctx context.Context, head Head) error {
	loaded := l.tree.size()
	if loaded > head.Size {
		return &joinedup.Error{Code: joinedup.EINTERNAL, Message: "The audit log has been tampered with.",
			Err: fmt.Errorf("latest checkpoint has tree size %d, but %d entries were appended before: run joinedup audit verify", head.Size, loaded)}
	}
	if loaded == head.Size && head.Checkpoint == nil {
		return nil
	}
	if loaded == head.Size && loaded == l.checkedSize && bytes.Equal(head.Checkpoint, l.checked) {
		return nil
	}

	cp, err := ParseCheckpoint(head.Checkpoint, l.key)
	if err != nil {
		return fmt.Errorf("check latest checkpoint: %w", err)
	}
	if cp.Size != head.Size {
		return fmt.Errorf("latest checkpoint has tree size %d, want %d", cp.Size, head.Size)
	}

	// Load into a copy so that a tree that fails the check is not kept.
	t := l.tree
	if loaded < head.Size {
		t = l.tree.clone()
		for from := loaded; from < head.Size; from += catchUpPage {
			to := min(from+catchUpPage, head.Size)
			hashes, err := head.LeafHashes(ctx, from, to)
			if err != nil {
				return fmt.Errorf("read leaf hashes %d to %d: %w", from, to-1, err)
			}
			if uint64(len(hashes)) != to-from {
				return fmt.Errorf("read leaf hashes %d to %d: got %d, want %d: run joinedup audit verify", from, to-1, len(hashes), to-from)
			}
			if err := t.append(hashes); err != nil {
				return err
			}
		}
	}
	root, err := t.root()
	if err != nil {
		return err
	}
	if !bytes.Equal(root, cp.Hash) {
		return &joinedup.Error{Code: joinedup.EINTERNAL, Message: "The audit log has been tampered with.",
			Err: fmt.Errorf("stored leaf hashes do not match the checkpoint of tree size %d: run joinedup audit verify", cp.Size)}
	}
	l.tree = t
	l.checked, l.checkedSize = bytes.Clone(head.Checkpoint), head.Size
	return nil
}

const catchUpPage = 100_000

// Checkpoint returns the latest checkpoint, or ENOTFOUND when the log is
// empty.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	cp, err := l.catchUp(ctx)
	if err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "The audit log is empty.")
	}
	return cp, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index
// in the tree of the given size. The size must not exceed the latest
// checkpoint's.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, joinedup.Errorf(joinedup.EINVALID, "Index %d is invalid: it must be less than the tree size %d.", index, size)
	}
	if err := l.require(ctx, size); err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tree.inclusion(index, size)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the
// trees of sizes old and new. The proof is empty when old is 0 or equals
// new.
func (l *Log) ConsistencyProof(ctx context.Context, old, new uint64) ([][]byte, error) {
	if old > new {
		return nil, joinedup.Errorf(joinedup.EINVALID, "Tree size %d is invalid: the old size must not exceed the new size %d.", old, new)
	}
	if err := l.require(ctx, new); err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tree.consistency(old, new)
}

// require makes sure the tree holds size leaves, catching up with other
// Logs when it holds fewer.
func (l *Log) require(ctx context.Context, size uint64) error {
	l.mu.RLock()
	loaded := l.tree.size()
	l.mu.RUnlock()
	if size <= loaded {
		return nil
	}
	if _, err := l.catchUp(ctx); err != nil {
		return err
	}
	l.mu.RLock()
	loaded = l.tree.size()
	l.mu.RUnlock()
	if size > loaded {
		return joinedup.Errorf(joinedup.ENOTFOUND, "Tree size %d is not found: the latest checkpoint has tree size %d.", size, loaded)
	}
	return nil
}

// Entries returns the entries from index from up to but not including to,
// at most MaxEntries of them.
func (l *Log) Entries(ctx context.Context, from, to uint64) ([]Entry, error) {
	if from > to {
		return nil, joinedup.Errorf(joinedup.EINVALID, "Range %d to %d is invalid: from must not exceed to.", from, to)
	}
	if to-from > MaxEntries {
		return nil, joinedup.Errorf(joinedup.EINVALID, "Range %d to %d is too long: ask for %d entries or fewer.", from, to, MaxEntries)
	}
	if from == to {
		return nil, nil
	}
	records, err := l.storage.AuditRecords(ctx, from, int(to-from))
	if err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	entries := make([]Entry, 0, len(records))
	for i, r := range records {
		if want := from + uint64(i); r.Seq != want {
			return nil, &joinedup.Error{Code: joinedup.EINTERNAL, Message: "The audit log has been tampered with.",
				Err: fmt.Errorf("entry %d is missing: run joinedup audit verify", want)}
		}
		entries = append(entries, r.Entry)
	}
	if uint64(len(entries)) < to-from {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "Entry %d is not found: the log ends before it.", from+uint64(len(entries)))
	}
	return entries, nil
}
