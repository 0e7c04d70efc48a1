package linkage

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/joinedup/joinedup"
)

// population returns synthetic records of unrelated people, so that the
// term frequencies and the blocks of an index look like a real one.
func population(n int) []Record {
	given := []string{"Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo", "Lily", "Arthur", "Freya", "Muhammad", "Grace"}
	family := []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall"}
	towns := []string{"Leeds", "Bradford", "Wakefield", "Halifax", "Huddersfield"}
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{
			ID:           fmt.Sprintf("pop-%d", i),
			GivenName:    given[i%len(given)],
			FamilyName:   family[(i/len(given))%len(family)],
			DateOfBirth:  fmt.Sprintf("%04d-%02d-%02d", 1940+i%60, 1+i%12, 1+i%28),
			AddressLines: []string{fmt.Sprintf("%d Station Road", 1+i%200)},
			Town:         towns[i%len(towns)],
			Postcode:     fmt.Sprintf("LS%d %dAB", 1+i%29, i%10),
		}
	}
	return out
}

func newTestIndex(t *testing.T, records ...Record) *Index {
	t.Helper()
	ix := NewIndex(nil)
	for _, r := range append(population(400), records...) {
		if err := ix.Add(r); err != nil {
			t.Fatalf("Add(%s): %v", r.ID, err)
		}
	}
	return ix
}

func TestMatchDecisions(t *testing.T) {
	held := Record{
		ID: "held-1", GivenName: "Siobhán", FamilyName: "O’Neill-Byrne", DateOfBirth: "1984-03-27", Sex: "female",
		AddressLines: []string{"14 Kirkgate"}, Town: "Otley", Postcode: "LS21 3HJ",
	}
	tests := []struct {
		name  string
		query Record
		want  []Decision // any of these
	}{
		{"same record", held, []Decision{Match}},
		{"accents and apostrophes", Record{GivenName: "Siobhan", FamilyName: "O'Neill Byrne", DateOfBirth: "1984-03-27", AddressLines: []string{"14 Kirkgate"}, Postcode: "LS21 3HJ"}, []Decision{Match}},
		{"names swapped", Record{GivenName: "O'Neill-Byrne", FamilyName: "Siobhan", DateOfBirth: "1984-03-27", Postcode: "LS21 3HJ", AddressLines: []string{"14 Kirkgate"}}, []Decision{Match}},
		{"day and month transposed", Record{GivenName: "Siobhan", FamilyName: "O'Neill-Byrne", DateOfBirth: "1984-27-03", Postcode: "LS21 3HJ", AddressLines: []string{"14 Kirkgate"}}, []Decision{Match}},
		{"surname missing a letter", Record{GivenName: "Siobhán", FamilyName: "O’Neil-Byrne", DateOfBirth: "1984-03-27"}, []Decision{Possible, Match}},
		{"other person", Record{GivenName: "Priya", FamilyName: "Chandra", DateOfBirth: "1991-11-02", Postcode: "BD1 1AA"}, []Decision{None}},
	}
	ix := newTestIndex(t, held)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Match(tt.query)
			if !slices.Contains(tt.want, got.Decision) {
				t.Errorf("Match() decision = %s (weight %.1f, %v), want one of %v", got.Decision, got.Weight, got.Fields, tt.want)
			}
			if tt.want[0] != None && got.CandidateID != "held-1" {
				t.Errorf("Match() candidate = %q, want held-1", got.CandidateID)
			}
		})
	}
}

func TestMatchNameNormalisation(t *testing.T) {
	tests := []struct {
		name        string
		a, b        Record
		givenLevel  string
		familyLevel string
	}{
		{"accents apostrophes hyphens",
			Record{GivenName: "Siobhán", FamilyName: "O’Neill-Byrne"},
			Record{GivenName: "Siobhan", FamilyName: "O'Neill-Byrne"}, "exact", "exact"},
		{"hyphen and space",
			Record{GivenName: "Anne-Marie", FamilyName: "Lloyd Webber"},
			Record{GivenName: "Anne Marie", FamilyName: "Lloyd-Webber"}, "exact", "exact"},
		{"mc and mac",
			Record{GivenName: "Calum", FamilyName: "McDonald"},
			Record{GivenName: "Calum", FamilyName: "Mac Donald"}, "exact", "exact"},
		{"o prefix",
			Record{GivenName: "Aoife", FamilyName: "O Brien"},
			Record{GivenName: "AOIFE", FamilyName: "O'BRIEN"}, "exact", "exact"},
		{"nickname",
			Record{GivenName: "William", FamilyName: "Hughes"},
			Record{GivenName: "Bill", FamilyName: "Hughes"}, "nickname", "exact"},
		{"initial",
			Record{GivenName: "J.", FamilyName: "Hughes"},
			Record{GivenName: "Joanna", FamilyName: "Hughes"}, "initial", "exact"},
		{"one letter missing",
			Record{GivenName: "Joanna", FamilyName: "Hughes"},
			Record{GivenName: "Joanna", FamilyName: "Hughs"}, "exact", "one_edit"},
		{"second given name",
			Record{GivenName: "Mary Jane", FamilyName: "Hughes"},
			Record{GivenName: "Mary", FamilyName: "Hughes"}, "part", "exact"},
		{"soundex",
			Record{GivenName: "Stephen", FamilyName: "Rodgers"},
			Record{GivenName: "Stefan", FamilyName: "Rogers"}, "soundex", "one_edit"},
	}
	c, err := DefaultModel().compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := prepare(tt.a), prepare(tt.b)
			r := c.compare(&a, &b, nil)
			if got := fieldLevels[fGiven][r.levels[fGiven]]; got != tt.givenLevel {
				t.Errorf("given name level = %s, want %s", got, tt.givenLevel)
			}
			if got := fieldLevels[fFamily][r.levels[fFamily]]; got != tt.familyLevel {
				t.Errorf("family name level = %s, want %s", got, tt.familyLevel)
			}
		})
	}
}

func TestMatchTwinsNeverAutomatic(t *testing.T) {
	twin := Record{
		ID: "twin-1", GivenName: "Amelia", FamilyName: "Okonkwo", DateOfBirth: "2019-06-14", Sex: "female",
		AddressLines: []string{"3 Mill Lane"}, Town: "Leeds", Postcode: "LS6 2QT",
	}
	ix := newTestIndex(t, twin)
	other := twin
	other.ID, other.GivenName, other.Sex = "", "Olivia", ""
	got := ix.Match(other)
	if got.Decision == Match {
		t.Errorf("Match(twin) decision = match with weight %.1f, want possible or none", got.Weight)
	}
	if got.CandidateID != "twin-1" {
		t.Errorf("Match(twin) candidate = %q, want twin-1", got.CandidateID)
	}
}

func TestMatchOnePartName(t *testing.T) {
	held := Record{ID: "one-1", FamilyName: "Sukarno", DateOfBirth: "1970-01-09"}
	ix := newTestIndex(t, held)
	tests := []struct {
		name  string
		query Record
		want  Decision
	}{
		{"same box", Record{FamilyName: "Sukarno", DateOfBirth: "1970-01-09"}, Match},
		{"other box", Record{GivenName: "Sukarno", DateOfBirth: "1970-01-09"}, Match},
		{"other date", Record{FamilyName: "Sukarno", DateOfBirth: "1981-05-23"}, None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Match(tt.query)
			if got.Decision != tt.want {
				t.Errorf("Match() decision = %s (weight %.1f, %v), want %s", got.Decision, got.Weight, got.Fields, tt.want)
			}
		})
	}
}

func TestMatchStrongIdentifier(t *testing.T) {
	held := Record{ID: "nhs-1", GivenName: "Tomasz", FamilyName: "Nowak", DateOfBirth: "1962-08-30", NHSNumber: "943 476 5919", NINO: "AB123456C"}
	ix := newTestIndex(t, held)
	tests := []struct {
		name  string
		query Record
		want  Decision
	}{
		{"nhs number with new surname", Record{GivenName: "Tomasz", FamilyName: "Kowalski", NHSNumber: "9434765919"}, Match},
		{"nino with typo in name", Record{GivenName: "Tomas", FamilyName: "Nowack", DateOfBirth: "1962-08-30", NINO: "ab 12 34 56 c"}, Match},
		{"nhs number and nothing else agrees", Record{GivenName: "Beatrix", FamilyName: "Kowalski", DateOfBirth: "2001-02-03", NHSNumber: "9434765919"}, Possible},
		{"different nhs number", Record{GivenName: "Tomasz", FamilyName: "Nowak", DateOfBirth: "1962-08-30", NHSNumber: "4010232137"}, Possible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Match(tt.query)
			if got.Decision != tt.want {
				t.Errorf("Match() decision = %s (weight %.1f, %v), want %s", got.Decision, got.Weight, got.Fields, tt.want)
			}
		})
	}
}

func TestAddRejects(t *testing.T) {
	ix := NewIndex(nil)
	if err := ix.Add(Record{ID: "a", GivenName: "Ruth", DateOfBirth: "1990-01-01"}); err != nil {
		t.Fatalf("Add() = %v, want nil", err)
	}
	tests := []struct {
		name string
		r    Record
		want string
	}{
		{"no id", Record{GivenName: "Ruth"}, joinedup.EINVALID},
		{"duplicate id", Record{ID: "a", GivenName: "Ruth"}, joinedup.ECONFLICT},
		{"nothing to match on", Record{ID: "b", Town: "Leeds"}, joinedup.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ix.Add(tt.r)
			var e *joinedup.Error
			if !errors.As(err, &e) || e.Code != tt.want {
				t.Errorf("Add() = %v, want code %s", err, tt.want)
			}
		})
	}
}

func TestIndexConcurrentUse(t *testing.T) {
	ix := NewIndex(nil)
	people := population(400)
	done := make(chan error)
	for w := range 4 {
		go func() {
			for i := w; i < len(people); i += 4 {
				if err := ix.Add(people[i]); err != nil {
					done <- err
					return
				}
				ix.Match(people[(i+7)%len(people)])
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := ix.Len(); got != len(people) {
		t.Fatalf("Len() = %d, want %d", got, len(people))
	}
	for _, p := range people[:20] {
		if got := ix.Match(p); got.CandidateID != p.ID || got.Decision != Match {
			t.Errorf("Match(%s) = %s %s, want itself as a match", p.ID, got.CandidateID, got.Decision)
		}
	}
}

func TestIndexPrior(t *testing.T) {
	m := DefaultModel()
	m.Prior = 0.01 // the prior of an index of about 100 people
	c, err := m.compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		records int
		want    float64
	}{
		{0, 0},
		{1, 0},
		{50, 0},
		{100, 0},
		{1001, -math.Log2(1000) - math.Log2(0.01/0.99)},
	}
	for _, tt := range tests {
		if got := c.indexPrior(tt.records); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("indexPrior(%d) = %.4f, want %.4f", tt.records, got, tt.want)
		}
	}
}

// TestRemoveLastRestoresIndex checks that removing the records added last
// leaves the index matching exactly as it did before they were added.
func TestRemoveLastRestoresIndex(t *testing.T) {
	ix := newTestIndex(t)
	probe := Record{ID: "probe", GivenName: "Amelia", FamilyName: "Jones", DateOfBirth: "1941-02-02",
		AddressLines: []string{"2 Station Road"}, Town: "Bradford", Postcode: "LS2 1AB"}
	before := ix.Match(probe)
	size := ix.Len()

	same := probe
	same.ID = "same"
	other := Record{ID: "other", GivenName: "Amelia", FamilyName: "Jonas", DateOfBirth: "1941-02-02"}
	for _, r := range []Record{same, other} {
		if err := ix.Add(r); err != nil {
			t.Fatalf("Add(%s): %v", r.ID, err)
		}
	}
	if got := ix.Match(probe); got.CandidateID != "same" {
		t.Fatalf("with the copy added, candidate = %q, want same", got.CandidateID)
	}

	if ix.removeLast("same") {
		t.Errorf("removeLast removed a record that was not the last added")
	}
	if !ix.removeLast("other") || !ix.removeLast("same") {
		t.Fatalf("removeLast refused the records added last")
	}
	if ix.Len() != size {
		t.Errorf("Len = %d after removing, want %d", ix.Len(), size)
	}
	after := ix.Match(probe)
	if after.CandidateID != before.CandidateID || after.Weight != before.Weight || after.Decision != before.Decision {
		t.Errorf("after removing, Match = %q %.4f %s; want %q %.4f %s as before",
			after.CandidateID, after.Weight, after.Decision, before.CandidateID, before.Weight, before.Decision)
	}
	if err := ix.Add(same); err != nil {
		t.Errorf("Add after removing: %v", err)
	}
}
