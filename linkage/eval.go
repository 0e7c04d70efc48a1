package linkage

import (
	"context"
	"fmt"
)

// Evaluation measures linkage against known truth.
type Evaluation struct {
	Records int

	// Pairwise counts and scores: a pair of records is predicted when the
	// decided matches put both in one cluster, and true when the truth
	// does. When linking two sets only pairs across the sets count.
	TruePairs, PredictedPairs, CorrectPairs int
	Precision, Recall, F1                   float64

	// B-cubed scores: precision and recall per record, of its predicted
	// cluster against its true cluster, averaged over the records.
	BCubedPrecision, BCubedRecall, BCubedF1 float64

	// Blocking: the pairs compared and how many true pairs were among them.
	CandidatePairs, TruePairsCompared int

	Model *Model
}

// EvaluateLink estimates a model from a and b without their truth, links
// them, and scores the "match" pairs against the truth in a.Clusters and
// b.Clusters.
func EvaluateLink(ctx context.Context, a, b *Dataset, progress Progress) (*Evaluation, error) {
	if len(a.Clusters) != len(a.Records) || len(b.Clusters) != len(b.Records) {
		return nil, fmt.Errorf("%s and %s must give the true person of every record", a.Name, b.Name)
	}
	model, err := Estimate(ctx, nil, a.Records, b.Records, EstimateOptions{})
	if err != nil {
		return nil, fmt.Errorf("estimate model: %w", err)
	}
	pairs, err := Link(ctx, model, a.Records, b.Records, progress)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}

	n := len(a.Records)
	index := make(map[string]int, n+len(b.Records))
	side := make([]int8, 0, n+len(b.Records))
	truth := append(append([]string(nil), a.Clusters...), b.Clusters...)
	for i, r := range a.Records {
		index["a\x00"+r.ID] = i
		side = append(side, 0)
	}
	for j, r := range b.Records {
		index["b\x00"+r.ID] = n + j
		side = append(side, 1)
	}
	uf := newUnionFind(len(truth))
	for _, p := range pairs {
		if p.Decision == Match {
			uf.union(index["a\x00"+p.A], index["b\x00"+p.B])
		}
	}
	e := score(uf, truth, side)
	e.Model = model

	s, err := newSession(model, a.Records, b.Records)
	if err != nil {
		return nil, err
	}
	e.CandidatePairs, e.TruePairsCompared, err = s.blockingCoverage(ctx, truth[:n], truth[n:])
	return e, err
}

// EvaluateDedupe estimates a model from d without its truth, deduplicates
// it, and scores the clusters against the truth in d.Clusters.
func EvaluateDedupe(ctx context.Context, d *Dataset, progress Progress) (*Evaluation, error) {
	if len(d.Clusters) != len(d.Records) {
		return nil, fmt.Errorf("%s must give the true person of every record", d.Name)
	}
	model, err := Estimate(ctx, nil, d.Records, nil, EstimateOptions{})
	if err != nil {
		return nil, fmt.Errorf("estimate model: %w", err)
	}
	pairs, _, err := Dedupe(ctx, model, d.Records, progress)
	if err != nil {
		return nil, fmt.Errorf("deduplicate: %w", err)
	}
	index := make(map[string]int, len(d.Records))
	for i, r := range d.Records {
		index[r.ID] = i
	}
	uf := newUnionFind(len(d.Records))
	for _, p := range pairs {
		if p.Decision == Match {
			uf.union(index[p.A], index[p.B])
		}
	}
	e := score(uf, d.Clusters, nil)
	e.Model = model

	s, err := newSession(model, d.Records, nil)
	if err != nil {
		return nil, err
	}
	e.CandidatePairs, e.TruePairsCompared, err = s.blockingCoverage(ctx, d.Clusters, nil)
	return e, err
}

// blockingCoverage counts the candidate pairs and the true pairs among
// them, given the true person of each record on each side.
func (s *session) blockingCoverage(ctx context.Context, left, right []string) (candidates, covered int, err error) {
	if right == nil {
		right = left
	}
	err = s.candidates(ctx, nil, func(j int32, cands []int32) {
		candidates += len(cands)
		for _, i := range cands {
			if left[i] == right[j] {
				covered++
			}
		}
	})
	return candidates, covered, err
}

// score compares the clusters in uf with the truth. When side is not nil
// it gives the set each record came from, and only pairs across sets
// count.
func score(uf *unionFind, truth []string, side []int8) *Evaluation {
	// pairs counts the pairs within groups of records, given how many of
	// each group are on each side.
	pairs := func(sizes map[string]*[2]int) int {
		total := 0
		for _, n := range sizes {
			if side == nil {
				total += n[0] * (n[0] - 1) / 2
			} else {
				total += n[0] * n[1]
			}
		}
		return total
	}
	count := func(key func(i int) string) map[string]*[2]int {
		sizes := make(map[string]*[2]int)
		for i := range truth {
			k := key(i)
			n, ok := sizes[k]
			if !ok {
				n = new([2]int)
				sizes[k] = n
			}
			s := 0
			if side != nil {
				s = int(side[i])
			}
			n[s]++
		}
		return sizes
	}
	predicted := func(i int) string { return fmt.Sprint(uf.find(i)) }

	trueSizes := count(func(i int) string { return truth[i] })
	predSizes := count(predicted)
	bothSizes := count(func(i int) string { return predicted(i) + "\x00" + truth[i] })

	e := &Evaluation{
		Records:        len(truth),
		TruePairs:      pairs(trueSizes),
		PredictedPairs: pairs(predSizes),
		CorrectPairs:   pairs(bothSizes),
	}
	e.Precision = ratio(e.CorrectPairs, e.PredictedPairs)
	e.Recall = ratio(e.CorrectPairs, e.TruePairs)
	e.F1 = harmonic(e.Precision, e.Recall)

	size := func(n *[2]int) float64 { return float64(n[0] + n[1]) }
	for i := range truth {
		both := size(bothSizes[predicted(i)+"\x00"+truth[i]])
		e.BCubedPrecision += both / size(predSizes[predicted(i)])
		e.BCubedRecall += both / size(trueSizes[truth[i]])
	}
	if len(truth) > 0 {
		e.BCubedPrecision /= float64(len(truth))
		e.BCubedRecall /= float64(len(truth))
	}
	e.BCubedF1 = harmonic(e.BCubedPrecision, e.BCubedRecall)
	return e
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func harmonic(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
