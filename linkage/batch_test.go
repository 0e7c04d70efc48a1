package linkage

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestBlockingSurvivesOneCorruptedField checks that a record with any one
// field corrupted or missing still shares a blocking key with the
// original, among many other people.
func TestBlockingSurvivesOneCorruptedField(t *testing.T) {
	g := newGenerator(5)
	var people []Record
	for i := range 2000 {
		people = append(people, g.person(fmt.Sprint("p", i)))
	}
	corruptions := map[string]func(r Record) Record{
		"given name typo":     func(r Record) Record { r.GivenName = g.typo(r.GivenName); return r },
		"family name typo":    func(r Record) Record { r.FamilyName = g.typo(r.FamilyName); return r },
		"family name missing": func(r Record) Record { r.FamilyName = ""; return r },
		"new family name":     func(r Record) Record { r.FamilyName = "Zzyzx"; return r },
		"names swapped":       func(r Record) Record { r.GivenName, r.FamilyName = r.FamilyName, r.GivenName; return r },
		"date of birth typo":  func(r Record) Record { r.DateOfBirth = g.typo(r.DateOfBirth); return r },
		"date of birth missing": func(r Record) Record {
			r.DateOfBirth = ""
			return r
		},
		"day and month swapped": func(r Record) Record {
			r.DateOfBirth = r.DateOfBirth[:5] + r.DateOfBirth[8:] + "-" + r.DateOfBirth[5:7]
			return r
		},
		"postcode typo": func(r Record) Record { r.Postcode = g.typo(r.Postcode); return r },
		"moved house": func(r Record) Record {
			r.Postcode, r.Town, r.AddressLines = "LS6 2QT", "Leeds", []string{"3 Mill Lane"}
			return r
		},
	}
	for name, corrupt := range corruptions {
		t.Run(name, func(t *testing.T) {
			ix := NewIndex(nil)
			for _, p := range people {
				if err := ix.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			missed := 0
			for i := 0; i < len(people); i += 10 {
				q := prepare(corrupt(people[i]))
				keys := blockingKeys(&q, ix.seed, 0, nil)
				var cands []int32
				for _, k := range keys {
					cands = ix.blocks.appendBlock(cands, k)
				}
				found := false
				for _, c := range cands {
					if int(c) == i {
						found = true
					}
				}
				if !found {
					missed++
				}
			}
			if missed > 0 {
				t.Errorf("%d of %d corrupted records share no blocking key with their original", missed, len(people)/10)
			}
		})
	}
}

func TestScore(t *testing.T) {
	// Truth: {0 1 2} {3 4}. Predicted: {0 1} {2 3 4}.
	truth := []string{"a", "a", "a", "b", "b"}
	uf := newUnionFind(5)
	uf.union(0, 1)
	uf.union(2, 3)
	uf.union(3, 4)
	e := score(uf, truth, nil)
	// True pairs: 3 + 1 = 4. Predicted: 1 + 3 = 4. Correct: (0,1) and (3,4).
	if e.TruePairs != 4 || e.PredictedPairs != 4 || e.CorrectPairs != 2 {
		t.Errorf("pairs true=%d predicted=%d correct=%d, want 4, 4, 2", e.TruePairs, e.PredictedPairs, e.CorrectPairs)
	}
	if e.Precision != 0.5 || e.Recall != 0.5 || e.F1 != 0.5 {
		t.Errorf("precision=%v recall=%v f1=%v, want 0.5 each", e.Precision, e.Recall, e.F1)
	}
	// B-cubed precision per record: 1, 1, 1/3, 2/3, 2/3 = 11/15.
	// B-cubed recall per record: 2/3, 2/3, 1/3, 1, 1 = 11/15.
	if want := 11.0 / 15; math.Abs(e.BCubedPrecision-want) > 1e-9 || math.Abs(e.BCubedRecall-want) > 1e-9 {
		t.Errorf("b-cubed precision=%v recall=%v, want %v each", e.BCubedPrecision, e.BCubedRecall, want)
	}

	// Linking: records 0 to 2 are on side 0, 3 and 4 on side 1.
	truth = []string{"a", "b", "c", "a", "b"}
	uf = newUnionFind(5)
	uf.union(0, 3)
	uf.union(2, 4)
	e = score(uf, truth, []int8{0, 0, 0, 1, 1})
	if e.TruePairs != 2 || e.PredictedPairs != 2 || e.CorrectPairs != 1 {
		t.Errorf("link pairs true=%d predicted=%d correct=%d, want 2, 2, 1", e.TruePairs, e.PredictedPairs, e.CorrectPairs)
	}
}

// TestEstimateWithoutTruth checks that expectation maximisation, given only
// records, finds a prior close to the true share of matching pairs and
// makes exact agreement on each name count as evidence for a match.
func TestEstimateWithoutTruth(t *testing.T) {
	g := newGenerator(9)
	var records []Record
	duplicates := 0
	for i := range 3000 {
		p := g.person(fmt.Sprint("p", i))
		records = append(records, p)
		if i%3 == 0 {
			records = append(records, g.corrupt(p, fmt.Sprint("d", i)))
			duplicates++
		}
	}
	m, err := Estimate(context.Background(), nil, records, nil, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(records)
	truePrior := float64(duplicates) / float64(n*(n-1)/2)
	if m.Prior < truePrior/2 || m.Prior > truePrior*2 {
		t.Errorf("prior = %.3g, want within a factor of 2 of the true %.3g", m.Prior, truePrior)
	}
	c, err := m.compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []int{fGiven, fFamily, fDOB} {
		exact, different := c.weights[f][0], c.weights[f][len(fieldLevels[f])-1]
		if exact < 3 || different > -1 {
			t.Errorf("%s weights: exact %.1f, different %.1f; want exact above 3 and different below -1", fieldNames[f], exact, different)
		}
	}

	if _, err := Estimate(context.Background(), nil, records[:10], nil, EstimateOptions{}); err == nil {
		t.Error("Estimate(10 records) = nil error, want ErrTooFewRecords")
	}
}

// TestEstimateNamesakes checks estimation on a population with only
// thirty given and thirty family names, where most pairs that share a name
// are namesakes rather than matches.
func TestEstimateNamesakes(t *testing.T) {
	g := newGenerator(9)
	g.given = strings.Fields("olivia amelia isla ava mia ivy lily freya grace sophia oliver george noah arthur leo harry oscar jack charlie muhammad jacob thomas william james ella emily poppy evie rosie")
	g.family = strings.Fields("smith jones taylor brown williams wilson johnson davies patel robinson wright thompson evans walker white roberts green hall wood jackson clarke khan lewis hughes edwards hill moore clark harris scott")
	g.suburb = strings.Fields("leeds bradford wakefield halifax huddersfield keighley otley ilkley pudsey morley batley dewsbury")
	g.postal = nil
	for i := range 400 {
		g.postal = append(g.postal, fmt.Sprintf("%04d", 2000+i*7))
	}
	var records []Record
	duplicates := 0
	for i := range 3000 {
		p := g.person(fmt.Sprint("p", i))
		records = append(records, p)
		if i%3 == 0 {
			records = append(records, g.corrupt(p, fmt.Sprint("d", i)))
			duplicates++
		}
	}
	m, err := Estimate(context.Background(), nil, records, nil, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(records)
	truePrior := float64(duplicates) / float64(n*(n-1)/2)
	if m.Prior < truePrior/2 || m.Prior > truePrior*2 {
		t.Errorf("prior = %.3g, want within a factor of 2 of the true %.3g", m.Prior, truePrior)
	}
}
