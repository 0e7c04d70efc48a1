package linkage

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/joinedup/joinedup"
)

// prepared is a record normalised once, so that comparing two records
// does no normalisation and no allocation.
type prepared struct {
	id string

	given, family          name
	dob                    date
	sex                    byte // 'f', 'm', 'x' or 0 when unknown
	address                string
	addressFirst           int32 // length of the first line within address
	emailAt                int32 // index of the @ in email, or its length
	town                   string
	postcode               postcode
	nino, nhs, uprn, email string
	ninoValid, nhsValid    bool
	onePart                bool
}

// name is one part of a person's name, folded for comparison.
type name struct {
	spaced   string // folded, words separated by one space
	compact  string // folded with the spaces removed; empty when missing
	soundex  uint32 // Soundex code of compact packed into four bytes, or 0
	initial  byte
	nickname uint16 // the set of nickname groups of the first word, or 0
}

func (n name) missing() bool { return n.compact == "" }

// date is a date of birth reduced to eight digits YYYYMMDD. Dates that do
// not exist (such as 1990-02-30) are kept as digits, because a typing error
// in a real date often makes an impossible one, and the digits still
// compare. Values that are not eight digits in any accepted form are
// missing.
type date struct {
	digits           [8]byte
	present          bool
	year, month, day int16
	days             int32 // a day number with 31 days in every month, so impossible dates have one too
}

// postcode is a postcode in capitals without spaces. For a UK postcode,
// sector and district are the lengths of its sector (the outward code and
// the first digit of the inward code) and its district (the outward
// code). For any other form both are 0.
type postcode struct {
	unit             string
	sector, district uint8
}

func (p *postcode) sectorCode() string   { return p.unit[:p.sector] }
func (p *postcode) districtCode() string { return p.unit[:p.district] }

// foldTransformer folds case, removes accents and recomposes: "Siobhán"
// becomes "siobhan". It is built per call because transform chains keep
// state and are not safe for concurrent use.
func foldTransformer() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), cases.Fold(), norm.NFC)
}

// foldText returns s folded, with apostrophes removed, hyphens, dots,
// commas and other punctuation turned into spaces and runs of spaces
// collapsed to one.
func foldText(s string) string {
	if s == "" {
		return ""
	}
	if isASCII(s) {
		return foldASCII(s)
	}
	folded, _, err := transform.String(foldTransformer(), s)
	if err != nil {
		folded = strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(folded))
	space := false
	for _, r := range folded {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == 'ʼ' || r == '`' || r == '´':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// foldASCII does what foldText does for ASCII text, without the Unicode
// transforms, which cost more than the rest of preparing a record.
func foldASCII(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '`':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

// prepareName folds a name part and applies the surname prefixes: "Mc"
// becomes "mac" and "O'" joins the rest ("o neill" and "o'neill"
// both fold to "oneill").
func prepareName(s string, family bool) name {
	spaced := foldText(s)
	if spaced == "" {
		return name{}
	}
	words := strings.Split(spaced, " ")
	if family {
		joined := words[:0]
		for i := 0; i < len(words); i++ {
			w := words[i]
			// "o neill", "mac donald", "mc donald" are one surname.
			if (w == "o" || w == "mc" || w == "mac" || w == "m") && i+1 < len(words) {
				w += words[i+1]
				i++
			}
			if strings.HasPrefix(w, "mc") && len(w) > 2 {
				w = "mac" + w[2:]
			}
			joined = append(joined, w)
		}
		words = joined
	}
	n := name{
		spaced:  strings.Join(words, " "),
		compact: strings.Join(words, ""),
	}
	n.soundex = soundex(n.compact)
	n.initial = n.compact[0]
	if !family {
		n.nickname = nicknameGroups(words[0])
	}
	return n
}

// prepare normalises r for comparison.
func prepare(r Record) prepared {
	p := prepared{
		id:     r.ID,
		given:  prepareName(r.GivenName, false),
		family: prepareName(r.FamilyName, true),
		dob:    parseDate(r.DateOfBirth),
		sex:    parseSex(r.Sex),
	}
	p.onePart = p.given.missing() != p.family.missing()

	lines := make([]string, 0, len(r.AddressLines))
	for _, l := range r.AddressLines {
		if f := foldText(l); f != "" {
			lines = append(lines, f)
		}
	}
	p.address = strings.Join(lines, " ")
	if len(lines) > 0 {
		p.addressFirst = int32(len(lines[0]))
	}
	p.town = foldText(r.Town)
	p.postcode = parsePostcode(r.Postcode)

	if r.NINO != "" {
		p.nino, p.ninoValid = joinedup.NormalizeNINO(r.NINO)
	}
	p.nhs, p.nhsValid = parseNHSNumber(r.NHSNumber)
	p.uprn = strings.TrimLeft(strings.TrimSpace(r.UPRN), "0")
	p.email = strings.ToLower(strings.TrimSpace(r.Email))
	p.emailAt = int32(len(p.email))
	if at := strings.LastIndexByte(p.email, '@'); at > 0 {
		p.emailAt = int32(at)
	}
	return p
}

// parseDate accepts YYYY-MM-DD, YYYYMMDD and DD/MM/YYYY.
func parseDate(s string) date {
	s = strings.TrimSpace(s)
	var digits []byte
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		digits = []byte(s[:4] + s[5:7] + s[8:])
	case len(s) == 10 && s[2] == '/' && s[5] == '/':
		digits = []byte(s[6:] + s[3:5] + s[:2])
	case len(s) == 8:
		digits = []byte(s)
	default:
		return date{}
	}
	var d date
	for i, c := range digits {
		if c < '0' || c > '9' {
			return date{}
		}
		d.digits[i] = c
	}
	d.present = true
	d.year = int16(atoi(digits[:4]))
	d.month = int16(atoi(digits[4:6]))
	d.day = int16(atoi(digits[6:]))
	d.days = int32(d.year)*372 + int32(d.month)*31 + int32(d.day)
	return d
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

// validDate reports whether s is empty or a real date in one of the forms
// parseDate accepts.
func validDate(s string) bool {
	if strings.TrimSpace(s) == "" {
		return true
	}
	d := parseDate(s)
	if !d.present {
		return false
	}
	_, err := joinedup.ParseDate(string(d.digits[:4]) + "-" + string(d.digits[4:6]) + "-" + string(d.digits[6:]))
	return err == nil
}

func parseSex(s string) byte {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f", "female", "woman", "girl":
		return 'f'
	case "m", "male", "man", "boy":
		return 'm'
	case "x", "indeterminate", "other":
		return 'x'
	}
	return 0
}

// parsePostcode returns the postcode s with, for a UK postcode, the
// lengths of its sector and district.
func parsePostcode(s string) postcode {
	norm, ok := joinedup.NormalizePostcode(s)
	if norm == "" {
		return postcode{}
	}
	if !ok {
		return postcode{unit: strings.ReplaceAll(norm, " ", "")}
	}
	outward, inward, _ := strings.Cut(norm, " ")
	return postcode{
		unit:     outward + inward,
		sector:   uint8(len(outward) + 1),
		district: uint8(len(outward)),
	}
}

// parseNHSNumber returns the ten digits of an NHS number with spaces and
// hyphens removed, and whether its check digit (modulus 11) is right.
func parseNHSNumber(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		if r == ' ' || r == '-' {
			continue
		}
		b.WriteRune(r)
	}
	digits := b.String()
	if len(digits) != 10 {
		return digits, false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return digits, false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return digits, check != 10 && digits[9] == byte('0'+check)
}
