package linkage

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
)

// Pair is a scored candidate pair found by Link or Dedupe. In Link, A is
// from the first set of records and B from the second.
type Pair struct {
	A, B        string
	Decision    Decision
	Weight      float64
	Probability float64
}

// Progress receives the number of records done and the total, now and
// then, during a long run. It may be nil.
type Progress func(done, total int)

const progressEvery = 10000

// Link finds, for each record of b, its best candidate among the records
// of a, as Index.Match does, and returns the pairs decided "match" or
// "possible" in the order of b. Names are weighted by how common they are
// across both sets.
func Link(ctx context.Context, m *Model, a, b []Record, progress Progress) ([]Pair, error) {
	s, err := newSession(m, a, b)
	if err != nil {
		return nil, err
	}
	var pairs []Pair
	err = s.candidates(ctx, progress, func(j int32, cands []int32) {
		q := &s.right[j]
		tf := s.terms.weights(s.model, q)
		best := int32(-1)
		var bestCmp comparison
		for _, i := range cands {
			c := s.model.compare(q, &s.left[i], &tf)
			if best < 0 || c.weight > bestCmp.weight {
				best, bestCmp = i, c
			}
		}
		if best < 0 {
			return
		}
		if d := s.model.decide(q, &s.left[best], &bestCmp); d != None {
			pairs = append(pairs, Pair{A: s.left[best].id, B: q.id, Decision: d, Weight: bestCmp.weight, Probability: Probability(bestCmp.weight)})
		}
	})
	return pairs, err
}

// Dedupe compares the records with one another and returns every pair
// decided "match" or "possible", and the clusters that the "match" pairs
// join, as lists of record ids. Every record is in exactly one cluster.
func Dedupe(ctx context.Context, m *Model, records []Record, progress Progress) ([]Pair, [][]string, error) {
	s, err := newSession(m, records, nil)
	if err != nil {
		return nil, nil, err
	}
	var pairs []Pair
	uf := newUnionFind(len(records))
	err = s.candidates(ctx, progress, func(j int32, cands []int32) {
		q := &s.left[j]
		tf := s.terms.weights(s.model, q)
		for _, i := range cands {
			c := s.model.compare(q, &s.left[i], &tf)
			d := s.model.decide(q, &s.left[i], &c)
			if d == None {
				continue
			}
			pairs = append(pairs, Pair{A: s.left[i].id, B: q.id, Decision: d, Weight: c.weight, Probability: Probability(c.weight)})
			if d == Match {
				uf.union(int(i), int(j))
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	groups := uf.groups()
	clusters := make([][]string, len(groups))
	for k, g := range groups {
		clusters[k] = make([]string, len(g))
		for n, i := range g {
			clusters[k][n] = records[i].ID
		}
	}
	return pairs, clusters, nil
}

// session holds prepared records for one batch run. With right nil it
// deduplicates left.
type session struct {
	model       *compiled
	left, right []prepared
	terms       termCounts
	seed        maphash.Seed
}

func newSession(m *Model, left, right []Record) (*session, error) {
	if m == nil {
		m = DefaultModel()
	}
	c, err := m.compile()
	if err != nil {
		return nil, fmt.Errorf("compile model: %w", err)
	}
	s := &session{model: c, terms: newTermCounts(), seed: maphash.MakeSeed()}
	s.left = prepareAll(left)
	if right != nil {
		s.right = prepareAll(right)
	}
	for i := range s.left {
		s.terms.add(&s.left[i])
	}
	for i := range s.right {
		s.terms.add(&s.right[i])
	}
	return s, nil
}

func prepareAll(records []Record) []prepared {
	out := make([]prepared, len(records))
	for i, r := range records {
		out[i] = prepare(r)
	}
	return out
}

// candidates calls fn for every record j of the query side (right, or left
// when deduplicating) with the records of left that share a blocking key
// with it. When deduplicating, only records before j are candidates, so
// each pair is seen once.
func (s *session) candidates(ctx context.Context, progress Progress, fn func(j int32, cands []int32)) error {
	return s.candidatesByRule(ctx, 0, progress, fn)
}

// candidatesByRule is candidates with the keys of one blocking rule, or of
// all rules when rule is 0.
func (s *session) candidatesByRule(ctx context.Context, rule byte, progress Progress, fn func(j int32, cands []int32)) error {
	blocks := newBlockIndex()
	var keys []uint64
	add := func(i int32) {
		keys = blockingKeys(&s.left[i], s.seed, rule, keys[:0])
		for _, k := range keys {
			blocks.add(k, i)
		}
	}

	dedupe := s.right == nil
	queries := s.right
	if dedupe {
		queries = s.left
	} else {
		for i := range s.left {
			add(int32(i))
		}
	}

	var cands []int32
	for j := range queries {
		if j%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("compare records: %w", err)
			}
			if progress != nil && j > 0 {
				progress(j, len(queries))
			}
		}
		keys = blockingKeys(&queries[j], s.seed, rule, keys[:0])
		cands = cands[:0]
		for _, k := range keys {
			cands = blocks.appendBlock(cands, k)
		}
		slices.Sort(cands)
		cands = slices.Compact(cands)
		fn(int32(j), cands)
		if dedupe {
			add(int32(j))
		}
	}
	if progress != nil {
		progress(len(queries), len(queries))
	}
	return nil
}

// unionFind joins records into clusters.
type unionFind struct{ parent []int }

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int, n)}
	for i := range u.parent {
		u.parent[i] = i
	}
	return u
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

func (u *unionFind) union(i, j int) {
	if ri, rj := u.find(i), u.find(j); ri != rj {
		u.parent[max(ri, rj)] = min(ri, rj)
	}
}

// groups returns the clusters as lists of indexes, each in increasing
// order, ordered by their first index.
func (u *unionFind) groups() [][]int {
	byRoot := make(map[int]int)
	var out [][]int
	for i := range u.parent {
		r := u.find(i)
		k, ok := byRoot[r]
		if !ok {
			k = len(out)
			byRoot[r] = k
			out = append(out, nil)
		}
		out[k] = append(out[k], i)
	}
	return out
}
