package joinedup

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// BirthRegistration is a birth as the registrar records it, with the
// informant's choice of services to tell. It is the payload of a
// birth.registered life event.
type BirthRegistration struct {
	Child     Child     `json:"child"`
	Parents   []Parent  `json:"parents"`
	Informant Informant `json:"informant"`
	Consent   Choice    `json:"consent"`
}

// Child is the child whose birth is registered.
type Child struct {
	Name         Name   `json:"name"`
	Sex          string `json:"sex"`
	DateOfBirth  Date   `json:"dateOfBirth"`
	PlaceOfBirth string `json:"placeOfBirth"`
}

// Sexes recorded at birth registration.
var Sexes = []string{"female", "male", "indeterminate"}

// Parent is a parent of the child.
type Parent struct {
	Role                    string  `json:"role"`
	Name                    Name    `json:"name"`
	DateOfBirth             Date    `json:"dateOfBirth"`
	NationalInsuranceNumber string  `json:"nationalInsuranceNumber,omitempty"`
	Address                 Address `json:"address"`
}

// ParentWith returns the index in r.Parents of the parent with the
// National Insurance number nino and the date of birth dateOfBirth, or -1
// when there is none. An empty nino matches no parent. Both values must be
// in the form the hub stores. The hub links a resident account to a birth
// by the same rule (linkBirth in cmd/joinedup).
func (r BirthRegistration) ParentWith(nino string, dateOfBirth Date) int {
	if nino == "" {
		return -1
	}
	return slices.IndexFunc(r.Parents, func(p Parent) bool {
		return p.NationalInsuranceNumber == nino && p.DateOfBirth == dateOfBirth
	})
}

// ParentRoles are the roles a parent may be recorded in.
var ParentRoles = []string{"mother", "father", "parent"}

// Informant is the person who registers the birth and gives or refuses
// consent. Parent is the index into Parents when the informant is a parent,
// and nil otherwise.
type Informant struct {
	Name     Name   `json:"name"`
	Capacity string `json:"capacity"`
	Parent   *int   `json:"parent,omitempty"`
}

// Informant capacities, as on the birth register. Every capacity but
// InformantOther is a parent's, and must match the role of the parent that
// Informant.Parent names.
var InformantCapacities = []string{"mother", "father", "parent", InformantOther}

// InformantOther is the capacity of an informant who is not a parent, such
// as someone present at the birth.
const InformantOther = "other"

// Choice is the informant's answer to "may we tell these services?": the
// services they agreed to, for the stated purpose. Services not listed are
// recorded as refused.
type Choice struct {
	Services []ServiceID `json:"services"`
	Purpose  string      `json:"purpose,omitempty"`
}

// PurposeTellUsOnce is the default purpose of sharing a life event: sending
// it to the services the informant chose, so that the family need not
// report it to each one.
const PurposeTellUsOnce = "tell-us-once"

// ConsentPurposes are the purposes for which the hub records consent. A
// registration that states any other purpose is rejected.
var ConsentPurposes = []string{PurposeTellUsOnce}

// EarliestParentBirth is the earliest date of birth accepted for a parent.
// An earlier date, such as the year 0000 that a date field accepts, is
// taken for a typing error.
var EarliestParentBirth = Date{Year: 1900, Month: time.January, Day: 1}

// MinParentAge is the youngest age, in whole years at the child's birth,
// at which a parent is accepted; a younger one is taken for a typing error.
const MinParentAge = 10

// Limits on the text fields of a birth registration, in characters
// (Unicode code points) of the text as Normalize returns it: in NFC,
// without white space around it, and without blank address lines. They
// are generous because a register must not refuse a long but real name or
// address. Postcodes, National Insurance numbers and UPRNs need no limit
// of their own, because NormalizePostcode, NormalizeNINO and ValidUPRN
// accept only their fixed formats. api/openapi.json states the same limits
// in the fields' descriptions, not as maxLength or maxItems, which would
// count the text as sent. A test in package web checks that they agree.
const (
	// MaxNameLength applies to each part of a name: all the given names
	// together, and the family name. Long multi-part given names, such as
	// "Pablo Diego José Francisco de Paula Juan Nepomuceno María de los
	// Remedios Cipriano de la Santísima Trinidad" (107 characters), fit.
	MaxNameLength = 200

	// MaxPlaceLength leaves room for a hospital's name or for a whole
	// address written on one line: an address line, a town and a postcode.
	MaxPlaceLength = 300

	// MaxAddressLines is the maximum number of address lines, before the
	// town.
	MaxAddressLines = 6

	// MaxAddressLineLength leaves room for a line that names an
	// organisation, a building and a business park together.
	MaxAddressLineLength = 200

	MaxTownLength = 100
)

// Normalize returns r as the hub stores it: every name and free-text
// field in NFC and trimmed, blank address lines dropped, postcodes and
// National Insurance numbers in their standard form, and the default
// consent purpose set.
func (r BirthRegistration) Normalize() BirthRegistration {
	r = r.normalizeKeepingBlankLines()
	for i := range r.Parents {
		r.Parents[i].Address.Lines = slices.DeleteFunc(r.Parents[i].Address.Lines, func(l string) bool { return l == "" })
	}
	return r
}

// Check normalises r and validates the result as Validate does. It
// returns the normalised registration and Validate's error, whose field
// pointers name the fields as sent in r: an address line keeps its index
// among the lines sent, blank ones included, although Normalize drops
// blank lines.
func (r BirthRegistration) Check(today Date) (BirthRegistration, error) {
	normalized := r.normalizeKeepingBlankLines()
	return normalized.Normalize(), normalized.Validate(today)
}

// normalizeKeepingBlankLines returns r normalised as Normalize does, but
// with each blank address line left in its place as "".
func (r BirthRegistration) normalizeKeepingBlankLines() BirthRegistration {
	r.Child.Name = r.Child.Name.Normalize()
	r.Child.PlaceOfBirth = normalizeText(r.Child.PlaceOfBirth)
	r.Child.Sex = strings.ToLower(strings.TrimSpace(r.Child.Sex))
	parents := make([]Parent, len(r.Parents))
	for i, p := range r.Parents {
		p.Name = p.Name.Normalize()
		p.Role = strings.ToLower(strings.TrimSpace(p.Role))
		if p.NationalInsuranceNumber != "" {
			p.NationalInsuranceNumber, _ = NormalizeNINO(p.NationalInsuranceNumber)
		}
		p.Address.Postcode, _ = NormalizePostcode(p.Address.Postcode)
		lines := make([]string, len(p.Address.Lines))
		for j, l := range p.Address.Lines {
			lines[j] = normalizeText(l)
		}
		p.Address.Lines = lines
		p.Address.Town = normalizeText(p.Address.Town)
		p.Address.UPRN = strings.TrimSpace(p.Address.UPRN)
		parents[i] = p
	}
	r.Parents = parents
	r.Informant.Name = r.Informant.Name.Normalize()
	r.Informant.Capacity = strings.ToLower(strings.TrimSpace(r.Informant.Capacity))
	if r.Consent.Purpose == "" {
		r.Consent.Purpose = PurposeTellUsOnce
	}
	return r
}

// Validate checks a normalised registration made on the date today and
// returns an EINVALID *Error that names every invalid field, or nil.
// The services in the consent are checked by CheckConsentServices, which
// needs the connected services. An address line that is "" is skipped, so that
// Check can validate the lines at the indices they were sent at.
func (r BirthRegistration) Validate(today Date) error {
	var fields []FieldError
	add := func(field, format string, args ...any) {
		fields = append(fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	checkName(add, "/child/name", "the child", r.Child.Name)
	if !contains(Sexes, r.Child.Sex) {
		add("/child/sex", "Select the child’s sex: female, male or indeterminate")
	}
	// A parent's date of birth is compared with the child's only when the
	// child's is valid, so that one wrong date, such as 0000-01-01, gives
	// one error rather than a second one on each parent.
	childDateValid := false
	switch {
	case r.Child.DateOfBirth.IsZero():
		add("/child/dateOfBirth", "Enter the child’s date of birth")
	case r.Child.DateOfBirth.After(today):
		add("/child/dateOfBirth", "The child’s date of birth must be today or in the past")
	case r.Child.DateOfBirth.Before(today.AddDate(-1, 0, 0)):
		add("/child/dateOfBirth", "A birth must be registered within a year of the date of birth")
	default:
		childDateValid = true
	}
	switch {
	case r.Child.PlaceOfBirth == "":
		add("/child/placeOfBirth", "Enter the place of birth")
	case utf8.RuneCountInString(r.Child.PlaceOfBirth) > MaxPlaceLength:
		add("/child/placeOfBirth", "Place of birth must be %d characters or fewer", MaxPlaceLength)
	case hasControl(r.Child.PlaceOfBirth):
		add("/child/placeOfBirth", "Place of birth must not contain control characters")
	case hasInvisible(r.Child.PlaceOfBirth):
		add("/child/placeOfBirth", "Place of birth must not contain invisible characters, such as a zero-width space")
	case hasUnreadable(r.Child.PlaceOfBirth):
		add("/child/placeOfBirth", "Place of birth must not contain a character that could not be read")
	}

	if len(r.Parents) == 0 {
		add("/parents", "Enter at least one parent")
	} else if len(r.Parents) > 2 {
		add("/parents", "Enter no more than two parents")
	}
	for i, p := range r.Parents {
		at := fmt.Sprintf("/parents/%d", i)
		who := fmt.Sprintf("parent %d", i+1)
		if !contains(ParentRoles, p.Role) {
			add(at+"/role", "Select whether %s is the mother, the father or a parent", who)
		}
		checkName(add, at+"/name", who, p.Name)
		switch {
		case p.DateOfBirth.IsZero():
			add(at+"/dateOfBirth", "Enter the date of birth of %s", who)
		case p.DateOfBirth.Before(EarliestParentBirth):
			add(at+"/dateOfBirth", "The date of birth of %s must be on or after %d %s %d",
				who, EarliestParentBirth.Day, EarliestParentBirth.Month, EarliestParentBirth.Year)
		case p.DateOfBirth.After(today):
			add(at+"/dateOfBirth", "The date of birth of %s must be in the past", who)
		case childDateValid && !p.DateOfBirth.Before(r.Child.DateOfBirth):
			add(at+"/dateOfBirth", "The date of birth of %s must be before the child’s", who)
		case childDateValid && p.DateOfBirth.After(r.Child.DateOfBirth.AddDate(-MinParentAge, 0, 0)):
			add(at+"/dateOfBirth", "%s must have been at least %d years old when the child was born", capitalise(who), MinParentAge)
		}
		if p.NationalInsuranceNumber != "" {
			if n, ok := NormalizeNINO(p.NationalInsuranceNumber); !ok {
				if ninoShape.MatchString(n) {
					add(at+"/nationalInsuranceNumber", "National Insurance numbers starting %s are never issued: enter a real one, like %s", n[:2], ExampleNINO)
				} else {
					add(at+"/nationalInsuranceNumber", "Enter a National Insurance number in the correct format, like %s", ExampleNINO)
				}
			}
		}
		checkAddress(add, at+"/address", who, p.Address)
	}
	checkParentsDiffer(add, r.Parents)

	checkName(add, "/informant/name", "the informant", r.Informant.Name)
	checkInformant(add, r.Informant, r.Parents)

	if !contains(ConsentPurposes, r.Consent.Purpose) {
		add("/consent/purpose", "Enter a purpose the hub records consent for: %s, or leave the purpose out", strings.Join(ConsentPurposes, ", "))
	}

	if len(fields) > 0 {
		return Invalid("The registration has errors.", fields...)
	}
	return nil
}

// CheckConsentServices checks the services that the informant agrees to
// tell against services, which maps the id of each service the hub has to
// it. It returns an error for each service listed twice, unknown to the
// hub or not taking birth registrations, and for each that needs a
// parent's consent when the informant is not a parent. An error names a
// service as the hub lists it, and by its id only when the hub has none.
func (r BirthRegistration) CheckConsentServices(services map[ServiceID]*Service) []FieldError {
	var fields []FieldError
	seen := map[ServiceID]bool{}
	for i, id := range r.Consent.Services {
		at := fmt.Sprintf("/consent/services/%d", i)
		svc, known := services[id]
		var message string
		switch {
		case seen[id] && known:
			message = fmt.Sprintf("%s is listed twice", svc.Name)
		case seen[id]:
			message = fmt.Sprintf("Service %q is listed twice", id)
		case !known:
			message = fmt.Sprintf("There is no service %q", id)
		case !svc.Takes(EventBirthRegistered):
			message = fmt.Sprintf("%s does not take birth registrations", svc.Name)
		case r.Informant.Capacity == InformantOther && svc.LawfulBasis == "":
			// Only someone with parental responsibility can agree to share
			// a child's details. A service with a lawful basis is told
			// without consent, so choosing it changes nothing.
			message = fmt.Sprintf("Only a parent can agree to tell %s. Unselect it, or ask a parent to register the birth", svc.Name)
		}
		if message != "" {
			fields = append(fields, FieldError{Field: at, Message: message})
		}
		seen[id] = true
	}
	return fields
}

// checkParentsDiffer checks that no parent is entered twice. The error
// names the later parent's field, because the earlier entry is the one to
// keep.
func checkParentsDiffer(add func(string, string, ...any), parents []Parent) {
	for j := 1; j < len(parents); j++ {
		for i := range j {
			if field, shared := sameParent(parents[i], parents[j]); field != "" {
				add(fmt.Sprintf("/parents/%d/%s", j, field), "Parent %d has the same %s as parent %d. Enter each parent once", j+1, shared, i+1)
				break
			}
		}
	}
}

// sameParent reports whether the normalised parents a and b are the same
// person. They are when b has a valid National Insurance number equal to
// a's, or when both have the same date of birth and the same name as
// SameName compares it, unless each has a different valid National
// Insurance number. It returns the field of b to name in the error and
// what the two share, or "" and "" when they differ.
func sameParent(a, b Parent) (field, shared string) {
	_, validA := NormalizeNINO(a.NationalInsuranceNumber)
	_, validB := NormalizeNINO(b.NationalInsuranceNumber)
	if validB && a.NationalInsuranceNumber == b.NationalInsuranceNumber {
		return "nationalInsuranceNumber", "National Insurance number"
	}
	if validA && validB {
		// Two numbers issued to two people.
		return "", ""
	}
	if b.Name != (Name{}) && !b.DateOfBirth.IsZero() && a.DateOfBirth == b.DateOfBirth && SameName(a.Name, b.Name) {
		return "name", "name and date of birth"
	}
	return "", ""
}

// checkInformant checks that an informant in a parent's capacity (mother,
// father or parent) names, by index, a parent entered in the same role and
// with the same name as SameName compares it, and that an informant in the capacity other names no
// parent.
func checkInformant(add func(string, string, ...any), informant Informant, parents []Parent) {
	validCapacity := contains(InformantCapacities, informant.Capacity)
	switch {
	case !validCapacity:
		add("/informant/capacity", "Select the informant’s capacity: mother, father, parent or other")
	case informant.Capacity == InformantOther:
		if informant.Parent != nil {
			add("/informant/parent", "An informant who is one of the parents needs the capacity mother, father or parent. Choose that capacity, or leave the parent unselected for someone else")
		}
		return
	case informant.Parent == nil:
		add("/informant/parent", "Select which parent is the informant")
		return
	}
	if informant.Parent == nil {
		return
	}

	i := *informant.Parent
	if i < 0 || i >= len(parents) {
		add("/informant/parent", "The informant must be one of the parents entered, or none")
		return
	}
	parent := parents[i]
	if validCapacity && contains(ParentRoles, parent.Role) && parent.Role != informant.Capacity {
		add("/informant/capacity", "The informant’s capacity must match the role of parent %d, who is entered as the %s", i+1, parent.Role)
	}
	if !SameName(parent.Name, informant.Name) {
		add("/informant/name", "The informant’s name must match the name of the parent they are")
	}
}

func checkName(add func(string, string, ...any), at, who string, n Name) {
	if n.Given == "" && n.Family == "" {
		add(at, "Enter the name of %s", who)
		return
	}
	checkNamePart(add, at+"/given", "Given names of "+who, n.Given)
	checkNamePart(add, at+"/family", "Family name of "+who, n.Family)
}

// checkNamePart checks one part of a name. Label starts each message, as
// in "Family name of parent 1". An empty part is valid because a one-part
// name leaves the other part empty.
func checkNamePart(add func(string, string, ...any), at, label, part string) {
	if part == "" {
		return
	}
	if utf8.RuneCountInString(part) > MaxNameLength {
		add(at, "%s must be %d characters or fewer", label, MaxNameLength)
	}
	switch {
	case hasControl(part):
		add(at, "%s must not contain control characters", label)
	case hasInvisible(part):
		add(at, "%s must not contain invisible characters, such as a zero-width space", label)
	case MixesAlphabets(part):
		// A word with a look-alike letter from another alphabet, such as a
		// Cyrillic "О" in "Оlga", does not match the same name typed in
		// Latin letters, so the same birth could be registered twice.
		add(at, "%s must have each word in one alphabet, without a letter of another, such as a Cyrillic or Greek letter among Latin ones", label)
	}
	// U+FFFD is a symbol by its category, so it is checked first.
	if hasUnreadable(part) {
		add(at, "%s must not contain a character that could not be read", label)
	} else if hasSymbol(part) {
		add(at, "%s must not contain symbols such as emoji", label)
	}
	if hasNumber(part) {
		add(at, "%s must not contain numbers", label)
	}
	if !hasLetter(part) {
		add(at, "%s must include at least one letter", label)
	}
}

// hasSymbol reports whether s contains a mathematical, currency or other
// symbol, such as an emoji, "+" or "£". Modifier symbols such as the acute
// accent "´", which some people type for an apostrophe, are allowed.
func hasSymbol(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.In(r, unicode.Sm, unicode.Sc, unicode.So)
	}) >= 0
}

// hasNumber reports whether s contains a number character of any script,
// such as "2", "²" or "Ⅷ" (U+2167). A name on the register is written in
// letters, so a digit is most often a slip of the keyboard, as in "Smith2".
func hasNumber(s string) bool {
	return strings.IndexFunc(s, unicode.IsNumber) >= 0
}

// hasLetter reports whether s contains a Unicode letter, so that a name
// part made only of punctuation, such as "-" or "'", is rejected.
func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

func checkAddress(add func(string, string, ...any), at, who string, a Address) {
	lineCount := 0
	for _, l := range a.Lines {
		if l != "" {
			lineCount++
		}
	}
	switch {
	case lineCount == 0:
		add(at+"/lines", "Enter the first line of the address of %s", who)
	case lineCount > MaxAddressLines:
		add(at+"/lines", "The address of %s must have %d lines or fewer, before the town and postcode", who, MaxAddressLines)
	}
	for i, l := range a.Lines {
		switch {
		case l == "":
		case utf8.RuneCountInString(l) > MaxAddressLineLength:
			add(fmt.Sprintf("%s/lines/%d", at, i), "Address line %d of %s must be %d characters or fewer", i+1, who, MaxAddressLineLength)
		case hasControl(l):
			add(fmt.Sprintf("%s/lines/%d", at, i), "Address line %d of %s must not contain control characters", i+1, who)
		case hasInvisible(l):
			add(fmt.Sprintf("%s/lines/%d", at, i), "Address line %d of %s must not contain invisible characters, such as a zero-width space", i+1, who)
		case hasUnreadable(l):
			add(fmt.Sprintf("%s/lines/%d", at, i), "Address line %d of %s must not contain a character that could not be read", i+1, who)
		}
	}
	switch {
	case utf8.RuneCountInString(a.Town) > MaxTownLength:
		add(at+"/town", "Town or city of %s must be %d characters or fewer", who, MaxTownLength)
	case hasControl(a.Town):
		add(at+"/town", "Town or city of %s must not contain control characters", who)
	case hasInvisible(a.Town):
		add(at+"/town", "Town or city of %s must not contain invisible characters, such as a zero-width space", who)
	case hasUnreadable(a.Town):
		add(at+"/town", "Town or city of %s must not contain a character that could not be read", who)
	}
	if a.Postcode == "" {
		add(at+"/postcode", "Enter the postcode of %s", who)
	} else if _, ok := NormalizePostcode(a.Postcode); !ok {
		add(at+"/postcode", "Enter a real postcode for %s, like LS1 4AP", who)
	}
	if a.UPRN != "" && !ValidUPRN(a.UPRN) {
		add(at+"/uprn", "The UPRN of %s must be a number of up to 12 digits that does not start with 0", who)
	}
}

// hasUnreadable reports whether s contains U+FFFD, which stands for text
// that could not be decoded, such as a lone surrogate escape in JSON. A
// register keeps what was entered, so it refuses a character that was lost.
func hasUnreadable(s string) bool { return strings.ContainsRune(s, utf8.RuneError) }

// hasControl reports whether s is not valid UTF-8 or contains a C0 or C1
// control character, such as a tab or a line feed.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// hasInvisible reports whether s contains a character that shows nothing
// itself. These are the format characters (category Cf), such as the
// zero-width space, the soft hyphen, the byte order mark and bidirectional
// controls such as U+202E. They also include variation selectors and other
// default-ignorable characters, such as the Hangul filler U+3164. Such a
// character makes two names that look the same compare unequal, or makes
// a name display differently from how it is stored.
//
// The zero-width joiner and non-joiner are rejected too, although Persian
// and the Indic scripts use them to choose how letters join. A name in
// those scripts can be entered without them: its letters stay the same
// and only how they join on screen changes. Names on a register kept in
// English or Welsh are rarely in those scripts, and an invisible joiner
// would make two names that look the same differ when stored.
//
// Characters that no font shows as a letter count too: private-use and
// unassigned code points, noncharacters such as U+FFFF, and the line and
// paragraph separators U+2028 and U+2029. unicode.IsGraphic is false for
// each of them, as for format and control characters.
func hasInvisible(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsGraphic(r) && !unicode.IsControl(r) ||
			unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
	}) >= 0
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// FreeTextProblem returns what is wrong with free text that staff type,
// such as the reason for a break glass or a review note, or "" when
// nothing is. Such text may contain tabs and line breaks, but not other
// control characters. It may not contain invisible characters either, such
// as U+202E, which would change how the text displays to whoever reviews
// it, nor U+FFFD, which stands for text that could not be read. label
// names the text at the start of the message.
func FreeTextProblem(label, s string) string {
	switch {
	case !utf8.ValidString(s) || hasUnreadable(s):
		return label + " must not contain a character that could not be read"
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0:
		return label + " must not contain control characters"
	case hasInvisible(s):
		return label + " must not contain invisible characters, such as a zero-width space or a direction mark"
	}
	return ""
}
