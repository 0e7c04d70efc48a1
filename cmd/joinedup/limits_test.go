package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
)

// recentBirthDate returns a date of birth that can be registered today.
func recentBirthDate() string {
	return joinedup.Today(time.Now()).AddDate(0, 0, -3).String()
}

// lifeEventCount returns how many life events the hub has recorded.
func lifeEventCount(t *testing.T, h *Hub) int {
	t.Helper()
	_, total, err := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestLongBirthFieldRejectedByAPI posts registrations with one field over
// its limit to a real hub's API, and checks that each gets 422 with an
// error that names the field and the limit, and that nothing is recorded.
func TestLongBirthFieldRejectedByAPI(t *testing.T) {
	h := startHub(t, nil)
	over := func(limit int) string { return strings.Repeat("é", limit+1) }

	tests := []struct {
		name    string
		change  func(r *joinedup.BirthRegistration)
		field   string
		message string
	}{
		{"child given names", func(r *joinedup.BirthRegistration) { r.Child.Name.Given = over(joinedup.MaxNameLength) },
			"/child/name/given", "Given names must be 200 characters or fewer"},
		{"parent family name", func(r *joinedup.BirthRegistration) { r.Parents[0].Name.Family = over(joinedup.MaxNameLength) },
			"/parents/0/name/family", "Family name must be 200 characters or fewer"},
		{"place of birth", func(r *joinedup.BirthRegistration) { r.Child.PlaceOfBirth = over(joinedup.MaxPlaceLength) },
			"/child/placeOfBirth", "Place of birth must be 300 characters or fewer"},
		{"address line", func(r *joinedup.BirthRegistration) {
			r.Parents[0].Address.Lines = append(r.Parents[0].Address.Lines, over(joinedup.MaxAddressLineLength))
		}, "/parents/0/address/lines/1", "Address line must be 200 characters or fewer"},
		{"town", func(r *joinedup.BirthRegistration) { r.Parents[0].Address.Town = over(joinedup.MaxTownLength) },
			"/parents/0/address/town", "Town or city must be 100 characters or fewer"},
		{"too many address lines", func(r *joinedup.BirthRegistration) {
			r.Parents[0].Address.Lines = strings.Fields("1 2 3 4 5 6 7")
		}, "/parents/0/address/lines", "Give 6 items or fewer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reg joinedup.BirthRegistration
			if err := json.Unmarshal(birthJSON(t, recentBirthDate()), &reg); err != nil {
				t.Fatal(err)
			}
			tt.change(&reg)
			body, err := json.Marshal(reg)
			if err != nil {
				t.Fatal(err)
			}

			resp, err := apiPost(h.BaseURL+"/api/v1/births", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", resp.StatusCode, b)
			}
			var p joinedup.Problem
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("decode problem: %v; body %s", err, b)
			}
			want := joinedup.FieldError{Field: tt.field, Message: tt.message}
			if len(p.Errors) != 1 || p.Errors[0] != want {
				t.Errorf("errors %+v, want only %+v", p.Errors, want)
			}
		})
	}

	if total := lifeEventCount(t, h); total != 0 {
		t.Errorf("%d life events recorded after over-long fields, want 0", total)
	}
}

// TestLargestBirthFitsAPIBodyLimit registers, through the API, a birth
// with two parents and every free-text field at its limit. Each character
// is a letter outside the Basic Multilingual Plane sent as a pair of JSON
// \u escapes, 12 bytes, so the body is far larger than usual but must
// still be within the API's 64 KiB body limit.
func TestLargestBirthFitsAPIBodyLimit(t *testing.T) {
	h := startHub(t, nil)
	letters := func(n int) string { return strings.Repeat("𠀀", n) }
	name := func() joinedup.Name {
		return joinedup.Name{Given: letters(joinedup.MaxNameLength), Family: letters(joinedup.MaxNameLength)}
	}
	address := joinedup.Address{Town: letters(joinedup.MaxTownLength), Postcode: "LS1 4AP", UPRN: "100012345678"}
	for range joinedup.MaxAddressLines {
		address.Lines = append(address.Lines, letters(joinedup.MaxAddressLineLength))
	}
	parent := 0
	reg := joinedup.BirthRegistration{
		Child: joinedup.Child{Name: name(), Sex: "indeterminate", DateOfBirth: mustDate(t, recentBirthDate()),
			PlaceOfBirth: letters(joinedup.MaxPlaceLength)},
		Parents: []joinedup.Parent{
			{Role: "mother", Name: name(), DateOfBirth: mustDate(t, "1990-03-04"), NationalInsuranceNumber: "JG103759A", Address: address},
			{Role: "parent", Name: name(), DateOfBirth: mustDate(t, "1991-05-06"), NationalInsuranceNumber: "JG103760A", Address: address},
		},
		Informant: joinedup.Informant{Name: name(), Capacity: "mother", Parent: &parent},
		Consent:   joinedup.Choice{Services: []joinedup.ServiceID{}},
	}
	plain, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	body := escapeNonASCII(plain)
	t.Logf("registration: %d bytes as UTF-8, %d bytes escaped", len(plain), len(body))

	registerBirth(t, h, body)
}

// escapeNonASCII rewrites every non-ASCII character of the JSON text b as
// a \u escape, with a surrogate pair above U+FFFF. json.Marshal writes
// non-ASCII characters only inside strings, where an escape means the same.
func escapeNonASCII(b []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out.WriteRune(r)
			continue
		}
		for _, unit := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, unit)
		}
	}
	return out.Bytes()
}

// postBirthForm posts form to a real hub's birth form and returns the
// status and the page.
func postBirthForm(t *testing.T, client *http.Client, h *Hub, form url.Values) (int, string) {
	t.Helper()
	resp, err := client.PostForm(h.BaseURL+"/births/new", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestBirthFormKeepsAnswersWhenTooLong posts birth forms with an answer
// over its limit to a real hub, small and then larger than the API's
// 64 KiB body limit, and checks that each page names the field and its
// limit and shows every answer again, but not a forged service id. A form
// over the 1 MiB bound gets a page that says what happened. Nothing is
// registered.
func TestBirthFormKeepsAnswersWhenTooLong(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	client := signedInClient(t, h, "registrar")
	reg := demoBirth(t, h, 0)
	reg.Parents = reg.Parents[*reg.Informant.Parent : *reg.Informant.Parent+1]
	parent := reg.Parents[0]
	// keptInputs are inputs that every page with an error must show as
	// typed.
	keptInputs := []string{
		`id="child-name-family" name="child-name-family" type="text" value="` + html.EscapeString(reg.Child.Name.Family) + `"`,
		`id="parents-0-name-given" name="parents-0-name-given" type="text" value="` + html.EscapeString(parent.Name.Given) + `"`,
		`id="parents-0-address-postcode" name="parents-0-address-postcode" type="text" value="` + html.EscapeString(parent.Address.Postcode) + `"`,
		`id="parents-0-address-lines-0" name="parents-0-address-lines-0" type="text" value="` + html.EscapeString(parent.Address.Lines[0]) + `"`,
	}

	t.Run("over-long given names", func(t *testing.T) {
		form := formValues(reg, "0")
		longGiven := strings.Repeat("Ann ", 60)
		form.Set("child-name-given", longGiven)

		status, page := postBirthForm(t, client, h, form)

		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", status)
		}
		if want := `<a href="#child-name-given">Given names of the child must be 200 characters or fewer</a>`; !strings.Contains(page, want) {
			t.Errorf("error summary lacks %s", want)
		}
		if want := `id="child-name-given" name="child-name-given" type="text" value="` + longGiven + `"`; !strings.Contains(page, want) {
			t.Errorf("page does not show the given names as typed")
		}
		for _, input := range keptInputs {
			if !strings.Contains(page, input) {
				t.Errorf("page lacks the typed answer: %s", input)
			}
		}
	})

	t.Run("form larger than 64 KiB", func(t *testing.T) {
		form := formValues(reg, "0")
		place := strings.Repeat("Leeds General Infirmary, ", 12000)
		form.Set("child-placeOfBirth", place)
		forged := strings.Repeat("x", 20000)
		form.Add("consent-services", forged)
		if size := len(form.Encode()); size <= 64<<10 || size >= 1<<20 {
			t.Fatalf("form is %d bytes, want between 64 KiB and 1 MiB", size)
		}

		status, page := postBirthForm(t, client, h, form)

		if status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", status)
		}
		if want := `<a href="#child-placeOfBirth">Place of birth must be 300 characters or fewer</a>`; !strings.Contains(page, want) {
			t.Errorf("error summary lacks %s", want)
		}
		for _, input := range keptInputs {
			if !strings.Contains(page, input) {
				t.Errorf("page lacks the typed answer: %s", input)
			}
		}
		if want := `id="child-placeOfBirth" name="child-placeOfBirth" type="text" value="` + place[:1000] + `"`; !strings.Contains(page, want) {
			t.Errorf("page does not show the first 1,000 characters of the place of birth")
		}
		if want := "Only the first 1,000 characters of the answer are shown."; !strings.Contains(page, want) {
			t.Errorf("page does not say that the place of birth is cut: %q missing", want)
		}
		if want := `<a href="#consent-services">One of the services selected is no longer offered. Check the services selected and send the form again</a>`; !strings.Contains(page, want) {
			t.Errorf("error summary lacks %s", want)
		}
		if strings.Contains(page, forged[:100]) {
			t.Errorf("page shows the forged service id")
		}
		if len(page) > 64<<10 {
			t.Errorf("page is %d bytes, want at most 64 KiB", len(page))
		}
	})

	t.Run("form larger than 1 MiB", func(t *testing.T) {
		form := formValues(reg, "0")
		form.Set("child-placeOfBirth", strings.Repeat("Leeds General Infirmary, ", 50000))

		status, page := postBirthForm(t, client, h, form)

		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", status)
		}
		for _, want := range []string{
			"<title>The form was too large to send – joinedup</title>",
			"larger than 1,048,576 bytes (1 MiB), about a million letters and digits, so nothing was registered and the answers could not be kept",
			`<a class="govuk-link" href="/births/new">Go back to the birth registration form</a>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	if total := lifeEventCount(t, h); total != 0 {
		t.Errorf("%d life events recorded after over-long answers, want 0", total)
	}
}
