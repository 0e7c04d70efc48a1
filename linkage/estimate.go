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
	// Samples is the number of random pairs from which u is estimated;
	// zero means 200,000.
	Samples int
	// Iterations bounds the rounds of expectation maximisation; zero
	// means 100.
	Iterations int
	Progress   Progress
}

// Estimate learns a model from records without labels, starting from
// start (DefaultModel when nil) and keeping its thresholds. With b nil it
// learns from pairs within a, otherwise from pairs across a and b.
//
// u, the probability of each level among non-matching pairs, is counted
// over random pairs, nearly all of which are non-matches. m and the prior
// are then found by expectation maximisation over the pairs that
// blocking finds, with u held fixed. A level never seen keeps a small
// probability, so that no weight is infinite; a field absent from the
// records keeps the starting values.
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

	// Comparison patterns of the blocked pairs, with their counts.
	patterns := make(map[[numFields]uint8]float64)
	blocked := 0
	err = s.candidates(ctx, opts.Progress, func(j int32, cands []int32) {
		q := s.query(j)
		blocked += len(cands)
		for _, i := range cands {
			c := s.model.compare(q, &s.left[i], nil)
			patterns[c.levels]++
		}
	})
	if err != nil {
		return nil, err
	}
	if len(patterns) == 0 {
		return out, nil
	}

	// Expectation maximisation of m and the prior.
	m := make([][]float64, numFields)
	for f := range numFields {
		m[f] = append([]float64(nil), params[f].M...)
	}
	lambda := 0.5
	for range opts.Iterations {
		var matchCounts [numFields][maxLevels]float64
		var matched, total float64
		for levels, n := range patterns {
			pm, pu := math.Log(lambda), math.Log(1-lambda)
			for f, l := range levels {
				if l == null {
					continue
				}
				pm += math.Log(m[f][l])
				pu += math.Log(u.u[f][l])
			}
			p := 1 / (1 + math.Exp(pu-pm))
			matched += p * n
			total += n
			for f, l := range levels {
				if l != null {
					matchCounts[f][l] += p * n
				}
			}
		}
		change := math.Abs(matched/total - lambda)
		lambda = matched / total
		for f := range numFields {
			if sum(matchCounts[f][:]) == 0 {
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
	for f := range numFields {
		params[f].M = m[f]
	}
	// The prior is for any pair, not only blocked ones: the matches EM
	// found among the blocked pairs, over all pairs. Blocked pairs are
	// likelier to match than that, so the weights err on the side of
	// "none", as an automatic link must.
	all := s.pairCount(math.MaxInt)
	out.Prior = min(max(lambda*float64(blocked)/float64(all), 1e-12), 0.5)
	return out, nil
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
