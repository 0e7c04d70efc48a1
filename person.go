package joinedup

import (
	"regexp"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Name is a person's name as entered. Either part may be empty, so that
// people with one-part names can be recorded, but not both, and a part
// that is not empty must contain a letter. Names are kept in Unicode NFC
// and otherwise exactly as typed: apostrophes (’ and '), hyphens, spaces
// and accents are all valid.
type Name struct {
	Given  string `json:"given,omitempty"`
	Family string `json:"family,omitempty"`
}

// Full returns the name in the order it is usually written.
func (n Name) Full() string {
	return strings.TrimSpace(n.Given + " " + n.Family)
}

// Normalize returns n in NFC with surrounding spaces removed.
func (n Name) Normalize() Name {
	return Name{Given: normalizeText(n.Given), Family: normalizeText(n.Family)}
}

// normalizeText returns s in NFC without white space around it: the form
// in which the hub stores a name or other free text, and counts its
// length.
func normalizeText(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}

// Address is a postal address. UPRN is the Unique Property Reference
// Number from the National Address Gazetteer, when known.
type Address struct {
	Lines    []string `json:"lines"`
	Town     string   `json:"town,omitempty"`
	Postcode string   `json:"postcode"`
	UPRN     string   `json:"uprn,omitempty"`
}

var (
	postcodePattern = regexp.MustCompile(`^(GIR ?0AA|[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})$`)
	ninoPattern     = regexp.MustCompile(`^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$`)
	// ninoShape is a National Insurance number's form with any two letters
	// first, so that a number with a prefix never issued, such as QQ, can
	// be told apart from one typed wrongly.
	ninoShape   = regexp.MustCompile(`^[A-Z]{2}[0-9]{6}[A-D]$`)
	uprnPattern = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)
)

// NormalizePostcode returns a UK postcode in capitals with one space before
// the inward code, and whether it has a valid form.
func NormalizePostcode(s string) (string, bool) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) < 5 || len(s) > 7 {
		return s, false
	}
	s = s[:len(s)-3] + " " + s[len(s)-3:]
	return s, postcodePattern.MatchString(s)
}

// ExampleNINO is the National Insurance number that hints and error
// messages show as an example. NormalizeNINO accepts it, unlike the
// QQ prefix that is often used in examples but never allocated.
const ExampleNINO = "AB 12 34 56 C"

// NormalizeNINO returns a National Insurance number in capitals without
// spaces, and whether it has a valid form. The temporary prefixes and the
// prefixes never issued (BG, GB, KN, NK, NT, TN, ZZ) are rejected.
func NormalizeNINO(s string) (string, bool) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if !ninoPattern.MatchString(s) {
		return s, false
	}
	switch s[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return s, false
	}
	return s, true
}

// ValidUPRN reports whether s has the form of a UPRN: a positive whole
// number of one to twelve digits, without leading zeros. "0" and a form
// such as "007" are taken for typing errors.
func ValidUPRN(s string) bool { return uprnPattern.MatchString(s) }
