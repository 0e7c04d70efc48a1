package linkage

import (
	"encoding/binary"
	"hash/maphash"
	"math"
)

// Blocking rules. A pair is compared when the two records share the key
// of at least one rule, so that a pair survives a corrupted field as long
// as one rule does not use it. Each rule's tag starts its key.
const (
	ruleDate     byte = iota + 1 // year with day and month in either order
	ruleNames                    // Soundex of both name parts, in either order
	rulePostcode                 // postcode unit and Soundex of the family name
	ruleNameYear                 // Soundex of either name part and year of birth
	ruleNINO                     // National Insurance number
	ruleNHS                      // NHS number
	ruleUPRN                     // UPRN and the initial of the given name
	ruleEmail                    // email address
)

const maxKeys = 9

// maxBlock bounds the records read from one block when matching. A key
// shared by more records than this carries little evidence and would make
// matching slow, so the rule is skipped for that record. The other rules
// still find its candidates.
const maxBlock = 5000

// blockingKeys appends to dst the keys of p under every rule that applies,
// or under the rule only when it is not 0.
func blockingKeys(p *prepared, seed maphash.Seed, only byte, dst []uint64) []uint64 {
	use := func(rule byte) bool { return only == 0 || only == rule }
	var h maphash.Hash
	h.SetSeed(seed)
	key := func(parts ...[]byte) uint64 {
		h.Reset()
		for _, b := range parts {
			h.Write(b)
			h.WriteByte(0)
		}
		return h.Sum64()
	}
	u32 := func(tag byte, a, b uint32) []byte {
		var buf [9]byte
		buf[0] = tag
		binary.BigEndian.PutUint32(buf[1:], a)
		binary.BigEndian.PutUint32(buf[5:], b)
		return buf[:]
	}

	given, family := p.given.soundex, p.family.soundex
	if use(ruleDate) && p.dob.present {
		lo, hi := uint32(min(p.dob.month, p.dob.day)), uint32(max(p.dob.month, p.dob.day))
		dst = append(dst, key(u32(ruleDate, uint32(p.dob.year), lo<<8|hi)))
	}
	if use(ruleNames) && (given != 0 || family != 0) {
		dst = append(dst, key(u32(ruleNames, min(given, family), max(given, family))))
	}
	if use(rulePostcode) && p.postcode.unit != "" && (family != 0 || given != 0) {
		name := family
		if name == 0 {
			name = given
		}
		dst = append(dst, key(u32(rulePostcode, name, 0), []byte(p.postcode.unit)))
	}
	// Both parts share one tag, so a name in the wrong box still meets
	// itself.
	if use(ruleNameYear) && p.dob.present {
		if family != 0 {
			dst = append(dst, key(u32(ruleNameYear, family, uint32(p.dob.year))))
		}
		if given != 0 && given != family {
			dst = append(dst, key(u32(ruleNameYear, given, uint32(p.dob.year))))
		}
	}
	if use(ruleNINO) && p.nino != "" {
		dst = append(dst, key([]byte{ruleNINO}, []byte(p.nino)))
	}
	if use(ruleNHS) && p.nhs != "" {
		dst = append(dst, key([]byte{ruleNHS}, []byte(p.nhs)))
	}
	if use(ruleUPRN) && p.uprn != "" {
		dst = append(dst, key([]byte{ruleUPRN, p.given.initial}, []byte(p.uprn)))
	}
	if use(ruleEmail) && p.email != "" {
		dst = append(dst, key([]byte{ruleEmail}, []byte(p.email)))
	}
	return dst
}

// blockIndex maps blocking keys to records. Each block is a chain of
// postings, newest first, which costs eight bytes per key of a record
// rather than a slice per block.
type blockIndex struct {
	heads    map[uint64]blockHead
	postings []posting
}

type blockHead struct {
	last, size int32
}

type posting struct {
	record, next int32
}

func newBlockIndex() blockIndex {
	return blockIndex{heads: make(map[uint64]blockHead)}
}

func (b *blockIndex) add(key uint64, record int32) {
	h, ok := b.heads[key]
	next := int32(-1)
	if ok {
		next = h.last
	}
	b.postings = append(b.postings, posting{record: record, next: next})
	b.heads[key] = blockHead{last: int32(len(b.postings) - 1), size: h.size + 1}
}

// removeLast removes the last posting, which add appended under key.
func (b *blockIndex) removeLast(key uint64) {
	h := b.heads[key]
	last := len(b.postings) - 1
	if next := b.postings[last].next; next < 0 {
		delete(b.heads, key)
	} else {
		b.heads[key] = blockHead{last: next, size: h.size - 1}
	}
	b.postings = b.postings[:last]
}

// appendBlock appends the records of the block with key to dst, or
// nothing when the block is larger than maxBlock.
func (b *blockIndex) appendBlock(dst []int32, key uint64) []int32 {
	h, ok := b.heads[key]
	if !ok || h.size > maxBlock {
		return dst
	}
	for i := h.last; i >= 0; i = b.postings[i].next {
		dst = append(dst, b.postings[i].record)
	}
	return dst
}

// termCounts counts the folded given and family names in an index, for
// term-frequency adjustment.
type termCounts struct {
	given, family map[string]int32
	total         int
}

func newTermCounts() termCounts {
	return termCounts{given: make(map[string]int32), family: make(map[string]int32)}
}

func (t *termCounts) add(p *prepared) {
	t.total++
	if !p.given.missing() {
		t.given[p.given.compact]++
	}
	if !p.family.missing() {
		t.family[p.family.compact]++
	}
}

// remove takes away the counts that add made for p.
func (t *termCounts) remove(p *prepared) {
	t.total--
	if !p.given.missing() {
		t.given[p.given.compact]--
		if t.given[p.given.compact] == 0 {
			delete(t.given, p.given.compact)
		}
	}
	if !p.family.missing() {
		t.family[p.family.compact]--
		if t.family[p.family.compact] == 0 {
			delete(t.family, p.family.compact)
		}
	}
}

// tfShrinkage is the number of pseudo-records at the model's u that each
// term frequency starts from, so that the frequencies of a small index do
// not swing the weights.
const tfShrinkage = 50

// weights returns the term-frequency weights for the names of p: log2 of
// m over the share of records with that name.
func (t *termCounts) weights(c *compiled, p *prepared) termFrequency {
	share := func(count int32, u float64) float64 {
		return (float64(count) + tfShrinkage*u) / (float64(t.total) + tfShrinkage)
	}
	tf := termFrequency{set: true, given: c.weights[fGiven][0], family: c.weights[fFamily][0]}
	if !p.given.missing() {
		tf.given = math.Log2(c.mExact[fGiven] / share(t.given[p.given.compact], c.uExact[fGiven]))
	}
	if !p.family.missing() {
		tf.family = math.Log2(c.mExact[fFamily] / share(t.family[p.family.compact], c.uExact[fFamily]))
	}
	return tf
}
