package linkage

import (
	"fmt"
	"math"
)

// Model holds the parameters of a Fellegi–Sunter model: for each field,
// the probability of each comparison level among matching pairs (M) and
// among non-matching pairs (U), and the prior probability that a pair is
// a match. A pair's match weight is log2 of the prior odds plus, for each
// field, log2(M/U) of the level the pair reaches. A field missing on
// either side adds nothing.
type Model struct {
	// Prior is the probability that a pair of records is a match before
	// its fields are compared.
	Prior float64 `json:"prior"`

	// MatchWeight is the lowest match weight decided "match", and
	// PossibleWeight the lowest decided "possible". Pairs in between go to
	// a person for review.
	MatchWeight    float64 `json:"matchWeight"`
	PossibleWeight float64 `json:"possibleWeight"`

	Fields []FieldParameters `json:"fields"`
}

// FieldParameters are the m and u probabilities of one field, one per
// level in the order Levels returns.
type FieldParameters struct {
	Field string    `json:"field"`
	M     []float64 `json:"m"`
	U     []float64 `json:"u"`
}

// Field names, in the order of a comparison vector.
const (
	FieldGivenName   = "given_name"
	FieldFamilyName  = "family_name"
	FieldDateOfBirth = "date_of_birth"
	FieldSex         = "sex"
	FieldAddress     = "address"
	FieldTown        = "town"
	FieldPostcode    = "postcode"
	FieldNINO        = "nino"
	FieldNHSNumber   = "nhs_number"
	FieldEmail       = "email"
)

const (
	fGiven = iota
	fFamily
	fDOB
	fSex
	fAddress
	fTown
	fPostcode
	fNINO
	fNHS
	fEmail
	numFields
)

// null is the level of a field missing on either side of a pair.
const null uint8 = 255

// maxLevels bounds the number of levels of any field.
const maxLevels = 8

var fieldNames = [numFields]string{
	FieldGivenName, FieldFamilyName, FieldDateOfBirth, FieldSex, FieldAddress,
	FieldTown, FieldPostcode, FieldNINO, FieldNHSNumber, FieldEmail,
}

// fieldLevels names each field's comparison levels, strongest first. The
// comparators in compare.go return indexes into these lists.
var fieldLevels = [numFields][]string{
	fGiven:    {"exact", "part", "nickname", "initial", "one_edit", "jaro_winkler_0.9", "soundex", "different"},
	fFamily:   {"exact", "part", "one_edit", "jaro_winkler_0.9", "soundex", "different"},
	fDOB:      {"exact", "day_month_swapped", "one_edit", "one_year", "within_month", "within_year", "different"},
	fSex:      {"exact", "different"},
	fAddress:  {"exact", "jaro_winkler_0.92", "first_line", "jaro_winkler_0.8", "different"},
	fTown:     {"exact", "jaro_winkler_0.9", "different"},
	fPostcode: {"exact", "sector", "district", "one_edit", "different"},
	fNINO:     {"exact", "one_edit", "different"},
	fNHS:      {"exact", "different"},
	fEmail:    {"exact", "local_part", "levenshtein_2", "different"},
}

// Levels returns the comparison levels of a field, strongest first, or nil
// for an unknown field.
func Levels(field string) []string {
	for i, f := range fieldNames {
		if f == field {
			return fieldLevels[i]
		}
	}
	return nil
}

// DefaultModel returns parameters set by hand for records held by UK
// public services: u from the spread of names, dates of birth and
// postcodes in a population, m from typical rates of typing errors.
// Estimate replaces them with values learnt from the records themselves.
func DefaultModel() *Model {
	return &Model{
		Prior:          1e-4,
		MatchWeight:    defaultMatchWeight,
		PossibleWeight: defaultPossibleWeight,
		Fields: []FieldParameters{
			{FieldGivenName,
				[]float64{0.80, 0.02, 0.02, 0.02, 0.06, 0.03, 0.01, 0.04},
				[]float64{0.01, 0.001, 0.001, 0.002, 0.005, 0.01, 0.01, 0.961}},
			{FieldFamilyName,
				[]float64{0.85, 0.02, 0.06, 0.03, 0.01, 0.03},
				[]float64{0.003, 0.0005, 0.002, 0.01, 0.005, 0.9795}},
			{FieldDateOfBirth,
				[]float64{0.85, 0.02, 0.07, 0.02, 0.01, 0.01, 0.02},
				[]float64{5e-5, 2e-5, 5e-4, 1e-4, 1.5e-3, 0.015, 0.98283}},
			{FieldSex,
				[]float64{0.97, 0.03},
				[]float64{0.5, 0.5}},
			{FieldAddress,
				[]float64{0.70, 0.10, 0.05, 0.05, 0.10},
				[]float64{0.001, 0.001, 0.001, 0.01, 0.987}},
			{FieldTown,
				[]float64{0.80, 0.05, 0.15},
				[]float64{0.05, 0.01, 0.94}},
			{FieldPostcode,
				[]float64{0.80, 0.05, 0.05, 0.03, 0.07},
				[]float64{0.0005, 0.003, 0.02, 0.005, 0.9715}},
			{FieldNINO,
				[]float64{0.95, 0.03, 0.02},
				[]float64{1e-6, 1e-5, 0.999989}},
			{FieldNHSNumber,
				[]float64{0.98, 0.02},
				[]float64{1e-7, 0.9999999}},
			{FieldEmail,
				[]float64{0.85, 0.05, 0.05, 0.05},
				[]float64{1e-4, 1e-4, 1e-4, 0.9997}},
		},
	}
}

// The default thresholds, in match weight (log2 of the posterior odds). A
// weight of 10 is a posterior probability of 0.999 and 0 is 0.5.
const (
	defaultMatchWeight    = 10
	defaultPossibleWeight = 0
)

// Probability converts a match weight to a posterior probability.
func Probability(weight float64) float64 {
	return 1 / (1 + math.Exp2(-weight))
}

// compiled holds a model's weights in arrays indexed by field and level.
type compiled struct {
	prior           float64 // log2 prior odds
	weights         [numFields][maxLevels]float64
	m, u            [numFields][maxLevels]float64
	mExact, uExact  [numFields]float64 // for term-frequency adjustment
	match, possible float64
}

// indexPrior returns the change to a match weight that makes its prior
// fit an index of n records. A record has at most one match in an index
// of distinct people, so the prior that a given record in the index is
// its match is at most 1/n. Above 1/prior records that bound is the
// tighter one, and the weight falls by the difference in log2 odds.
func (c *compiled) indexPrior(n int) float64 {
	bound := -math.Log2(float64(n) - 1)
	if n < 2 || bound >= c.prior {
		return 0
	}
	return bound - c.prior
}

func (m *Model) compile() (*compiled, error) {
	if m.Prior <= 0 || m.Prior >= 1 {
		return nil, fmt.Errorf("invalid prior %v: want a probability between 0 and 1", m.Prior)
	}
	if m.PossibleWeight > m.MatchWeight {
		return nil, fmt.Errorf("possible weight %v is above match weight %v", m.PossibleWeight, m.MatchWeight)
	}
	c := &compiled{
		prior:    math.Log2(m.Prior / (1 - m.Prior)),
		match:    m.MatchWeight,
		possible: m.PossibleWeight,
	}
	seen := [numFields]bool{}
	for _, fp := range m.Fields {
		f := -1
		for i, name := range fieldNames {
			if name == fp.Field {
				f = i
			}
		}
		if f < 0 {
			return nil, fmt.Errorf("unknown field %q", fp.Field)
		}
		n := len(fieldLevels[f])
		if len(fp.M) != n || len(fp.U) != n {
			return nil, fmt.Errorf("field %s: want %d m and u values, one per level, got %d and %d", fp.Field, n, len(fp.M), len(fp.U))
		}
		for l := range n {
			if fp.M[l] <= 0 || fp.U[l] <= 0 || fp.M[l] > 1 || fp.U[l] > 1 {
				return nil, fmt.Errorf("field %s level %s: m and u must be in (0, 1], got %v and %v", fp.Field, fieldLevels[f][l], fp.M[l], fp.U[l])
			}
			c.weights[f][l] = math.Log2(fp.M[l] / fp.U[l])
			c.m[f][l], c.u[f][l] = fp.M[l], fp.U[l]
		}
		c.mExact[f], c.uExact[f] = fp.M[0], fp.U[0]
		seen[f] = true
	}
	for f, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("missing parameters for field %s", fieldNames[f])
		}
	}
	return c, nil
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	c := *m
	c.Fields = make([]FieldParameters, len(m.Fields))
	for i, f := range m.Fields {
		c.Fields[i] = FieldParameters{Field: f.Field, M: append([]float64(nil), f.M...), U: append([]float64(nil), f.U...)}
	}
	return &c
}
