package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// birthFormValues is a complete birth form as a browser sends it, with
// only the second parent's section left blank.
func birthFormValues() url.Values {
	return url.Values{
		"child-name-given": {"Ada Grace"}, "child-name-family": {"O’Brien"}, "child-sex": {"female"},
		"child-dateOfBirth-day": {"20"}, "child-dateOfBirth-month": {"11"}, "child-dateOfBirth-year": {"2026"},
		"child-placeOfBirth": {"Leeds General Infirmary"},
		"parents-0-role":     {"mother"}, "parents-0-name-given": {"Siân"}, "parents-0-name-family": {"O’Brien"},
		"parents-0-dateOfBirth-day": {"2"}, "parents-0-dateOfBirth-month": {"3"}, "parents-0-dateOfBirth-year": {"1994"},
		"parents-0-address-lines-0": {"1 Test Street"}, "parents-0-address-lines-1": {""},
		"parents-0-address-town": {"Leeds"}, "parents-0-address-postcode": {"ls14ap"},
		"parents-1-role": {""}, "parents-1-name-given": {""}, "parents-1-address-lines-0": {""},
		"informant-name-given": {"Siân"}, "informant-name-family": {"O’Brien"},
		"informant-capacity": {"mother"}, "informant-parent": {"0"},
		"consent-services": {"child-benefit", "gp-practice"},
	}
}

// postForm sends form as a browser on the hub's own pages does.
func (e *testEnv) postForm(t *testing.T, target string, form url.Values) formResponse {
	t.Helper()
	rec := e.do(t, http.MethodPost, target, strings.NewReader(form.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"}})
	return formResponse{code: rec.Code, body: rec.Body.String(), header: rec.Header()}
}

// formResponse is a recorded response with its body read as text.
type formResponse struct {
	code   int
	body   string
	header http.Header
}

var titlePattern = regexp.MustCompile(`<title>([^<]*)</title>`)

func pageTitle(body string) string {
	m := titlePattern.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestPagesRender(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	event := env.hub.events[0]
	env.hub.setState(event.Deliveries[0].ID, joinedup.StateDeadLettered, "HTTP 503 from service")

	tests := []struct {
		target string
		status int
		title  string
		text   string
	}{
		{"/", http.StatusOK, "Tell public services about a birth once", "Register a birth"},
		{"/births/new", http.StatusOK, "Register a birth", "To start a Child Benefit claim for the child."},
		{"/track", http.StatusOK, "Track a registration", "Reference number"},
		{"/track/" + event.Reference, http.StatusOK, "Registration " + event.Reference, "Not reached"},
		{"/operator/life-events", http.StatusOK, "Life events", event.Reference},
		{"/operator/life-events?state=acted", http.StatusOK, "Life events", "No life events match"},
		{"/operator/life-events/" + string(event.ID), http.StatusOK, "Life event " + event.Reference, "Ada Grace O’Brien-Lovelace"},
		{"/operator/life-events/" + string(event.ID), http.StatusOK, "Life event " + event.Reference, " by registrar</dd>"},
		{"/operator/deliveries", http.StatusOK, "Deliveries: Dead-lettered", "HTTP 503 from service"},
		{"/operator/deliveries?state=acted", http.StatusOK, "Deliveries: Acted", "None."},
		{"/operator/life-events/evt_missing", http.StatusNotFound, "Not found", "No life event"},
		{"/no-such-page", http.StatusNotFound, "Not found", "There is no page"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			// Deliveries are the operators' pages under the default policies.
			env.signInAs(t, env.registrar)
			if strings.HasPrefix(tt.target, "/operator/deliveries") {
				env.signInAs(t, env.operator)
			}
			rec := env.do(t, http.MethodGet, tt.target, nil, nil)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			body := rec.Body.String()
			if want := tt.title + " – joinedup"; pageTitle(body) != want {
				t.Errorf("title = %q, want %q", pageTitle(body), want)
			}
			if !strings.Contains(body, tt.text) {
				t.Errorf("page lacks %q", tt.text)
			}
			if !strings.Contains(body, `<html lang="en-GB"`) {
				t.Errorf("page lacks the en-GB language")
			}
		})
	}
}

func TestBirthFormRegisters(t *testing.T) {
	env := newTestEnv(t)

	res := env.postForm(t, "/births/new", birthFormValues())

	if res.code != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303; body %s", res.code, res.body)
	}
	if len(env.hub.events) != 1 {
		t.Fatalf("%d events registered, want 1", len(env.hub.events))
	}
	event := env.hub.events[0]
	if got, want := res.header.Get("Location"), "/births/"+string(event.ID); got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}
	if got := len(event.Deliveries); got != 2 {
		t.Errorf("%d deliveries, want 2 for the two services ticked", got)
	}

	// Loading the confirmation twice, as a browser's reload does, shows
	// the same page and registers nothing more.
	for range 2 {
		rec := env.do(t, http.MethodGet, res.header.Get("Location"), nil, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("confirmation: status = %d, want 200; body %s", rec.Code, body)
		}
		if !strings.Contains(body, event.Reference) {
			t.Errorf("confirmation lacks the reference %s", event.Reference)
		}
		if receipt := env.hub.receipts[event.ID]; !strings.Contains(body, receipt.ReceiptID) {
			t.Errorf("confirmation lacks the receipt id %s", receipt.ReceiptID)
		}
		if !strings.Contains(body, `href="data:application/json;base64,`) {
			t.Errorf("confirmation lacks the JSON receipt link")
		}
		if !strings.Contains(body, "Ada Grace O’Brien (child); Siân O’Brien (mother)") {
			t.Errorf("confirmation does not name the people the consent covers")
		}
	}
	if len(env.hub.events) != 1 {
		t.Errorf("%d events registered after reloading the confirmation, want 1", len(env.hub.events))
	}
}

func TestBirthConfirmationHiddenFromOthers(t *testing.T) {
	env := newTestEnv(t)
	res := env.postForm(t, "/births/new", birthFormValues())
	target := res.header.Get("Location")
	elsewhere := &auth.Account{Username: "registrar-elsewhere", Role: policy.RoleRegistrar, Organisation: "elsewhere"}
	if err := env.server.Passwords.CreateAccount(context.Background(), elsewhere, testPassword); err != nil {
		t.Fatal(err)
	}
	resident := env.createAccount(t, "resident", policy.RoleResident)
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")

	tests := []struct {
		name    string
		account *auth.Account
		status  int
	}{
		{"registrar of another organisation", elsewhere, http.StatusNotFound},
		{"operator", env.operator, http.StatusNotFound},
		{"officer of a service told", officer, http.StatusNotFound},
		{"resident", resident, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.signInAs(t, tt.account)

			rec := env.do(t, http.MethodGet, target, nil, nil)

			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if strings.Contains(rec.Body.String(), env.hub.events[0].Reference) {
				t.Errorf("page shows the reference to %s", tt.account.Username)
			}
		})
	}

	t.Run("unknown id", func(t *testing.T) {
		env.signInAs(t, env.registrar)
		if rec := env.do(t, http.MethodGet, "/births/evt_missing", nil, nil); rec.Code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", rec.Code)
		}
	})
}

func TestBirthFormShowsErrors(t *testing.T) {
	tests := []struct {
		name    string
		change  func(url.Values)
		summary []string // messages the error summary must show
		hrefs   []string // inputs the summary must link to
		kept    []string // typed values the page must show again
		absent  []string // messages the page must not show
	}{
		{
			name: "impossible date",
			change: func(v url.Values) {
				v.Set("child-dateOfBirth-day", "29")
				v.Set("child-dateOfBirth-month", "2")
				v.Set("child-dateOfBirth-year", "2023")
			},
			summary: []string{"The child’s date of birth must be a real date"},
			hrefs:   []string{"#child-dateOfBirth-day"},
			kept:    []string{`value="29"`, `value="Ada Grace"`},
		},
		{
			name:    "part of a date",
			change:  func(v url.Values) { v.Set("parents-0-dateOfBirth-month", "") },
			summary: []string{"The date of birth of parent 1 must include a month"},
			hrefs:   []string{"#parents-0-dateOfBirth-month"},
		},
		{
			name:    "future date",
			change:  func(v url.Values) { v.Set("child-dateOfBirth-year", "2027") },
			summary: []string{"The child’s date of birth must be today or in the past"},
			hrefs:   []string{"#child-dateOfBirth-day"},
			kept:    []string{`value="2027"`},
		},
		{
			name: "missing names and bad postcode",
			change: func(v url.Values) {
				v.Set("child-name-given", "")
				v.Set("child-name-family", "")
				v.Set("parents-0-address-postcode", "NOT A CODE")
			},
			summary: []string{"Enter the name of the child", "Enter a real postcode for parent 1"},
			hrefs:   []string{"#child-name-given", "#parents-0-address-postcode"},
			kept:    []string{`value="NOT A CODE"`},
		},
		{
			name: "only the second parent entered",
			change: func(v url.Values) {
				for _, k := range []string{"role", "name-given", "name-family", "dateOfBirth-day", "dateOfBirth-month", "dateOfBirth-year", "address-lines-0", "address-town", "address-postcode"} {
					v.Set("parents-1-"+k, v.Get("parents-0-"+k))
					v.Set("parents-0-"+k, "")
				}
				v.Set("parents-1-address-postcode", "BAD")
				v.Set("informant-parent", "1")
			},
			summary: []string{"Enter a real postcode for parent 2"},
			hrefs:   []string{"#parents-1-address-postcode"},
			absent:  []string{"Enter a real postcode for parent 1"},
		},
		{
			name: "only the second parent entered, with long given names and part of a date",
			change: func(v url.Values) {
				moveToSecondParent(v)
				v.Set("parents-1-name-given", strings.Repeat("a", 201))
				v.Set("parents-1-dateOfBirth-month", "")
			},
			summary: []string{"Given names of parent 2 must be 200 characters or fewer", "The date of birth of parent 2 must include a month"},
			hrefs:   []string{"#parents-1-name-given", "#parents-1-dateOfBirth-month"},
			absent:  []string{"Given names of parent 1"},
		},
		{
			name: "only the second parent entered, with a long second address line",
			change: func(v url.Values) {
				moveToSecondParent(v)
				v.Set("parents-1-address-lines-0", "")
				v.Set("parents-1-address-lines-1", strings.Repeat("é", 201))
			},
			summary: []string{"Address line 2 of parent 2 must be 200 characters or fewer"},
			hrefs:   []string{"#parents-1-address-lines-1"},
			absent:  []string{"Address line 2 of parent 1"},
		},
		{
			name: "only the second parent entered, too young",
			change: func(v url.Values) {
				moveToSecondParent(v)
				v.Set("parents-1-dateOfBirth-year", "2020")
			},
			summary: []string{"Parent 2 must have been at least 10 years old when the child was born"},
			hrefs:   []string{"#parents-1-dateOfBirth-day"},
			absent:  []string{"Parent 1 must have been"},
		},
		{
			name: "only the second parent entered, father informant names the mother",
			change: func(v url.Values) {
				moveToSecondParent(v)
				v.Set("informant-capacity", "father")
			},
			summary: []string{"The informant’s capacity must match the role of parent 2, who is entered as the mother"},
			hrefs:   []string{"#informant-capacity"},
			absent:  []string{"the role of parent 1"},
		},
		{
			name: "the same parent in both sections",
			change: func(v url.Values) {
				for _, k := range []string{"role", "name-given", "name-family", "dateOfBirth-day", "dateOfBirth-month", "dateOfBirth-year", "address-lines-0", "address-town", "address-postcode"} {
					v.Set("parents-1-"+k, v.Get("parents-0-"+k))
				}
			},
			summary: []string{"Parent 2 has the same name and date of birth as parent 1. Enter each parent once"},
			hrefs:   []string{"#parents-1-name-given"},
		},
		{
			name:    "informant names a blank parent",
			change:  func(v url.Values) { v.Set("informant-parent", "1") },
			summary: []string{"The informant must be one of the parents entered"},
			hrefs:   []string{"#informant-parent"},
		},
		{
			name:    "National Insurance number with the QQ prefix",
			change:  func(v url.Values) { v.Set("parents-0-nationalInsuranceNumber", "QQ 12 34 56 C") },
			summary: []string{"National Insurance numbers starting QQ are never issued: enter a real one, like " + joinedup.ExampleNINO},
			hrefs:   []string{"#parents-0-nationalInsuranceNumber"},
			kept:    []string{`value="QQ 12 34 56 C"`, "For example, " + joinedup.ExampleNINO + "."},
		},
		{
			name:    "National Insurance number in the wrong format",
			change:  func(v url.Values) { v.Set("parents-0-nationalInsuranceNumber", "AB 12 34") },
			summary: []string{"Enter a National Insurance number in the correct format, like " + joinedup.ExampleNINO},
			hrefs:   []string{"#parents-0-nationalInsuranceNumber"},
		},
		{
			name:    "date of birth with a day in words",
			change:  func(v url.Values) { v.Set("child-dateOfBirth-day", "ab") },
			summary: []string{"must be a real date, with the day and year as numbers"},
			hrefs:   []string{"#child-dateOfBirth-day"},
		},
		{
			name:    "date of birth with a 2-digit year",
			change:  func(v url.Values) { v.Set("child-dateOfBirth-year", "26") },
			summary: []string{"must include a year with 4 numbers"},
			hrefs:   []string{"#child-dateOfBirth-year"},
			kept: []string{`govuk-input--width-2" id="child-dateOfBirth-day"`,
				`govuk-input--width-4 govuk-input--error" id="child-dateOfBirth-year"`},
		},
		{
			name: "names made of punctuation",
			change: func(v url.Values) {
				v.Set("child-name-given", "-")
				v.Set("child-name-family", "'")
			},
			summary: []string{"Given names of the child must include at least one letter", "Family name of the child must include at least one letter"},
			hrefs:   []string{"#child-name-given", "#child-name-family"},
		},
		{
			name:    "no informant chosen",
			change:  func(v url.Values) { v.Del("informant-parent") },
			summary: []string{"Select which parent is the informant, or select Neither"},
			hrefs:   []string{"#informant-parent"},
		},
		{
			name:    "informant choice not offered",
			change:  func(v url.Values) { v.Set("informant-parent", "x") },
			summary: []string{"Select which parent is the informant, or select Neither"},
			hrefs:   []string{"#informant-parent"},
		},
		{
			name:    "mother informant is neither parent",
			change:  func(v url.Values) { v.Set("informant-parent", "none") },
			summary: []string{"Select which parent is the informant"},
			hrefs:   []string{"#informant-parent"},
		},
		{
			name:    "father informant names the mother",
			change:  func(v url.Values) { v.Set("informant-capacity", "father") },
			summary: []string{"The informant’s capacity must match the role of parent 1, who is entered as the mother"},
			hrefs:   []string{"#informant-capacity"},
		},
		{
			name:    "service that does not take births",
			change:  func(v url.Values) { v["consent-services"] = []string{"refuse"} },
			summary: []string{"One of the services selected is no longer offered. Check the services selected and send the form again"},
			hrefs:   []string{"#consent-services"},
		},
		{
			name:    "service the form never offered",
			change:  func(v url.Values) { v["consent-services"] = []string{"child-benefit", strings.Repeat("x", 5000)} },
			summary: []string{"One of the services selected is no longer offered"},
			hrefs:   []string{"#consent-services"},
			kept:    []string{`value="child-benefit" aria-describedby="consent-services-0-hint" checked`},
		},
		{
			name:    "given names over the limit",
			change:  func(v url.Values) { v.Set("child-name-given", strings.Repeat("Ada ", 51)) },
			summary: []string{"Given names of the child must be 200 characters or fewer"},
			hrefs:   []string{"#child-name-given"},
			kept:    []string{`value="` + strings.Repeat("Ada ", 51) + `"`, `value="O’Brien"`},
		},
		{
			name:    "second address line over the limit",
			change:  func(v url.Values) { v.Set("parents-0-address-lines-1", strings.Repeat("é", 201)) },
			summary: []string{"Address line 2 of parent 1 must be 200 characters or fewer"},
			hrefs:   []string{"#parents-0-address-lines-1"},
			kept:    []string{`value="` + strings.Repeat("é", 201) + `"`, `value="1 Test Street"`},
		},
		{
			name: "second address line over the limit after a blank first line",
			change: func(v url.Values) {
				v.Set("parents-0-address-lines-0", " ")
				v.Set("parents-0-address-lines-1", strings.Repeat("é", 201))
			},
			summary: []string{"Address line 2 of parent 1 must be 200 characters or fewer"},
			hrefs:   []string{"#parents-0-address-lines-1"},
		},
		{
			name: "seven address lines",
			change: func(v url.Values) {
				for i, line := range []string{"Flat 1", "Mill House", "Unit 3", "2 Canal Wharf", "Holbeck", "Aire Valley", "West Riding"} {
					v.Set(fmt.Sprintf("parents-0-address-lines-%d", i), line)
				}
			},
			summary: []string{"The address of parent 1 must have 6 lines or fewer, before the town and postcode"},
			hrefs:   []string{"#parents-0-address-lines-0"},
			kept:    []string{`value="Flat 1"`, `value="Mill House"`, `value="West Riding"`},
		},
		{
			name:    "third address line over the limit",
			change:  func(v url.Values) { v.Set("parents-0-address-lines-2", strings.Repeat("é", 201)) },
			summary: []string{"Address line 3 of parent 1 must be 200 characters or fewer"},
			hrefs:   []string{"#parents-0-address-lines-2"},
			kept:    []string{`value="` + strings.Repeat("é", 201) + `"`, `value="1 Test Street"`},
		},
		{
			name:    "service listed twice",
			change:  func(v url.Values) { v["consent-services"] = []string{"child-benefit", "gp-practice", "child-benefit"} },
			summary: []string{"Child Benefit is listed twice"},
			hrefs:   []string{"#consent-services"},
			absent:  []string{"child-benefit&#34; is listed twice"},
		},
		{
			// An input error leaves the registration unsent, so the page
			// checks the services itself.
			name: "service listed twice with another error",
			change: func(v url.Values) {
				v["consent-services"] = []string{"child-benefit", "gp-practice", "child-benefit"}
				v.Set("informant-parent", "2")
			},
			summary: []string{"Child Benefit is listed twice", "Select which parent is the informant"},
			hrefs:   []string{"#consent-services", "#informant-parent"},
			absent:  []string{"child-benefit&#34; is listed twice"},
		},
		{
			name:    "town over the limit",
			change:  func(v url.Values) { v.Set("parents-0-address-town", strings.Repeat("L", 101)) },
			summary: []string{"Town or city of parent 1 must be 100 characters or fewer"},
			hrefs:   []string{"#parents-0-address-town"},
		},
		{
			name:    "place of birth over the limit",
			change:  func(v url.Values) { v.Set("child-placeOfBirth", strings.Repeat("L", 301)) },
			summary: []string{"Place of birth must be 300 characters or fewer"},
			hrefs:   []string{"#child-placeOfBirth"},
		},
		{
			name:    "UPRN 0",
			change:  func(v url.Values) { v.Set("parents-0-address-uprn", "0") },
			summary: []string{"The UPRN of parent 1 must be a number of up to 12 digits that does not start with 0"},
			hrefs:   []string{"#parents-0-address-uprn"},
		},
		{
			name:    "UPRN with a leading zero",
			change:  func(v url.Values) { v.Set("parents-0-address-uprn", "0100012345") },
			summary: []string{"The UPRN of parent 1 must be a number of up to 12 digits that does not start with 0"},
			hrefs:   []string{"#parents-0-address-uprn"},
		},
		{
			name:    "UPRN over the limit",
			change:  func(v url.Values) { v.Set("parents-0-address-uprn", "1234567890123") },
			summary: []string{"The UPRN of parent 1 must be a number of up to 12 digits"},
			hrefs:   []string{"#parents-0-address-uprn"},
			kept:    []string{`value="1234567890123"`},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			form := birthFormValues()
			tt.change(form)

			res := env.postForm(t, "/births/new", form)

			if res.code != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422; body %s", res.code, res.body)
			}
			if title := pageTitle(res.body); !strings.HasPrefix(title, "Error: ") {
				t.Errorf("title = %q, want the prefix \"Error: \"", title)
			}
			if !strings.Contains(res.body, `class="govuk-error-summary"`) {
				t.Fatalf("page has no error summary")
			}
			for _, msg := range tt.summary {
				if !strings.Contains(res.body, msg) {
					t.Errorf("page lacks the error %q", msg)
				}
			}
			for _, href := range tt.hrefs {
				if !strings.Contains(res.body, `<a href="`+href+`">`) {
					t.Errorf("error summary lacks a link to %s", href)
				}
				if !strings.Contains(res.body, `id="`+strings.TrimPrefix(href, "#")+`"`) {
					t.Errorf("page has no input with id %s for the summary link", href)
				}
			}
			for _, value := range tt.kept {
				if !strings.Contains(res.body, value) {
					t.Errorf("page lacks the typed %s", value)
				}
			}
			for _, msg := range tt.absent {
				if strings.Contains(res.body, msg) {
					t.Errorf("page shows the error %q", msg)
				}
			}
			if len(env.hub.events) != 0 {
				t.Errorf("%d events registered, want none", len(env.hub.events))
			}
		})
	}
}

// TestBirthFormReadsEveryAddressLine posts address lines beyond the two
// inputs of the form, numbered with gaps and up to a number far larger
// than any list, and checks that every line is stored in the order of its
// number, blank lines dropped.
func TestBirthFormReadsEveryAddressLine(t *testing.T) {
	env := newTestEnv(t)
	form := birthFormValues()
	form.Set("parents-0-address-lines-0", "Flat 1")
	form.Set("parents-0-address-lines-1", "Mill House")
	form.Set("parents-0-address-lines-2", " ")
	form.Set("parents-0-address-lines-4", "2 Canal Wharf")
	form.Set("parents-0-address-lines-10", "Holbeck")
	form.Set("parents-0-address-lines-9", "Aire Valley")
	form.Set("parents-0-address-lines-99999999999999999999", "West Riding")

	res := env.postForm(t, "/births/new", form)

	if res.code != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303; body %s", res.code, res.body)
	}
	if len(env.hub.events) != 1 {
		t.Fatalf("%d events registered, want 1", len(env.hub.events))
	}
	var stored joinedup.BirthRegistration
	if err := json.Unmarshal(env.hub.events[0].Payload, &stored); err != nil {
		t.Fatal(err)
	}
	want := []string{"Flat 1", "Mill House", "2 Canal Wharf", "Aire Valley", "Holbeck", "West Riding"}
	if got := stored.Parents[0].Address.Lines; !slices.Equal(got, want) {
		t.Errorf("address lines %q, want %q", got, want)
	}
}

// TestBirthFormBoundsAddressLines posts thousands of address lines and
// checks that the form rejects the address as the API does, and that the
// page shows again only the lines that the error needs.
func TestBirthFormBoundsAddressLines(t *testing.T) {
	env := newTestEnv(t)
	form := birthFormValues()
	for i := range 5000 {
		form.Set(fmt.Sprintf("parents-0-address-lines-%d", i), fmt.Sprintf("Line %d", i+1))
	}

	res := env.postForm(t, "/births/new", form)

	if res.code != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 422", res.code)
	}
	want := `<a href="#parents-0-address-lines-0">The address of parent 1 must have 6 lines or fewer, before the town and postcode</a>`
	if !strings.Contains(res.body, want) {
		t.Errorf("page lacks the error summary item %s", want)
	}
	// The seventh line is enough to reject the address.
	if got := strings.Count(res.body, `name="parents-0-address-lines-`); got != 7 {
		t.Errorf("page shows %d address line inputs for parent 1, want 7", got)
	}
	if !strings.Contains(res.body, `value="Line 7"`) {
		t.Errorf("page lacks the seventh line")
	}
	if len(env.hub.events) != 0 {
		t.Errorf("%d events registered, want none", len(env.hub.events))
	}
}

// TestBirthFormRejectsUnreadableBody posts bodies that cannot be read as
// the birth form, and checks that each gets one error, on an error page
// titled that the form could not be read, and registers nothing.
func TestBirthFormRejectsUnreadableBody(t *testing.T) {
	valid := birthFormValues().Encode()
	invalidUTF8 := birthFormValues()
	invalidUTF8.Set("child-name-given", "\xff\xfe")
	multipartBody, multipartType := multipartForm(t, birthFormValues())

	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		detail      string
	}{
		{"invalid UTF-8", "application/x-www-form-urlencoded", invalidUTF8.Encode(), http.StatusBadRequest,
			"The form contains text that is not valid UTF-8"},
		{"invalid UTF-8 not escaped", "application/x-www-form-urlencoded", valid + "&parents-1-name-given=\xff", http.StatusBadRequest,
			"The form contains text that is not valid UTF-8"},
		{"invalid UTF-8 in a name", "application/x-www-form-urlencoded", valid + "&%ff=1", http.StatusBadRequest,
			"The form contains text that is not valid UTF-8"},
		{"invalid percent escape", "application/x-www-form-urlencoded", "child-name-given=%zz&" + valid, http.StatusBadRequest,
			"The answers in the form could not be decoded"},
		{"plain text", "text/plain", valid, http.StatusUnsupportedMediaType,
			"The form was not sent as application/x-www-form-urlencoded"},
		{"JSON", "application/json", validBirth, http.StatusUnsupportedMediaType,
			"The form was not sent as application/x-www-form-urlencoded"},
		{"multipart form", multipartType, multipartBody, http.StatusUnsupportedMediaType,
			"The form was not sent as application/x-www-form-urlencoded"},
		{"no content type", "", valid, http.StatusUnsupportedMediaType,
			"The form was not sent as application/x-www-form-urlencoded"},
		{"character set other than UTF-8", "application/x-www-form-urlencoded; charset=iso-8859-1", valid, http.StatusUnsupportedMediaType,
			"The form was sent in the character set &#34;iso-8859-1&#34;, but the hub reads forms only in UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			header := http.Header{"Sec-Fetch-Site": {"same-origin"}}
			if tt.contentType != "" {
				header.Set("Content-Type", tt.contentType)
			}

			rec := env.do(t, http.MethodPost, "/births/new", strings.NewReader(tt.body), header)

			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, body)
			}
			if want := "The form could not be read – joinedup"; pageTitle(body) != want {
				t.Errorf("title = %q, want %q", pageTitle(body), want)
			}
			if !strings.Contains(body, tt.detail) {
				t.Errorf("page lacks the detail %q", tt.detail)
			}
			if !strings.Contains(body, "so nothing was changed. Go back to the form and send it again.") {
				t.Errorf("page does not say that nothing was changed and what to do next")
			}
			if strings.Contains(body, "JSON") {
				t.Errorf("page mentions JSON")
			}
			if strings.Contains(body, `class="govuk-error-summary"`) || strings.Contains(body, "govuk-list--bullet") {
				t.Errorf("page lists errors of fields")
			}
			if !utf8.ValidString(body) {
				t.Errorf("page is not valid UTF-8")
			}
			if len(env.hub.events) != 0 {
				t.Errorf("%d events registered, want none", len(env.hub.events))
			}
		})
	}
}

// TestSignInRejectsUnreadableBody posts a sign-in form as plain text and
// with text that is not UTF-8, and checks that each gets the error page
// of a form that could not be read.
func TestSignInRejectsUnreadableBody(t *testing.T) {
	env := newTestEnv(t)
	credentials := url.Values{"username": {"registrar"}, "password": {testPassword}}.Encode()
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"plain text", "text/plain", credentials, http.StatusUnsupportedMediaType},
		{"invalid UTF-8", "application/x-www-form-urlencoded", credentials + "&next=%ff", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{"Content-Type": {tt.contentType}, "Sec-Fetch-Site": {"same-origin"}}

			rec := env.do(t, http.MethodPost, "/sign-in", strings.NewReader(tt.body), header)

			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got, want := pageTitle(rec.Body.String()), "The form could not be read – joinedup"; got != want {
				t.Errorf("title = %q, want %q", got, want)
			}
			if rec.Header().Get("Set-Cookie") != "" {
				t.Errorf("response sets a cookie: %s", rec.Header().Get("Set-Cookie"))
			}
			if !strings.Contains(rec.Body.String(), `href="/sign-in">Go back to the form</a>`) {
				t.Errorf("error page does not link back to the sign-in form:\n%s", rec.Body)
			}
		})
	}
}

// TestFormPage checks which page the error page of an unreadable form
// links back to.
func TestFormPage(t *testing.T) {
	env := newTestEnv(t)
	for path, want := range map[string]string{
		"/births/new":                            "/births/new",
		"/residents/res_1/break-glass":           "/residents/res_1",
		"/residents/res_1/consent":               "/residents/res_1",
		"/operator/life-events/evt_1/consent":    "/operator/life-events/evt_1",
		"/dpo/break-glass/bg_1/review":           "/dpo/break-glass",
		"/operator/deliveries/dlv_1/replay":      "/operator/deliveries",
		"/operator/persons/reviews/rev_1":        "/operator/persons/reviews",
		"/sign-out":                              "",
		"/api/v1/life-events/evt_1/consent/x/y/": "",
	} {
		if got := env.server.formPage(path); got != want {
			t.Errorf("formPage(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestBirthFormAcceptsUTF8CharacterSet checks that a form sent with the
// character set named as UTF-8, in any case, is read.
func TestBirthFormAcceptsUTF8CharacterSet(t *testing.T) {
	env := newTestEnv(t)
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=UTF-8"}, "Sec-Fetch-Site": {"same-origin"}}

	rec := env.do(t, http.MethodPost, "/births/new", strings.NewReader(birthFormValues().Encode()), header)

	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303; body %s", rec.Code, rec.Body)
	}
}

// multipartForm returns form encoded as multipart/form-data, and the
// Content-Type header that names its boundary.
func multipartForm(t *testing.T, form url.Values) (body, contentType string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, values := range form {
		for _, value := range values {
			if err := mw.WriteField(name, value); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), mw.FormDataContentType()
}

// moveToSecondParent moves the answers of the form's Parent 1 section to
// its Parent 2 section, leaving Parent 1 blank, and makes Parent 2 the
// informant.
func moveToSecondParent(v url.Values) {
	const at = "parents-0-"
	for name := range v {
		if rest, ok := strings.CutPrefix(name, at); ok {
			v["parents-1-"+rest] = v[name]
			v.Set(name, "")
		}
	}
	v.Set("informant-parent", "1")
}

func TestTrackForm(t *testing.T) {
	env := newTestEnv(t)

	rec := env.do(t, http.MethodGet, "/track?reference=+ju-7k3m-9qxd+", nil, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/track/JU-7K3M-9QXD" {
		t.Errorf("got %d to %q, want 303 to /track/JU-7K3M-9QXD", rec.Code, rec.Header().Get("Location"))
	}

	rec = env.do(t, http.MethodGet, "/track?reference=ju-7k3m+9qxd", nil, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/track/JU-7K3M-9QXD" {
		t.Errorf("reference typed with a space: got %d to %q, want 303 to /track/JU-7K3M-9QXD", rec.Code, rec.Header().Get("Location"))
	}

	rec = env.do(t, http.MethodGet, "/track?reference=", nil, nil)
	if rec.Code != http.StatusUnprocessableEntity || !strings.HasPrefix(pageTitle(rec.Body.String()), "Error: ") {
		t.Errorf("empty reference: status %d, title %q, want 422 with an error title", rec.Code, pageTitle(rec.Body.String()))
	}

	rec = env.do(t, http.MethodGet, "/track/JU-0000-0000", nil, nil)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "No registration has the reference number JU-0000-0000") {
		t.Errorf("unknown reference: status %d, want 404 naming the reference", rec.Code)
	}
}

// getWithReplayed sends a GET of target with the session and the cookie
// that res, the response to a Replay button, set, as a browser would.
func (e *testEnv) getWithReplayed(t *testing.T, target string, res formResponse) *httptest.ResponseRecorder {
	t.Helper()
	var cookies []string
	if e.session != nil {
		cookies = append(cookies, e.session.Name+"="+e.session.Value)
	}
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == replayedCookie {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
	}
	return e.do(t, http.MethodGet, target, nil, http.Header{"Cookie": {strings.Join(cookies, "; ")}})
}

func TestReplayForm(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	d := env.hub.events[0].Deliveries[0]
	env.hub.setState(d.ID, joinedup.StateDeadLettered, "timeout")
	env.signInAs(t, env.operator)

	res := env.postForm(t, "/operator/deliveries/"+string(d.ID)+"/replay", url.Values{"state": {"dead-lettered"}})

	if want := "/operator/deliveries?replayed=" + string(d.ID) + "&state=dead-lettered"; res.code != http.StatusSeeOther || res.header.Get("Location") != want {
		t.Errorf("got %d to %q, want 303 to %q", res.code, res.header.Get("Location"), want)
	}
	// The link alone, without the browser's record of the replay, does
	// not confirm it, so a link cannot make the page claim one.
	if rec := env.do(t, http.MethodGet, res.header.Get("Location"), nil, nil); strings.Contains(rec.Body.String(), "govuk-notification-banner--success") {
		t.Errorf("list confirms a replay to a browser that did not make it")
	}
	rec := env.getWithReplayed(t, res.header.Get("Location"), res)
	if !strings.Contains(rec.Body.String(), "govuk-notification-banner--success") {
		t.Errorf("list after replay has no success banner")
	}
	if cookies := (&http.Response{Header: rec.Header()}).Cookies(); len(cookies) != 1 || cookies[0].Name != replayedCookie || cookies[0].MaxAge >= 0 {
		t.Errorf("list after replay sets cookies %v, want the record of the replay cleared", cookies)
	}

	res = env.postForm(t, "/operator/deliveries/"+string(d.ID)+"/replay", url.Values{"state": {"dead-lettered"}})
	if res.code != http.StatusConflict {
		t.Errorf("replay of a pending delivery: status %d, want 409", res.code)
	}
}

// TestReplayReturnsToPage replays deliveries from a later page of the
// deliveries list and from a life event's page. Each Replay button must
// return to the page it was on. A replay of the last row on the last page
// must show the page that is now last. A back address naming another
// page or site must not be followed.
func TestReplayReturnsToPage(t *testing.T) {
	env := newTestEnv(t)
	for range 3 {
		env.postJSON(t, "/api/v1/births", validBirth)
	}
	var dead []joinedup.DeliveryID
	for _, ev := range env.hub.events {
		dead = append(dead, ev.Deliveries[0].ID)
		env.hub.setState(ev.Deliveries[0].ID, joinedup.StateDeadLettered, "timeout")
	}
	env.signInAs(t, env.operator)

	// The second page of two rows holds the third delivery alone.
	page := "/operator/deliveries?limit=2&offset=2&state=dead-lettered"
	rec := env.do(t, http.MethodGet, page, nil, nil)
	if want := `name="back" value="` + html.EscapeString(page) + `"`; !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("the Replay button on %s does not return to it: no %s", page, want)
	}
	res := env.postForm(t, "/operator/deliveries/"+string(dead[2])+"/replay", url.Values{"state": {"dead-lettered"}, "back": {page}})
	want := "/operator/deliveries?limit=2&offset=2&replayed=" + string(dead[2]) + "&state=dead-lettered"
	if res.code != http.StatusSeeOther || res.header.Get("Location") != want {
		t.Fatalf("replay from the second page: got %d to %q, want 303 to %q", res.code, res.header.Get("Location"), want)
	}
	// The list now has two rows, so the second page would be empty, and
	// the first page is shown instead.
	rec = env.getWithReplayed(t, want, res)
	body := rec.Body.String()
	if !strings.Contains(body, "Delivery "+string(dead[2])+" will be sent again.") {
		t.Errorf("the page after the replay does not confirm it")
	}
	if !strings.Contains(body, "showing 1 to 2 of 2") {
		t.Errorf("the page after replaying the last row is not the page that is now last:\n%s", body)
	}

	// A replay from a life event's page returns to that page.
	event := "/operator/life-events/" + string(env.hub.events[0].ID)
	rec = env.do(t, http.MethodGet, event, nil, nil)
	if want := `name="back" value="` + event + `"`; !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("the Replay button on the life event's page does not return to it: no %s", want)
	}
	res = env.postForm(t, "/operator/deliveries/"+string(dead[0])+"/replay", url.Values{"state": {"dead-lettered"}, "back": {event}})
	if want := event + "?replayed=" + string(dead[0]); res.code != http.StatusSeeOther || res.header.Get("Location") != want {
		t.Fatalf("replay from the life event's page: got %d to %q, want 303 to %q", res.code, res.header.Get("Location"), want)
	}
	if rec := env.getWithReplayed(t, res.header.Get("Location"), res); !strings.Contains(rec.Body.String(), "Delivery "+string(dead[0])+" will be sent again.") {
		t.Errorf("the life event's page does not confirm the replay")
	}

	// A back address that is not one of those pages is not followed.
	// A parameter that the list does not take is left out of the page
	// returned to, which would otherwise refuse it.
	env.hub.setState(dead[1], joinedup.StateDeadLettered, "timeout")
	res = env.postForm(t, "/operator/deliveries/"+string(dead[1])+"/replay", url.Values{"state": {"dead-lettered"}, "back": {"/operator/deliveries?state=any&bogus=1&limit=5"}})
	if want := "/operator/deliveries?limit=5&replayed=" + string(dead[1]) + "&state=any"; res.code != http.StatusSeeOther || res.header.Get("Location") != want {
		t.Errorf("replay with an unknown parameter in back: got %d to %q, want 303 to %q", res.code, res.header.Get("Location"), want)
	}

	for _, back := range []string{"https://example.com/operator/deliveries", "//example.com/operator/deliveries", "/sign-out",
		"/operator/deliveries/../../sign-out", "/operator/life-events/x/y", "/operator/life-events/x?next=/", "/operator/deliveries#top"} {
		t.Run(back, func(t *testing.T) {
			env.hub.setState(dead[1], joinedup.StateDeadLettered, "timeout")
			res := env.postForm(t, "/operator/deliveries/"+string(dead[1])+"/replay", url.Values{"state": {"dead-lettered"}, "back": {back}})
			want := "/operator/deliveries?replayed=" + string(dead[1]) + "&state=dead-lettered"
			if res.code != http.StatusSeeOther || res.header.Get("Location") != want {
				t.Errorf("got %d to %q, want 303 to %q", res.code, res.header.Get("Location"), want)
			}
		})
	}

	// The list confirms a replay only of a value that could be a
	// delivery's id, so a link cannot make it state something else.
	rec = env.do(t, http.MethodGet, "/operator/deliveries?replayed="+url.QueryEscape("everything, at once"), nil, nil)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "will be sent again") {
		t.Errorf("status %d; the list confirms a replay of a value that is not a delivery id", rec.Code)
	}
}

func TestPageTimesInLondon(t *testing.T) {
	tests := []struct {
		name string
		utc  string
		want string
	}{
		{"winter, GMT", "2026-12-04T20:30:00Z", "4 December 2026 at 8:30pm"},
		{"summer, BST", "2026-07-01T23:15:00Z", "2 July 2026 at 12:15am"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := time.Parse(time.RFC3339, tt.utc)
			if err != nil {
				t.Fatalf("parse %s: %v", tt.utc, err)
			}
			if got := londonTime(ts); got != tt.want {
				t.Errorf("londonTime(%s) = %q, want %q", tt.utc, got, tt.want)
			}
		})
	}
}

func TestBirthFormLabels(t *testing.T) {
	env := newTestEnv(t)

	body := env.do(t, http.MethodGet, "/births/new", nil, nil).Body.String()

	for _, want := range []string{
		`<span class="govuk-visually-hidden">Child: </span>Given names`,
		`<span class="govuk-visually-hidden">Parent 2: </span>Given names`,
		`<span class="govuk-visually-hidden">Informant: </span>Capacity`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks the label %q", want)
		}
	}
	if strings.Contains(body, " checked") {
		t.Errorf("a blank form has a checked option, want none chosen in advance")
	}
}

func TestCountAgreesWithNoun(t *testing.T) {
	count := templateFuncs["count"].(func(int, string, string) string)
	for n, want := range map[int]string{0: "0 residents", 1: "1 resident", 2: "2 residents"} {
		if got := count(n, "resident", "residents"); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGroupThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 65536: "65,536", 1 << 20: "1,048,576", 1234567890: "1,234,567,890"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDecisionLabels(t *testing.T) {
	for decision, want := range map[string]string{
		joinedup.ConsentGiven:       "Given",
		joinedup.ConsentRefused:     "Refused",
		joinedup.ConsentWithdrawn:   "Withdrawn",
		joinedup.ConsentNotRequired: "Told by law",
		joinedup.ConsentNotAsked:    "Not asked: the informant is not a parent",
		"unknown-code":              "unknown-code",
	} {
		if got := decisionLabel(decision); got != want {
			t.Errorf("decisionLabel(%q) = %q, want %q", decision, got, want)
		}
	}
}

func TestLifeEventPageLabelsDecisions(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	event := env.hub.events[0]
	env.signInAs(t, env.registrar)

	rec := env.do(t, http.MethodGet, "/operator/life-events/"+string(event.ID), nil, nil)

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if len(event.Consent.Decisions) == 0 {
		t.Fatal("the life event has no consent decisions to show")
	}
	for _, d := range event.Consent.Decisions {
		if !strings.Contains(body, `">`+decisionLabel(d.Decision)+`</strong>`) {
			t.Errorf("page lacks the tag %q for %s", decisionLabel(d.Decision), d.Service)
		}
		if strings.Contains(body, `">`+d.Decision+`</strong>`) {
			t.Errorf("page shows the decision code %q on a tag", d.Decision)
		}
	}
}

func TestDateExampleInFuture(t *testing.T) {
	example := templateFuncs["dateExample"].(func(int) string)(3)
	var d joinedup.Date
	var month int
	if _, err := fmt.Sscanf(example, "%d %d %d", &d.Day, &month, &d.Year); err != nil {
		t.Fatalf("dateExample(3) = %q, want day month year: %v", example, err)
	}
	d.Month = time.Month(month)
	if !d.After(joinedup.Today(time.Now())) {
		t.Errorf("dateExample(3) = %q, want a date after today", example)
	}
}

func TestErrorPageListsFieldErrors(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)

	rec := env.do(t, http.MethodGet, "/operator/deliveries?state=bogus", nil, nil)

	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status = %d, want 422", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, "Choose a delivery state: ") {
		t.Errorf("error page does not say which states to choose from:\n%s", body)
	}
}

func TestParseDateAcceptsMonthNames(t *testing.T) {
	for _, month := range []string{"11", "November", "nov", "NOV", "novem"} {
		got, msg, _ := parseDate(dateValue{Day: "20", Month: month, Year: "2026"}, "Date of birth")
		if msg != "" || got.String() != "2026-11-20" {
			t.Errorf("month %q: got %s, %q; want 2026-11-20", month, got, msg)
		}
	}
	for _, month := range []string{"no", "novembre", "13"} {
		if _, msg, _ := parseDate(dateValue{Day: "20", Month: month, Year: "2026"}, "Date of birth"); msg == "" {
			t.Errorf("month %q was accepted", month)
		}
	}
	if _, msg, part := parseDate(dateValue{Day: "20", Month: "Marchh", Year: "2026"}, "Date of birth"); !strings.Contains(msg, "month as a number or a name") || part != "month" {
		t.Errorf("month %q: message %q, want one about the month", "Marchh", msg)
	}
}

func TestMergeErrorsInFormOrder(t *testing.T) {
	input := []joinedup.FieldError{
		{Field: "/informant/parent"}, {Field: "/parents/0/dateOfBirth"}, {Field: "/child/dateOfBirth"},
	}
	domain := []joinedup.FieldError{
		{Field: "/child/name/given"}, {Field: "/child/dateOfBirth"}, {Field: "/consent/services"},
		{Field: "/parents/1/role"}, {Field: "/parents/0/address/postcode"}, {Field: "/parents/0/role"}, {Field: "/informant/capacity"},
	}
	var got []string
	for _, fe := range mergeErrors(input, domain) {
		got = append(got, fe.Field)
	}
	want := []string{"/child/name/given", "/child/dateOfBirth", "/parents/0/role", "/parents/0/dateOfBirth",
		"/parents/0/address/postcode", "/parents/1/role", "/informant/capacity", "/informant/parent", "/consent/services"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %q\nwant    %q", got, want)
	}
}

func TestShownAnswerCutsLongAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   string
		cut    bool
	}{
		{"short", "Leeds", "Leeds", false},
		{"at the limit", strings.Repeat("é", maxShownAnswerLength), strings.Repeat("é", maxShownAnswerLength), false},
		{"one over", strings.Repeat("é", maxShownAnswerLength+1), strings.Repeat("é", maxShownAnswerLength), true},
		{"4-byte letters", strings.Repeat("𠀀", 3*maxShownAnswerLength), strings.Repeat("𠀀", maxShownAnswerLength), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := shownAnswer(tt.answer)
			if got != tt.want {
				t.Errorf("shown %d characters, want %d", utf8.RuneCountInString(got), utf8.RuneCountInString(tt.want))
			}
			if cut != tt.cut {
				t.Errorf("cut = %t, want %t", cut, tt.cut)
			}
		})
	}
}

// TestShownAnswerAboveEveryLimit checks that an answer cut for showing
// again is longer than its field's limit, so that sending the form again
// unchanged is rejected unless much of the answer is white space or
// accents typed as separate characters, which the limit does not count.
func TestShownAnswerAboveEveryLimit(t *testing.T) {
	for name, limit := range map[string]int{
		"name":         joinedup.MaxNameLength,
		"place":        joinedup.MaxPlaceLength,
		"address line": joinedup.MaxAddressLineLength,
		"town":         joinedup.MaxTownLength,
	} {
		if maxShownAnswerLength <= limit {
			t.Errorf("maxShownAnswerLength = %d, want more than the %s limit %d", maxShownAnswerLength, name, limit)
		}
	}
}

// TestBirthFormRoleAloneIsBlank checks that a Parent 2 section in which
// only a role was chosen, which a radio button cannot take back, counts
// as left blank, so that one parent can still be registered.
func TestBirthFormRoleAloneIsBlank(t *testing.T) {
	env := newTestEnv(t)
	form := birthFormValues()
	form.Set("parents-1-role", "father")
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"}}

	rec := env.do(t, http.MethodPost, "/births/new", strings.NewReader(form.Encode()), header)

	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303; body %s", rec.Code, rec.Body)
	}
	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(env.hub.events[0].Payload, &reg); err != nil {
		t.Fatal(err)
	}
	if len(reg.Parents) != 1 || reg.Parents[0].Role != "mother" {
		t.Errorf("parents = %+v, want the mother alone", reg.Parents)
	}
}

func TestConsentAsked(t *testing.T) {
	decisions := func(ds ...string) joinedup.Consent {
		var c joinedup.Consent
		for _, d := range ds {
			c.Decisions = append(c.Decisions, joinedup.ConsentDecision{Decision: d})
		}
		return c
	}
	for _, tt := range []struct {
		consent joinedup.Consent
		want    bool
	}{
		{decisions(joinedup.ConsentGiven, joinedup.ConsentNotRequired), true},
		{decisions(joinedup.ConsentRefused), true},
		{decisions(joinedup.ConsentWithdrawn), true},
		{decisions(joinedup.ConsentNotAsked, joinedup.ConsentNotRequired), false},
		{decisions(), false},
	} {
		if got := consentAsked(tt.consent); got != tt.want {
			t.Errorf("consentAsked(%+v) = %v, want %v", tt.consent.Decisions, got, tt.want)
		}
	}
	if got := recordDate("1989-02-03"); got != "3 February 1989" {
		t.Errorf("recordDate of a date = %q, want 3 February 1989", got)
	}
	if got := recordDate("1989-02"); got != "1989-02" {
		t.Errorf("recordDate of a partial date = %q, want it as it is", got)
	}
}

// TestPublicStateLabelWithdrawn checks that a withdrawn delivery is not
// said to be unsent, because an attempt may have reached the service.
func TestPublicStateLabelWithdrawn(t *testing.T) {
	got := publicStateLabel(joinedup.StateWithdrawn)
	if got != "Stopped: consent withdrawn" {
		t.Errorf("publicStateLabel(withdrawn) = %q, want %q", got, "Stopped: consent withdrawn")
	}
}

// TestDeliveriesPagePaging checks the caption and paging links of the
// deliveries page, a page past the end of the list, and that invalid
// paging input gets 422 naming the parameter.
func TestDeliveriesPagePaging(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 3)
	env.signInAs(t, env.operator)

	body := env.do(t, http.MethodGet, "/operator/deliveries?state=pending&limit=2", nil, nil).Body.String()
	if want := "Deliveries that are pending, oldest first: showing 1 to 2 of 3"; !strings.Contains(body, want) {
		t.Errorf("first page lacks %q", want)
	}
	next := pageLink(body, "next")
	if !strings.HasPrefix(next, "/operator/deliveries?after=") || !strings.HasSuffix(next, "&limit=2&state=pending") {
		t.Errorf("first page's Next link is %q, want one after a cursor with the limit and state", next)
	}
	if pageLink(body, "prev") != "" {
		t.Errorf("first page has a Previous link")
	}
	if third := env.hub.events[2].Reference; strings.Contains(body, third) {
		t.Errorf("first page shows the third life event %s", third)
	}

	body = env.do(t, http.MethodGet, next, nil, nil).Body.String()
	if want := "Deliveries that are pending, oldest first: showing 3 to 3 of 3"; !strings.Contains(body, want) {
		t.Errorf("second page lacks %q", want)
	}
	if third := env.hub.events[2].Reference; !strings.Contains(body, third) {
		t.Errorf("second page lacks the third life event %s", third)
	}
	if pageLink(body, "next") != "" {
		t.Errorf("second page has a Next link")
	}
	previous := pageLink(body, "prev")
	if !strings.HasPrefix(previous, "/operator/deliveries?before=") {
		t.Fatalf("second page's Previous link is %q, want one before a cursor", previous)
	}
	body = env.do(t, http.MethodGet, previous, nil, nil).Body.String()
	if want := "Deliveries that are pending, oldest first: showing 1 to 2 of 3"; !strings.Contains(body, want) {
		t.Errorf("the page before the second lacks %q", want)
	}

	body = env.do(t, http.MethodGet, "/operator/deliveries?state=any&offset=50", nil, nil).Body.String()
	if want := "Deliveries in any state: there are none on this page"; !strings.Contains(body, want) {
		t.Errorf("page past the end lacks %q", want)
	}
	if want := `The list has 3 deliveries. <a class="govuk-link" href="/operator/deliveries?limit=50&amp;state=any">Go to the first page</a>`; !strings.Contains(body, want) {
		t.Errorf("page past the end lacks %q", want)
	}

	for query, want := range map[string]string{
		"state=failed&offset=-1": "Offset must be a whole number, 0 or more.",
		"state=failed&offset=x":  "Offset must be a whole number, 0 or more.",
		"state=failed&limit=101": "Limit must be a whole number from 1 to 100.",
		"state=failed&after=x":   "The after cursor is not a valid cursor.",
		"state=failed&before=" + joinedup.DeliveryCursor{ID: "dlv_x"}.Token(deliveriesList) + "&offset=1": "Give at most one of offset, after and before",
	} {
		rec := env.do(t, http.MethodGet, "/operator/deliveries?"+query, nil, nil)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", query, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: page lacks %q", query, want)
		}
	}
}

// TestDeliveriesPageFiltersByService checks that the deliveries page
// lists only the deliveries to the service in its query. Its paging
// links, its first-page link and a Replay button's return address keep
// the service. An unknown service or query parameter gets 422.
func TestDeliveriesPageFiltersByService(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 3)
	// Each birth has a dead-lettered delivery to Child Benefit and one to
	// the GP practice.
	var benefit, gp []joinedup.DeliveryID
	env.hub.mu.Lock()
	for _, ev := range env.hub.events {
		first := ev.Deliveries[0]
		first.State = joinedup.StateDeadLettered
		other := &joinedup.Delivery{ID: first.ID + "-gp", EventID: ev.ID, Service: "gp-practice", Kind: joinedup.EventBirthRegistered,
			State: joinedup.StateDeadLettered, CreatedAt: first.CreatedAt.Add(time.Second)}
		ev.Deliveries = append(ev.Deliveries, other)
		benefit, gp = append(benefit, first.ID), append(gp, other.ID)
	}
	env.hub.mu.Unlock()
	env.signInAs(t, env.operator)
	replayForm := func(id joinedup.DeliveryID) string { return `action="/operator/deliveries/` + string(id) + `/replay"` }

	rec := env.do(t, http.MethodGet, "/operator/deliveries?service=child-benefit&state=any&limit=2", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if got, want := pageTitle(body), "Deliveries to Child Benefit: Any state – joinedup"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	if want := "Deliveries to Child Benefit in any state, oldest first: showing 1 to 2 of 3"; !strings.Contains(body, want) {
		t.Errorf("first page lacks the caption %q", want)
	}
	if !strings.Contains(body, `<option value="child-benefit" selected>Child Benefit</option>`) {
		t.Errorf("the service filter does not show Child Benefit chosen")
	}
	for _, id := range benefit[:2] {
		if !strings.Contains(body, replayForm(id)) {
			t.Errorf("first page lacks the delivery %s to Child Benefit", id)
		}
	}
	for _, id := range gp {
		if strings.Contains(body, replayForm(id)) {
			t.Errorf("first page lists the delivery %s to the GP practice", id)
		}
	}
	if want := `<input type="hidden" name="back" value="/operator/deliveries?limit=2&amp;service=child-benefit&amp;state=any">`; !strings.Contains(body, want) {
		t.Errorf("first page's Replay buttons lack the return address %s", want)
	}

	next := pageLink(body, "next")
	if !strings.HasPrefix(next, "/operator/deliveries?after=") || !strings.HasSuffix(next, "&limit=2&service=child-benefit&state=any") {
		t.Fatalf("first page's Next link is %q, want one with the service", next)
	}
	body = env.do(t, http.MethodGet, next, nil, nil).Body.String()
	if want := "Deliveries to Child Benefit in any state, oldest first: showing 3 to 3 of 3"; !strings.Contains(body, want) {
		t.Errorf("second page lacks the caption %q", want)
	}
	if !strings.Contains(body, replayForm(benefit[2])) {
		t.Errorf("second page lacks the third delivery to Child Benefit")
	}
	if previous := pageLink(body, "prev"); !strings.HasPrefix(previous, "/operator/deliveries?before=") || !strings.HasSuffix(previous, "&limit=2&service=child-benefit&state=any") {
		t.Errorf("second page's Previous link is %q, want one with the service", previous)
	}

	back := "/operator/deliveries?" + strings.TrimPrefix(next, "/operator/deliveries?")
	res := env.postForm(t, "/operator/deliveries/"+string(benefit[2])+"/replay", url.Values{"state": {"any"}, "back": {back}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("replay: status %d, want 303; body %s", res.code, res.body)
	}
	if location, _ := url.Parse(res.header.Get("Location")); location.Query().Get("service") != "child-benefit" || location.Query().Get("replayed") != string(benefit[2]) {
		t.Errorf("replay redirects to %q, want the page with the service and the replayed delivery", res.header.Get("Location"))
	}

	body = env.do(t, http.MethodGet, "/operator/deliveries?service=child-benefit&state=any&offset=50", nil, nil).Body.String()
	if want := `href="/operator/deliveries?limit=50&amp;service=child-benefit&amp;state=any">Go to the first page</a>`; !strings.Contains(body, want) {
		t.Errorf("page past the end lacks the first-page link %s", want)
	}

	rec = env.do(t, http.MethodGet, "/operator/deliveries?state=any&replayed="+string(benefit[0]), nil, nil)
	if rec.Code != http.StatusOK {
		t.Errorf("replayed parameter: status %d, want 200", rec.Code)
	}
	for query, want := range map[string]string{
		"service=nope&state=any":    "There is no service with id &#34;nope&#34;. Go back to the deliveries page and choose a service from its list.",
		"foo=bar":                   "This list takes no query parameter &#34;foo&#34;.",
		"state=any&services=refuse": "This list takes no query parameter &#34;services&#34;.",
	} {
		rec := env.do(t, http.MethodGet, "/operator/deliveries?"+query, nil, nil)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", query, rec.Code)
		}
		if got, want := pageTitle(rec.Body.String()), "There is a problem with the information sent – joinedup"; got != want {
			t.Errorf("%s: title = %q, want %q", query, got, want)
		}
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: page lacks %q:\n%s", query, want, rec.Body)
		}
	}

	// A service officer may list only their own service's deliveries.
	env.signInAs(t, env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit"))
	if rec := env.do(t, http.MethodGet, "/operator/deliveries?service=gp-practice&state=any", nil, nil); rec.Code != http.StatusForbidden {
		t.Errorf("officer's list of the GP practice: status %d, want 403", rec.Code)
	}
	body = env.do(t, http.MethodGet, "/operator/deliveries?state=any", nil, nil).Body.String()
	if !strings.Contains(body, `<option value="child-benefit">Child Benefit</option>`) || strings.Contains(body, `value="gp-practice"`) {
		t.Errorf("officer's service filter does not offer Child Benefit alone")
	}
}

// TestOfficerDeliveryListFull checks that a service officer's list of
// deliveries, without a service named, holds only their service's
// deliveries: its pages are full and its total counts only those.
func TestOfficerDeliveryListFull(t *testing.T) {
	env := newTestEnv(t)
	toBoth := strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["child-benefit", "gp-practice"]`, 1)
	for range 4 {
		if rec := env.postJSON(t, "/api/v1/births", toBoth); rec.Code != http.StatusCreated {
			t.Fatalf("register birth: status %d; body %s", rec.Code, rec.Body)
		}
	}
	env.signInAs(t, env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit"))

	rec := env.do(t, http.MethodGet, "/api/v1/deliveries?limit=2", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	var list struct {
		Items []joinedup.Delivery `json:"items"`
		Total int                 `json:"total"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Total != 4 {
		t.Errorf("officer's list: %d items and a total of %d, want 2 and 4, the Child Benefit deliveries", len(list.Items), list.Total)
	}
	for _, d := range list.Items {
		if d.Service != "child-benefit" {
			t.Errorf("officer's list holds delivery %s to %s", d.ID, d.Service)
		}
	}

	body := env.do(t, http.MethodGet, "/operator/deliveries?state=any&limit=2", nil, nil).Body.String()
	if want := "showing 1 to 2 of 4"; !strings.Contains(body, want) {
		t.Errorf("officer's deliveries page lacks %q", want)
	}
}

// hrefRelPattern matches a link with a rel attribute, such as the Next
// link of a paged list.
var hrefRelPattern = regexp.MustCompile(`href="([^"]*)" rel="([a-z]+)"`)

// pageLink returns the address of the link in body whose rel is rel,
// such as "next", or "" if it has none.
func pageLink(body, rel string) string {
	for _, m := range hrefRelPattern.FindAllStringSubmatch(body, -1) {
		if m[2] == rel {
			return html.UnescapeString(m[1])
		}
	}
	return ""
}

// TestNoticesPaging checks that a service officer can page through the
// notices of their service, newest first, on the page and in the API, and
// that invalid paging input gets 422 naming the parameter.
func TestNoticesPaging(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 3)
	env.signInAs(t, env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit"))
	oldest, newest := env.hub.events[0].Reference, env.hub.events[2].Reference

	body := env.do(t, http.MethodGet, "/services/child-benefit/notices?limit=2", nil, nil).Body.String()
	if want := "Received, newest first: showing 1 to 2 of 3"; !strings.Contains(body, want) {
		t.Errorf("first page lacks %q", want)
	}
	if want := "newest first, 2 to a page."; !strings.Contains(body, want) {
		t.Errorf("first page lacks %q", want)
	}
	if !strings.Contains(body, newest) {
		t.Errorf("first page lacks the newest life event %s", newest)
	}
	if strings.Contains(body, oldest) {
		t.Errorf("first page shows the oldest life event %s", oldest)
	}
	next := pageLink(body, "next")
	if !strings.HasPrefix(next, "/services/child-benefit/notices?after=") || !strings.HasSuffix(next, "&limit=2") {
		t.Errorf("first page's Next link is %q, want one after a cursor with the limit", next)
	}

	body = env.do(t, http.MethodGet, next, nil, nil).Body.String()
	if want := "Received, newest first: showing 3 to 3 of 3"; !strings.Contains(body, want) {
		t.Errorf("second page lacks %q", want)
	}
	if !strings.Contains(body, oldest) {
		t.Errorf("second page lacks the oldest life event %s", oldest)
	}
	if strings.Contains(body, `rel="next"`) {
		t.Errorf("second page has a Next link")
	}

	rec := env.do(t, http.MethodGet, "/api/v1/services/child-benefit/notices?offset=2&limit=2", nil, nil)
	var list deliveryList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("API: status %d, err %v; body %s", rec.Code, err, rec.Body)
	}
	if list.Total != 3 || list.Offset != 2 || list.Limit != 2 {
		t.Errorf("API: total %d, offset %d, limit %d; want 3, 2, 2", list.Total, list.Offset, list.Limit)
	}
	if want := env.hub.events[0].Deliveries[0].ID; len(list.Items) != 1 || list.Items[0].ID != want {
		t.Errorf("API: items %+v, want only the oldest delivery %s", list.Items, want)
	}

	// The API's cursors lead from the first page to the second.
	rec = env.do(t, http.MethodGet, "/api/v1/services/child-benefit/notices?limit=2", nil, nil)
	list = deliveryList{}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("API: status %d, err %v; body %s", rec.Code, err, rec.Body)
	}
	if list.Next == "" || list.Previous != "" {
		t.Fatalf("API first page: next %q and previous %q, want only a next cursor", list.Next, list.Previous)
	}
	rec = env.do(t, http.MethodGet, "/api/v1/services/child-benefit/notices?limit=2&after="+url.QueryEscape(list.Next), nil, nil)
	list = deliveryList{}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("API: status %d, err %v; body %s", rec.Code, err, rec.Body)
	}
	if want := env.hub.events[0].Deliveries[0].ID; len(list.Items) != 1 || list.Items[0].ID != want || list.Offset != 2 {
		t.Errorf("API page after the first: offset %d, items %+v, want offset 2 and only the oldest delivery %s", list.Offset, list.Items, want)
	}
	if list.Next != "" || list.Previous == "" {
		t.Errorf("API last page: next %q and previous %q, want only a previous cursor", list.Next, list.Previous)
	}

	p := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/services/child-benefit/notices?offset=-1&limit=101", nil, nil), http.StatusUnprocessableEntity)
	if got, want := fieldsOf(p), []string{"/offset", "/limit"}; !slices.Equal(got, want) {
		t.Errorf("API fields = %q, want %q", got, want)
	}
	rec = env.do(t, http.MethodGet, "/services/child-benefit/notices?offset=x", nil, nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("page with offset x: status %d, want 422", rec.Code)
	}
	if want := "Offset must be a whole number, 0 or more."; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("page with offset x lacks %q", want)
	}
}

// TestQuoteInputCutsLongValues checks that quoteInput quotes a value of up
// to maxEchoIDRunes characters whole, and cuts a longer one, counted in
// characters rather than bytes, with an ellipsis.
func TestQuoteInputCutsLongValues(t *testing.T) {
	for _, tt := range []struct{ input, want string }{
		{"child-benefit", `"child-benefit"`},
		{"line\nbreak", `"line\nbreak"`},
		{strings.Repeat("a", maxEchoIDRunes), `"` + strings.Repeat("a", maxEchoIDRunes) + `"`},
		{strings.Repeat("a", maxEchoIDRunes+1), `"` + strings.Repeat("a", maxEchoIDRunes) + `…"`},
		{strings.Repeat("é", 5000), `"` + strings.Repeat("é", maxEchoIDRunes) + `…"`},
	} {
		if got := quoteInput(tt.input); got != tt.want {
			t.Errorf("quoteInput(%.20q) = %q, want %q", tt.input, got, tt.want)
		}
	}
}

// TestErrorsCutLongIDs requests pages and API routes with a service id,
// delivery id or parameter name of 5,000 characters, and checks that the
// error repeats only its first maxEchoIDRunes characters.
func TestErrorsCutLongIDs(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 1)
	event := string(env.hub.events[0].ID)
	long := strings.Repeat("a", 5000)
	cut := strings.Repeat("a", maxEchoIDRunes) + "…"
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")

	tests := []struct {
		name    string
		account *auth.Account
		method  string
		target  string
		status  int
	}{
		{"staff confirmation page", env.registrar, http.MethodGet, "/operator/life-events/" + event + "/consent?service=" + long, http.StatusNotFound},
		{"withdrawal API", env.registrar, http.MethodPost, "/api/v1/life-events/" + event + "/consent/" + long + "/withdraw", http.StatusNotFound},
		{"deliveries page service", env.operator, http.MethodGet, "/operator/deliveries?state=any&service=" + long, http.StatusUnprocessableEntity},
		{"deliveries API service", env.operator, http.MethodGet, "/api/v1/deliveries?service=" + long, http.StatusUnprocessableEntity},
		{"deliveries page parameter", env.operator, http.MethodGet, "/operator/deliveries?" + long + "=1", http.StatusUnprocessableEntity},
		{"repeated parameter", env.operator, http.MethodGet, "/operator/deliveries?" + long + "=1&" + long + "=2", http.StatusUnprocessableEntity},
		{"notices page", officer, http.MethodGet, "/services/" + long + "/notices", http.StatusNotFound},
		{"replay API", env.operator, http.MethodPost, "/api/v1/deliveries/" + long + "/replay", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.signInAs(t, tt.account)

			rec := env.do(t, tt.method, tt.target, nil, nil)

			// A problem's instance is the path as requested, so only its
			// detail and errors are checked.
			var message string
			if strings.HasPrefix(tt.target, "/api/") {
				p := decodeProblem(t, rec, tt.status)
				message = p.Detail
				for _, e := range p.Errors {
					message += "\n" + e.Message
				}
			} else {
				if rec.Code != tt.status {
					t.Fatalf("status = %d, want %d", rec.Code, tt.status)
				}
				message = html.UnescapeString(rec.Body.String())
			}
			if strings.Contains(message, strings.Repeat("a", maxEchoIDRunes+1)) {
				t.Errorf("the error repeats more than %d characters of the input", maxEchoIDRunes)
			}
			if !strings.Contains(message, cut) {
				t.Errorf("the error lacks the cut input %q:\n%.2000s", cut, message)
			}
		})
	}

	env.signInAs(t, env.operator)
	res := env.postForm(t, "/operator/deliveries/"+long+"/replay", url.Values{"state": {"dead-lettered"}})
	if res.code != http.StatusNotFound {
		t.Fatalf("replay form: status = %d, want 404", res.code)
	}
	if body := html.UnescapeString(res.body); strings.Contains(body, strings.Repeat("a", maxEchoIDRunes+1)) || !strings.Contains(body, cut) {
		t.Errorf("replay form's error page does not cut the id to %q:\n%.2000s", cut, body)
	}

	// A form posted with a query gets 422 naming each parameter.
	res = env.postFormWithQuery(t, "/operator/deliveries/dlv_1/replay", url.Values{long: {"1"}}, url.Values{"state": {"dead-lettered"}})
	if res.code != http.StatusUnprocessableEntity {
		t.Fatalf("replay form with a query: status = %d, want 422", res.code)
	}
	if body := html.UnescapeString(res.body); strings.Contains(body, strings.Repeat("a", maxEchoIDRunes+1)) || !strings.Contains(body, cut) {
		t.Errorf("the error page of a form with a query does not cut the parameter to %q:\n%.2000s", cut, body)
	}
}

// TestListErrorLinksToList asks the deliveries page for a service that
// does not exist. The error page must link to the list without the
// options in its address, rather than to the start page.
func TestListErrorLinksToList(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)

	rec := env.do(t, http.MethodGet, "/operator/deliveries?state=any&service=nope", nil, nil)

	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", rec.Code)
	}
	if want := `<a class="govuk-link" href="/operator/deliveries">Open this page again without the options in its address</a>`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("the error page lacks %s:\n%s", want, rec.Body)
	}
}
