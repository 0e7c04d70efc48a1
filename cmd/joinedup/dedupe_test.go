package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

// twoParentBirth returns birthJSON's registration with a mother added as
// parent 1, who is the informant.
func twoParentBirth(t *testing.T) joinedup.BirthRegistration {
	t.Helper()
	body := withSecondParent(t, string(birthJSON(t, "2026-11-20", "gp")), `"capacity":"mother","parent":1`)
	var r joinedup.BirthRegistration
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// checkRefusedAs checks that posting r gets 409 naming reference.
func checkRefusedAs(t *testing.T, h *Hub, r joinedup.BirthRegistration, reference string) {
	t.Helper()
	resp, err := apiPost(h.BaseURL+"/api/v1/births", "application/json", bytes.NewReader(mustJSON(t, r)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)

	if resp.StatusCode != http.StatusConflict {
		t.Errorf("status %d, want 409; body %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), reference) {
		t.Errorf("body %s, want the reference %s", body, reference)
	}
}

// TestSameBirthOtherSpellingRefused registers a birth and then the same
// birth written in other ways, and checks that each is refused with the
// first's reference and that the service is told once.
func TestSameBirthOtherSpellingRefused(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		h := startHub(t, mode)
		var gp recorder
		startService(t, h, "gp", []string{"child.name"}, &gp)
		first := registerBirth(t, h, mustJSON(t, twoParentBirth(t)))

		tests := []struct {
			name   string
			change func(r *joinedup.BirthRegistration)
		}{
			{"apostrophes swapped", func(r *joinedup.BirthRegistration) {
				r.Child.Name.Family = "O'Neill-Byrne"
				r.Parents[0].Name.Family = "O’Neill-Byrne"
			}},
			{"modifier letter apostrophe and en dash", func(r *joinedup.BirthRegistration) {
				r.Child.Name.Family = "Oʼneill–Byrne"
			}},
			{"parents reversed", func(r *joinedup.BirthRegistration) {
				r.Parents = []joinedup.Parent{r.Parents[1], r.Parents[0]}
				mother := 0
				r.Informant.Parent = &mother
			}},
			{"upper case", func(r *joinedup.BirthRegistration) { r.Child.Name.Given = "ZOË ANN" }},
			{"decomposed accent", func(r *joinedup.BirthRegistration) { r.Child.Name.Given = "Zoe\u0308 Ann" }},
			{"doubled space", func(r *joinedup.BirthRegistration) { r.Child.Name.Given = "Zoë  Ann" }},
			{"other address", func(r *joinedup.BirthRegistration) {
				r.Parents[1].Address.Lines = []string{"Flat 2", "12 Example Street"}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := twoParentBirth(t)
				tt.change(&r)
				checkRefusedAs(t, h, r, first.Event.Reference)
			})
		}

		waitComplete(t, h, first.Event.ID, 10*time.Second)
		if n := lifeEventCount(t, h); n != 1 {
			t.Errorf("%d life events stored, want 1", n)
		}
		if n := len(gp.received()); n != 1 {
			t.Errorf("the service was told %d times, want once", n)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
