package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/joinedup/joinedup"
)

// VerifyError reports the first place where the stored log does not match
// its checkpoints.
type VerifyError struct {
	// Index is the first entry that does not match. When the log has
	// shrunk, it is the number of entries left.
	Index uint64

	// Last is the last entry of the smallest range known to hold the
	// first changed entry. It equals Index when that entry is known.
	Last uint64

	// Shrunk reports that entries at the end of the log are missing.
	Shrunk bool

	// Size is the tree size of the checkpoint that the log fails.
	Size uint64

	Reason string
}

func (e *VerifyError) Error() string { return e.Reason }

// verifyPage is how many records Verify reads at a time.
const verifyPage = 10_000

// Verify checks the log against its checkpoints and returns nil when every
// entry is intact. It recomputes each entry's leaf hash from its stored
// fields and the tree's root hash at every stored checkpoint, and checks
// signatures with l's key.
func (l *Log) Verify(ctx context.Context, against *Checkpoint) error {
	return Verify(ctx, l.storage, l.key, against)
}

// Verify checks the log kept in s, as Log.Verify does, without opening a
// Log. It checks the log against the checkpoint against, or against the
// latest stored one when against is nil. A checkpoint that k did not sign
// is rejected. The returned error is a *VerifyError when the log has been
// changed.
//
// A checkpoint older than the latest stored one is checked twice. The
// recomputed tree must have its root hash at its size, and a consistency
// proof built from the recomputed tree must link it to the latest.
//
// The database alone cannot show that entries were cut from the end when
// the checkpoints after them were deleted too. Only a checkpoint kept
// outside the database, passed as against, shows that.
func Verify(ctx context.Context, s Storage, k *Key, against *Checkpoint) error {
	var latest *Checkpoint
	stored, err := s.LatestAuditCheckpoint(ctx)
	switch {
	case joinedup.ErrorCode(err) == joinedup.ENOTFOUND:
	case err != nil:
		return fmt.Errorf("read latest checkpoint: %w", err)
	default:
		if latest, err = ParseCheckpoint(stored.Note, k); err != nil {
			return &VerifyError{Size: stored.Size,
				Reason: fmt.Sprintf("the latest stored checkpoint, of tree size %d, is invalid: %v", stored.Size, err)}
		}
	}

	target := latest
	if against != nil {
		if target, err = ParseCheckpoint(against.Note, k); err != nil {
			return fmt.Errorf("check checkpoint: %w", err)
		}
	}
	if target == nil {
		target = &Checkpoint{Origin: k.Origin(), Hash: hasher.EmptyRoot()}
	}

	// The fast pass checks only the signatures of target and latest,
	// whose root hashes cover every entry. A stored checkpoint that
	// matches the recomputed tree is true of the entries even when its
	// signature is forged. Only a mismatch needs every signature checked,
	// to find the smallest range that holds the change.
	err = newVerifier(s, k, target, latest, false).run(ctx)
	if errors.Is(err, errLocate) {
		err = newVerifier(s, k, target, latest, true).run(ctx)
	}
	if errors.Is(err, errLocate) {
		return fmt.Errorf("locate the change to the audit log: %w", err)
	}
	return err
}

// errLocate ends the fast pass at the first root hash that does not match.
var errLocate = errors.New("a root hash does not match")

func newVerifier(s Storage, k *Key, target, latest *Checkpoint, strict bool) *verifier {
	v := &verifier{storage: s, key: k, target: target, latest: latest, strict: strict, rng: factory.NewEmptyRange(0)}
	if latest != nil && target.Size > 0 && target.Size < latest.Size {
		v.wantConsistency()
	}
	return v
}

type verifier struct {
	storage Storage
	key     *Key
	target  *Checkpoint
	latest  *Checkpoint // nil for an empty log
	rng     *compact.Range

	// strict makes the scan check the signature of every stored
	// checkpoint, and report a mismatch rather than return errLocate.
	strict bool

	// good is the size of the largest checkpoint matched so far.
	good uint64

	// consistency holds the proof from target to latest while it is
	// being collected, and proofHashes the hashes of its nodes by id.
	consistency proof.Nodes
	proofHashes map[compact.NodeID][]byte
}

func (v *verifier) end() uint64 {
	if v.latest != nil && v.latest.Size > v.target.Size {
		return v.latest.Size
	}
	return v.target.Size
}

func (v *verifier) run(ctx context.Context) error {
	end := v.end()
	var visit compact.VisitFn
	if v.proofHashes != nil {
		visit = v.visit
	}

	for from := uint64(0); ; from += verifyPage {
		records, err := v.storage.AuditRecords(ctx, from, verifyPage)
		if err != nil {
			return fmt.Errorf("read audit entries from %d: %w", from, err)
		}
		if len(records) == 0 {
			if from < end {
				return v.shrunk(from)
			}
			break
		}
		checkpoints, err := v.storage.AuditCheckpoints(ctx, from, from+uint64(len(records)))
		if err != nil {
			return fmt.Errorf("read checkpoints after %d: %w", from, err)
		}

		for i, r := range records {
			seq := from + uint64(i)
			if seq >= end {
				if err := v.uncovered(ctx, r.Seq); err != nil {
					return err
				}
				return v.checkConsistency()
			}
			if err := v.check(seq, r, visit); err != nil {
				return err
			}
			for len(checkpoints) > 0 && checkpoints[0].Size <= seq+1 {
				if err := v.checkStored(checkpoints[0], seq+1); err != nil {
					return err
				}
				checkpoints = checkpoints[1:]
			}
			if seq+1 == v.target.Size {
				if err := v.match(v.target, "the checkpoint"); err != nil {
					return err
				}
			}
		}
		if len(records) < verifyPage && from+uint64(len(records)) < end {
			return v.shrunk(from + uint64(len(records)))
		}
	}
	return v.checkConsistency()
}

// check recomputes the leaf hash of the record at position seq and appends
// it to the tree.
func (v *verifier) check(seq uint64, r Record, visit compact.VisitFn) error {
	if r.Seq != seq {
		return &VerifyError{Index: seq, Last: seq, Size: v.end(),
			Reason: fmt.Sprintf("entry %d is missing: the next stored entry is %d", seq, r.Seq)}
	}
	if r.Version != LeafVersion {
		return &VerifyError{Index: seq, Last: seq, Size: v.end(),
			Reason: fmt.Sprintf("entry %d does not match: unknown leaf format version %d", seq, r.Version)}
	}

	// Append stores the detail in canonical form, so other bytes with the
	// same meaning, which hash the same, were still written later.
	detail, err := canonicalDetail(r.Detail)
	if err != nil || !bytes.Equal(detail, r.Detail) {
		return &VerifyError{Index: seq, Last: seq, Size: v.end(),
			Reason: fmt.Sprintf("entry %d does not match: its detail is not in the canonical form that Append stores", seq)}
	}
	leaf, err := encodeLeafV1(r.Entry, detail)
	if err != nil {
		return &VerifyError{Index: seq, Last: seq, Size: v.end(),
			Reason: fmt.Sprintf("entry %d does not match: %v", seq, err)}
	}
	h := hasher.HashLeaf(leaf)
	if !bytes.Equal(h, r.LeafHash) {
		return &VerifyError{Index: seq, Last: seq, Size: v.end(),
			Reason: fmt.Sprintf("entry %d does not match: its fields differ from the leaf hash stored when it was appended", seq)}
	}
	if err := v.rng.Append(h, visit); err != nil {
		return fmt.Errorf("append leaf %d: %w", seq, err)
	}
	return nil
}

// checkStored checks a stored checkpoint's root hash once the tree has
// size leaves, and in the strict pass its signature too. An Ed25519
// verification costs about ten times as much as the rest of the work for
// one entry, and a quiet hub stores a checkpoint for every entry.
func (v *verifier) checkStored(c StoredCheckpoint, size uint64) error {
	if c.Size != size {
		return &VerifyError{Index: v.good, Last: size - 1, Size: c.Size,
			Reason: fmt.Sprintf("the stored checkpoint of tree size %d has no entries to match", c.Size)}
	}
	if !v.strict {
		cp := v.latest
		if cp == nil || cp.Size != c.Size {
			var err error
			if cp, err = unverifiedCheckpoint(c.Note); err != nil || cp.Origin != v.key.Origin() || cp.Size != c.Size {
				return errLocate
			}
		}
		return v.match(cp, "the stored checkpoint")
	}

	cp, err := ParseCheckpoint(c.Note, v.key)
	if err != nil {
		return &VerifyError{Index: v.good, Last: size - 1, Size: c.Size,
			Reason: fmt.Sprintf("the stored checkpoint of tree size %d is invalid: %v", c.Size, err)}
	}
	if cp.Size != c.Size {
		return &VerifyError{Index: v.good, Last: size - 1, Size: c.Size,
			Reason: fmt.Sprintf("the stored checkpoint of tree size %d is signed for tree size %d", c.Size, cp.Size)}
	}
	return v.match(cp, "the stored checkpoint")
}

// match compares the root hash of the tree so far with cp's.
func (v *verifier) match(cp *Checkpoint, label string) error {
	root, err := v.rng.GetRootHash(nil)
	if err != nil {
		return fmt.Errorf("compute root hash at tree size %d: %w", cp.Size, err)
	}
	if !bytes.Equal(root, cp.Hash) {
		if !v.strict {
			return errLocate
		}
		reason := fmt.Sprintf("entries %d to %d do not match %s of tree size %d: one of them was changed", v.good, cp.Size-1, label, cp.Size)
		if v.good == cp.Size-1 {
			reason = fmt.Sprintf("entry %d does not match %s of tree size %d", v.good, label, cp.Size)
		}
		return &VerifyError{Index: v.good, Last: cp.Size - 1, Size: cp.Size, Reason: reason}
	}
	v.good = cp.Size
	return nil
}

// uncovered reports entry seq, which is stored beyond the checkpoints that
// this run verifies, unless a validly signed checkpoint stored since the
// run began covers it, because the hub may append while Verify runs.
func (v *verifier) uncovered(ctx context.Context, seq uint64) error {
	stored, err := v.storage.LatestAuditCheckpoint(ctx)
	if err != nil && joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
		return fmt.Errorf("read latest checkpoint: %w", err)
	}
	if err == nil && stored.Size > seq {
		if _, err := ParseCheckpoint(stored.Note, v.key); err == nil {
			return nil
		}
	}
	return &VerifyError{Index: seq, Last: seq, Size: v.end(),
		Reason: fmt.Sprintf("entry %d is stored but no signed checkpoint covers it: entries or checkpoints were changed", seq)}
}

func (v *verifier) shrunk(size uint64) error {
	return &VerifyError{Index: size, Last: size, Shrunk: true, Size: v.end(),
		Reason: fmt.Sprintf("the log has shrunk to %d entries: the checkpoint of tree size %d covers more", size, v.end())}
}

// wantConsistency lists the nodes of the consistency proof from target to
// latest, so that the scan keeps their hashes.
func (v *verifier) wantConsistency() {
	// Consistency fails only when the old size is larger than the new.
	nodes, _ := proof.Consistency(v.target.Size, v.latest.Size)
	v.consistency = nodes
	v.proofHashes = make(map[compact.NodeID][]byte, len(nodes.IDs))
	for _, id := range nodes.IDs {
		v.proofHashes[id] = nil
	}
}

func (v *verifier) visit(id compact.NodeID, hash []byte) {
	if _, ok := v.proofHashes[id]; ok {
		v.proofHashes[id] = hash
	}
}

// checkConsistency verifies the consistency proof from target to latest
// built from the recomputed hashes.
func (v *verifier) checkConsistency() error {
	if v.proofHashes == nil {
		return nil
	}
	hashes := make([][]byte, len(v.consistency.IDs))
	for i, id := range v.consistency.IDs {
		hashes[i] = v.proofHashes[id]
		if hashes[i] == nil {
			return fmt.Errorf("consistency proof node %d at level %d was not computed", id.Index, id.Level)
		}
	}
	p, err := v.consistency.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return fmt.Errorf("build consistency proof: %w", err)
	}
	if err := proof.VerifyConsistency(hasher, v.target.Size, v.latest.Size, p, v.target.Hash, v.latest.Hash); err != nil {
		return &VerifyError{Index: v.target.Size, Last: v.latest.Size - 1, Size: v.latest.Size,
			Reason: fmt.Sprintf("the checkpoint of tree size %d is not consistent with the latest, of tree size %d: %v", v.target.Size, v.latest.Size, err)}
	}
	return nil
}
