package joinedup

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// BirthKeyPrefix begins every key that BirthRegistration.DedupeKey
// returns. A change to what the key covers or how it folds names needs a
// new prefix, so that keys stored in the old form can be found and
// recomputed.
const BirthKeyPrefix = "birth2:"

// LegacyBirthKeyPrefix begins the keys of births registered before names
// were folded: a hash of the names in lower case, with the parents in the
// order entered.
const LegacyBirthKeyPrefix = "birth:"

// DedupeKey returns the key that identifies a normalised registration as
// the same birth registered again. It is a SHA-256 hash of the child's
// name, sex and date of birth and of each parent's name and date of
// birth. Twins differ in name, so each gets a key of their own.
//
// Names are compared as FoldName returns them, and the parents in sorted
// order, because the same parents entered in the other order are the same
// birth. Roles, the informant, addresses, the place of birth and National
// Insurance numbers are left out. The people and dates already identify
// the birth, and these fields can be written in more than one way for the
// same birth.
func (r BirthRegistration) DedupeKey() string {
	parents := make([][]string, len(r.Parents))
	for i, p := range r.Parents {
		parents[i] = []string{FoldName(p.Name.Given), FoldName(p.Name.Family), p.DateOfBirth.String()}
	}
	slices.SortFunc(parents, slices.Compare)

	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	field(FoldName(r.Child.Name.Given))
	field(FoldName(r.Child.Name.Family))
	field(r.Child.Sex)
	field(r.Child.DateOfBirth.String())
	for _, p := range parents {
		for _, s := range p {
			field(s)
		}
	}
	return BirthKeyPrefix + hex.EncodeToString(h.Sum(nil))
}

// FoldName returns a part of a name in the form in which two spellings of
// the same name compare equal. It makes these changes:
//   - Every apostrophe, and each mark typed for one (’ ‘ ‛ ʼ ʻ ʽ ′ ´ `),
//     becomes '.
//   - Every dash and hyphen (Unicode category Pd) becomes -.
//   - Compatibility forms, such as fullwidth letters, take their usual
//     form (NFKC), and case is folded, so "STRAUSS" matches "Strauß".
//   - Each run of white space becomes one space, and white space next to
//     a hyphen or an apostrophe is removed, so "O’ Neill – Ray" and
//     "o'neill-ray" fold alike.
//
// Full stops and the order of words are kept, so "St John" and "St. John"
// remain different names.
func FoldName(s string) string {
	s = strings.Map(foldNameRune, s)
	s = norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
	s = strings.Map(foldNameRune, s)

	var b strings.Builder
	var last rune
	space := false
	for _, r := range strings.TrimSpace(s) {
		if r == ' ' {
			space = true
			continue
		}
		if space && !isNameJoiner(r) && !isNameJoiner(last) {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

// SameName reports whether a and b are the same name once each part is
// folded by FoldName, such as "O’Neill" and "O'Neill".
func SameName(a, b Name) bool {
	return FoldName(a.Given) == FoldName(b.Given) && FoldName(a.Family) == FoldName(b.Family)
}

// isNameJoiner reports whether r is a folded hyphen or apostrophe, next to
// which FoldName removes white space.
func isNameJoiner(r rune) bool { return r == '-' || r == '\'' }

// foldNameRune maps each apostrophe form to ', each dash to - and each
// white space character to a space, and leaves every other rune as it is.
// The marks ´ and ` are mapped before NFKC, which would otherwise split
// ´ into a space and a combining accent.
func foldNameRune(r rune) rune {
	switch {
	case strings.ContainsRune("'‘’‛ʼʻʽ′´`", r):
		return '\''
	case unicode.Is(unicode.Pd, r):
		return '-'
	case unicode.IsSpace(r), unicode.Is(unicode.Zs, r):
		return ' '
	}
	return r
}
