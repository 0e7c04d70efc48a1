package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	var problem joinedup.Problem
	if err := json.Unmarshal(body, &problem); err != nil {
		t.Fatalf("decode problem: %v; body %s", err, body)
	}
	if problem.ExistingReference != reference {
		t.Errorf("existingReference = %q, want %q; body %s", problem.ExistingReference, reference, body)
	}
	if !strings.Contains(problem.Detail, reference) {
		t.Errorf("detail %q, want the reference %s", problem.Detail, reference)
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

// legacyBirthKey returns the dedupe key that the hub stored for r before
// names were folded: a hash of the fields in lower case, with the parents
// in the order entered.
func legacyBirthKey(r joinedup.BirthRegistration) string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strings.ToLower(s)))
		h.Write([]byte{0})
	}
	field(r.Child.Name.Given)
	field(r.Child.Name.Family)
	field(r.Child.Sex)
	field(r.Child.DateOfBirth.String())
	for _, p := range r.Parents {
		field(p.Name.Given)
		field(p.Name.Family)
		field(p.DateOfBirth.String())
	}
	return joinedup.LegacyBirthKeyPrefix + hex.EncodeToString(h.Sum(nil))
}

// storeLegacyKey replaces the dedupe key of the birth registered as out
// with the key the hub stored before names were folded.
func storeLegacyKey(t *testing.T, h *Hub, out birthResponse) {
	t.Helper()
	ctx := context.Background()
	ev, err := h.LifeEvents.FindLifeEvent(ctx, out.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	var r joinedup.BirthRegistration
	if err := json.Unmarshal(ev.Payload, &r); err != nil {
		t.Fatal(err)
	}
	if err := h.DB.ReplaceDedupeKey(ctx, ev.ID, r.DedupeKey(), legacyBirthKey(r)); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyKeysRecomputedOnRestart stores births with dedupe keys in the
// legacy form, restarts the hub and checks that the same births sent again
// are refused. Two of them are one birth in two spellings, and the earlier
// keeps the key. The twin is stored twice, once with a legacy key and once
// with a current one, and the current one keeps the key.
func TestLegacyKeysRecomputedOnRestart(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		data := t.TempDir()
		edit := both(mode, func(c *Config) { c.Data = data })
		h := startHub(t, edit)
		startService(t, h, "gp", []string{"child.name"}, &recorder{})

		curly := twoParentBirth(t)
		first := registerBirth(t, h, mustJSON(t, curly))
		storeLegacyKey(t, h, first)

		straight := twoParentBirth(t)
		straight.Child.Name.Family = "O'Neill-Byrne"
		second := registerBirth(t, h, mustJSON(t, straight))
		storeLegacyKey(t, h, second)

		twin := twoParentBirth(t)
		twin.Child.Name.Given = "Róisín"
		third := registerBirth(t, h, mustJSON(t, twin))
		storeLegacyKey(t, h, third)

		// Before the restart, no legacy key matches a new key, so the twin
		// sent again is stored a second time.
		fourth := registerBirth(t, h, mustJSON(t, twin))
		if n := lifeEventCount(t, h); n != 4 {
			t.Fatalf("%d life events stored before the restart, want 4", n)
		}

		h.Close()
		h = startHub(t, edit)

		checkRefusedAs(t, h, curly, first.Event.Reference)
		checkRefusedAs(t, h, straight, first.Event.Reference)
		checkRefusedAs(t, h, twin, fourth.Event.Reference)
		if n := lifeEventCount(t, h); n != 4 {
			t.Errorf("%d life events stored after the restart, want 4", n)
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
