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
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/joinedup/joinedup"
)

// recentBirthDate returns a date of birth that can be registered today.
func recentBirthDate() string {
	return joinedup.Today(time.Now()).AddDate(0, 0, -3).String()
}

// lifeEventCount returns how many life events the hub has recorded.
func lifeEventCount(t *testing.T, h *Hub) int {
	t.Helper()
	page, err := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

// TestLongBirthFieldRejectedByAPI posts registrations with one field over
// its limit to a real hub's API, and checks that each gets 422 with an
// error that names the field and the limit, and that nothing is recorded.
func TestLongBirthFieldRejectedByAPI(t *testing.T) {
	h := startHub(t, nil)
	over := func(limit int) string { return strings.Repeat("é", limit+1) }

	tests := []struct {
		name   string
		change func(r *joinedup.BirthRegistration)
		want   []joinedup.FieldError
	}{
		{"child given names", func(r *joinedup.BirthRegistration) { r.Child.Name.Given = over(joinedup.MaxNameLength) },
			[]joinedup.FieldError{{Field: "/child/name/given", Message: "Given names of the child must be 200 characters or fewer"}}},
		// The informant is the parent, so the informant's name changes too.
		{"parent family name", func(r *joinedup.BirthRegistration) {
			r.Parents[0].Name.Family = over(joinedup.MaxNameLength)
			r.Informant.Name.Family = r.Parents[0].Name.Family
		}, []joinedup.FieldError{
			{Field: "/parents/0/name/family", Message: "Family name of parent 1 must be 200 characters or fewer"},
			{Field: "/informant/name/family", Message: "Family name of the informant must be 200 characters or fewer"},
		}},
		{"place of birth", func(r *joinedup.BirthRegistration) { r.Child.PlaceOfBirth = over(joinedup.MaxPlaceLength) },
			[]joinedup.FieldError{{Field: "/child/placeOfBirth", Message: "Place of birth must be 300 characters or fewer"}}},
		{"address line", func(r *joinedup.BirthRegistration) {
			r.Parents[0].Address.Lines = append(r.Parents[0].Address.Lines, over(joinedup.MaxAddressLineLength))
		}, []joinedup.FieldError{{Field: "/parents/0/address/lines/1", Message: "Address line 2 of parent 1 must be 200 characters or fewer"}}},
		{"town", func(r *joinedup.BirthRegistration) { r.Parents[0].Address.Town = over(joinedup.MaxTownLength) },
			[]joinedup.FieldError{{Field: "/parents/0/address/town", Message: "Town or city of parent 1 must be 100 characters or fewer"}}},
		{"too many address lines", func(r *joinedup.BirthRegistration) {
			r.Parents[0].Address.Lines = strings.Fields("1 2 3 4 5 6 7")
		}, []joinedup.FieldError{{Field: "/parents/0/address/lines", Message: "The address of parent 1 must have 6 lines or fewer, before the town and postcode"}}},
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
			if !slices.Equal(p.Errors, tt.want) {
				t.Errorf("errors %+v, want only %+v", p.Errors, tt.want)
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
	status, _, page := postBirthFormLocation(t, client, h, form)
	return status, page
}

// postBirthFormLocation posts form as postBirthForm does, and also returns
// the Location header, which names the confirmation page of a birth
// registered when client does not follow redirects.
func postBirthFormLocation(t *testing.T, client *http.Client, h *Hub, form url.Values) (status int, location, page string) {
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
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
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
			"<title>The form was too large to accept – joinedup</title>",
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

// TestBirthRoutesAgreeOnLengths sends the same answers to a real hub
// through the API and through the birth form. Most answers are at or over
// their limit once trimmed and in NFC, but longer as typed, because of
// spaces around them or accents typed as separate combining characters.
// Others leave a blank address line before a filled one, send more
// address lines than the form shows, or choose a service twice. Both
// routes must accept the same answers and store them normalised, and
// reject the same answers with the same error on the same field.
func TestBirthRoutesAgreeOnLengths(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true; c.APIToken = testToken })
	client := signedInClient(t, h, "registrar")
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	base := demoBirth(t, h, 0)
	base.Parents = base.Parents[*base.Informant.Parent : *base.Informant.Parent+1]
	informant := 0
	base.Informant.Parent = &informant
	// The form has two address line inputs and formValues fills the first.
	base.Parents[0].Address.Lines = base.Parents[0].Address.Lines[:1]
	base.Consent.Services = []joinedup.ServiceID{}

	letters := func(n int) string { return strings.Repeat("é", n) }
	// decomposed returns n letters é, each typed as e and U+0301, the
	// combining acute accent: 2n code points, and n once in NFC.
	decomposed := func(n int) string { return strings.Repeat("e\u0301", n) }
	padded := func(s string) string { return "  " + s + " \t " }

	tests := []struct {
		name   string
		inputs map[string]string // form input name to the answer typed
		// field and message are the one error that both routes must
		// give, or empty when both must register the birth.
		field, message string
	}{
		{name: "given names at the limit with spaces around",
			inputs: map[string]string{"child-name-given": padded(letters(joinedup.MaxNameLength))}},
		{name: "given names at the limit decomposed",
			inputs: map[string]string{"child-name-given": decomposed(joinedup.MaxNameLength)}},
		{name: "given names over the limit with spaces around",
			inputs: map[string]string{"child-name-given": padded(letters(joinedup.MaxNameLength + 1))},
			field:  "/child/name/given", message: "Given names of the child must be 200 characters or fewer"},
		{name: "given names over the limit decomposed",
			inputs: map[string]string{"child-name-given": decomposed(joinedup.MaxNameLength + 1)},
			field:  "/child/name/given", message: "Given names of the child must be 200 characters or fewer"},
		{name: "family name at the limit with spaces around",
			inputs: map[string]string{"child-name-family": padded(letters(joinedup.MaxNameLength))}},
		{name: "place of birth at the limit with spaces around",
			inputs: map[string]string{"child-placeOfBirth": padded(letters(joinedup.MaxPlaceLength))}},
		{name: "place of birth at the limit decomposed",
			inputs: map[string]string{"child-placeOfBirth": decomposed(joinedup.MaxPlaceLength)}},
		{name: "place of birth over the limit decomposed",
			inputs: map[string]string{"child-placeOfBirth": decomposed(joinedup.MaxPlaceLength + 1)},
			field:  "/child/placeOfBirth", message: "Place of birth must be 300 characters or fewer"},
		{name: "address line at the limit with spaces around",
			inputs: map[string]string{"parents-0-address-lines-0": padded(letters(joinedup.MaxAddressLineLength))}},
		{name: "address line at the limit decomposed",
			inputs: map[string]string{"parents-0-address-lines-0": decomposed(joinedup.MaxAddressLineLength)}},
		{name: "second address line after a blank first line",
			inputs: map[string]string{"parents-0-address-lines-0": " ", "parents-0-address-lines-1": base.Parents[0].Address.Lines[0]}},
		{name: "second address line over the limit after a blank first line",
			inputs: map[string]string{"parents-0-address-lines-0": "", "parents-0-address-lines-1": letters(joinedup.MaxAddressLineLength + 1)},
			field:  "/parents/0/address/lines/1", message: "Address line 2 of parent 1 must be 200 characters or fewer"},
		{name: "town at the limit with spaces around",
			inputs: map[string]string{"parents-0-address-town": padded(letters(joinedup.MaxTownLength))}},
		{name: "town at the limit decomposed",
			inputs: map[string]string{"parents-0-address-town": decomposed(joinedup.MaxTownLength)}},
		{name: "town over the limit with spaces around",
			inputs: map[string]string{"parents-0-address-town": padded(letters(joinedup.MaxTownLength + 1))},
			field:  "/parents/0/address/town", message: "Town or city of parent 1 must be 100 characters or fewer"},
	}

	// Each registration's child is born on a different day, so that no
	// registration is rejected as a birth already registered.
	daysAgo := 0
	nextBirth := func(t *testing.T, inputs map[string]string) joinedup.BirthRegistration {
		t.Helper()
		reg := base
		reg.Parents = []joinedup.Parent{base.Parents[0]}
		reg.Parents[0].Address.Lines = slices.Clone(base.Parents[0].Address.Lines)
		daysAgo++
		reg.Child.DateOfBirth = joinedup.Today(time.Now()).AddDate(0, 0, -daysAgo)
		for input, answer := range inputs {
			setAnswer(t, &reg, input, answer)
		}
		return reg
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("api", func(t *testing.T) {
				reg := nextBirth(t, tt.inputs)
				if tt.field == "" {
					checkAPIRegisters(t, h, reg)
				} else {
					checkAPIRejects(t, h, reg, []joinedup.FieldError{{Field: tt.field, Message: tt.message}})
				}
			})

			t.Run("page", func(t *testing.T) {
				reg := nextBirth(t, nil)
				form := formValues(reg, "0")
				form.Set("parents-0-nationalInsuranceNumber", reg.Parents[0].NationalInsuranceNumber)
				form.Set("parents-0-address-lines-1", "")
				form.Set("parents-0-address-uprn", reg.Parents[0].Address.UPRN)
				for input, answer := range tt.inputs {
					form.Set(input, answer)
				}

				status, location, page := postBirthFormLocation(t, client, h, form)
				if tt.field == "" {
					if status != http.StatusSeeOther {
						t.Fatalf("status %d, want 303; errors %q", status, errorSummary(page))
					}
					id, ok := strings.CutPrefix(location, "/births/")
					if !ok {
						t.Fatalf("redirected to %q, want a confirmation page", location)
					}
					for input, answer := range tt.inputs {
						setAnswer(t, &reg, input, answer)
					}
					checkStoredNormalized(t, h, joinedup.EventID(id), reg)
					return
				}

				if status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", status)
				}
				href := strings.ReplaceAll(strings.TrimPrefix(tt.field, "/"), "/", "-")
				want := []string{`<a href="#` + href + `">` + tt.message + `</a>`}
				if got := errorSummary(page); !slices.Equal(got, want) {
					t.Errorf("error summary %q, want %q", got, want)
				}
			})
		})
	}

	// The form shows two address line inputs but reads as many as are
	// sent, and passes the services chosen on as sent, so the routes
	// must also agree on more lines and on a service listed twice.
	services, err := h.Directory.ListServices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(services, func(svc *joinedup.Service) bool {
		return svc.Takes(joinedup.EventBirthRegistered) && svc.LawfulBasis == ""
	})
	if i < 0 {
		t.Fatal("the demo has no service that takes births with consent")
	}
	consented, consentedName := services[i].ID, services[i].Name
	sentAsIs := []struct {
		name   string
		change func(reg *joinedup.BirthRegistration)
		want   []joinedup.FieldError // empty when both routes must register the birth
	}{
		{name: "seven address lines with one blank", change: func(reg *joinedup.BirthRegistration) {
			reg.Parents[0].Address.Lines = []string{"Flat 1", "Mill House", " ", "2 Canal Wharf", "Holbeck", "Aire Valley", "West Riding"}
		}},
		{name: "seven address lines", change: func(reg *joinedup.BirthRegistration) {
			reg.Parents[0].Address.Lines = []string{"Flat 1", "Mill House", "Unit 3", "2 Canal Wharf", "Holbeck", "Aire Valley", "West Riding"}
		}, want: []joinedup.FieldError{{Field: "/parents/0/address/lines",
			Message: "The address of parent 1 must have 6 lines or fewer, before the town and postcode"}}},
		{name: "service listed twice", change: func(reg *joinedup.BirthRegistration) {
			reg.Consent.Services = []joinedup.ServiceID{consented, consented}
		}, want: []joinedup.FieldError{{Field: "/consent/services/1",
			Message: consentedName + " is listed twice"}}},
	}
	for _, tt := range sentAsIs {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("api", func(t *testing.T) {
				reg := nextBirth(t, nil)
				tt.change(&reg)
				if len(tt.want) == 0 {
					checkAPIRegisters(t, h, reg)
				} else {
					checkAPIRejects(t, h, reg, tt.want)
				}
			})

			t.Run("page", func(t *testing.T) {
				reg := nextBirth(t, nil)
				tt.change(&reg)
				form := formValues(reg, "0")
				form.Set("parents-0-nationalInsuranceNumber", reg.Parents[0].NationalInsuranceNumber)
				form.Set("parents-0-address-uprn", reg.Parents[0].Address.UPRN)
				for n, line := range reg.Parents[0].Address.Lines {
					form.Set(fmt.Sprintf("parents-0-address-lines-%d", n), line)
				}

				status, location, page := postBirthFormLocation(t, client, h, form)

				if len(tt.want) == 0 {
					if status != http.StatusSeeOther {
						t.Fatalf("status %d, want 303; errors %q", status, errorSummary(page))
					}
					checkStoredNormalized(t, h, joinedup.EventID(strings.TrimPrefix(location, "/births/")), reg)
					return
				}
				if status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422", status)
				}
				var want []string
				for _, fe := range tt.want {
					want = append(want, `<a href="#`+formInputID(fe.Field)+`">`+html.EscapeString(fe.Message)+`</a>`)
				}
				if got := errorSummary(page); !slices.Equal(got, want) {
					t.Errorf("error summary %q, want %q", got, want)
				}
			})
		})
	}
}

// formInputID returns the id of the birth form's input that an error on
// the field at pointer links to.
func formInputID(pointer string) string {
	switch {
	case strings.HasPrefix(pointer, "/consent/services"):
		return "consent-services"
	case strings.HasSuffix(pointer, "/address/lines"):
		return strings.ReplaceAll(strings.TrimPrefix(pointer, "/"), "/", "-") + "-0"
	}
	return strings.ReplaceAll(strings.TrimPrefix(pointer, "/"), "/", "-")
}

// setAnswer puts answer into the field of reg that the birth form's input
// of that name fills.
func setAnswer(t *testing.T, reg *joinedup.BirthRegistration, input, answer string) {
	t.Helper()
	address := &reg.Parents[0].Address
	switch input {
	case "child-name-given":
		reg.Child.Name.Given = answer
	case "child-name-family":
		reg.Child.Name.Family = answer
	case "child-placeOfBirth":
		reg.Child.PlaceOfBirth = answer
	case "parents-0-address-lines-0", "parents-0-address-lines-1":
		i := int(input[len(input)-1] - '0')
		for len(address.Lines) <= i {
			address.Lines = append(address.Lines, "")
		}
		address.Lines[i] = answer
	case "parents-0-address-town":
		address.Town = answer
	default:
		t.Fatalf("setAnswer does not know the input %q", input)
	}
}

// checkAPIRegisters posts reg to the API and checks that the hub
// registers it, stored as Normalize returns it.
func checkAPIRegisters(t *testing.T, h *Hub, reg joinedup.BirthRegistration) {
	t.Helper()
	status, body := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/births", mustJSON(t, reg))
	if status != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", status, body)
	}
	var created birthResponse
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	checkStoredNormalized(t, h, created.Event.ID, reg)
}

// checkAPIRejects posts reg to the API and checks that the hub rejects it
// with 422 and exactly the field errors want.
func checkAPIRejects(t *testing.T, h *Hub, reg joinedup.BirthRegistration, want []joinedup.FieldError) {
	t.Helper()
	status, body := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/births", mustJSON(t, reg))
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", status, body)
	}
	if got := decodeProblem(t, body).Errors; !slices.Equal(got, want) {
		t.Errorf("errors %+v, want %+v", got, want)
	}
}

// checkStoredNormalized checks that the hub stored the life event id with
// the registration sent, as Normalize returns it.
func checkStoredNormalized(t *testing.T, h *Hub, id joinedup.EventID, sent joinedup.BirthRegistration) {
	t.Helper()
	event, err := h.LifeEvents.FindLifeEvent(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var stored joinedup.BirthRegistration
	if err := json.Unmarshal(event.Payload, &stored); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sent.Normalize(), stored, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stored registration differs from the one sent, normalised (-want +got):\n%s", diff)
	}
}

var errorSummaryItem = regexp.MustCompile(`<li>(<a href="#[^"]*">[^<]*</a>)</li>`)

// errorSummary returns the items of the page's error summary as HTML.
func errorSummary(page string) []string {
	var out []string
	for _, m := range errorSummaryItem.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}
