package joinedup

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testToday is the date the registrations in these tests are made on.
var testToday = Date{Year: 2026, Month: 12, Day: 4}

// testBirth returns a valid registration with two parents, the mother as
// the informant.
func testBirth(t *testing.T) BirthRegistration {
	t.Helper()
	var r BirthRegistration
	err := json.Unmarshal([]byte(`{
	  "child": {"name": {"given": "Ada", "family": "O’Brien"}, "sex": "female", "dateOfBirth": "2026-11-20", "placeOfBirth": "Leeds"},
	  "parents": [
	    {"role": "mother", "name": {"given": "Siân", "family": "O’Brien"}, "dateOfBirth": "1994-03-02",
	     "address": {"lines": ["1 Test Street"], "postcode": "LS1 4AP"}},
	    {"role": "father", "name": {"given": "Tomás", "family": "Ní Bhriain"}, "dateOfBirth": "1992-07-15",
	     "address": {"lines": ["1 Test Street"], "postcode": "LS1 4AP"}}
	  ],
	  "informant": {"name": {"given": "Siân", "family": "O’Brien"}, "capacity": "mother", "parent": 0},
	  "consent": {"services": ["child-benefit"]}
	}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fieldsOf returns the pointers of the fields that Validate names.
func fieldsOf(err error) []string {
	var out []string
	for _, fe := range ErrorFields(err) {
		out = append(out, fe.Field)
	}
	return out
}

func TestValidateValidBirth(t *testing.T) {
	if err := testBirth(t).Normalize().Validate(testToday); err != nil {
		t.Fatalf("Validate = %v, want nil; fields %v", err, ErrorFields(err))
	}
}

func TestValidateConsentPurpose(t *testing.T) {
	tests := []struct {
		purpose string
		valid   bool
	}{
		{"", true}, // Normalize sets the default.
		{PurposeTellUsOnce, true},
		{"marketing", false},
		{"Tell-Us-Once", false},
	}
	for _, tt := range tests {
		t.Run(tt.purpose, func(t *testing.T) {
			r := testBirth(t)
			r.Consent.Purpose = tt.purpose
			r = r.Normalize()

			fields := fieldsOf(r.Validate(testToday))

			if got := slices.Contains(fields, "/consent/purpose"); got == tt.valid {
				t.Errorf("purpose %q: fields %v, want /consent/purpose named: %v", tt.purpose, fields, !tt.valid)
			}
			if tt.valid && r.Consent.Purpose != PurposeTellUsOnce {
				t.Errorf("purpose %q normalised to %q, want %q", tt.purpose, r.Consent.Purpose, PurposeTellUsOnce)
			}
		})
	}
}

func TestValidateInformantAgainstParents(t *testing.T) {
	index := func(i int) *int { return &i }
	tests := []struct {
		name     string
		capacity string
		parent   *int
		field    string // the pointer Validate must name, or "" for valid
	}{
		{"mother names the mother", "mother", index(0), ""},
		{"father names the father", "father", index(1), ""},
		{"other names no parent", "other", nil, ""},
		{"mother names the father", "mother", index(1), "/informant/capacity"},
		{"parent names the mother", "parent", index(0), "/informant/capacity"},
		{"father names no parent", "father", nil, "/informant/parent"},
		{"other names a parent", "other", index(0), "/informant/parent"},
		{"mother names a third parent", "mother", index(2), "/informant/parent"},
		{"mother names a negative index", "mother", index(-1), "/informant/parent"},
		{"unknown capacity", "aunt", nil, "/informant/capacity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testBirth(t)
			r.Informant.Capacity = tt.capacity
			r.Informant.Parent = tt.parent
			if tt.parent != nil && *tt.parent == 1 {
				r.Informant.Name = r.Parents[1].Name
			}

			fields := fieldsOf(r.Normalize().Validate(testToday))

			if tt.field == "" && len(fields) > 0 {
				t.Errorf("fields %v, want none", fields)
			}
			if tt.field != "" && !slices.Contains(fields, tt.field) {
				t.Errorf("fields %v, want %s named", fields, tt.field)
			}
		})
	}
}

func TestValidateSameParentTwice(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(mother, second *Parent)
		field string // the pointer Validate must name, or "" for valid
	}{
		{"identical entries", func(mother, second *Parent) { *second = *mother }, "/parents/1/name"},
		{"same name and date of birth, other role and address", func(mother, second *Parent) {
			second.Name, second.DateOfBirth = mother.Name, mother.DateOfBirth
		}, "/parents/1/name"},
		{"same name written differently", func(mother, second *Parent) {
			second.Name, second.DateOfBirth = Name{Given: "SIÂN", Family: "O'Brien"}, mother.DateOfBirth
		}, "/parents/1/name"},
		{"same National Insurance number", func(mother, second *Parent) {
			mother.NationalInsuranceNumber, second.NationalInsuranceNumber = "JG103759A", "jg 10 37 59 a"
		}, "/parents/1/nationalInsuranceNumber"},
		{"same name and date of birth, other National Insurance numbers", func(mother, second *Parent) {
			second.Name, second.DateOfBirth = mother.Name, mother.DateOfBirth
			mother.NationalInsuranceNumber, second.NationalInsuranceNumber = "JG103759A", "AB123456C"
		}, ""},
		{"same name and date of birth, one National Insurance number", func(mother, second *Parent) {
			second.Name, second.DateOfBirth = mother.Name, mother.DateOfBirth
			mother.NationalInsuranceNumber = "JG103759A"
		}, "/parents/1/name"},
		{"same name, other date of birth", func(mother, second *Parent) { second.Name = mother.Name }, ""},
		{"same date of birth, other name", func(mother, second *Parent) { second.DateOfBirth = mother.DateOfBirth }, ""},
		{"different National Insurance numbers", func(mother, second *Parent) {
			mother.NationalInsuranceNumber, second.NationalInsuranceNumber = "JG103759A", "AB123456C"
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testBirth(t)
			tt.edit(&r.Parents[0], &r.Parents[1])

			err := r.Normalize().Validate(testToday)

			fields := fieldsOf(err)
			if tt.field == "" && len(fields) > 0 {
				t.Errorf("fields %v, want none", fields)
			}
			if tt.field != "" && !slices.Equal(fields, []string{tt.field}) {
				t.Errorf("fields %v, want only %s", fields, tt.field)
			}
			for _, fe := range ErrorFields(err) {
				if !strings.HasPrefix(fe.Message, "Parent 2 has the same") || !strings.Contains(fe.Message, "parent 1") {
					t.Errorf("message %q, want it to name parent 2 and parent 1", fe.Message)
				}
			}
		})
	}
}

// TestCheckConsentServicesNames checks that each error about a consented
// service names it as the hub lists it, and by its id only when the hub
// has no such service, at the pointer of the entry at fault.
func TestCheckConsentServicesNames(t *testing.T) {
	services := map[ServiceID]*Service{
		"child-benefit": {ID: "child-benefit", Name: "Child Benefit", EventTypes: []string{EventBirthRegistered}},
		"gp-practice":   {ID: "gp-practice", Name: "Riverside Surgery", EventTypes: []string{EventBirthRegistered}},
		"bins":          {ID: "bins", Name: "Bin collections", EventTypes: []string{"address.changed"}},
	}
	tests := []struct {
		name      string
		consented []ServiceID
		capacity  string
		want      []FieldError
	}{
		{"each once", []ServiceID{"child-benefit", "gp-practice"}, "", nil},
		{"known service twice", []ServiceID{"child-benefit", "gp-practice", "child-benefit"}, "",
			[]FieldError{{Field: "/consent/services/2", Message: "Child Benefit is listed twice"}}},
		{"unknown service twice", []ServiceID{"deadend", "deadend"}, "",
			[]FieldError{{Field: "/consent/services/0", Message: `There is no service "deadend"`},
				{Field: "/consent/services/1", Message: `Service "deadend" is listed twice`}}},
		{"service not taking births", []ServiceID{"bins"}, "",
			[]FieldError{{Field: "/consent/services/0", Message: "Bin collections does not take birth registrations"}}},
		{"informant not a parent", []ServiceID{"gp-practice"}, InformantOther,
			[]FieldError{{Field: "/consent/services/0", Message: "Only a parent can agree to tell Riverside Surgery. Unselect it, or ask a parent to register the birth"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testBirth(t)
			r.Consent.Services = tt.consented
			if tt.capacity != "" {
				r.Informant.Capacity = tt.capacity
			}

			got := r.CheckConsentServices(services)

			if !slices.Equal(got, tt.want) {
				t.Errorf("errors = %q\nwant     %q", got, tt.want)
			}
		})
	}
}

func TestExampleNINOValid(t *testing.T) {
	if _, ok := NormalizeNINO(ExampleNINO); !ok {
		t.Errorf("NormalizeNINO rejects the example %q", ExampleNINO)
	}
}

// TestValidateNameNeedsLetter checks that each part of a name needs a
// letter and may not hold symbols such as emoji.
func TestValidateNameNeedsLetter(t *testing.T) {
	tests := []struct {
		name  Name
		field string // the pointer Validate must name, or "" for valid
	}{
		{Name{Given: "-", Family: "'"}, "/child/name/given"},
		{Name{Given: "-", Family: "'"}, "/child/name/family"},
		{Name{Given: "Ada", Family: "’"}, "/child/name/family"},
		{Name{Given: "- -", Family: "Byrne"}, "/child/name/given"},
		{Name{Family: "--"}, "/child/name/family"},
		{Name{Given: "Siobhán", Family: "O’Neill-Byrne"}, ""},
		{Name{Given: "D'Arcy", Family: "N'Diaye"}, ""},
		{Name{Given: "Mary Ann", Family: "de la Cruz"}, ""},
		{Name{Family: "Aroha"}, ""},
		{Name{Given: "Zoe\u0308"}, ""},
		{Name{Given: "美咲", Family: "佐藤"}, ""},
		{Name{Given: "Ada😀", Family: "Byrne"}, "/child/name/given"},
		{Name{Given: "Ada", Family: "Byrne+"}, "/child/name/family"},
		{Name{Given: "Ada", Family: "£Byrne"}, "/child/name/family"},
		{Name{Given: "Ada", Family: "O´Brien"}, ""},
		{Name{Given: "Ada\uFFFD", Family: "Byrne"}, "/child/name/given"},
	}
	for _, tt := range tests {
		t.Run(tt.name.Given+" "+tt.name.Family, func(t *testing.T) {
			r := testBirth(t)
			r.Child.Name = tt.name

			fields := fieldsOf(r.Normalize().Validate(testToday))

			if tt.field == "" && len(fields) > 0 {
				t.Errorf("fields %v, want none", fields)
			}
			if tt.field != "" && !slices.Contains(fields, tt.field) {
				t.Errorf("fields %v, want %s named", fields, tt.field)
			}
		})
	}
}

// TestValidateLengthLimits checks each text field at its limit and one
// character over it. The letter 𠀀 (U+20000) takes 4 bytes in UTF-8, so
// the limits are shown to count characters rather than bytes.
func TestValidateLengthLimits(t *testing.T) {
	letters := func(n int) string { return strings.Repeat("𠀀", n) }
	lines := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("Line %d", i+1)
		}
		return out
	}
	tests := []struct {
		name    string
		change  func(r *BirthRegistration, n int)
		limit   int
		field   string
		message string
	}{
		{"child given names", func(r *BirthRegistration, n int) { r.Child.Name.Given = letters(n) }, MaxNameLength,
			"/child/name/given", "Given names of the child must be 200 characters or fewer"},
		{"parent family name", func(r *BirthRegistration, n int) { r.Parents[1].Name.Family = letters(n) }, MaxNameLength,
			"/parents/1/name/family", "Family name of parent 2 must be 200 characters or fewer"},
		{"informant given names", func(r *BirthRegistration, n int) {
			r.Informant = Informant{Name: Name{Given: letters(n), Family: "Byrne"}, Capacity: InformantOther}
		}, MaxNameLength, "/informant/name/given", "Given names of the informant must be 200 characters or fewer"},
		{"place of birth", func(r *BirthRegistration, n int) { r.Child.PlaceOfBirth = letters(n) }, MaxPlaceLength,
			"/child/placeOfBirth", "Place of birth must be 300 characters or fewer"},
		{"address line", func(r *BirthRegistration, n int) { r.Parents[0].Address.Lines = []string{"Flat 1", letters(n)} }, MaxAddressLineLength,
			"/parents/0/address/lines/1", "Address line 2 of parent 1 must be 200 characters or fewer"},
		{"address lines", func(r *BirthRegistration, n int) { r.Parents[1].Address.Lines = lines(n) }, MaxAddressLines,
			"/parents/1/address/lines", "The address of parent 2 must have 6 lines or fewer, before the town and postcode"},
		{"town", func(r *BirthRegistration, n int) { r.Parents[0].Address.Town = letters(n) }, MaxTownLength,
			"/parents/0/address/town", "Town or city of parent 1 must be 100 characters or fewer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			atLimit := testBirth(t)
			tt.change(&atLimit, tt.limit)
			if err := atLimit.Normalize().Validate(testToday); err != nil {
				t.Errorf("at the limit of %d: fields %v, want none", tt.limit, ErrorFields(err))
			}

			over := testBirth(t)
			tt.change(&over, tt.limit+1)
			got := ErrorFields(over.Normalize().Validate(testToday))
			want := []FieldError{{Field: tt.field, Message: tt.message}}
			if !slices.Equal(got, want) {
				t.Errorf("over the limit: fields %v, want %v", got, want)
			}
		})
	}
}

// TestCheckCountsNormalisedText checks that each limit counts the text as
// Normalize returns it: text at its limit once trimmed and in NFC is
// valid however long it was as typed, and text one character over is not.
func TestCheckCountsNormalisedText(t *testing.T) {
	typings := []struct {
		name string
		text func(n int) string // n characters once normalised
	}{
		{"spaces around", func(n int) string { return " \t" + strings.Repeat("é", n) + "\u00a0 " }},
		{"decomposed accents", func(n int) string { return strings.Repeat("e\u0301", n) }},
		// Each syllable 한 typed as its three conjoining jamo.
		{"Hangul jamo", func(n int) string { return strings.Repeat("\u1112\u1161\u11ab", n) }},
	}
	fields := []struct {
		name  string
		set   func(r *BirthRegistration, s string)
		limit int
		field string
	}{
		{"given names", func(r *BirthRegistration, s string) { r.Child.Name.Given = s }, MaxNameLength, "/child/name/given"},
		{"family name", func(r *BirthRegistration, s string) { r.Parents[1].Name.Family = s }, MaxNameLength, "/parents/1/name/family"},
		{"place of birth", func(r *BirthRegistration, s string) { r.Child.PlaceOfBirth = s }, MaxPlaceLength, "/child/placeOfBirth"},
		{"address line", func(r *BirthRegistration, s string) { r.Parents[0].Address.Lines = []string{"", "Flat 1", s} },
			MaxAddressLineLength, "/parents/0/address/lines/2"},
		{"town", func(r *BirthRegistration, s string) { r.Parents[0].Address.Town = s }, MaxTownLength, "/parents/0/address/town"},
	}
	for _, typing := range typings {
		for _, f := range fields {
			t.Run(typing.name+"/"+f.name, func(t *testing.T) {
				atLimit := testBirth(t)
				f.set(&atLimit, typing.text(f.limit))
				if _, err := atLimit.Check(testToday); err != nil {
					t.Errorf("at the limit of %d: fields %v, want none", f.limit, ErrorFields(err))
				}

				over := testBirth(t)
				f.set(&over, typing.text(f.limit+1))
				_, err := over.Check(testToday)
				if got, want := fieldsOf(err), []string{f.field}; !slices.Equal(got, want) {
					t.Errorf("over the limit: fields %v, want %v", got, want)
				}
			})
		}
	}
}

// TestCheckNamesAddressLinesAsSent checks that Check drops blank address
// lines before it counts them, but names an invalid line by its index
// among the lines sent.
func TestCheckNamesAddressLinesAsSent(t *testing.T) {
	r := testBirth(t)
	r.Parents[0].Address.Lines = []string{" ", "Flat 1", "", "Mill\tHouse", "2 Canal Wharf", "Holbeck", "Aire Valley", "Leeds Dock"}

	got, err := r.Check(testToday)

	want := []FieldError{{Field: "/parents/0/address/lines/3", Message: "Address line 4 of parent 1 must not contain control characters"}}
	if fields := ErrorFields(err); !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	wantLines := []string{"Flat 1", "Mill\tHouse", "2 Canal Wharf", "Holbeck", "Aire Valley", "Leeds Dock"}
	if lines := got.Parents[0].Address.Lines; !slices.Equal(lines, wantLines) {
		t.Errorf("normalised lines %q, want %q", lines, wantLines)
	}
	if lines := r.Normalize().Parents[0].Address.Lines; !slices.Equal(lines, wantLines) {
		t.Errorf("Normalize lines %q, want %q", lines, wantLines)
	}
}

// TestNormalizeFreeTextInNFC checks that the place of birth and the
// address are stored in NFC without white space around them, as names
// are.
func TestNormalizeFreeTextInNFC(t *testing.T) {
	r := testBirth(t)
	r.Child.PlaceOfBirth = " Ho\u0302pital Saint-Jose\u0301  "
	r.Parents[0].Address.Lines = []string{"\t1 Rue de l\u2019E\u0301glise", "  "}
	r.Parents[0].Address.Town = "Sa\u0303o Paulo\u00a0"

	got := r.Normalize()

	if want := "Hôpital Saint-José"; got.Child.PlaceOfBirth != want {
		t.Errorf("place of birth %q, want %q", got.Child.PlaceOfBirth, want)
	}
	if want := []string{"1 Rue de l’Église"}; !slices.Equal(got.Parents[0].Address.Lines, want) {
		t.Errorf("address lines %q, want %q", got.Parents[0].Address.Lines, want)
	}
	if want := "São Paulo"; got.Parents[0].Address.Town != want {
		t.Errorf("town %q, want %q", got.Parents[0].Address.Town, want)
	}
}

// TestValidateControlCharacters checks that the place of birth and the
// free-text fields of an address reject control characters and
// bidirectional formatting characters with messages apart from the length
// limit's.
func TestValidateControlCharacters(t *testing.T) {
	r := testBirth(t)
	r.Child.PlaceOfBirth = "Leeds\nGeneral Infirmary"
	r.Parents[0].Address.Lines = []string{"1 Test\tStreet"}
	r.Parents[0].Address.Town = "Leeds\u202e"

	got := ErrorFields(r.Normalize().Validate(testToday))

	want := []FieldError{
		{Field: "/child/placeOfBirth", Message: "Place of birth must not contain control characters"},
		{Field: "/parents/0/address/lines/0", Message: "Address line 1 of parent 1 must not contain control characters"},
		{Field: "/parents/0/address/town", Message: "Town or city of parent 1 must not contain invisible characters, such as a zero-width space"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}

// TestValidateInvisibleCharacters checks that every name part and
// free-text field rejects characters that display as nothing, each with
// one error that names the field.
func TestValidateInvisibleCharacters(t *testing.T) {
	invisible := []struct{ name, char string }{
		{"zero-width space", "\u200b"},
		{"zero-width non-joiner", "\u200c"},
		{"zero-width joiner", "\u200d"},
		{"word joiner", "\u2060"},
		{"byte order mark", "\ufeff"},
		{"soft hyphen", "\u00ad"},
		{"right-to-left override", "\u202e"},
		{"left-to-right mark", "\u200e"},
		{"variation selector", "\ufe0f"},
		{"Hangul filler", "\u3164"},
		{"tag letter", "\U000e0041"},
		{"private use", "\ue000"},
		{"unassigned", "\u0378"},
		{"noncharacter", "\uffff"},
		{"line separator", "\u2028"},
		{"paragraph separator", "\u2029"},
	}
	fields := []struct {
		change  func(r *BirthRegistration, c string)
		field   string
		message string
	}{
		{func(r *BirthRegistration, c string) { r.Child.Name.Given = "Ad" + c + "a" }, "/child/name/given",
			"Given names of the child must not contain invisible characters, such as a zero-width space"},
		{func(r *BirthRegistration, c string) { r.Child.Name.Family = "Smi" + c + "th" }, "/child/name/family",
			"Family name of the child must not contain invisible characters, such as a zero-width space"},
		{func(r *BirthRegistration, c string) { r.Parents[1].Name.Family = "Bri" + c + "ain" }, "/parents/1/name/family",
			"Family name of parent 2 must not contain invisible characters, such as a zero-width space"},
		{func(r *BirthRegistration, c string) {
			r.Informant = Informant{Name: Name{Given: "Ma" + c + "ry", Family: "Byrne"}, Capacity: InformantOther}
		}, "/informant/name/given", "Given names of the informant must not contain invisible characters, such as a zero-width space"},
		{func(r *BirthRegistration, c string) { r.Child.PlaceOfBirth = "Le" + c + "eds" }, "/child/placeOfBirth",
			"Place of birth must not contain invisible characters, such as a zero-width space"},
		{func(r *BirthRegistration, c string) { r.Parents[0].Address.Lines = []string{"1 Test" + c + " Street"} }, "/parents/0/address/lines/0",
			"Address line 1 of parent 1 must not contain invisible characters, such as a zero-width space"},
		{func(r *BirthRegistration, c string) { r.Parents[0].Address.Town = "Lee" + c + "ds" }, "/parents/0/address/town",
			"Town or city of parent 1 must not contain invisible characters, such as a zero-width space"},
	}
	for _, c := range invisible {
		for _, f := range fields {
			t.Run(c.name+" "+f.field, func(t *testing.T) {
				r := testBirth(t)
				f.change(&r, c.char)

				got := ErrorFields(r.Normalize().Validate(testToday))

				want := []FieldError{{Field: f.field, Message: f.message}}
				if !slices.Equal(got, want) {
					t.Errorf("fields %v, want %v", got, want)
				}
			})
		}
	}
}

// TestValidateNameNumbers checks that a name part with a number character
// of any script is rejected, and that Roman numerals written in letters
// are not mistaken for one.
func TestValidateNameNumbers(t *testing.T) {
	tests := []struct {
		name  Name
		field string // the pointer Validate must name, or "" for valid
	}{
		{Name{Given: "Ada", Family: "Smith2"}, "/child/name/family"},
		{Name{Given: "4da", Family: "Smith"}, "/child/name/given"},
		{Name{Given: "Ada", Family: "Smith²"}, "/child/name/family"},
		{Name{Given: "Henry Ⅷ", Family: "Tudor"}, "/child/name/given"},
		{Name{Given: "Ada", Family: "Smith٣"}, "/child/name/family"},
		{Name{Given: "Henry VIII", Family: "Tudor"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name.Given+" "+tt.name.Family, func(t *testing.T) {
			r := testBirth(t)
			r.Child.Name = tt.name

			got := ErrorFields(r.Normalize().Validate(testToday))

			if tt.field == "" && len(got) > 0 {
				t.Errorf("fields %v, want none", got)
			}
			if tt.field == "" {
				return
			}
			part := "Given names"
			if strings.HasSuffix(tt.field, "/family") {
				part = "Family name"
			}
			want := []FieldError{{Field: tt.field, Message: part + " of the child must not contain numbers"}}
			if !slices.Equal(got, want) {
				t.Errorf("fields %v, want %v", got, want)
			}
		})
	}
}

// TestValidateNameMixedAlphabets checks that a name word with a letter of
// another alphabet among Latin ones is rejected, and that names wholly in
// one alphabet, or with words in different alphabets, are accepted.
func TestValidateNameMixedAlphabets(t *testing.T) {
	tests := []struct {
		name  Name
		field string // the pointer Validate must name, or "" for valid
	}{
		{Name{Given: "\u041eleg", Family: "Smith"}, "/child/name/given"},      // Cyrillic О
		{Name{Given: "Ada", Family: "Sm\u0456th"}, "/child/name/family"},      // Cyrillic і
		{Name{Given: "Ada", Family: "\u039fwen-Jones"}, "/child/name/family"}, // Greek Ο
		{Name{Given: "\u041e\u043b\u0435\u0433", Family: "Smith"}, ""},        // Олег, all Cyrillic
		{Name{Given: "Siân", Family: "O’Neill"}, ""},
		{Name{Given: "Ada \u041e\u043b\u044f", Family: "Smith"}, ""},    // a Latin and a Cyrillic word
		{Name{Given: "\u82b1\u5b50", Family: "\u3084\u307e\u3060"}, ""}, // kanji and kana
	}
	for _, tt := range tests {
		t.Run(tt.name.Given+" "+tt.name.Family, func(t *testing.T) {
			r := testBirth(t)
			r.Child.Name = tt.name

			got := ErrorFields(r.Normalize().Validate(testToday))

			if tt.field == "" {
				if len(got) > 0 {
					t.Errorf("fields %v, want none", got)
				}
				return
			}
			part := "Given names"
			if strings.HasSuffix(tt.field, "/family") {
				part = "Family name"
			}
			want := []FieldError{{Field: tt.field, Message: part + " of the child must have each word in one alphabet, without a letter of another, such as a Cyrillic or Greek letter among Latin ones"}}
			if !slices.Equal(got, want) {
				t.Errorf("fields %v, want %v", got, want)
			}
		})
	}
}

// TestValidateImplausibleDates checks that a date before the floor gives
// one error on its own field, and none on the dates compared with it.
func TestValidateImplausibleDates(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *BirthRegistration)
		want   []FieldError
	}{
		{"child born in year 0", func(r *BirthRegistration) { r.Child.DateOfBirth = Date{Year: 0, Month: 1, Day: 1} },
			[]FieldError{{Field: "/child/dateOfBirth", Message: "A birth must be registered within a year of the date of birth"}}},
		{"child born in the future", func(r *BirthRegistration) { r.Child.DateOfBirth = testToday.AddDate(0, 0, 1) },
			[]FieldError{{Field: "/child/dateOfBirth", Message: "The child’s date of birth must be today or in the past"}}},
		{"parent born in year 0", func(r *BirthRegistration) { r.Parents[1].DateOfBirth = Date{Year: 0, Month: 1, Day: 1} },
			[]FieldError{{Field: "/parents/1/dateOfBirth", Message: "The date of birth of parent 2 must be on or after 1 January 1900"}}},
		{"parent born the day before the floor", func(r *BirthRegistration) { r.Parents[0].DateOfBirth = Date{Year: 1899, Month: 12, Day: 31} },
			[]FieldError{{Field: "/parents/0/dateOfBirth", Message: "The date of birth of parent 1 must be on or after 1 January 1900"}}},
		{"parent born on the floor", func(r *BirthRegistration) { r.Parents[0].DateOfBirth = EarliestParentBirth }, nil},
		{"parent born after the child", func(r *BirthRegistration) { r.Parents[0].DateOfBirth = Date{Year: 2026, Month: 11, Day: 21} },
			[]FieldError{{Field: "/parents/0/dateOfBirth", Message: "The date of birth of parent 1 must be before the child’s"}}},
		{"parent aged nine", func(r *BirthRegistration) { r.Parents[0].DateOfBirth = Date{Year: 2017, Month: 1, Day: 1} },
			[]FieldError{{Field: "/parents/0/dateOfBirth", Message: "Parent 1 must have been at least 10 years old when the child was born"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testBirth(t)
			tt.change(&r)

			got := ErrorFields(r.Normalize().Validate(testToday))

			if !slices.Equal(got, tt.want) {
				t.Errorf("fields %v, want %v", got, tt.want)
			}
		})
	}
}

// TestParseDateYearZero checks that a date in the year 0000 parses, so
// that Validate, not the JSON decoder, reports it against its field.
func TestParseDateYearZero(t *testing.T) {
	d, err := ParseDate("0000-01-01")
	if err != nil {
		t.Fatalf("ParseDate: %v", err)
	}
	if d.IsZero() {
		t.Error("0000-01-01 parsed as the zero Date, which Validate reports as a missing date")
	}
}

// TestValidateTextUnreadable checks that the place of birth, an address
// line and a town holding U+FFFD are refused as names are, because the
// character stands for one that was lost.
func TestValidateTextUnreadable(t *testing.T) {
	r := testBirth(t)
	r.Child.PlaceOfBirth = "Leeds \uFFFD Infirmary"
	r.Parents[0].Address.Lines = []string{"1 Mill \uFFFD Lane"}
	r.Parents[0].Address.Town = "Ot\uFFFDey"

	err := r.Normalize().Validate(testToday)

	want := []FieldError{
		{Field: "/child/placeOfBirth", Message: "Place of birth must not contain a character that could not be read"},
		{Field: "/parents/0/address/lines/0", Message: "Address line 1 of parent 1 must not contain a character that could not be read"},
		{Field: "/parents/0/address/town", Message: "Town or city of parent 1 must not contain a character that could not be read"},
	}
	if got := ErrorFields(err); !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

// TestValidateNameUnreadable checks that a name holding U+FFFD, which
// stands for text that could not be decoded, gets a message saying so
// rather than one about symbols.
func TestValidateNameUnreadable(t *testing.T) {
	r := testBirth(t)
	r.Child.Name = Name{Given: "Ada\uFFFD", Family: "Byrne"}

	err := r.Normalize().Validate(testToday)

	want := FieldError{Field: "/child/name/given", Message: "Given names of the child must not contain a character that could not be read"}
	if got := ErrorFields(err); !slices.Equal(got, []FieldError{want}) {
		t.Errorf("fields = %v, want %v", got, []FieldError{want})
	}
}

func TestFreeTextProblem(t *testing.T) {
	for _, tt := range []struct {
		text string
		want string // a part of the message; "" for no problem
	}{
		{"Welfare check.", ""},
		{"Welfare check.\r\nSecond line.\tIndented.", ""},
		{"Siobhán O’Neill’s welfare", ""},
		{"Welfare\x07", "control characters"},
		{"Welfare\u0085", "control characters"},
		{"Welfare\u202echeck", "invisible characters"},
		{"Welfare\u200bcheck", "invisible characters"},
		{"Welfare\ufffd", "could not be read"},
		{"Welfare\xff", "could not be read"},
	} {
		got := FreeTextProblem("The note", tt.text)
		if tt.want == "" && got != "" || tt.want != "" && (!strings.HasPrefix(got, "The note must not") || !strings.Contains(got, tt.want)) {
			t.Errorf("FreeTextProblem(%q) = %q, want a message with %q", tt.text, got, tt.want)
		}
	}
}
