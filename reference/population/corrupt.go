package population

import (
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
)

// The errors that a holder's copy of a record may have.
const (
	typoGiven = iota
	typoFamily
	nickname
	swapDayMonth
	missingNINO
	missingDateOfBirth
	numErrors
)

// corruptFamily returns the holder's copy of f. A demo family gets at most
// one error per parent, never loses a date of birth and never has an old
// address, so that its parents stay recognisable by services that hold no
// National Insurance number. Another family may get up to two errors per
// person, or an address from before a move for the whole family.
func corruptFamily(rng *rand.Rand, f Family, demo bool) Family {
	out := f
	out.Parents = slices.Clone(f.Parents)
	out.Children = slices.Clone(f.Children)

	if !demo && rng.IntN(6) == 0 {
		old := newAddress(rng)
		for i := range out.Parents {
			out.Parents[i].Address = old
		}
		for i := range out.Children {
			out.Children[i].Address = old
		}
	}

	for i := range out.Parents {
		if demo {
			if rng.IntN(3) > 0 {
				out.Parents[i] = corruptPerson(rng, out.Parents[i], rng.IntN(missingDateOfBirth))
			}
			continue
		}
		for range rng.IntN(3) {
			out.Parents[i] = corruptPerson(rng, out.Parents[i], rng.IntN(numErrors))
		}
	}
	for i := range out.Children {
		if !demo && rng.IntN(3) == 0 {
			out.Children[i] = corruptPerson(rng, out.Children[i], rng.IntN(numErrors))
		}
	}
	return out
}

func corruptPerson(rng *rand.Rand, p Person, kind int) Person {
	switch kind {
	case typoGiven:
		p.Given = typo(rng, p.Given)
	case typoFamily:
		if p.Family == "" {
			p.Given = typo(rng, p.Given)
		} else {
			p.Family = typo(rng, p.Family)
		}
	case nickname:
		if short, ok := nicknames[p.Given]; ok {
			p.Given = short
		} else {
			p.Given = typo(rng, p.Given)
		}
	case swapDayMonth:
		p.DateOfBirth = swapDate(p.DateOfBirth)
	case missingNINO:
		p.NINO = ""
	case missingDateOfBirth:
		p.DateOfBirth = ""
	}
	return p
}

// swapDate returns a YYYY-MM-DD date with its day and month swapped, as
// when a date is typed in the American order. A day over 12 gives an
// impossible date, as it does in a system that stores dates as text.
func swapDate(s string) string {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return s
	}
	return parts[0] + "-" + parts[2] + "-" + parts[1]
}

// typo returns s with one typing error after its first letter: a letter
// replaced, dropped, doubled, or swapped with the next one. Names of fewer
// than three letters are returned unchanged.
func typo(rng *rand.Rand, s string) string {
	r := []rune(s)
	if len(r) < 3 {
		return s
	}
	i := 1 + rng.IntN(len(r)-1)
	switch rng.IntN(4) {
	case 0:
		c := rune('a' + rng.IntN(26))
		if c == unicode.ToLower(r[i]) {
			c = 'a' + (c-'a'+1)%26
		}
		r[i] = c
	case 1:
		r = slices.Delete(r, i, i+1)
	case 2:
		r = slices.Insert(r, i, r[i])
	default:
		if i == len(r)-1 {
			i--
		}
		if r[i] == r[i+1] {
			r = slices.Delete(r, i, i+1)
		} else {
			r[i], r[i+1] = r[i+1], r[i]
		}
	}
	return string(r)
}
