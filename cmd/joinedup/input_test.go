package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
)

// TestBadBirthChangesNothing posts invalid registrations to a real hub and
// checks each gets a problem document naming the fault and records nothing.
func TestBadBirthChangesNothing(t *testing.T) {
	h := startHub(t, nil)
	var rec recorder
	startService(t, h, "gp", []string{"child.name"}, &rec)
	if err := h.DB.UpsertOrganisation(context.Background(), joinedup.Organisation{ID: "police", Name: "Police"}); err != nil {
		t.Fatal(err)
	}
	police := serveRecorder(t, "police", nil, &recorder{})
	police.Organisation, police.EventTypes = "police", []string{joinedup.EventActionDue}
	if err := h.Directory.CreateService(context.Background(), police); err != nil {
		t.Fatal(err)
	}

	valid := string(birthJSON(t, "2026-11-20", "gp"))
	tomorrow := joinedup.Today(time.Now()).AddDate(0, 0, 2).String()
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		field       string // a JSON Pointer the problem must name, if any
	}{
		{"malformed JSON", "application/json", `{"child": {`, http.StatusBadRequest, ""},
		{"wrong content type", "text/plain", valid, http.StatusUnsupportedMediaType, ""},
		{"character set other than UTF-8", "application/json; charset=utf-16", valid, http.StatusUnsupportedMediaType, ""},
		{"oversized body", "application/json", `{"child":{"placeOfBirth":"` + strings.Repeat("x", 1<<20) + `"}}`, http.StatusRequestEntityTooLarge, ""},
		{"missing child", "application/json", strings.Replace(valid, `"child":`, `"unused":`, 1), http.StatusUnprocessableEntity, "/child"},
		{"impossible date", "application/json", strings.Replace(valid, "2026-11-20", "2023-02-29", 1), http.StatusUnprocessableEntity, "/child/dateOfBirth"},
		{"future date", "application/json", strings.Replace(valid, "2026-11-20", tomorrow, 1), http.StatusUnprocessableEntity, "/child/dateOfBirth"},
		{"unknown service", "application/json", strings.Replace(valid, `"services":["gp"]`, `"services":["gp","nobody"]`, 1), http.StatusUnprocessableEntity, "/consent/services/1"},
		{"service that takes no births", "application/json", strings.Replace(valid, `"services":["gp"]`, `"services":["police"]`, 1), http.StatusUnprocessableEntity, "/consent/services/0"},
		{"no name", "application/json", strings.Replace(valid, `"name":{"given":"Zoë Ann","family":"O’Neill-Byrne"}`, `"name":{}`, 1), http.StatusUnprocessableEntity, "/child/name"},
		{"bad postcode", "application/json", strings.Replace(valid, "LS1 4AP", "NOT A CODE", 1), http.StatusUnprocessableEntity, "/parents/0/address/postcode"},
		{"invalid UTF-8", "application/json", strings.Replace(valid, "Zoë Ann", "Zo\xff Ann", 1), http.StatusBadRequest, ""},
		{"repeated name", "application/json", strings.Replace(valid, `"given":"Zoë Ann"`, `"given":"Zoë Ann","given":"Zed"`, 1), http.StatusUnprocessableEntity, "/child/name/given"},
		{"repeated name in a parent", "application/json", strings.Replace(valid, `"postcode":"LS1 4AP"`, `"postcode":"LS1 4AP","postcode":"LS2 7EW"`, 1), http.StatusUnprocessableEntity, "/parents/0/address/postcode"},
		{"punctuation-only child name", "application/json", strings.Replace(valid, `"name":{"given":"Zoë Ann","family":"O’Neill-Byrne"}`, `"name":{"given":"-","family":"'"}`, 1), http.StatusUnprocessableEntity, "/child/name/given"},
		{"punctuation-only family name", "application/json", strings.Replace(valid, `"name":{"given":"Zoë Ann","family":"O’Neill-Byrne"}`, `"name":{"given":"Zoë Ann","family":"'"}`, 1), http.StatusUnprocessableEntity, "/child/name/family"},
		{"punctuation-only parent name", "application/json", strings.Replace(valid, `"given":"Seán"`, `"given":"’"`, 1), http.StatusUnprocessableEntity, "/parents/0/name/given"},
		{"purpose the hub does not define", "application/json", strings.Replace(valid, `"services":["gp"]`, `"services":["gp"],"purpose":"marketing"`, 1), http.StatusUnprocessableEntity, "/consent/purpose"},
		{"mother capacity naming the father", "application/json", strings.Replace(valid, `"capacity":"father","parent":0`, `"capacity":"mother","parent":0`, 1), http.StatusUnprocessableEntity, "/informant/capacity"},
		{"other capacity naming a parent", "application/json", strings.Replace(valid, `"capacity":"father","parent":0`, `"capacity":"other","parent":0`, 1), http.StatusUnprocessableEntity, "/informant/parent"},
		{"father capacity naming no parent", "application/json", strings.Replace(valid, `"capacity":"father","parent":0`, `"capacity":"father"`, 1), http.StatusUnprocessableEntity, "/informant/parent"},
		{"empty purpose", "application/json", strings.Replace(valid, `"services":["gp"]`, `"services":["gp"],"purpose":""`, 1), http.StatusUnprocessableEntity, "/consent/purpose"},
		{"zero-width space in a name", "application/json", strings.Replace(valid, `"family":"O’Neill-Byrne"`, "\"family\":\"Smi\u200bth\"", 1), http.StatusUnprocessableEntity, "/child/name/family"},
		{"number in a name", "application/json", strings.Replace(valid, `"given":"Seán"`, `"given":"Seán2"`, 1), http.StatusUnprocessableEntity, "/parents/0/name/given"},
		{"parent born in the year 0000", "application/json", strings.Replace(valid, "1990-03-04", "0000-03-04", 1), http.StatusUnprocessableEntity, "/parents/0/dateOfBirth"},
		{"UPRN 0", "application/json", strings.Replace(valid, `"uprn":"100012345678"`, `"uprn":"0"`, 1), http.StatusUnprocessableEntity, "/parents/0/address/uprn"},
		{"UPRN with a leading zero", "application/json", strings.Replace(valid, `"uprn":"100012345678"`, `"uprn":"007"`, 1), http.StatusUnprocessableEntity, "/parents/0/address/uprn"},
		{"the same parent twice", "application/json", withParentTwice(t, valid, nil), http.StatusUnprocessableEntity, "/parents/1/nationalInsuranceNumber"},
		{"the same parent twice without a National Insurance number", "application/json",
			withParentTwice(t, strings.Replace(valid, `"nationalInsuranceNumber":"JG103759A",`, "", 1), nil),
			http.StatusUnprocessableEntity, "/parents/1/name"},
		{"two parents with one National Insurance number", "application/json", withParentTwice(t, valid, map[string]any{
			"role": "mother", "name": map[string]any{"given": "Aoife", "family": "Byrne"}, "dateOfBirth": "1991-08-09"}),
			http.StatusUnprocessableEntity, "/parents/1/nationalInsuranceNumber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := apiPost(h.BaseURL+"/api/v1/births", tt.contentType, bytes.NewReader([]byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("content type %q, want application/problem+json", ct)
			}
			var p struct {
				Detail string                `json:"detail"`
				Errors []joinedup.FieldError `json:"errors"`
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("decode problem: %v; body %s", err, b)
			}
			if p.Detail == "" {
				t.Errorf("problem has no detail: %s", b)
			}
			if tt.field != "" {
				found := false
				for _, fe := range p.Errors {
					found = found || fe.Field == tt.field
				}
				if !found {
					t.Errorf("problem does not name %s: %s", tt.field, b)
				}
			}
		})
	}

	page, err := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total := page.Total; total != 0 {
		t.Errorf("%d life events recorded after bad input, want 0", total)
	}
}

// withParentTwice returns body with a copy of its first parent added as
// parent 1, with the members in changes replacing the copy's.
func withParentTwice(t *testing.T, body string, changes map[string]any) string {
	t.Helper()
	var reg map[string]any
	if err := json.Unmarshal([]byte(body), &reg); err != nil {
		t.Fatal(err)
	}
	parents := reg["parents"].([]any)
	second := map[string]any{}
	for k, v := range parents[0].(map[string]any) {
		second[k] = v
	}
	for k, v := range changes {
		second[k] = v
	}
	reg["parents"] = append(parents, second)
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withSecondParent returns body with a mother added as parent 1 and the
// informant replaced by one with the mother's name and the members in
// informant, such as `"capacity":"mother","parent":1`.
func withSecondParent(t *testing.T, body, informant string) string {
	t.Helper()
	var reg map[string]any
	if err := json.Unmarshal([]byte(body), &reg); err != nil {
		t.Fatal(err)
	}
	mother := map[string]any{
		"role": "mother", "name": map[string]any{"given": "Aoife", "family": "Byrne"}, "dateOfBirth": "1991-08-09",
		"address": map[string]any{"lines": []string{"12 Example Street"}, "postcode": "LS1 4AP"},
	}
	reg["parents"] = append(reg["parents"].([]any), mother)
	var inf map[string]any
	if err := json.Unmarshal([]byte(`{"name":{"given":"Aoife","family":"Byrne"},`+informant+`}`), &inf); err != nil {
		t.Fatalf("informant %s: %v", informant, err)
	}
	reg["informant"] = inf
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConsentCoversOnlyTheInformant registers a birth with two parents,
// the mother as the informant, and checks that the consent and its receipt
// cover the child and the mother but not the father.
func TestConsentCoversOnlyTheInformant(t *testing.T) {
	h := startHub(t, nil)
	var rec recorder
	startService(t, h, "gp", []string{"child.name"}, &rec)
	body := withSecondParent(t, string(birthJSON(t, "2026-11-20", "gp")), `"capacity":"mother","parent":1`)

	out := registerBirth(t, h, []byte(body))

	want := []string{"/child", "/parents/1"}
	if !slices.Equal(out.Receipt.OnBehalfOf, want) {
		t.Errorf("receipt onBehalfOf = %v, want %v", out.Receipt.OnBehalfOf, want)
	}
	stored, err := h.LifeEvents.FindLifeEvent(context.Background(), out.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stored.Consent.OnBehalf, want) {
		t.Errorf("stored consent onBehalfOf = %v, want %v", stored.Consent.OnBehalf, want)
	}
	if stored.Consent.Purpose != joinedup.PurposeTellUsOnce {
		t.Errorf("stored purpose = %q, want the default %q", stored.Consent.Purpose, joinedup.PurposeTellUsOnce)
	}
}

// TestNINOExampleAccepted checks that the example in the error message for
// an invalid National Insurance number is accepted when entered.
func TestNINOExampleAccepted(t *testing.T) {
	h := startHub(t, nil)
	var rec recorder
	startService(t, h, "gp", []string{"child.name"}, &rec)
	valid := string(birthJSON(t, "2026-11-20", "gp"))

	resp, err := apiPost(h.BaseURL+"/api/v1/births", "application/json", strings.NewReader(strings.Replace(valid, "JG103759A", "QQ123456C", 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p joinedup.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "/parents/0/nationalInsuranceNumber" {
		t.Fatalf("QQ123456C: status %d, errors %+v; want 422 on /parents/0/nationalInsuranceNumber", resp.StatusCode, p.Errors)
	}
	_, example, found := strings.Cut(p.Errors[0].Message, "like ")
	if !found {
		t.Fatalf("message %q gives no example", p.Errors[0].Message)
	}

	registerBirth(t, h, []byte(strings.Replace(valid, "JG103759A", example, 1)))
}

// TestNamesArriveAsEntered checks that names with both apostrophes,
// hyphens, accents and one part reach a service exactly as entered, in NFC.
func TestNamesArriveAsEntered(t *testing.T) {
	h := startHub(t, nil)
	var rec recorder
	startService(t, h, "gp", []string{"child.name", "parents.name"}, &rec)

	tests := []struct {
		name       string
		given      string
		family     string
		wantGiven  string
		wantFamily string
	}{
		{"curly apostrophe and hyphen", "Siobhán", "O’Neill-Byrne", "Siobhán", "O’Neill-Byrne"},
		{"straight apostrophe", "D'Arcy", "N'Diaye", "D'Arcy", "N'Diaye"},
		{"decomposed accent becomes NFC", "Zoe\u0308", "Lefe\u0300vre", "Zoë", "Lefèvre"},
		{"one-part name", "", "Aroha", "", "Aroha"},
		{"spaces inside kept", "Mary Ann", "de la Cruz", "Mary Ann", "de la Cruz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reg joinedup.BirthRegistration
			if err := json.Unmarshal(birthJSON(t, "2026-11-20", "gp"), &reg); err != nil {
				t.Fatal(err)
			}
			reg.Child.Name = joinedup.Name{Given: tt.given, Family: tt.family}
			reg.Parents[0].Name = joinedup.Name{Given: tt.given, Family: tt.family}
			reg.Informant.Name = reg.Parents[0].Name
			body, _ := json.Marshal(reg)
			out := registerBirth(t, h, body)
			waitComplete(t, h, out.Event.ID, 10*time.Second)

			var got *joinedup.BirthRegistration
			for _, e := range rec.received() {
				if e.Event == out.Event.ID {
					got = new(joinedup.BirthRegistration)
					json.Unmarshal(e.Data, got)
				}
			}
			if got == nil {
				t.Fatal("the service received nothing")
			}
			want := joinedup.Name{Given: tt.wantGiven, Family: tt.wantFamily}
			if got.Child.Name != want {
				t.Errorf("child's name arrived as %+v, want %+v", got.Child.Name, want)
			}
			if got.Parents[0].Name != want {
				t.Errorf("parent's name arrived as %+v, want %+v", got.Parents[0].Name, want)
			}
		})
	}
}

// TestSameBirthTwiceRefused registers one birth twice, as a double
// submission or a retry after a lost response would, and checks that the
// second is refused with the first's reference and tells no one again.
func TestSameBirthTwiceRefused(t *testing.T) {
	h := startHub(t, nil)
	var gp recorder
	startService(t, h, "gp", []string{"child.name"}, &gp)
	body := birthJSON(t, "2026-11-20", "gp")
	first := registerBirth(t, h, body)

	resp, err := apiPost(h.BaseURL+"/api/v1/births", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), first.Event.Reference) {
		t.Errorf("second registration: status %d, body %s; want 409 naming %s", resp.StatusCode, b, first.Event.Reference)
	}
	waitComplete(t, h, first.Event.ID, 10*time.Second)
	if page, _ := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{}); page.Total != 1 {
		t.Errorf("%d life events recorded, want 1", page.Total)
	}
	if n := len(gp.received()); n != 1 {
		t.Errorf("the service was told %d times, want once", n)
	}

	// Twins differ in name and are both registered.
	var twin joinedup.BirthRegistration
	json.Unmarshal(body, &twin)
	twin.Child.Name.Given = "Róisín"
	b, _ = json.Marshal(twin)
	registerBirth(t, h, b)
}

// formValues returns reg as the birth form sends it, with its first
// parent in the form's first section and informant-parent set to choice,
// or left out when choice is empty.
func formValues(reg joinedup.BirthRegistration, choice string) url.Values {
	parent := reg.Parents[0]
	v := url.Values{
		"child-name-given": {reg.Child.Name.Given}, "child-name-family": {reg.Child.Name.Family},
		"child-sex":             {reg.Child.Sex},
		"child-dateOfBirth-day": {fmt.Sprint(reg.Child.DateOfBirth.Day)}, "child-dateOfBirth-month": {fmt.Sprint(int(reg.Child.DateOfBirth.Month))},
		"child-dateOfBirth-year": {fmt.Sprint(reg.Child.DateOfBirth.Year)},
		"child-placeOfBirth":     {reg.Child.PlaceOfBirth},
		"parents-0-role":         {parent.Role},
		"parents-0-name-given":   {parent.Name.Given}, "parents-0-name-family": {parent.Name.Family},
		"parents-0-dateOfBirth-day": {fmt.Sprint(parent.DateOfBirth.Day)}, "parents-0-dateOfBirth-month": {fmt.Sprint(int(parent.DateOfBirth.Month))},
		"parents-0-dateOfBirth-year": {fmt.Sprint(parent.DateOfBirth.Year)},
		"parents-0-address-lines-0":  {parent.Address.Lines[0]},
		"parents-0-address-town":     {parent.Address.Town}, "parents-0-address-postcode": {parent.Address.Postcode},
		"informant-name-given": {parent.Name.Given}, "informant-name-family": {parent.Name.Family},
		"informant-capacity": {parent.Role},
	}
	if choice != "" {
		v.Set("informant-parent", choice)
	}
	for _, s := range reg.Consent.Services {
		v.Add("consent-services", string(s))
	}
	return v
}

// TestBirthFormRedirectsToConfirmation registers a birth through the form
// on a real hub and checks that the reply redirects to a confirmation page
// that can be reloaded without registering again, and which only staff
// who may read the registration can open.
func TestBirthFormRedirectsToConfirmation(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	client := signedInClient(t, h, "registrar")
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	reg := demoBirth(t, h, 0)
	reg.Parents = reg.Parents[*reg.Informant.Parent : *reg.Informant.Parent+1]

	resp, err := client.PostForm(h.BaseURL+"/births/new", formValues(reg, "0"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: status %d, want 303", resp.StatusCode)
	}
	location := resp.Header.Get("Location")
	if !strings.HasPrefix(location, "/births/evt_") {
		t.Fatalf("Location = %q, want /births/{id}", location)
	}
	page, err := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	events, total := page.Items, page.Total
	if total != 1 || location != "/births/"+string(events[0].ID) {
		t.Fatalf("%d life events, Location %s; want 1 event at its confirmation", total, location)
	}

	for range 2 {
		resp, err := client.Get(h.BaseURL + location)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("confirmation: status %d, want 200", resp.StatusCode)
		}
		if !strings.Contains(string(b), events[0].Reference) {
			t.Errorf("confirmation lacks the reference %s", events[0].Reference)
		}
		if !strings.Contains(string(b), string(events[0].Consent.ID)) {
			t.Errorf("confirmation lacks the receipt id %s", events[0].Consent.ID)
		}
	}
	if page, _ := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{}); page.Total != 1 {
		t.Errorf("%d life events after loading the confirmation twice, want 1", page.Total)
	}

	for _, username := range []string{"social-worker", "operator"} {
		resp, err := signedInClient(t, h, username).Get(h.BaseURL + location)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", username, resp.StatusCode)
		}
		if strings.Contains(string(b), events[0].Reference) {
			t.Errorf("%s sees the reference", username)
		}
	}
}

// TestBirthFormNeedsInformantChoice posts the form to a real hub with no
// informant chosen and with a value the form does not offer, and checks
// that each gets the error summary and registers nothing.
func TestBirthFormNeedsInformantChoice(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	client := signedInClient(t, h, "registrar")
	reg := demoBirth(t, h, 0)
	reg.Parents = reg.Parents[*reg.Informant.Parent : *reg.Informant.Parent+1]

	for _, choice := range []string{"", "x"} {
		resp, err := client.PostForm(h.BaseURL+"/births/new", formValues(reg, choice))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("informant-parent %q: status %d, want 422", choice, resp.StatusCode)
		}
		if !strings.Contains(string(b), `<a href="#informant-parent">Select which parent is the informant, or select Neither</a>`) {
			t.Errorf("informant-parent %q: the error summary does not ask which parent is the informant", choice)
		}
	}
	if page, _ := h.LifeEvents.ListLifeEvents(context.Background(), joinedup.LifeEventFilter{}); page.Total != 0 {
		t.Errorf("%d life events recorded after bad input, want 0", page.Total)
	}
}

// TestUnreadableBirthFormChangesNothing posts birth forms that cannot be
// read to a real hub: text that is not UTF-8, a broken percent escape and
// bodies of other media types. Each must get one error page, with the
// status the API gives the same fault, and record nothing.
func TestUnreadableBirthFormChangesNothing(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	client := signedInClient(t, h, "registrar")
	reg := demoBirth(t, h, 0)
	reg.Parents = reg.Parents[*reg.Informant.Parent : *reg.Informant.Parent+1]
	valid := formValues(reg, "0").Encode()

	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
	}{
		{"invalid UTF-8", "application/x-www-form-urlencoded", strings.Replace(valid, "child-name-given=", "child-name-given=%ff%fe", 1), http.StatusBadRequest},
		{"broken percent escape", "application/x-www-form-urlencoded", "child-name-given=%zz&" + valid, http.StatusBadRequest},
		{"plain text", "text/plain", valid, http.StatusUnsupportedMediaType},
		{"JSON", "application/json", string(birthJSON(t, recentBirthDate())), http.StatusUnsupportedMediaType},
		{"multipart form", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"child-name-given\"\r\n\r\nZoë\r\n--x--\r\n", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Post(h.BaseURL+"/births/new", tt.contentType, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(b)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !strings.Contains(page, "<title>The form could not be read – joinedup</title>") {
				t.Errorf("page is not titled that the form could not be read: %s", pageTitleOf(page))
			}
			if items := errorSummary(page); len(items) != 0 {
				t.Errorf("page has an error summary %q, want one error for the whole form", items)
			}
			if !utf8.ValidString(page) {
				t.Errorf("page is not valid UTF-8")
			}
		})
	}

	if total := lifeEventCount(t, h); total != 0 {
		t.Errorf("%d life events recorded after unreadable forms, want 0", total)
	}
}

// pageTitleOf returns the title element of page, or "" when it has none.
func pageTitleOf(page string) string {
	start := strings.Index(page, "<title>")
	end := strings.Index(page, "</title>")
	if start < 0 || end < start {
		return ""
	}
	return page[start : end+len("</title>")]
}
