package audit

import (
	"bytes"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

const hashSize = 32

var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: hasher.HashChildren}
)

// chunkHashes is the number of hashes in a full chunk of a level. A level
// grows chunk by chunk, so that appending never copies more than one chunk
// of 2 MiB.
const chunkHashes = 1 << 16

// tree holds the hash of every complete subtree of the log's Merkle tree,
// so that proofs need no reads from storage. It takes about 64 bytes of
// memory per entry: the leaf hash and, on average, one interior hash.
//
// NOTE: the whole tree is kept in memory, about 64 MB per million entries.
// A log of hundreds of millions of entries needs the lower levels read from
// storage instead.
type tree struct {
	// levels[l] holds the hashes of the nodes (l, 0), (l, 1), … in
	// chunks of chunkHashes hashes, each hash hashSize bytes.
	levels [][][]byte
	rng    *compact.Range
}

func newTree() *tree {
	return &tree{rng: factory.NewEmptyRange(0)}
}

// size returns the number of leaves.
func (t *tree) size() uint64 { return t.rng.End() }

// append adds leaf hashes at the end and stores every subtree they
// complete. compact.Range visits each node once, and the nodes of a level
// in order of index, which store relies on.
func (t *tree) append(leafHashes [][]byte) error {
	var err error
	visit := func(id compact.NodeID, hash []byte) {
		if err == nil {
			err = t.store(id, hash)
		}
	}
	for _, h := range leafHashes {
		if len(h) != hashSize {
			return fmt.Errorf("leaf hash %d is %d bytes, want %d", t.size(), len(h), hashSize)
		}
		if e := t.rng.Append(h, visit); e != nil {
			return fmt.Errorf("append leaf %d: %w", t.size(), e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *tree) store(id compact.NodeID, hash []byte) error {
	for uint(len(t.levels)) <= id.Level {
		t.levels = append(t.levels, nil)
	}
	chunks := t.levels[id.Level]
	if next := t.count(id.Level); id.Index != next {
		return fmt.Errorf("node %d at level %d stored out of order: want index %d", id.Index, id.Level, next)
	}
	if len(chunks) == 0 || len(chunks[len(chunks)-1]) == chunkHashes*hashSize {
		chunks = append(chunks, make([]byte, 0, 64*hashSize))
	}
	last := len(chunks) - 1
	chunks[last] = append(chunks[last], hash...)
	t.levels[id.Level] = chunks
	return nil
}

// count returns the number of nodes stored at level l.
func (t *tree) count(l uint) uint64 {
	if l >= uint(len(t.levels)) || len(t.levels[l]) == 0 {
		return 0
	}
	chunks := t.levels[l]
	return uint64(len(chunks)-1)*chunkHashes + uint64(len(chunks[len(chunks)-1])/hashSize)
}

// node returns a copy of the hash of a complete subtree.
func (t *tree) node(id compact.NodeID) ([]byte, error) {
	if id.Index >= t.count(id.Level) {
		return nil, fmt.Errorf("node %d at level %d is not in a tree of size %d", id.Index, id.Level, t.size())
	}
	chunk := t.levels[id.Level][id.Index/chunkHashes]
	at := (id.Index % chunkHashes) * hashSize
	return bytes.Clone(chunk[at : at+hashSize]), nil
}

// root returns the root hash of the whole tree.
func (t *tree) root() ([]byte, error) {
	if t.size() == 0 {
		return hasher.EmptyRoot(), nil
	}
	return t.rng.GetRootHash(nil)
}

// extended returns the root hash of the tree with more leaf hashes
// appended, leaving t as it is.
func (t *tree) extended(leafHashes [][]byte) ([]byte, error) {
	rng, err := factory.NewRange(0, t.size(), append([][]byte(nil), t.rng.Hashes()...))
	if err != nil {
		return nil, err
	}
	for _, h := range leafHashes {
		if err := rng.Append(h, nil); err != nil {
			return nil, err
		}
	}
	if rng.End() == 0 {
		return hasher.EmptyRoot(), nil
	}
	return rng.GetRootHash(nil)
}

// inclusion returns the inclusion proof of leaf index in the tree of the
// given size, which may be smaller than t.
func (t *tree) inclusion(index, size uint64) ([][]byte, error) {
	if size > t.size() {
		return nil, fmt.Errorf("tree size %d is larger than the %d leaves held", size, t.size())
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return t.rehash(nodes)
}

// consistency returns the consistency proof between the trees of sizes
// old and new, which may be smaller than t.
func (t *tree) consistency(old, new uint64) ([][]byte, error) {
	if new > t.size() {
		return nil, fmt.Errorf("tree size %d is larger than the %d leaves held", new, t.size())
	}
	nodes, err := proof.Consistency(old, new)
	if err != nil {
		return nil, err
	}
	return t.rehash(nodes)
}

func (t *tree) rehash(nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := t.node(id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	return nodes.Rehash(hashes, hasher.HashChildren)
}

// clone returns a copy of t that shares the full chunks, which are never
// written again, and copies the rest.
func (t *tree) clone() *tree {
	c := &tree{levels: make([][][]byte, len(t.levels))}
	for l, chunks := range t.levels {
		c.levels[l] = append([][]byte(nil), chunks...)
		if n := len(chunks); n > 0 {
			c.levels[l][n-1] = bytes.Clone(chunks[n-1])
		}
	}
	c.rng, _ = factory.NewRange(0, t.size(), append([][]byte(nil), t.rng.Hashes()...))
	return c
}
