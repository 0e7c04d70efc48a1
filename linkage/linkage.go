// Package linkage recognises a person across the records that different
// services hold about them.
//
// Records are normalised first: Unicode NFC, case and accents folded,
// both apostrophes dropped, hyphens read as spaces and Mc read as Mac. Each
// field then has comparators that fit it. Names use Jaro–Winkler,
// Damerau–Levenshtein, Soundex, nicknames and initials. Dates of birth
// allow transposed day and month, one-digit and one-year errors, and
// postcodes agree by unit, sector or district.
//
// A Fellegi–Sunter model turns the comparison levels into a match weight,
// with term-frequency adjustment for names. Estimate learns the model from
// records without labels: u from random pairs, m and the prior by
// expectation maximisation. The same valid NHS number or National
// Insurance number decides a match without the model, unless the given
// names and dates of birth both disagree.
//
// Candidate pairs come from several blocking rules at once (date of birth,
// phonetic names, postcode, identifiers), so a record with one corrupted
// field is still compared with its match.
//
// A Decision is "match" only at or above the model's match weight, and
// never when the given names disagree unless an identifier agrees or is
// one typing error away, because twins share every other field. Pairs
// between the possible and the match weight are "possible" and are for a
// person to review. Nothing below the match weight is linked
// automatically.
package linkage

import (
	"hash/maphash"
	"slices"
	"sync"

	"github.com/joinedup/joinedup"
)

// Record is one holder's record of a person, as held. Every field may be
// empty. The JSON names are the stored form of a record in the person
// index.
type Record struct {
	ID           string   `json:"id"`        // the holder's own id for the record
	GivenName    string   `json:"givenName"` // as entered
	FamilyName   string   `json:"familyName"`
	DateOfBirth  string   `json:"dateOfBirth"` // YYYY-MM-DD as held; may be empty or invalid, which the comparators tolerate
	Sex          string   `json:"sex,omitempty"`
	AddressLines []string `json:"addressLines,omitempty"`
	Town         string   `json:"town,omitempty"`
	Postcode     string   `json:"postcode,omitempty"`
	NINO         string   `json:"nino,omitempty"` // National Insurance number
	NHSNumber    string   `json:"nhsNumber,omitempty"`
	UPRN         string   `json:"uprn,omitempty"`
	Email        string   `json:"email,omitempty"`
}

// Decision is the outcome of matching a record.
type Decision string

// Decisions.
const (
	Match    Decision = "match"    // the same person; may be linked automatically
	Possible Decision = "possible" // may be the same person; a person must review it
	None     Decision = "none"     // no candidate is likely to be the same person
)

// FieldComparison is the outcome for one field of a pair: the level
// reached and the weight it added, in bits (log2 of the Bayes factor).
type FieldComparison struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"`
	Weight float64 `json:"weight"`
}

// Result is the best candidate for a record.
type Result struct {
	Decision    Decision
	CandidateID string
	Weight      float64 // match weight, log2 Bayes factor
	Probability float64
	Fields      []FieldComparison
}

// Index holds records to match against. It is safe for concurrent use.
type Index struct {
	model *compiled
	seed  maphash.Seed

	mu      sync.RWMutex
	records []prepared
	ids     map[string]int32
	blocks  blockIndex
	terms   termCounts
}

// NewIndex returns an empty index that scores pairs with m, or with
// DefaultModel when m is nil. It panics if m is not a valid model; use
// Model.Validate to check one that came from outside.
func NewIndex(m *Model) *Index {
	if m == nil {
		m = DefaultModel()
	}
	c, err := m.compile()
	if err != nil {
		panic("linkage: " + err.Error())
	}
	return &Index{
		model:  c,
		seed:   maphash.MakeSeed(),
		ids:    make(map[string]int32),
		blocks: newBlockIndex(),
		terms:  newTermCounts(),
	}
}

// Validate checks that m has a probability for every level of every field
// and thresholds in order.
func (m *Model) Validate() error {
	if _, err := m.compile(); err != nil {
		return joinedup.Errorf(joinedup.EINVALID, "Invalid linkage model: %v.", err)
	}
	return nil
}

// Len returns the number of records in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.records)
}

// Add adds r to the index. A record without an ID, with an ID already
// added, or with nothing to compare (no name, date of birth or
// identifier) is an EINVALID or ECONFLICT *joinedup.Error.
func (ix *Index) Add(r Record) error {
	if r.ID == "" {
		return joinedup.Errorf(joinedup.EINVALID, "The record has no id.")
	}
	p := prepare(r)
	if p.given.missing() && p.family.missing() && !p.dob.present && p.nino == "" && p.nhs == "" {
		return joinedup.Errorf(joinedup.EINVALID, "Record %q has no name, date of birth or identifier to match on.", r.ID)
	}
	keys := blockingKeys(&p, ix.seed, 0, nil)

	ix.mu.Lock()
	defer ix.mu.Unlock()
	if _, ok := ix.ids[r.ID]; ok {
		return joinedup.Errorf(joinedup.ECONFLICT, "Record %q is already in the index.", r.ID)
	}
	n := int32(len(ix.records))
	ix.records = append(ix.records, p)
	ix.ids[r.ID] = n
	for _, k := range keys {
		ix.blocks.add(k, n)
	}
	ix.terms.add(&p)
	return nil
}

// removeLast removes the record with id from the index, when it is the
// last record added, and reports whether it was. The index is then as it
// was before that record was added.
func (ix *Index) removeLast(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	n, ok := ix.ids[id]
	if !ok || int(n) != len(ix.records)-1 {
		return false
	}
	p := &ix.records[n]
	keys := blockingKeys(p, ix.seed, 0, nil)
	// Add appended one posting a key, in the order of keys, so they come
	// off in the reverse order.
	for i := len(keys) - 1; i >= 0; i-- {
		ix.blocks.removeLast(keys[i])
	}
	ix.terms.remove(p)
	delete(ix.ids, id)
	ix.records = ix.records[:n]
	return true
}

// Match returns the best candidate for r among the records in the index,
// or a Result with Decision None and no candidate when blocking finds
// none.
func (ix *Index) Match(r Record) Result {
	return ix.MatchExcept(r, nil)
}

// MatchExcept matches r as Match does, passing over each candidate
// whose id except reports, which are known to be other people. A nil
// except passes over none.
func (ix *Index) MatchExcept(r Record, except func(id string) bool) Result {
	p := prepare(r)
	var keyBuf [maxKeys]uint64
	keys := blockingKeys(&p, ix.seed, 0, keyBuf[:0])

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	tf := ix.terms.weights(ix.model, &p)
	var candBuf [256]int32
	cands := candBuf[:0]
	for _, k := range keys {
		cands = ix.blocks.appendBlock(cands, k)
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)

	best := -1
	var bestCmp comparison
	for _, i := range cands {
		if except != nil && except(ix.records[i].id) {
			continue
		}
		c := ix.model.compare(&p, &ix.records[i], &tf)
		if best < 0 || c.weight > bestCmp.weight {
			best, bestCmp = int(i), c
		}
	}
	if best < 0 {
		return Result{Decision: None}
	}
	bestCmp.weight += ix.model.indexPrior(len(ix.records))
	q := &ix.records[best]
	return Result{
		Decision:    ix.model.decide(&p, q, &bestCmp),
		CandidateID: q.id,
		Weight:      bestCmp.weight,
		Probability: Probability(bestCmp.weight),
		Fields:      ix.model.fields(&bestCmp, &tf),
	}
}
