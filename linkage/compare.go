package linkage

import (
	"strings"

	"github.com/agnivade/levenshtein"
)

// Level indexes of the comparators, matching fieldLevels.
const (
	givenExact, givenPart, givenNickname, givenInitial, givenOneEdit, givenSimilar, givenSoundex, givenDifferent uint8 = 0, 1, 2, 3, 4, 5, 6, 7
	familyExact, familyPart, familyOneEdit, familySimilar, familySoundex, familyDifferent                        uint8 = 0, 1, 2, 3, 4, 5
	dobExact, dobSwapped, dobOneEdit, dobOneYear, dobMonth, dobYear, dobDifferent                                uint8 = 0, 1, 2, 3, 4, 5, 6
	ninoExact, ninoOneEdit                                                                                       uint8 = 0, 1
	nhsExact                                                                                                     uint8 = 0
)

func compareGiven(a, b *name) uint8 {
	switch {
	case a.missing() || b.missing():
		return null
	case a.compact == b.compact:
		return givenExact
	case sharesWords(a.spaced, b.spaced):
		return givenPart
	case a.nickname != 0 && b.nickname != 0 && shareGroup(nicknameSets[a.nickname], nicknameSets[b.nickname]):
		return givenNickname
	case len(a.compact) == 1 || len(b.compact) == 1:
		if a.initial == b.initial {
			return givenInitial
		}
		return givenDifferent
	case damerauLevenshtein(a.compact, b.compact, 1) <= 1:
		return givenOneEdit
	case jaroWinkler(a.compact, b.compact) >= 0.9:
		return givenSimilar
	case a.soundex == b.soundex:
		return givenSoundex
	}
	return givenDifferent
}

func compareFamily(a, b *name) uint8 {
	switch {
	case a.missing() || b.missing():
		return null
	case a.compact == b.compact:
		return familyExact
	case sharesWords(a.spaced, b.spaced):
		return familyPart
	case damerauLevenshtein(a.compact, b.compact, 1) <= 1:
		return familyOneEdit
	case jaroWinkler(a.compact, b.compact) >= 0.9:
		return familySimilar
	case a.soundex == b.soundex:
		return familySoundex
	}
	return familyDifferent
}

// sharesWords reports whether a and b, lists of words separated by single
// spaces, have the same first word or the words of one are all in the
// other: "mary jane" and "mary", "oneill byrne" and "byrne".
func sharesWords(a, b string) bool {
	if !strings.Contains(a, " ") && !strings.Contains(b, " ") {
		return false
	}
	af, _, _ := strings.Cut(a, " ")
	bf, _, _ := strings.Cut(b, " ")
	if af == bf {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	for w := range strings.SplitSeq(a, " ") {
		if !containsWord(b, w) {
			return false
		}
	}
	return true
}

func containsWord(list, w string) bool {
	for v := range strings.SplitSeq(list, " ") {
		if v == w {
			return true
		}
	}
	return false
}

func compareDate(a, b *date) uint8 {
	switch {
	case !a.present || !b.present:
		return null
	case a.digits == b.digits:
		return dobExact
	case a.year == b.year && a.month == b.day && a.day == b.month:
		return dobSwapped
	case osaOf(a.digits[:], b.digits[:], 1) <= 1:
		return dobOneEdit
	case a.month == b.month && a.day == b.day && (a.year-b.year == 1 || b.year-a.year == 1):
		return dobOneYear
	}
	switch days := abs(int(a.days) - int(b.days)); {
	case days <= 31:
		return dobMonth
	case days <= 366:
		return dobYear
	}
	return dobDifferent
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func compareSex(a, b byte) uint8 {
	switch {
	case a == 0 || b == 0:
		return null
	case a == b:
		return 0
	}
	return 1
}

// compareAddress decides on the UPRN alone when both records have one,
// because a UPRN identifies a property; otherwise it compares the folded
// address lines.
func compareAddress(a, b *prepared) uint8 {
	if a.uprn != "" && b.uprn != "" {
		if a.uprn == b.uprn {
			return 0
		}
		return 4
	}
	if a.address == "" || b.address == "" {
		return null
	}
	if a.address == b.address {
		return 0
	}
	jw := jaroWinkler(a.address, b.address)
	switch {
	case jw >= 0.92:
		return 1
	case a.address[:a.addressFirst] == b.address[:b.addressFirst]:
		return 2
	case jw >= 0.8:
		return 3
	}
	return 4
}

func compareTown(a, b string) uint8 {
	switch {
	case a == "" || b == "":
		return null
	case a == b:
		return 0
	case jaroWinkler(a, b) >= 0.9:
		return 1
	}
	return 2
}

func comparePostcode(a, b *postcode) uint8 {
	switch {
	case a.unit == "" || b.unit == "":
		return null
	case a.unit == b.unit:
		return 0
	case a.sector != 0 && a.sectorCode() == b.sectorCode():
		return 1
	case a.district != 0 && a.districtCode() == b.districtCode():
		return 2
	case damerauLevenshtein(a.unit, b.unit, 1) <= 1:
		return 3
	}
	return 4
}

// compareIdentifier compares identifiers that are copied rather than
// spoken, so one typing error is the only near miss.
func compareIdentifier(a, b string) uint8 {
	switch {
	case a == "" || b == "":
		return null
	case a == b:
		return 0
	case damerauLevenshtein(a, b, 1) <= 1:
		return 1
	}
	return 2
}

func compareNHSNumber(a, b string) uint8 {
	switch {
	case a == "" || b == "":
		return null
	case a == b:
		return 0
	}
	return 1
}

func compareEmail(a, b *prepared) uint8 {
	switch {
	case a.email == "" || b.email == "":
		return null
	case a.email == b.email:
		return 0
	case a.email[:a.emailAt] == b.email[:b.emailAt]:
		return 1
	case levenshtein.ComputeDistance(a.email, b.email) <= 2:
		return 2
	}
	return 3
}

// comparison is the outcome of comparing two records.
type comparison struct {
	levels  [numFields]uint8
	weight  float64 // match weight, prior included
	swapped bool    // given and family names compared crosswise
}

// termFrequency contains the weights that replace the "exact" weights of
// the query's given and family names. Each is log2(m/tf), where tf is the
// share of records with that name, so agreeing on a rare name counts for
// more than agreeing on a common one.
type termFrequency struct {
	given, family float64
	set           bool
}

// compare compares a with b field by field and returns the levels and the
// match weight. Given and family names are also compared crosswise and
// the better of the two orientations is kept, which recognises names
// entered in the wrong boxes and one-part names entered in either box.
func (c *compiled) compare(a, b *prepared, tf *termFrequency) comparison {
	var r comparison
	l := &r.levels
	l[fGiven] = compareGiven(&a.given, &b.given)
	l[fFamily] = compareFamily(&a.family, &b.family)
	nameWeight := c.levelWeight(fGiven, l[fGiven], tf) + c.levelWeight(fFamily, l[fFamily], tf)
	if !(l[fGiven] == givenExact && l[fFamily] == familyExact) {
		g := compareGiven(&a.given, &b.family)
		f := compareFamily(&a.family, &b.given)
		if g != null || f != null {
			if w := c.levelWeight(fGiven, g, nil) + c.levelWeight(fFamily, f, nil); w > nameWeight {
				l[fGiven], l[fFamily], nameWeight, r.swapped = g, f, w, true
			}
		}
	}
	// A one-part name is the person's whole name, so when both records
	// have one and they agree, both parts count as agreeing.
	if a.onePart && b.onePart {
		switch {
		case l[fGiven] == givenExact && l[fFamily] == null:
			l[fFamily] = familyExact
			nameWeight += c.weights[fFamily][familyExact]
		case l[fFamily] == familyExact && l[fGiven] == null:
			l[fGiven] = givenExact
			nameWeight += c.weights[fGiven][givenExact]
		}
	}

	l[fDOB] = compareDate(&a.dob, &b.dob)
	l[fSex] = compareSex(a.sex, b.sex)
	l[fAddress] = compareAddress(a, b)
	l[fTown] = compareTown(a.town, b.town)
	l[fPostcode] = comparePostcode(&a.postcode, &b.postcode)
	l[fNINO] = compareIdentifier(a.nino, b.nino)
	l[fNHS] = compareNHSNumber(a.nhs, b.nhs)
	l[fEmail] = compareEmail(a, b)

	r.weight = c.prior + nameWeight
	for f := fDOB; f < numFields; f++ {
		if lv := l[f]; lv != null {
			r.weight += c.weights[f][lv]
		}
	}
	return r
}

func (c *compiled) levelWeight(f int, level uint8, tf *termFrequency) float64 {
	switch {
	case level == null:
		return 0
	case level == 0 && tf != nil && tf.set && f == fGiven:
		return tf.given
	case level == 0 && tf != nil && tf.set && f == fFamily:
		return tf.family
	}
	return c.weights[f][level]
}

// decide turns a comparison into a decision. Beyond the thresholds it
// applies these rules:
//   - the same valid NHS number or National Insurance number is a match,
//     unless the given names and dates of birth both disagree, which
//     points to a wrongly copied number and goes to review;
//   - a valid NHS number or National Insurance number on both sides that
//     differs rules out an automatic match;
//   - given names that disagree rule out an automatic match unless an
//     identifier agrees or is one typing error away, because twins share
//     everything else but have unrelated identifiers.
func (c *compiled) decide(a, b *prepared, r *comparison) Decision {
	l := &r.levels
	givenDisagree := l[fGiven] == givenDifferent
	if (a.nhsValid && b.nhsValid && a.nhs == b.nhs) || (a.ninoValid && b.ninoValid && a.nino == b.nino) {
		if givenDisagree && l[fDOB] == dobDifferent {
			return Possible
		}
		return Match
	}

	d := None
	switch {
	case r.weight >= c.match:
		d = Match
	case r.weight >= c.possible:
		d = Possible
	}
	if d != Match {
		return d
	}
	if (a.nhsValid && b.nhsValid) || (a.ninoValid && b.ninoValid) {
		return Possible
	}
	identifierAgrees := l[fNINO] == ninoExact || l[fNINO] == ninoOneEdit || l[fNHS] == nhsExact
	if givenDisagree && !identifierAgrees {
		return Possible
	}
	return Match
}

// fields lists the comparison of each field that is present on both
// sides, for showing to a reviewer.
func (c *compiled) fields(r *comparison, tf *termFrequency) []FieldComparison {
	out := make([]FieldComparison, 0, numFields)
	for f, lv := range r.levels {
		if lv == null {
			continue
		}
		w := c.weights[f][lv]
		if !r.swapped {
			w = c.levelWeight(f, lv, tf)
		}
		out = append(out, FieldComparison{Field: fieldNames[f], Level: fieldLevels[f][lv], Weight: w})
	}
	return out
}
