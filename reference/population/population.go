// Package population generates a deterministic synthetic population of
// families for the reference services, and the copy of it that each
// service holds. The copies have the errors that real records show:
// typing errors, day and month swapped, missing values, nicknames and
// addresses from before a move.
//
// Family i of a seed depends only on the seed and i, so the same seed
// always gives the same people, and [Births] can return the families of a
// population without generating all of it. No person in it is real.
package population

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
)

// DemoFamilies is how many families at the start of every population are
// held by every service, with at most one error in each parent's record
// and the current address, so a birth registered for one of them is
// recognised everywhere. Family 0
// is two parents expecting their first child.
const DemoFamilies = 20

// DefaultFamilies is the size of the population the reference services
// load when none is given.
const DefaultFamilies = 1000

// Person is a synthetic resident as one holder records them. Every field
// but ID may be empty in a holder's copy.
type Person struct {
	// ID is the person's id in the population ("F0007-P1"). It is the same
	// in every holder's copy, so tests can tell a right match from a wrong
	// one. A service keeps it only as the source of its seed data.
	ID          string
	Role        string // mother, father or parent; empty for a child
	Given       string
	Family      string
	DateOfBirth string // YYYY-MM-DD; empty or an impossible date in some copies
	Sex         string
	NINO        string
	Address     joinedup.Address
}

// Name returns the person's name.
func (p Person) Name() joinedup.Name { return joinedup.Name{Given: p.Given, Family: p.Family} }

// Family is a household: one or two parents, their children already born,
// and the figures a benefits service holds. Money is in pence a week.
type Family struct {
	ID               string
	Parents          []Person
	Children         []Person
	WeeklyIncome     int64
	WeeklyRent       int64
	WeeklyCouncilTax int64
}

// Population is a generated set of families.
type Population struct {
	Seed     uint64
	Families []Family
}

// Generate returns a population of n families for seed. n below
// DemoFamilies is raised to DemoFamilies.
func Generate(seed uint64, n int) *Population {
	n = max(n, DemoFamilies)
	p := &Population{Seed: seed, Families: make([]Family, n)}
	for i := range n {
		p.Families[i] = family(seed, i)
	}
	return p
}

// View returns the copy of the population that holder keeps: every demo
// family and, of the others, about the given share, with errors added. The
// same seed, holder and share always give the same copy.
func (p *Population) View(holder string, share float64) []Family {
	var out []Family
	for i, f := range p.Families {
		rng := newRand(p.Seed, holder, f.ID)
		if i >= DemoFamilies && rng.Float64() >= share {
			continue
		}
		out = append(out, corruptFamily(rng, f, i < DemoFamilies))
	}
	return out
}

// Births returns a birth registration for each of the first n demo
// families of seed (at most DemoFamilies), with the names and addresses
// as the registrar would enter them: correct and current. Each child is
// born a few days before today. The consent is left for the caller.
func Births(seed uint64, n int, today joinedup.Date) []joinedup.BirthRegistration {
	n = min(n, DemoFamilies)
	out := make([]joinedup.BirthRegistration, n)
	for i := range n {
		out[i] = birth(seed, i, family(seed, i), today)
	}
	return out
}

func birth(seed uint64, i int, f Family, today joinedup.Date) joinedup.BirthRegistration {
	rng := newRand(seed, "birth", f.ID)
	sex := "male"
	given := pick(rng, maleGiven)
	if i%2 == 1 {
		sex, given = "female", pick(rng, femaleGiven)
	}

	r := joinedup.BirthRegistration{
		Child: joinedup.Child{
			Name:         joinedup.Name{Given: given, Family: childFamilyName(f)},
			Sex:          sex,
			DateOfBirth:  joinedup.DateOf(today.In(time.UTC).AddDate(0, 0, -(2 + i%10))),
			PlaceOfBirth: pick(rng, placesOfBirth),
		},
	}
	informant := 0
	for j, p := range f.Parents {
		dob, _ := joinedup.ParseDate(p.DateOfBirth)
		r.Parents = append(r.Parents, joinedup.Parent{
			Role:                    p.Role,
			Name:                    p.Name(),
			DateOfBirth:             dob,
			NationalInsuranceNumber: p.NINO,
			Address:                 p.Address,
		})
		if p.Role == "father" {
			informant = j
		}
	}
	r.Informant = joinedup.Informant{
		Name:     r.Parents[informant].Name,
		Capacity: r.Parents[informant].Role,
		Parent:   &informant,
	}
	return r
}

// childFamilyName returns the family name a child of f is registered
// with: the father's, else the first parent's. A child of a one-named
// parent is one-named too.
func childFamilyName(f Family) string {
	for _, p := range f.Parents {
		if p.Role == "father" {
			return p.Family
		}
	}
	return f.Parents[0].Family
}

// family returns family i of seed. Family 0 is the story's family: a
// mother and a father with no children yet.
func family(seed uint64, i int) Family {
	id := fmt.Sprintf("F%04d", i)
	rng := newRand(seed, "family", id)
	address := newAddress(rng)

	roles := []string{"mother", "father"}
	switch r := rng.IntN(20); {
	case i == 0:
	case r < 4:
		roles = []string{"mother"}
	case r < 5:
		roles = []string{"father"}
	case r < 6:
		roles = []string{"parent", "parent"}
	}

	oneNamedFamily := i != 0 && rng.IntN(25) == 0
	family := pick(rng, familyNames)
	f := Family{ID: id}
	for j, role := range roles {
		sex := "female"
		given := pick(rng, femaleGiven)
		if role == "father" || (role == "parent" && j == 1 && rng.IntN(2) == 0) {
			sex, given = "male", pick(rng, maleGiven)
		}
		p := Person{
			ID:          fmt.Sprintf("%s-P%d", id, j+1),
			Role:        role,
			Given:       given,
			Family:      family,
			DateOfBirth: randomDate(rng, 1978, 2002),
			Sex:         sex,
			NINO:        newNINO(rng),
			Address:     address,
		}
		if j == 1 && rng.IntN(4) == 0 {
			p.Family = pick(rng, familyNames) // parents with different family names
		}
		if oneNamedFamily {
			p.Given, p.Family = pick(rng, oneNamed), ""
		}
		f.Parents = append(f.Parents, p)
	}

	children := 0
	if i != 0 {
		children = []int{0, 0, 1, 1, 1, 2, 2, 3}[rng.IntN(8)]
	}
	for j := range children {
		sex, given := "female", pick(rng, femaleGiven)
		if rng.IntN(2) == 0 {
			sex, given = "male", pick(rng, maleGiven)
		}
		f.Children = append(f.Children, Person{
			ID:          fmt.Sprintf("%s-C%d", id, j+1),
			Given:       given,
			Family:      childFamilyName(f),
			DateOfBirth: randomDate(rng, 2014, 2024),
			Sex:         sex,
			Address:     address,
		})
	}

	// Incomes are those of families who may claim means-tested help. The
	// story's family has a low income, so a new child changes its award.
	f.WeeklyIncome = 5_000 + int64(rng.IntN(40_000))
	if i == 0 {
		f.WeeklyIncome = 18_000
	}
	f.WeeklyRent = 9_000 + int64(rng.IntN(13_000))
	f.WeeklyCouncilTax = 2_500 + int64(rng.IntN(2_000))
	return f
}

// newRand returns a generator that depends only on the seed and the
// labels, so each family and each holder's copy of it is reproducible.
func newRand(seed uint64, labels ...string) *rand.Rand {
	h := fnv.New64a()
	for _, l := range labels {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

func randomDate(rng *rand.Rand, fromYear, toYear int) string {
	start := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(time.Date(toYear+1, 1, 1, 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
	return start.AddDate(0, 0, rng.IntN(days)).Format(time.DateOnly)
}

func newAddress(rng *rand.Rand) joinedup.Address {
	town := pick(rng, towns)
	lines := []string{strconv.Itoa(1+rng.IntN(180)) + " " + pick(rng, streets)}
	if rng.IntN(8) == 0 {
		lines = append([]string{"Flat " + strconv.Itoa(1+rng.IntN(12))}, lines...)
	}
	const inward = "ABDEFGHJLNPQRSTUWXYZ" // letters used in the inward code
	postcode := fmt.Sprintf("%s%d %d%c%c", town.area, pick(rng, town.districts), rng.IntN(10),
		inward[rng.IntN(len(inward))], inward[rng.IntN(len(inward))])
	return joinedup.Address{Lines: lines, Town: town.name, Postcode: postcode}
}

// newNINO returns a National Insurance number of the valid form, avoiding
// the prefixes that are never issued.
func newNINO(rng *rand.Rand) string {
	const first, second = "ABCEGHJKLMNOPRSTWXYZ", "ABCEGHJKLMNPRSTWXYZ"
	for {
		var b strings.Builder
		b.WriteByte(first[rng.IntN(len(first))])
		b.WriteByte(second[rng.IntN(len(second))])
		fmt.Fprintf(&b, "%06d", rng.IntN(1_000_000))
		b.WriteByte("ABCD"[rng.IntN(4)])
		if n, ok := joinedup.NormalizeNINO(b.String()); ok {
			return n
		}
	}
}
