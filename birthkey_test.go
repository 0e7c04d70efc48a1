package joinedup

import (
	"strings"
	"testing"
)

func TestFoldName(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"O’Neill-Ray", "o'neill-ray"},
		{"O'Neill-Ray", "o'neill-ray"},
		{"O‘Neill-Ray", "o'neill-ray"},
		{"Oʼneill-Ray", "o'neill-ray"},
		{"O´Neill-Ray", "o'neill-ray"},
		{"O`Neill-Ray", "o'neill-ray"},
		{"O＇Neill-Ray", "o'neill-ray"},
		{"O’Neill‐Ray", "o'neill-ray"}, // U+2010 hyphen
		{"O’Neill‑Ray", "o'neill-ray"}, // U+2011 non-breaking hyphen
		{"O’Neill–Ray", "o'neill-ray"}, // en dash
		{"O’Neill—Ray", "o'neill-ray"}, // em dash
		{"O’Neill－Ray", "o'neill-ray"}, // fullwidth hyphen-minus
		{"O’ Neill - Ray", "o'neill-ray"},
		{"O’NEILL-RAY", "o'neill-ray"},
		{"Mary  Ann", "mary ann"},
		{"Mary\u00a0Ann", "mary ann"},
		{"Mary\tAnn", "mary ann"},
		{"Ｍａｒｙ", "mary"},
		{"Zoe\u0308", "zoë"},
		{"ZOË", "zoë"},
		{"Strauß", "strauss"},
		{"STRAUSS", "strauss"},
		{"St. John", "st. john"},
		{"Ann Mary", "ann mary"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FoldName(tt.name); got != tt.want {
			t.Errorf("FoldName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// swapParents returns r with its two parents in the other order and the
// informant's index changed to match.
func swapParents(r BirthRegistration) BirthRegistration {
	r.Parents = []Parent{r.Parents[1], r.Parents[0]}
	if r.Informant.Parent != nil {
		other := 1 - *r.Informant.Parent
		r.Informant.Parent = &other
	}
	return r
}

// TestDedupeKeySameBirth checks that a birth written another way, as a
// second registrar or a second submission might write it, has the key of
// the first.
func TestDedupeKeySameBirth(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *BirthRegistration)
	}{
		{"straight apostrophe", func(r *BirthRegistration) { r.Child.Name.Family = "O'Brien-Byrne" }},
		{"modifier letter apostrophe", func(r *BirthRegistration) {
			r.Parents[0].Name.Family = "Oʼbrien"
			r.Informant.Name.Family = "Oʼbrien"
		}},
		{"informant's apostrophe", func(r *BirthRegistration) { r.Informant.Name.Family = "O'Brien" }},
		{"parents reversed", func(r *BirthRegistration) { *r = swapParents(*r) }},
		{"upper case", func(r *BirthRegistration) { r.Parents[1].Name.Given = "TOMÁS" }},
		{"decomposed accent", func(r *BirthRegistration) { r.Parents[0].Name.Given = "Sia\u0302n" }},
		{"en dash for hyphen", func(r *BirthRegistration) { r.Child.Name.Family = "O’Brien–Byrne" }},
		{"spaces round hyphen", func(r *BirthRegistration) { r.Child.Name.Family = "O’Brien - Byrne" }},
		{"doubled space", func(r *BirthRegistration) { r.Parents[1].Name.Family = "Ní  Bhriain" }},
		{"other address", func(r *BirthRegistration) { r.Parents[0].Address.Lines = []string{"Flat 1, 1 Test Street"} }},
		{"other place of birth", func(r *BirthRegistration) { r.Child.PlaceOfBirth = "Leeds General Infirmary" }},
		{"other role", func(r *BirthRegistration) { r.Parents[1].Role = "parent" }},
		{"informant not a parent", func(r *BirthRegistration) {
			r.Informant = Informant{Name: Name{Given: "Mary", Family: "Byrne"}, Capacity: InformantOther}
		}},
	}
	hyphenated := func(t *testing.T) BirthRegistration {
		r := testBirth(t)
		r.Child.Name.Family = "O’Brien-Byrne"
		return r
	}
	want := hyphenated(t).Normalize().DedupeKey()
	if !strings.HasPrefix(want, BirthKeyPrefix) {
		t.Fatalf("key %q, want the prefix %q", want, BirthKeyPrefix)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hyphenated(t)
			tt.change(&r)
			r = r.Normalize()
			if err := r.Validate(testToday); err != nil {
				t.Fatalf("the changed registration is invalid: %v", ErrorFields(err))
			}

			if got := r.DedupeKey(); got != want {
				t.Errorf("key %s, want the first registration's %s", got, want)
			}
		})
	}
}

// TestDedupeKeyOtherBirth checks that a change that names another child
// or other parents changes the key.
func TestDedupeKeyOtherBirth(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *BirthRegistration)
	}{
		{"twin", func(r *BirthRegistration) { r.Child.Name.Given = "Róisín" }},
		{"other sex", func(r *BirthRegistration) { r.Child.Sex = "male" }},
		{"other date of birth", func(r *BirthRegistration) { r.Child.DateOfBirth = Date{Year: 2026, Month: 11, Day: 21} }},
		{"other parent", func(r *BirthRegistration) { r.Parents[1].Name.Given = "Tomasz" }},
		{"parent's other date of birth", func(r *BirthRegistration) { r.Parents[0].DateOfBirth = Date{Year: 1994, Month: 3, Day: 3} }},
		{"one parent left out", func(r *BirthRegistration) { r.Parents = r.Parents[:1] }},
		{"given and family swapped", func(r *BirthRegistration) {
			r.Child.Name = Name{Given: r.Child.Name.Family, Family: r.Child.Name.Given}
		}},
		{"parents' names swapped", func(r *BirthRegistration) {
			r.Parents[0].Name, r.Parents[1].Name = r.Parents[1].Name, r.Parents[0].Name
		}},
	}
	want := testBirth(t).Normalize().DedupeKey()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testBirth(t)
			tt.change(&r)

			if got := r.Normalize().DedupeKey(); got == want {
				t.Errorf("key %s, want one other than the first registration's", got)
			}
		})
	}
}

// TestDedupeKeyStable pins the key of one registration, because keys are
// stored: a change to the key needs a new BirthKeyPrefix, and the hub
// recomputes the stored keys that have an older prefix.
func TestDedupeKeyStable(t *testing.T) {
	const want = "birth2:f2c26c6b4f6a36d644dd216aad18645e78d2de67df8655b1abfde4fbd3ac0043"

	got := testBirth(t).Normalize().DedupeKey()

	if got != want {
		t.Errorf("key %s, want %s", got, want)
	}
}
