package linkage

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// generator makes synthetic people whose names, streets, suburbs and
// postcodes follow the frequencies of the FEBRL originals in
// dataset4a.csv when that file is present. Otherwise names are built from
// syllables, a few thousand of each kind with a skewed frequency, like the
// names of a real population. Each person is a fresh combination of
// values drawn independently, so no generated record copies a row of the
// source, and dates of birth and identifiers are drawn at random.
type generator struct {
	rng                                             *rand.Rand
	given, family, street, locality, suburb, postal []string // values repeated as often as they occur
}

func newGenerator(seed uint64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	if g.loadFEBRL() {
		return g
	}
	first := strings.Fields("al bel cor dan el fen gra hal is jo ka li ma ne ol pe ro sa ta ul vi wen ya zo")
	last := strings.Fields("a ia on en er ly ie is ra an ah ette ton win da")
	family := strings.Fields("ash brad cart dal ell fair gil hart ing kel lang mor nor oak pen ram sel thorn up vane wes york")
	ending := strings.Fields("by field ford ham ley man son ton well wood worth more dale")
	g.given = skewed(g.rng, combine(first, last), 20_000)
	g.family = skewed(g.rng, combine(combine(family, first), ending), 40_000)
	g.street = combine(family, ending)
	g.locality = strings.Fields("road street lane avenue drive close way place crescent grove")
	g.suburb = skewed(g.rng, combine(first, ending), 5_000)
	for i := range 2000 {
		g.postal = append(g.postal, fmt.Sprintf("%04d", 2000+i*3))
	}
	return g
}

// combine returns every a followed by every b.
func combine(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// skewed returns n draws from values in which the k-th value is drawn
// about twice as often as the 2k-th, as with names in a population.
func skewed(rng *rand.Rand, values []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		u := rng.Float64()
		out[i] = values[int(u*u*float64(len(values)))]
	}
	return out
}

// loadFEBRL reads the value frequencies of the FEBRL originals.
func (g *generator) loadFEBRL() bool {
	dir := os.Getenv("JOINEDUP_TESTDATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "linkage", "febrl", "dataset4a.csv"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		v := strings.Split(sc.Text(), ",")
		if len(v) != 11 {
			continue
		}
		for i := range v {
			v[i] = strings.TrimSpace(v[i])
		}
		appendNonEmpty(&g.given, v[1])
		appendNonEmpty(&g.family, v[2])
		appendNonEmpty(&g.street, v[4])
		appendNonEmpty(&g.locality, v[5])
		appendNonEmpty(&g.suburb, v[6])
		appendNonEmpty(&g.postal, v[7])
	}
	return len(g.given) > 0 && len(g.family) > 0
}

func appendNonEmpty(list *[]string, v string) {
	if v != "" {
		*list = append(*list, v)
	}
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// person returns a new synthetic person.
func (g *generator) person(id string) Record {
	return Record{
		ID:           id,
		GivenName:    g.pick(g.given),
		FamilyName:   g.pick(g.family),
		DateOfBirth:  fmt.Sprintf("%04d-%02d-%02d", 1900+g.rng.IntN(100), 1+g.rng.IntN(12), 1+g.rng.IntN(28)),
		AddressLines: []string{fmt.Sprintf("%d %s", 1+g.rng.IntN(300), g.pick(g.street)), g.pick(g.locality)},
		Town:         g.pick(g.suburb),
		Postcode:     g.pick(g.postal),
		NINO:         fmt.Sprintf("%07d", g.rng.IntN(10_000_000)),
	}
}

// corrupt returns a copy of r with one to three errors of the kinds that
// FEBRL puts in its duplicates. They are typing errors in names, dates
// and postcodes, missing values, swapped names, swapped day and month,
// and a replaced identifier.
func (g *generator) corrupt(r Record, id string) Record {
	r.ID = id
	r.AddressLines = append([]string(nil), r.AddressLines...)
	for range 1 + g.rng.IntN(3) {
		switch g.rng.IntN(8) {
		case 0:
			r.GivenName = g.typo(r.GivenName)
		case 1:
			r.FamilyName = g.typo(r.FamilyName)
		case 2:
			r.GivenName, r.FamilyName = r.FamilyName, r.GivenName
		case 3:
			r.DateOfBirth = g.typo(r.DateOfBirth)
		case 4:
			if len(r.DateOfBirth) == 10 {
				r.DateOfBirth = r.DateOfBirth[:5] + r.DateOfBirth[8:] + "-" + r.DateOfBirth[5:7]
			}
		case 5:
			r.Postcode = g.typo(r.Postcode)
		case 6:
			switch g.rng.IntN(3) {
			case 0:
				r.FamilyName = ""
			case 1:
				r.DateOfBirth = ""
			case 2:
				r.AddressLines = r.AddressLines[:1]
			}
		case 7:
			r.NINO = fmt.Sprintf("%07d", g.rng.IntN(10_000_000))
		}
	}
	return r
}

// typo changes one character of s: a substitution, a deletion or a
// transposition of neighbours.
func (g *generator) typo(s string) string {
	if len(s) < 2 {
		return s
	}
	b := []byte(s)
	i := g.rng.IntN(len(b) - 1)
	switch g.rng.IntN(3) {
	case 0:
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = byte('0' + g.rng.IntN(10))
		} else {
			b[i] = byte('a' + g.rng.IntN(26))
		}
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}
