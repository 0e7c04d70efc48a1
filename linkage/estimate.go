package linkage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ErrTooFewRecords is returned by Estimate when the records make too few
// pairs to count how often fields agree by chance.
var ErrTooFewRecords = errors.New("too few records to estimate a model")

// minEstimatePairs is the fewest pairs Estimate learns from. Below it the
// counts of rare levels, such as equal dates of birth among non-matches,
// are mostly zero.
const minEstimatePairs = 10_000

// EstimateOptions tunes Estimate. The zero value is ready to use.
type EstimateOptions struct {
	// Samples is the number of random pairs from which u is estimated.
	// Zero means 200,000.
	Samples int
	// Iterations bounds the iterations of each expectation maximisation.
	// Zero means 100.
	Iterations int
	// Progress, when not nil, receives the progress of the last pass over
	// the blocked pairs.
	Progress Progress
}

// Estimate learns a model from records without labels, starting from
// start (DefaultModel when nil) and keeping its thresholds. With b nil it
// learns from pairs within a, otherwise from pairs across a and b.
//
// u, the probability of each level among non-matching pairs, is counted
// over random pairs, nearly all of which are non-matches. m is then
// learnt by expectation maximisation with u held fixed, and the prior
// from the share of matches among the pairs that blocking finds. A level
// never seen keeps a small probability, so that no weight is infinite. A
// field absent from the records keeps the starting values.
func Estimate(ctx context.Context, start *Model, a, b []Record, opts EstimateOptions) (*Model, error) {
	if start == nil {
		start = DefaultModel()
	}
	if opts.Samples == 0 {
		opts.Samples = 200_000
	}
	if opts.Iterations == 0 {
		opts.Iterations = 100
	}
	s, err := newSession(start, a, b)
	if err != nil {
		return nil, err
	}
	if n := s.pairCount(math.MaxInt); n < minEstimatePairs {
		return nil, fmt.Errorf("%w: %d pairs, want at least %d", ErrTooFewRecords, n, minEstimatePairs)
	}
	out := start.Clone()
	params := make([]*FieldParameters, numFields)
	for i := range out.Fields {
		f := &out.Fields[i]
		params[fieldIndex(f.Field)] = f
	}

	// u from random pairs.
	uCounts := s.sampleLevels(opts.Samples)
	for f := range numFields {
		if total := sum(uCounts[f][:]); total > 0 {
			params[f].U = smooth(uCounts[f][:len(fieldLevels[f])], 1)
		}
	}
	u, err := out.compile()
	if err != nil {
		return nil, err
	}

	// m is learnt in rounds, one per training rule, each over the pairs
	// that share a key of that rule. The pairs of a round nearly all agree
	// on the rule's own fields, so a round leaves those out, and each
	// field's m is the mean over the rounds that learnt it. Learning from
	// all blocked pairs at once instead lets namesakes with different
	// dates of birth pass for matches when names are few.
	var mSum [numFields][]float64
	var rounds [numFields]int
	for _, round := range trainingRounds {
		patterns, _, err := s.patterns(ctx, round.rule, round.excluded, nil)
		if err != nil {
			return nil, err
		}
		start := make([][]float64, numFields)
		for f := range numFields {
			start[f] = append([]float64(nil), params[f].M...)
		}
		fit := expectationMaximisation(patterns, start, &u.u, 0.5, opts.Iterations)
		for f := range numFields {
			if !fit.observed[f] {
				continue
			}
			if mSum[f] == nil {
				mSum[f] = make([]float64, len(fit.m[f]))
			}
			for l, v := range fit.m[f] {
				mSum[f][l] += v
			}
			rounds[f]++
		}
	}
	for f := range numFields {
		if rounds[f] == 0 {
			continue
		}
		for l := range mSum[f] {
			mSum[f][l] /= float64(rounds[f])
		}
		params[f].M = mSum[f]
	}
	m, err := out.compile()
	if err != nil {
		return nil, err
	}

	// The share of matches among all blocked pairs, with m and u fixed.
	patterns, blocked, err := s.patterns(ctx, 0, nil, opts.Progress)
	if err != nil {
		return nil, err
	}
	lambda := estimateShare(patterns, m, 0.1, opts.Iterations)

	// The prior is for any pair, not only blocked ones: the matches EM
	// found among the blocked pairs, over all pairs. Blocked pairs are
	// likelier to match than that, so the weights err on the side of
	// "none", as an automatic link must.
	all := s.pairCount(math.MaxInt)
	out.Prior = min(max(lambda*float64(blocked)/float64(all), 1e-12), 0.5)
	return out, nil
}

// trainingRounds are the blocking rules that Estimate learns m from, with
// the fields each rule makes agree.
var trainingRounds = []struct {
	rule     byte
	excluded []int
}{
	{ruleDate, []int{fDOB}},
	{ruleNames, []int{fGiven, fFamily}},
}

// patterns compares the pairs that share a key of rule (of any rule when
// 0) and returns the comparison patterns, with the excluded fields set to
// null, and their counts, and the number of pairs compared.
func (s *session) patterns(ctx context.Context, rule byte, excluded []int, progress Progress) (map[[numFields]uint8]float64, int, error) {
	patterns := make(map[[numFields]uint8]float64)
	pairs := 0
	err := s.candidatesByRule(ctx, rule, progress, func(j int32, cands []int32) {
		q := s.query(j)
		pairs += len(cands)
		for _, i := range cands {
			c := s.model.compare(q, &s.left[i], nil)
			for _, f := range excluded {
				c.levels[f] = null
			}
			patterns[c.levels]++
		}
	})
	return patterns, pairs, err
}

// emFit is the outcome of expectation maximisation: m, the share of
// matches, and which fields the patterns had a level for.
type emFit struct {
	m        [][]float64
	lambda   float64
	observed [numFields]bool
}

// expectationMaximisation fits m and the share of matches lambda to the
// comparison patterns and their counts, with u fixed, starting from m and
// lambda.
func expectationMaximisation(patterns map[[numFields]uint8]float64, m [][]float64, u *[numFields][maxLevels]float64, lambda float64, iterations int) emFit {
	fit := emFit{m: m}
	for levels := range patterns {
		for f, l := range levels {
			if l != null {
				fit.observed[f] = true
			}
		}
	}
	for range iterations {
		var matchCounts [numFields][maxLevels]float64
		var matched, total float64
		for levels, n := range patterns {
			p := matchProbability(levels, lambda, m, u)
			matched += p * n
			total += n
			for f, l := range levels {
				if l != null {
					matchCounts[f][l] += p * n
				}
			}
		}

		change := math.Abs(matched/total - lambda)
		lambda = min(max(matched/total, 1e-9), 1-1e-9)
		for f := range numFields {
			if !fit.observed[f] {
				continue
			}
			next := smooth(matchCounts[f][:len(fieldLevels[f])], 0.01)
			for l := range next {
				change = max(change, math.Abs(next[l]-m[f][l]))
			}
			m[f] = next
		}
		if change < 1e-6 {
			break
		}
	}
	fit.lambda = lambda
	return fit
}

// estimateShare fits the share of matches among the patterns with m and u
// held fixed.
func estimateShare(patterns map[[numFields]uint8]float64, c *compiled, lambda float64, iterations int) float64 {
	m := make([][]float64, numFields)
	for f := range numFields {
		m[f] = c.m[f][:]
	}
	for range iterations {
		var matched, total float64
		for levels, n := range patterns {
			matched += matchProbability(levels, lambda, m, &c.u) * n
			total += n
		}
		if total == 0 {
			return lambda
		}
		next := min(max(matched/total, 1e-9), 1-1e-9)
		if math.Abs(next-lambda) < 1e-9 {
			return next
		}
		lambda = next
	}
	return lambda
}

// matchProbability returns the posterior probability that a pair with the
// given levels is a match.
func matchProbability(levels [numFields]uint8, lambda float64, m [][]float64, u *[numFields][maxLevels]float64) float64 {
	pm, pu := math.Log(lambda), math.Log(1-lambda)
	for f, l := range levels {
		if l != null {
			pm += math.Log(m[f][l])
			pu += math.Log(u[f][l])
		}
	}
	return 1 / (1 + math.Exp(pu-pm))
}

// sampleLevels counts the levels of each field over random pairs. The
// random source has a fixed seed, so that a run is repeatable.
func (s *session) sampleLevels(samples int) [numFields][maxLevels]float64 {
	var counts [numFields][maxLevels]float64
	rng := rand.New(rand.NewPCG(1, 2))
	left, right := s.left, s.right
	if right == nil {
		right = s.left
	}
	if len(left) == 0 || len(right) == 0 || (s.right == nil && len(left) < 2) {
		return counts
	}
	for range s.pairCount(samples) {
		i, j := rng.IntN(len(left)), rng.IntN(len(right))
		if s.right == nil && i == j {
			continue
		}
		c := s.model.compare(&left[i], &right[j], nil)
		for f, l := range c.levels {
			if l != null {
				counts[f][l]++
			}
		}
	}
	return counts
}

// pairCount returns the number of pairs to compare, or limit if lower.
func (s *session) pairCount(limit int) int {
	n := len(s.left) * len(s.right)
	if s.right == nil {
		n = len(s.left) * (len(s.left) - 1) / 2
	}
	return min(n, limit)
}

// query returns the record that candidates calls fn with.
func (s *session) query(j int32) *prepared {
	if s.right == nil {
		return &s.left[j]
	}
	return &s.right[j]
}

// smooth returns counts as probabilities after adding alpha to each.
func smooth(counts []float64, alpha float64) []float64 {
	total := sum(counts) + alpha*float64(len(counts))
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = (c + alpha) / total
	}
	return out
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}

func fieldIndex(name string) int {
	for i, f := range fieldNames {
		if f == name {
			return i
		}
	}
	return -1
}
