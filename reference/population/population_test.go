package population

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
)

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(7, 50)
	b := Generate(7, 50)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two populations of seed 7 differ")
	}
	c := Generate(8, 50)
	if reflect.DeepEqual(a.Families, c.Families) {
		t.Errorf("populations of seeds 7 and 8 are the same")
	}
	if got := Generate(7, 500).Families[:50]; !reflect.DeepEqual(got, a.Families) {
		t.Errorf("the first 50 families depend on the population size")
	}
}

func TestGenerateFamilies(t *testing.T) {
	p := Generate(1, DefaultFamilies)
	if len(p.Families) != DefaultFamilies {
		t.Fatalf("families = %d, want %d", len(p.Families), DefaultFamilies)
	}

	story := p.Families[0]
	if len(story.Parents) != 2 || story.Parents[0].Role != "mother" || story.Parents[1].Role != "father" {
		t.Errorf("family 0 parents = %+v, want a mother and a father", story.Parents)
	}
	if len(story.Children) != 0 {
		t.Errorf("family 0 has %d children, want none", len(story.Children))
	}

	var withChildren, singleParent, oneNamed, apostrophes int
	for _, f := range p.Families {
		if len(f.Children) > 0 {
			withChildren++
		}
		if len(f.Parents) == 1 {
			singleParent++
		}
		for _, parent := range f.Parents {
			if parent.Family == "" {
				oneNamed++
			}
			if strings.ContainsAny(parent.Family, "'’") {
				apostrophes++
			}
			if _, ok := joinedup.NormalizeNINO(parent.NINO); !ok {
				t.Errorf("%s: NINO %q is not of the valid form", parent.ID, parent.NINO)
			}
			if _, ok := joinedup.NormalizePostcode(parent.Address.Postcode); !ok {
				t.Errorf("%s: postcode %q is not of the valid form", parent.ID, parent.Address.Postcode)
			}
			if _, err := joinedup.ParseDate(parent.DateOfBirth); err != nil {
				t.Errorf("%s: date of birth: %v", parent.ID, err)
			}
		}
	}
	for name, n := range map[string]int{
		"families with children": withChildren, "single parents": singleParent,
		"one-named parents": oneNamed, "family names with apostrophes": apostrophes,
	} {
		if n == 0 {
			t.Errorf("no %s in %d families", name, DefaultFamilies)
		}
	}
}

func TestViewKeepsDemoFamilies(t *testing.T) {
	p := Generate(3, DefaultFamilies)
	view := p.View("gp-practice", 0.3)

	for i := range DemoFamilies {
		if view[i].ID != p.Families[i].ID {
			t.Fatalf("view family %d = %s, want demo family %s", i, view[i].ID, p.Families[i].ID)
		}
	}
	if n := len(view); n < 250 || n > 350 {
		t.Errorf("view of share 0.3 holds %d families, want about 300", n)
	}
	if again := p.View("gp-practice", 0.3); !reflect.DeepEqual(view, again) {
		t.Errorf("two views for the same holder differ")
	}
}

func TestViewCorruptsDemoParentsOnce(t *testing.T) {
	p := Generate(3, DemoFamilies)
	changed := 0
	for _, holder := range []string{"a", "b", "c", "d"} {
		for i, f := range p.View(holder, 0) {
			for j, got := range f.Parents {
				want := p.Families[i].Parents[j]
				diffs := 0
				for _, d := range []bool{
					got.Given != want.Given, got.Family != want.Family,
					got.DateOfBirth != want.DateOfBirth, got.NINO != want.NINO,
				} {
					if d {
						diffs++
					}
				}
				if diffs > 1 {
					t.Errorf("holder %s, %s: %d fields differ, want at most 1", holder, got.ID, diffs)
				}
				if got.DateOfBirth == "" {
					t.Errorf("holder %s, %s: date of birth missing", holder, got.ID)
				}
				if !reflect.DeepEqual(got.Address, want.Address) {
					t.Errorf("holder %s, %s: address %+v, want the current %+v", holder, got.ID, got.Address, want.Address)
				}
				if diffs > 0 {
					changed++
				}
			}
		}
	}
	if changed == 0 {
		t.Errorf("no demo parent record has an error in any of 4 views")
	}
}

func TestBirths(t *testing.T) {
	today := joinedup.Date{Year: 2026, Month: 12, Day: 4}
	births := Births(5, DemoFamilies+5, today)
	if len(births) != DemoFamilies {
		t.Fatalf("births = %d, want %d", len(births), DemoFamilies)
	}

	population := Generate(5, DemoFamilies)
	for i, b := range births {
		if err := b.Normalize().Validate(today); err != nil {
			t.Errorf("birth %d is invalid: %v (%+v)", i, err, joinedup.ErrorFields(err))
		}
		want := population.Families[i].Parents[0]
		if got := b.Parents[0].Name; got != want.Name() {
			t.Errorf("birth %d parent name = %+v, want %+v as generated", i, got, want.Name())
		}
	}
	if story := births[0]; story.Child.Sex != "male" || story.Informant.Capacity != "father" {
		t.Errorf("birth 0: child %s, informant %s, want a son registered by his father", story.Child.Sex, story.Informant.Capacity)
	}
	if again := Births(5, 3, today); !reflect.DeepEqual(again, births[:3]) {
		t.Errorf("Births depends on n")
	}
}

func TestTypo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"Smith", "O’Brien", "Nguyễn", "Zoë", "Al"} {
		for range 50 {
			got := typo(rng, name)
			if utf8.RuneCountInString(name) < 3 {
				if got != name {
					t.Errorf("typo(%q) = %q, want it unchanged", name, got)
				}
				continue
			}
			if got == name {
				t.Errorf("typo(%q) returned it unchanged", name)
			}
			if []rune(got)[0] != []rune(name)[0] {
				t.Errorf("typo(%q) = %q, want the first letter kept", name, got)
			}
			if !utf8.ValidString(got) {
				t.Errorf("typo(%q) = %q is not valid UTF-8", name, got)
			}
		}
	}
}

func TestSwapDate(t *testing.T) {
	tests := map[string]string{
		"1985-03-07": "1985-07-03",
		"1985-03-25": "1985-25-03",
		"":           "",
	}
	for in, want := range tests {
		if got := swapDate(in); got != want {
			t.Errorf("swapDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadFEBRL(t *testing.T) {
	const data = `rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id
rec-1-org, mitchell, green, 7, wallaby place, delmar, cleveland, 2119, sa, 19560409, 1804974
rec-1-dup-0, mitchel, , , wallaby place, , cleveland, 2119, sa, 1956049, 1804974
`
	people, err := ReadFEBRL(strings.NewReader(data))
	if err != nil {
		t.Fatalf("ReadFEBRL: %v", err)
	}
	want := []Person{
		{ID: "rec-1-org", Given: "mitchell", Family: "green", DateOfBirth: "1956-04-09",
			Address: joinedup.Address{Lines: []string{"7 wallaby place", "delmar"}, Town: "cleveland", Postcode: "2119"}},
		{ID: "rec-1-dup-0", Given: "mitchel",
			Address: joinedup.Address{Lines: []string{"wallaby place"}, Town: "cleveland", Postcode: "2119"}},
	}
	if !reflect.DeepEqual(people, want) {
		t.Errorf("ReadFEBRL =\n%+v\nwant\n%+v", people, want)
	}
}

func TestReadFEBRLRejectsOtherCSV(t *testing.T) {
	if _, err := ReadFEBRL(strings.NewReader("unique_id,first_name,surname,dob,city,email,cluster\n")); err == nil {
		t.Errorf("ReadFEBRL of a Splink file = nil error, want an error")
	}
}

func TestReadFEBRLDataSets(t *testing.T) {
	dir := testdata(t)
	for file, want := range map[string]int{"dataset4a.csv": 5000, "dataset4b.csv": 5000} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("open %s: %v", file, err)
		}
		people, err := ReadFEBRL(f)
		f.Close()
		if err != nil {
			t.Fatalf("ReadFEBRL(%s): %v", file, err)
		}
		if len(people) != want {
			t.Errorf("%s: %d people, want %d", file, len(people), want)
		}
	}
}

// testdata returns the Febrl directory under $JOINEDUP_TESTDATA (by
// default ../shared/data beside the repository), or skips the test.
func testdata(t *testing.T) string {
	t.Helper()
	root := os.Getenv("JOINEDUP_TESTDATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "data")
	}
	dir := filepath.Join(root, "linkage", "febrl")
	if _, err := os.Stat(filepath.Join(dir, "dataset4a.csv")); err != nil {
		t.Skipf("Febrl data sets not found in %s: set JOINEDUP_TESTDATA to the test data directory to run this test", dir)
	}
	return dir
}
