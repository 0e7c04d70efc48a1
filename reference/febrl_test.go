package reference_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
)

// febrlDir returns the Febrl directory under $JOINEDUP_TESTDATA (by
// default ../shared/data beside the repository), or skips the test.
func febrlDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("JOINEDUP_TESTDATA")
	if root == "" {
		root = filepath.Join("..", "..", "shared", "data")
	}
	dir := filepath.Join(root, "linkage", "febrl")
	if _, err := os.Stat(filepath.Join(dir, "dataset4b.csv")); err != nil {
		t.Skipf("Febrl data sets not found in %s: set JOINEDUP_TESTDATA to the test data directory to run this test", dir)
	}
	return dir
}

// TestFebrlStory registers births whose parent is a Febrl original
// (dataset4a) with the GP practice, which holds the originals, and with the
// school, which holds one corrupted duplicate of each (dataset4b). A
// service that acts must have found the same person; one that cannot be
// sure must record the event for review.
func TestFebrlStory(t *testing.T) {
	dir := febrlDir(t)
	a, b := filepath.Join(dir, "dataset4a.csv"), filepath.Join(dir, "dataset4b.csv")
	h := newHarness(t, reference.Config{Residents: []string{a, b}})

	f, err := os.Open(a)
	if err != nil {
		t.Fatalf("open %s: %v", a, err)
	}
	originals, err := population.ReadFEBRL(f)
	f.Close()
	if err != nil {
		t.Fatalf("read %s: %v", a, err)
	}

	const births = 300
	tests := []struct {
		service     joinedup.ServiceID
		query       string // returns the source_id of the parent the service linked the child to
		want        func(original string) string
		minRecalled float64
	}{
		{"gp-practice", `SELECT p.source_id FROM registrations r JOIN people p ON p.id = r.parent_id WHERE r.patient_id = $1`,
			func(original string) string { return original }, 0.99},
		{"primary-school", `SELECT p.source_id FROM pupils u JOIN people p ON p.id = u.parent_id WHERE u.id = $1`,
			func(original string) string { return strings.TrimSuffix(original, "-org") + "-dup-0" }, 0.80},
	}
	for _, tt := range tests {
		t.Run(string(tt.service), func(t *testing.T) {
			h.t = t
			var sent, right, wrong, review int
			for _, p := range originals {
				if sent == births {
					break
				}
				dob, err := joinedup.ParseDate(p.DateOfBirth)
				if err != nil {
					continue // the original has no valid date of birth, which no registration lacks
				}
				sent++
				r := febrlBirth(p, dob)
				d := delivery{service: tt.service, eventType: connector.TypeBirthRegistered, id: h.newDeliveryID(), data: r}
				code, o := h.send(d, "msg_febrl_"+string(d.id))
				if code != http.StatusOK {
					t.Fatalf("%s: status %d", p.ID, code)
				}
				if o.Status != joinedup.OutcomeActed {
					review++
					continue
				}
				var linked string
				if err := h.db(tt.service).QueryRow(tt.query, o.Reference).Scan(&linked); err != nil {
					t.Fatalf("%s: find the linked parent: %v", p.ID, err)
				}
				if linked == tt.want(p.ID) {
					right++
				} else {
					wrong++
					t.Errorf("%s linked to %s, want %s", p.ID, linked, tt.want(p.ID))
				}
			}

			t.Logf("%s: %d births, %d linked right, %d wrong, %d for review", tt.service, sent, right, wrong, review)
			if got := float64(right) / float64(sent); got < tt.minRecalled {
				t.Errorf("linked right %.3f of births, want at least %.2f", got, tt.minRecalled)
			}
		})
	}
}

// febrlBirth returns the registration of a birth to the Febrl person p.
func febrlBirth(p population.Person, dob joinedup.Date) joinedup.BirthRegistration {
	parent := 0
	return joinedup.BirthRegistration{
		Child: joinedup.Child{
			Name:         joinedup.Name{Given: "robin", Family: p.Family},
			Sex:          "female",
			DateOfBirth:  joinedup.Date{Year: 2026, Month: time.November, Day: 30},
			PlaceOfBirth: "at home",
		},
		Parents: []joinedup.Parent{{
			Role: "parent", Name: joinedup.Name{Given: p.Given, Family: p.Family},
			DateOfBirth: dob, Address: p.Address,
		}},
		Informant: joinedup.Informant{Name: joinedup.Name{Given: p.Given, Family: p.Family}, Capacity: "parent", Parent: &parent},
	}
}
