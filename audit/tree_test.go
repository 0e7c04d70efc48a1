package audit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/testonly"
)

// TestTreeMatchesReference compares the tree's root hashes and proofs with
// the merkle module's reference tree for every size up to 70, which covers
// perfect trees and ragged right edges.
func TestTreeMatchesReference(t *testing.T) {
	const n = 70
	ref := testonly.New(hasher)
	tr := newTree()
	for i := 0; i < n; i++ {
		h := hasher.HashLeaf([]byte(fmt.Sprintf("leaf %d", i)))
		ref.Append(h)
		if err := tr.append([][]byte{h}); err != nil {
			t.Fatalf("append leaf %d: %v", i, err)
		}

		root, err := tr.root()
		if err != nil {
			t.Fatalf("root at size %d: %v", i+1, err)
		}
		if !bytes.Equal(root, ref.Hash()) {
			t.Fatalf("root at size %d = %x, want %x", i+1, root, ref.Hash())
		}
	}

	for size := uint64(1); size <= n; size++ {
		for index := uint64(0); index < size; index++ {
			got, err := tr.inclusion(index, size)
			if err != nil {
				t.Fatalf("inclusion proof of %d in %d: %v", index, size, err)
			}
			want, err := ref.InclusionProof(index, size)
			if err != nil {
				t.Fatalf("reference inclusion proof of %d in %d: %v", index, size, err)
			}
			if !equalHashes(got, want) {
				t.Errorf("inclusion proof of %d in %d = %x, want %x", index, size, got, want)
			}
			if err := proof.VerifyInclusion(hasher, index, size, ref.LeafHash(index), got, ref.HashAt(size)); err != nil {
				t.Errorf("inclusion proof of %d in %d does not verify: %v", index, size, err)
			}
		}
		for old := uint64(1); old <= size; old++ {
			got, err := tr.consistency(old, size)
			if err != nil {
				t.Fatalf("consistency proof from %d to %d: %v", old, size, err)
			}
			if err := proof.VerifyConsistency(hasher, old, size, got, ref.HashAt(old), ref.HashAt(size)); err != nil {
				t.Errorf("consistency proof from %d to %d does not verify: %v", old, size, err)
			}
		}
	}

	if _, err := tr.inclusion(0, n+1); err == nil {
		t.Errorf("inclusion proof in a tree larger than the one held = nil error, want an error")
	}
}

func TestTreeAcrossChunks(t *testing.T) {
	const n = chunkHashes + 3
	ref := testonly.New(hasher)
	tr := newTree()
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = hasher.HashLeaf([]byte(fmt.Sprintf("leaf %d", i)))
	}
	ref.Append(hashes...)
	if err := tr.append(hashes); err != nil {
		t.Fatalf("append: %v", err)
	}
	if got := len(tr.levels[0]); got != 2 {
		t.Fatalf("level 0 has %d chunks, want 2", got)
	}

	for _, index := range []uint64{0, chunkHashes - 1, chunkHashes, n - 1} {
		got, err := tr.inclusion(index, n)
		if err != nil {
			t.Fatalf("inclusion proof of %d: %v", index, err)
		}
		if err := proof.VerifyInclusion(hasher, index, n, hashes[index], got, ref.Hash()); err != nil {
			t.Errorf("inclusion proof of %d does not verify: %v", index, err)
		}
	}
}

func TestTreeExtendedAndClone(t *testing.T) {
	tr := newTree()
	var hashes [][]byte
	for i := 0; i < 10; i++ {
		hashes = append(hashes, hasher.HashLeaf([]byte{byte(i)}))
	}
	if err := tr.append(hashes[:6]); err != nil {
		t.Fatalf("append: %v", err)
	}

	extended, err := tr.extended(hashes[6:])
	if err != nil {
		t.Fatalf("extended: %v", err)
	}
	if tr.size() != 6 {
		t.Errorf("size after extended = %d, want 6: extended must not change the tree", tr.size())
	}

	c := tr.clone()
	if err := c.append(hashes[6:]); err != nil {
		t.Fatalf("append to clone: %v", err)
	}
	root, err := c.root()
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	if !bytes.Equal(root, extended) {
		t.Errorf("root of the extended clone = %x, want the extended root %x", root, extended)
	}
	if tr.size() != 6 || tr.count(0) != 6 {
		t.Errorf("original has size %d and %d leaves after appending to its clone, want 6 and 6", tr.size(), tr.count(0))
	}
}

func TestTreeEmptyRoot(t *testing.T) {
	root, err := newTree().root()
	if err != nil {
		t.Fatalf("root: %v", err)
	}
	if !bytes.Equal(root, hasher.EmptyRoot()) {
		t.Errorf("root of the empty tree = %x, want SHA-256 of nothing %x", root, hasher.EmptyRoot())
	}
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
