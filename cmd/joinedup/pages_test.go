package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// These tests send the pages' forms to a real demo hub on loopback, signed
// in with the demo accounts, and read the HTML that comes back.

// TestBirthFormShowsDuplicate registers a birth on the form, sends the
// same answers again, and checks that the form comes back with 409, its
// answers and an error summary that names the first registration's
// reference and links to a page the account may open.
func TestBirthFormShowsDuplicate(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	client := signedInClient(t, h, "registrar")
	reg := demoBirth(t, h, 0)
	reg.Parents = reg.Parents[*reg.Informant.Parent : *reg.Informant.Parent+1]
	form := formValues(reg, "0")

	resp, err := client.PostForm(h.BaseURL+"/births/new", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/births/evt_") {
		t.Fatalf("first registration: status %d at %s, want 200 on the confirmation page", resp.StatusCode, resp.Request.URL.Path)
	}
	confirmation := resp.Request.URL.Path
	first, err := h.LifeEvents.FindLifeEvent(context.Background(), eventIDOf(confirmation))
	if err != nil {
		t.Fatal(err)
	}

	status, page := postBirthForm(t, client, h, form)

	if status != http.StatusConflict {
		t.Fatalf("second registration: status %d, want 409", status)
	}
	if !strings.Contains(page, "<title>Error: Register a birth") {
		t.Errorf("second registration: the page is not the birth form with an error:\n%s", page)
	}
	wantItem := `<a href="` + confirmation + `">This birth is already registered with reference number ` + first.Reference + `</a>`
	if !strings.Contains(page, `govuk-error-summary`) || !strings.Contains(page, wantItem) {
		t.Errorf("second registration: no error summary item %s in:\n%s", wantItem, page)
	}
	kept := `id="child-name-family" name="child-name-family" type="text" value="` + html.EscapeString(reg.Child.Name.Family) + `"`
	if !strings.Contains(page, kept) {
		t.Errorf("second registration: the form lost the answer %s", kept)
	}

	// A registrar of another organisation may not open the first
	// registration's confirmation page, so the summary links to tracking.
	passwords, err := auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	other := &auth.Account{Username: "registrar-hmrc", Role: policy.RoleRegistrar, Organisation: "hmrc"}
	if err := ensureAccount(context.Background(), h.DB, passwords, other); err != nil {
		t.Fatal(err)
	}
	status, page = postBirthForm(t, signedInClient(t, h, other.Username), h, form)
	if status != http.StatusConflict {
		t.Fatalf("registration by another organisation: status %d, want 409", status)
	}
	wantItem = `<a href="/track/` + first.Reference + `">This birth is already registered with reference number ` + first.Reference + `</a>`
	if !strings.Contains(page, wantItem) {
		t.Errorf("registration by another organisation: no error summary item %s in:\n%s", wantItem, page)
	}
	if strings.Contains(page, confirmation) {
		t.Errorf("registration by another organisation: the page links to the confirmation page %s", confirmation)
	}
}

// staffClient creates a staff account of the role in the organisation
// test-council, with demoPassword, and returns a client signed in as it.
func staffClient(t *testing.T, h *Hub, username string, role policy.Role) *http.Client {
	t.Helper()
	ctx := context.Background()
	if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	passwords, err := auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureAccount(ctx, h.DB, passwords, &auth.Account{Username: username, Role: role, Organisation: "test-council"}); err != nil {
		t.Fatal(err)
	}
	return signedInClient(t, h, username)
}

// TestBirthFormHintsParentBirthDate checks that the example in the hint of
// each parent's date of birth is an adult's date, and the child's a recent
// one.
func TestBirthFormHintsParentBirthDate(t *testing.T) {
	h := startHub(t, nil)
	client := staffClient(t, h, "registrar", policy.RoleRegistrar)

	status, page := getPage(t, client, h.BaseURL+"/births/new")

	if status != http.StatusOK {
		t.Fatalf("birth form: status %d, want 200", status)
	}
	for id, want := range map[string]string{
		"child-dateOfBirth":     "For example, 27 3 2026",
		"parents-0-dateOfBirth": "For example, 27 3 1990",
		"parents-1-dateOfBirth": "For example, 27 3 1990",
	} {
		if hint := `<div id="` + id + `-hint" class="govuk-hint">` + want + `</div>`; !strings.Contains(page, hint) {
			t.Errorf("birth form lacks the hint %s", hint)
		}
	}
}

// TestBirthFormConsentHintMatchesSent checks that the birth form's hint
// of what a service told on consent receives names the informant's
// details, as the delivery sends them, and not every parent's.
func TestBirthFormConsentHintMatchesSent(t *testing.T) {
	h := startHub(t, nil)
	var rec recorder
	startService(t, h, "chosen", []string{"child.name", "child.dateOfBirth", "parents.name", "parents.dateOfBirth", "informant.name"}, &rec)
	client := staffClient(t, h, "registrar", policy.RoleRegistrar)

	status, page := getPage(t, client, h.BaseURL+"/births/new")

	if status != http.StatusOK {
		t.Fatalf("birth form: status %d, want 200", status)
	}
	want := "It will receive the child’s name, child’s date of birth, informant’s name and informant’s date of birth."
	if !strings.Contains(page, want) {
		t.Errorf("birth form lacks the hint %q:\n%s", want, page)
	}
	if strings.Contains(page, "parents’") {
		t.Errorf("birth form says that a service told on consent receives the parents’ details:\n%s", page)
	}
}

// TestReceiptNamesController checks that the consent receipt names the
// registering organisation as the data controller, in the API's response
// and on the confirmation page.
func TestReceiptNamesController(t *testing.T) {
	t.Run("known organisation", func(t *testing.T) {
		h := startHub(t, func(c *Config) { c.Demo = true })
		client := signedInClient(t, h, "registrar")
		body, err := json.Marshal(demoBirth(t, h, 0))
		if err != nil {
			t.Fatal(err)
		}
		status, response := sendAPI(t, client, false, http.MethodPost, h.BaseURL+"/api/v1/births", body)
		if status != http.StatusCreated {
			t.Fatalf("register: status %d, want 201; body %s", status, response)
		}
		var registered birthResponse
		if err := json.Unmarshal(response, &registered); err != nil {
			t.Fatal(err)
		}
		if registered.Receipt.Controller != "Riverside Borough Council" {
			t.Errorf("receipt's controller = %q, want Riverside Borough Council", registered.Receipt.Controller)
		}

		status, page := getPage(t, client, h.BaseURL+"/births/"+string(registered.Event.ID))

		if status != http.StatusOK {
			t.Fatalf("confirmation: status %d, want 200", status)
		}
		row := `<dt class="govuk-summary-list__key">Data controller</dt>
        <dd class="govuk-summary-list__value">Riverside Borough Council</dd>`
		if !strings.Contains(page, row) {
			t.Errorf("confirmation page lacks the row %s:\n%s", row, page)
		}
	})

	// The hub starts only when the API token's organisation exists, so a
	// birth the token registers names it too.
	t.Run("organisation of the API token", func(t *testing.T) {
		h := startHub(t, nil)
		registered := registerBirth(t, h, birthJSON(t, "2026-11-20"))
		if registered.Receipt.Controller != "Test Registration Council" {
			t.Errorf("receipt's controller = %q, want Test Registration Council", registered.Receipt.Controller)
		}
	})
}

// TestSignInNamesMissingAnswer sends the sign-in form with the user name,
// the password or both left empty, and checks that the page names each
// missing answer on its own input.
func TestSignInNamesMissingAnswer(t *testing.T) {
	h := startHub(t, nil)
	tests := []struct {
		name               string
		username, password string
		want, notWant      []string
	}{
		{"no password", "registrar", "",
			[]string{`<p id="password-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> Enter your password</p>`, `<a href="#password">Enter your password</a>`},
			[]string{"Enter your user name"}},
		{"no user name", "", "a password",
			[]string{`<p id="username-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> Enter your user name</p>`, `<a href="#username">Enter your user name</a>`},
			[]string{"Enter your password"}},
		{"neither", " ", "",
			[]string{`<a href="#username">Enter your user name</a>`, `<a href="#password">Enter your password</a>`},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"username": {tt.username}, "password": {tt.password}}

			status, _, page := postPage(t, http.DefaultClient, h.BaseURL+"/sign-in", form)

			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", status)
			}
			checkPageText(t, page, tt.want, tt.notWant)
		})
	}
}

// checkPageText reports each text of want that page lacks and each text
// of notWant that it contains.
func checkPageText(t *testing.T, page string, want, notWant []string) {
	t.Helper()
	for _, text := range want {
		if !strings.Contains(page, text) {
			t.Errorf("page lacks %s:\n%s", text, page)
		}
	}
	for _, text := range notWant {
		if strings.Contains(page, text) {
			t.Errorf("page contains %q", text)
		}
	}
}

// eventIDOf returns the life event id at the end of a page's path, such
// as "/births/evt_…".
func eventIDOf(path string) joinedup.EventID {
	return joinedup.EventID(path[strings.LastIndex(path, "/")+1:])
}

// TestWritesAuthorisedBeforeChecks sends invalid bodies to write routes
// as accounts that may not use them, and checks that each gets 403, not
// the field errors of the body.
func TestWritesAuthorisedBeforeChecks(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	for _, username := range []string{"operator", "social-worker", "data-protection-officer", "officer-child-benefit"} {
		client := signedInClient(t, h, username)

		status, body := sendAPI(t, client, false, http.MethodPost, h.BaseURL+"/api/v1/births", []byte(`{"child": {}}`))
		if status != http.StatusForbidden {
			t.Errorf("%s: POST /api/v1/births with an invalid body: status %d, want 403; body %s", username, status, body)
		}
		if p := decodeProblem(t, body); p.Detail != "You may not register births for this organisation." {
			t.Errorf("%s: POST /api/v1/births: detail %q", username, p.Detail)
		}

		status, page := postBirthForm(t, client, h, url.Values{"child-name-given": {""}})
		if status != http.StatusForbidden {
			t.Errorf("%s: POST /births/new with an empty form: status %d, want 403", username, status)
		}
		if !strings.Contains(page, "You may not register births for this organisation.") {
			t.Errorf("%s: POST /births/new: the page does not say why:\n%s", username, page)
		}
	}

	// Only operators decide possible matches.
	client := signedInClient(t, h, "social-worker")
	status, body := sendAPI(t, client, false, http.MethodPost, h.BaseURL+"/api/v1/persons/reviews/rev_1", []byte(`{"decision": "maybe"}`))
	if status != http.StatusForbidden {
		t.Errorf("social-worker: POST /api/v1/persons/reviews/rev_1 with an invalid body: status %d, want 403; body %s", status, body)
	}
}

// getPage fetches target with client and returns the status and the page.
func getPage(t *testing.T, client *http.Client, target string) (int, string) {
	t.Helper()
	resp, err := client.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readPage(t, resp)
}

// postPage posts form to target with client, without following a
// redirect, and returns the status, the Location and the page.
func postPage(t *testing.T, client *http.Client, target string, form url.Values) (int, string, string) {
	t.Helper()
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), readPage(t, resp)
}

// readPage reads and closes the body of resp.
func readPage(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWithdrawalFormChecksResident withdraws consent on the record page
// of another resident, then confirms and makes a withdrawal on the
// resident's own page, and then tries it again.
func TestWithdrawalFormChecksResident(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	event := registerWithToken(t, h, demoBirth(t, h, 0))
	waitComplete(t, h, event.ID, 60*time.Second)
	own, other := accountID(t, h, demoResidentName(0)), accountID(t, h, demoResidentName(1))
	client := signedInClient(t, h, demoResidentName(0))
	form := url.Values{"event": {string(event.ID)}, "service": {"gp-practice"}}

	status, _, _ := postPage(t, client, h.BaseURL+"/residents/"+other+"/consent", form)
	if status != http.StatusNotFound {
		t.Errorf("withdrawal on another resident's page: status %d, want 404", status)
	}
	status, _ = getPage(t, client, h.BaseURL+"/residents/"+other+"/consent?"+form.Encode())
	if status != http.StatusNotFound {
		t.Errorf("confirmation on another resident's page: status %d, want 404", status)
	}
	unchanged, err := h.LifeEvents.FindLifeEvent(context.Background(), event.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !unchanged.Consent.Given("gp-practice") {
		t.Fatalf("consent for gp-practice after the rejected withdrawals = %+v, want given", unchanged.Consent.Decisions)
	}

	status, page := getPage(t, client, h.BaseURL+"/residents/"+own+"/consent?"+form.Encode())
	if status != http.StatusOK {
		t.Fatalf("confirmation on the resident's own page: status %d, want 200", status)
	}
	if !strings.Contains(page, "Are you sure you want to withdraw consent for Riverside Surgery?") {
		t.Errorf("confirmation page does not ask about Riverside Surgery:\n%s", page)
	}
	if !strings.Contains(page, `<form method="post" action="/residents/`+own+`/consent"`) {
		t.Errorf("confirmation page has no form that posts the withdrawal:\n%s", page)
	}

	status, location, _ := postPage(t, client, h.BaseURL+"/residents/"+own+"/consent", form)
	if status != http.StatusSeeOther || location != "/residents/"+own+"?withdrawn=gp-practice" {
		t.Fatalf("withdrawal on the resident's own page: status %d to %q, want 303 to the record", status, location)
	}

	status, _, page = postPage(t, client, h.BaseURL+"/residents/"+own+"/consent", form)
	if status != http.StatusConflict {
		t.Errorf("second withdrawal: status %d, want 409", status)
	}
	if !strings.Contains(page, "<title>Consent is already withdrawn – joinedup</title>") {
		t.Errorf("second withdrawal: the page is not titled Consent is already withdrawn:\n%s", page)
	}
	if !strings.Contains(page, "Consent for Riverside Surgery is already withdrawn") {
		t.Errorf("second withdrawal: the page does not name the service:\n%s", page)
	}
	if strings.Contains(page, `"gp-practice"`) {
		t.Errorf("second withdrawal: the page shows the service id")
	}

	// The API problem keeps the title of its problem type.
	status, body := sendAPI(t, client, false, http.MethodPost, h.BaseURL+"/api/v1/life-events/"+string(event.ID)+"/consent/gp-practice/withdraw", nil)
	if status != http.StatusConflict {
		t.Fatalf("second withdrawal through the API: status %d, want 409; body %s", status, body)
	}
	if p := decodeProblem(t, body); p.Title != "The change conflicts with the current state" {
		t.Errorf("second withdrawal through the API: title %q, want the conflict problem type's title", p.Title)
	}
}

// TestWithdrawalFormForRemovedService removes a service that received a
// birth, then checks that the confirmation page says the service will not
// be told and that the withdrawal is still recorded.
func TestWithdrawalFormForRemovedService(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	event := registerWithToken(t, h, demoBirth(t, h, 0))
	waitComplete(t, h, event.ID, 60*time.Second)
	status, body := sendAPI(t, signedInClient(t, h, "operator"), false, http.MethodDelete, h.BaseURL+"/api/v1/services/gp-practice", nil)
	if status != http.StatusOK {
		t.Fatalf("remove gp-practice: status %d, want 200; body %s", status, body)
	}
	own := accountID(t, h, demoResidentName(0))
	client := signedInClient(t, h, demoResidentName(0))
	form := url.Values{"event": {string(event.ID)}, "service": {"gp-practice"}}

	status, page := getPage(t, client, h.BaseURL+"/residents/"+own+"/consent?"+form.Encode())
	if status != http.StatusOK {
		t.Fatalf("confirmation: status %d, want 200", status)
	}
	if !strings.Contains(page, "Are you sure you want to withdraw consent for Riverside Surgery?") {
		t.Errorf("confirmation page does not ask about withdrawing consent for Riverside Surgery:\n%s", page)
	}
	if !strings.Contains(page, "Riverside Surgery has been removed from the hub, so it will not be told") {
		t.Errorf("confirmation page does not say the removed service will not be told:\n%s", page)
	}
	if !strings.Contains(page, "Your withdrawal will still be recorded") {
		t.Errorf("confirmation page does not say the withdrawal is recorded:\n%s", page)
	}
	if strings.Contains(page, "Riverside Surgery will be told") {
		t.Errorf("confirmation page says the removed service will be told:\n%s", page)
	}

	status, location, _ := postPage(t, client, h.BaseURL+"/residents/"+own+"/consent", form)
	if status != http.StatusSeeOther || location != "/residents/"+own+"?withdrawn=gp-practice" {
		t.Fatalf("withdrawal: status %d to %q, want 303 to the record", status, location)
	}
	withdrawn, err := h.LifeEvents.FindLifeEvent(context.Background(), event.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range withdrawn.Consent.Decisions {
		if d.Service == "gp-practice" && d.Decision != joinedup.ConsentWithdrawn {
			t.Errorf("consent for gp-practice after the withdrawal = %q, want withdrawn", d.Decision)
		}
	}

	// The record shows the decision as a label, and the API keeps the code.
	_, page = getPage(t, client, h.BaseURL+"/residents/"+own+"?withdrawn=gp-practice")
	if !strings.Contains(page, `govuk-tag--purple">Withdrawn</strong>`) {
		t.Errorf("record does not label the decision Withdrawn:\n%s", page)
	}
	if strings.Contains(page, `">withdrawn</strong>`) {
		t.Errorf("record shows the decision code withdrawn on a tag")
	}
	status, body = sendAPI(t, client, false, http.MethodGet, h.BaseURL+"/api/v1/residents/"+own+"/history", nil)
	if status != http.StatusOK {
		t.Fatalf("record as JSON: status %d, want 200; body %s", status, body)
	}
	if !strings.Contains(string(body), `"service":"gp-practice","name":"Riverside Surgery","decision":"withdrawn"`) {
		t.Errorf("record as JSON does not give the decision code withdrawn for gp-practice: %s", body)
	}
	// The history names the service of each entry about one, a removed
	// service too, by its id and by the name the resident sees. It gives
	// the hub's reason in words.
	type access struct {
		Action, Service, ServiceName string
		ReasonsInWords               []string
	}
	var history struct {
		Accesses []access `json:"accesses"`
	}
	if err := json.Unmarshal(body, &history); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(history.Accesses, func(a access) bool { return a.Action == audit.ActionConsentWithdrawn })
	if i < 0 {
		t.Fatalf("record's history has no withdrawal: %s", body)
	}
	withdrawal := history.Accesses[i]
	if withdrawal.Service != "gp-practice" || withdrawal.ServiceName != "Riverside Surgery" {
		t.Errorf("record's history gives the withdrawal's service as %q, %q; want gp-practice, Riverside Surgery", withdrawal.Service, withdrawal.ServiceName)
	}
	if want := []string{"Consent to tell Riverside Surgery was withdrawn, so nothing more is shared with it."}; !slices.Equal(withdrawal.ReasonsInWords, want) {
		t.Errorf("withdrawal's reasons in words = %q, want %q", withdrawal.ReasonsInWords, want)
	}
	if !strings.Contains(page, "Service: Riverside Surgery") {
		t.Errorf("record page does not name the service of its entries:\n%s", page)
	}
}

// TestWithdrawalFormSaysServiceDecides opens the confirmation of a
// withdrawal for a service that acted on a birth, and checks that the page
// says, before the resident confirms, that the service decides what to do
// with what it holds and may undo it, and quotes what it reported.
func TestWithdrawalFormSaysServiceDecides(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	event := waitComplete(t, h, registerWithToken(t, h, demoBirth(t, h, 0)).ID, 60*time.Second)
	var outcome string
	for _, d := range event.Deliveries {
		if d.Service == "child-benefit" && d.Outcome != nil {
			outcome = d.Outcome.Summary
		}
	}
	if outcome == "" {
		t.Fatalf("child-benefit reported no outcome: %+v", event.Deliveries)
	}
	own := accountID(t, h, demoResidentName(0))
	client := signedInClient(t, h, demoResidentName(0))
	form := url.Values{"event": {string(event.ID)}, "service": {"child-benefit"}}

	status, page := getPage(t, client, h.BaseURL+"/residents/"+own+"/consent?"+form.Encode())

	if status != http.StatusOK {
		t.Fatalf("confirmation: status %d, want 200", status)
	}
	text := html.UnescapeString(page)
	for _, want := range []string{
		"Child Benefit will be told that you have withdrawn consent",
		"So far, Child Benefit has reported: “" + outcome + "”",
		"Child Benefit decides what to do with the details it already has. It may stop or undo what it did",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("confirmation page lacks %q:\n%s", want, page)
		}
	}
}

// TestWithdrawalFormAfterFailedAttempt opens the confirmation of a
// withdrawal for a service whose every attempt failed. An attempt may
// have reached the service before it failed, so the page says that the
// service will be told, and withdrawing queues the notice.
func TestWithdrawalFormAfterFailedAttempt(t *testing.T) {
	h := startHub(t, func(c *Config) { c.MaxAttempts = 1 })
	unreachable := recorder{fail: 1000}
	startService(t, h, "unreachable", []string{"child.name"}, &unreachable)
	resident := addFather(t, h)
	event := waitComplete(t, h, registerBirth(t, h, birthJSON(t, "2026-11-20", "unreachable")).Event.ID, 30*time.Second)
	if state := event.Deliveries[0].State; state != joinedup.StateDeadLettered {
		t.Fatalf("delivery to the unreachable service is %s, want dead-lettered", state)
	}
	form := url.Values{"event": {string(event.ID)}, "service": {"unreachable"}}
	client := signedInClient(t, h, "resident-father")

	status, page := getPage(t, client, h.BaseURL+"/residents/"+resident+"/consent?"+form.Encode())

	if status != http.StatusOK {
		t.Fatalf("confirmation: status %d, want 200", status)
	}
	text := html.UnescapeString(page)
	if !strings.Contains(text, "will be told that you have withdrawn consent for the birth of Zoë Ann O’Neill-Byrne") {
		t.Errorf("confirmation page does not say that the service will be told:\n%s", page)
	}
	if strings.Contains(text, "has not received the details") {
		t.Errorf("confirmation page says a service that was sent the birth never received it:\n%s", page)
	}

	status, location, _ := postPage(t, client, h.BaseURL+"/residents/"+resident+"/consent", form)
	if status != http.StatusSeeOther {
		t.Fatalf("withdraw: status %d, want 303", status)
	}
	// The service answers every request with 503, so its one attempt at
	// the notice fails and the notice is dead-lettered.
	got := waitComplete(t, h, event.ID, 30*time.Second)
	notices := 0
	for _, d := range got.Deliveries {
		if d.Kind != joinedup.EventConsentWithdrawn {
			continue
		}
		notices++
		if d.State != joinedup.StateDeadLettered {
			t.Errorf("withdrawal notice is %s, want dead-lettered", d.State)
		}
	}
	if notices != 1 {
		t.Errorf("withdrawal queued %d notices, want 1", notices)
	}
	_, page = getPage(t, client, h.BaseURL+location)
	text = html.UnescapeString(page)
	if !strings.Contains(text, "The hub could not reach the service to tell it of the withdrawal, and has stopped trying. Staff can see this and can send the notice again.") {
		t.Errorf("banner does not say that the hub could not tell the service:\n%s", page)
	}
	if !strings.Contains(text, "<br>The hub could not reach the service to tell it of the withdrawal. Staff can see this and can send the notice again.") {
		t.Errorf("table does not say that the hub could not tell the service:\n%s", page)
	}
	if strings.Contains(text, "has not confirmed the withdrawal yet") {
		t.Errorf("record waits for a confirmation that cannot come:\n%s", page)
	}
	if !strings.Contains(text, "About Zoë Ann O’Neill-Byrne: name") {
		t.Errorf("record does not list the child's name as shared with a service an attempt reached:\n%s", page)
	}
}

// TestWithdrawalAfterAttemptsThatNeverConnected withdraws consent for a
// service that no attempt could connect to. It received nothing, so the
// page says so and no withdrawal notice is queued for it.
func TestWithdrawalAfterAttemptsThatNeverConnected(t *testing.T) {
	h := startHub(t, func(c *Config) { c.MaxAttempts = 2; c.Backoff = time.Millisecond })
	ctx := context.Background()
	if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	// The service's address is a loopback port that nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	down := &joinedup.Service{ID: "down", Organisation: "test-council", Name: "Service down", Purpose: "testing",
		EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
		Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://" + addr + "/events"}}
	if err := h.Directory.CreateService(ctx, down); err != nil {
		t.Fatal(err)
	}
	resident := addFather(t, h)
	event := waitComplete(t, h, registerBirth(t, h, birthJSON(t, "2026-11-20", "down")).Event.ID, 30*time.Second)
	if d := event.Deliveries[0]; d.State != joinedup.StateDeadLettered || d.Attempts != 2 || d.Reached {
		t.Fatalf("delivery to the service that is down is %s after %d attempts, reached %v; want dead-lettered after 2, not reached", d.State, d.Attempts, d.Reached)
	}
	form := url.Values{"event": {string(event.ID)}, "service": {"down"}}
	client := signedInClient(t, h, "resident-father")

	status, page := getPage(t, client, h.BaseURL+"/residents/"+resident+"/consent?"+form.Encode())
	if status != http.StatusOK {
		t.Fatalf("confirmation: status %d, want 200", status)
	}
	if text := html.UnescapeString(page); !strings.Contains(text, "has not received the details") {
		t.Errorf("confirmation page does not say that the service never received the birth:\n%s", page)
	}
	if status, _, _ := postPage(t, client, h.BaseURL+"/residents/"+resident+"/consent", form); status != http.StatusSeeOther {
		t.Fatalf("withdraw: status %d, want 303", status)
	}
	got, err := h.LifeEvents.FindLifeEvent(ctx, event.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got.Deliveries {
		if d.Kind == joinedup.EventConsentWithdrawn {
			t.Errorf("withdrawal queued notice %s for a service that received nothing", d.ID)
		}
	}

	_, page = getPage(t, client, h.BaseURL+"/residents/"+resident)
	text := html.UnescapeString(page)
	if !strings.Contains(text, "Not shared. Consent was withdrawn before the details reached the service.") {
		t.Errorf("record does not say that the details were not shared:\n%s", page)
	}
	if strings.Contains(text, "About Zoë Ann O’Neill-Byrne: name") {
		t.Errorf("record lists the child's name as shared with a service that received nothing:\n%s", page)
	}

	_, page = getPage(t, http.DefaultClient, h.BaseURL+"/track/"+event.Reference)
	told, notTold, found := strings.Cut(page, "Services not told")
	if !found || !strings.Contains(notTold, "Service down") {
		t.Errorf("tracking page does not list the service as not told:\n%s", page)
	}
	if strings.Contains(told, "Service down") {
		t.Errorf("tracking page lists the service among those told:\n%s", page)
	}

	// Each attempt is its own entry in the history, named by its number.
	var history struct {
		Accesses []struct {
			Action, Service, ActionInWords string
			Attempt                        int
		} `json:"accesses"`
	}
	getJSONWith(t, client, h.BaseURL+"/api/v1/residents/"+resident+"/history", http.StatusOK, &history)
	var attempts []string
	for _, a := range history.Accesses {
		if a.Action == "disclosure" && a.Service == "down" {
			attempts = append(attempts, a.ActionInWords)
		}
	}
	if want := []string{"Attempt 2 to send details to a service", "Attempt 1 to send details to a service"}; !slices.Equal(attempts, want) {
		t.Errorf("history of the service that is down = %q, want %q", attempts, want)
	}
}

// TestResidentErrorPagesInPlainWords sends a resident's pages requests
// that they cannot act on, and checks that the error pages are titled in
// plain words while the API keeps its problem titles.
func TestResidentErrorPagesInPlainWords(t *testing.T) {
	h := startHub(t, nil)
	resident := addFather(t, h)
	client := signedInClient(t, h, "resident-father")
	tests := []struct {
		name, target, title string
	}{
		{"withdrawal naming no consent", "/residents/" + resident + "/consent", "We could not tell which consent to withdraw"},
		{"record with an invalid query", "/residents/" + resident + "?before=soon", "There is a problem with the information sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, page := getPage(t, client, h.BaseURL+tt.target)

			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", status)
			}
			if want := "<title>" + tt.title + " – joinedup</title>"; !strings.Contains(page, want) {
				t.Errorf("page lacks %s:\n%s", want, page)
			}
			for _, term := range []string{"The request has invalid fields", "names no consent"} {
				if strings.Contains(page, term) {
					t.Errorf("page says %q", term)
				}
			}
		})
	}

	status, body := sendAPI(t, client, false, http.MethodGet, h.BaseURL+"/api/v1/residents/"+resident+"/history?before=soon", nil)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("history with an invalid query: status %d, want 422; body %s", status, body)
	}
	if p := decodeProblem(t, body); p.Title != "The request has invalid fields" {
		t.Errorf("history with an invalid query: title %q, want the invalid problem type's title", p.Title)
	}
}

// TestRecordShowsWithdrawalOutcome withdraws consent for Child Benefit on
// the form, and checks that once the service has reported on the notice,
// the record shows what it did and a banner that says it confirmed.
func TestRecordShowsWithdrawalOutcome(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	event := registerWithToken(t, h, demoBirth(t, h, 0))
	waitComplete(t, h, event.ID, 60*time.Second)
	own := accountID(t, h, demoResidentName(0))
	client := signedInClient(t, h, demoResidentName(0))
	form := url.Values{"event": {string(event.ID)}, "service": {"child-benefit"}}
	if status, _, _ := postPage(t, client, h.BaseURL+"/residents/"+own+"/consent", form); status != http.StatusSeeOther {
		t.Fatalf("withdrawal: status %d, want 303", status)
	}
	waitComplete(t, h, event.ID, 60*time.Second)

	status, page := getPage(t, client, h.BaseURL+"/residents/"+own+"?withdrawn=child-benefit")

	if status != http.StatusOK {
		t.Fatalf("record: status %d, want 200", status)
	}
	text := html.UnescapeString(page)
	if !strings.Contains(text, "After consent was withdrawn: Child Benefit for this child stopped and the record removed.") {
		t.Errorf("record does not show what Child Benefit did on the withdrawal:\n%s", page)
	}
	if !strings.Contains(text, "Consent withdrawn for Child Benefit. The service has confirmed the withdrawal.") {
		t.Errorf("banner does not say the service confirmed the withdrawal:\n%s", page)
	}
	var record struct {
		Events []struct {
			Services []struct {
				Service           joinedup.ServiceID `json:"service"`
				WithdrawalOutcome string             `json:"withdrawalOutcome"`
			} `json:"services"`
		} `json:"events"`
	}
	getJSONWith(t, client, h.BaseURL+"/api/v1/residents/"+own+"/history", http.StatusOK, &record)
	for _, s := range record.Events[0].Services {
		if s.Service == "child-benefit" && s.WithdrawalOutcome != "Child Benefit for this child stopped and the record removed." {
			t.Errorf("record as JSON gives Child Benefit's withdrawal outcome as %q", s.WithdrawalOutcome)
		}
	}
}

// TestRecordBannerBeforeConfirmation withdraws consent for a service that
// accepts notices but never reports what it did, and checks that the
// banner says the notice is on its way, as the table does, rather than
// that the service has been told.
func TestRecordBannerBeforeConfirmation(t *testing.T) {
	h := startHub(t, nil)
	silent := recorder{outcome: joinedup.Outcome{Status: joinedup.OutcomeAccepted}}
	startService(t, h, "silent", []string{"child.name"}, &silent)
	resident := addFather(t, h)
	event := registerBirth(t, h, birthJSON(t, "2026-11-20", "silent")).Event
	waitDeliveryState(t, h, event.ID, "silent", joinedup.StateDelivered)
	client := signedInClient(t, h, "resident-father")
	form := url.Values{"event": {string(event.ID)}, "service": {"silent"}}
	if status, _, _ := postPage(t, client, h.BaseURL+"/residents/"+resident+"/consent", form); status != http.StatusSeeOther {
		t.Fatalf("withdrawal: status %d, want 303", status)
	}

	status, page := getPage(t, client, h.BaseURL+"/residents/"+resident+"?withdrawn=silent")

	if status != http.StatusOK {
		t.Fatalf("record: status %d, want 200", status)
	}
	if !strings.Contains(page, "The hub is telling the service, and this page will show when the service confirms the withdrawal.") {
		t.Errorf("banner does not say the notice is on its way:\n%s", page)
	}
	if !strings.Contains(page, "The service has not confirmed the withdrawal yet.") {
		t.Errorf("table does not say the withdrawal is unconfirmed:\n%s", page)
	}
	if strings.Contains(page, "The service has been told") || strings.Contains(page, "has confirmed the withdrawal") {
		t.Errorf("banner claims more than is known:\n%s", page)
	}
}

// TestTrackPageShowsWithdrawal withdraws consent for one service and
// checks that the tracking page gives that service one row, which says
// that consent was withdrawn and what became of the withdrawal notice,
// and no row of its own to the notice.
func TestTrackPageShowsWithdrawal(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	event := registerWithToken(t, h, demoBirth(t, h, 0))
	waitComplete(t, h, event.ID, 60*time.Second)
	client := signedInClient(t, h, demoResidentName(0))
	status, body := sendAPI(t, client, false, http.MethodPost, h.BaseURL+"/api/v1/life-events/"+string(event.ID)+"/consent/gp-practice/withdraw", nil)
	if status != http.StatusAccepted {
		t.Fatalf("withdraw: status %d, want 202; body %s", status, body)
	}

	status, page := getPage(t, http.DefaultClient, h.BaseURL+"/track/"+event.Reference)
	if status != http.StatusOK {
		t.Fatalf("tracking page: status %d, want 200", status)
	}
	_, row, _ := strings.Cut(page, `<th scope="row" class="govuk-table__header">Riverside Surgery</th>`)
	row, _, _ = strings.Cut(row, "</tr>")
	if n := strings.Count(page, `<th scope="row" class="govuk-table__header">Riverside Surgery`); n != 1 {
		t.Errorf("tracking page has %d rows of Riverside Surgery, want 1:\n%s", n, page)
	}
	if !strings.Contains(row, `">Consent withdrawn</strong>`) {
		t.Errorf("the row of Riverside Surgery does not say that consent was withdrawn:\n%s", row)
	}
	// The reference service may confirm the notice before the page is read.
	if !strings.Contains(row, "The service has not confirmed the withdrawal yet.") && !strings.Contains(row, "The service confirmed the withdrawal.") {
		t.Errorf("the row of Riverside Surgery does not say what became of the notice:\n%s", row)
	}
	if strings.Contains(page, "Notice that consent was withdrawn") {
		t.Errorf("tracking page gives the withdrawal notice a row of its own:\n%s", page)
	}

	// The audit entry names the service in its reason; the entry's actor
	// already names who withdrew.
	cp, err := h.Engine.Audit.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entries, err := h.Engine.Audit.Entries(context.Background(), 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(entries, func(e audit.Entry) bool { return e.Action == audit.ActionConsentWithdrawn })
	if i < 0 {
		t.Fatal("no consent withdrawal in the audit log")
	}
	if want := []string{"consent to tell gp-practice withdrawn"}; !slices.Equal(entries[i].Reasons, want) {
		t.Errorf("withdrawal reasons = %q, want %q", entries[i].Reasons, want)
	}
}

// TestTrackReadsDashes looks a registration up on the tracking page with
// its reference number typed with dashes or a minus sign in place of the
// hyphens, through the form and in the page's address. Each lookup must
// find the registration, so none counts towards the limit on lookups of
// reference numbers that do not exist, although there are more of them
// than that limit allows.
func TestTrackReadsDashes(t *testing.T) {
	h := startHub(t, nil)
	var gp recorder
	startService(t, h, "gp", []string{"child.name"}, &gp)
	reference := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp")).Event.Reference

	for round := range 2 {
		for _, dash := range []string{"\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212"} {
			typed := strings.ReplaceAll(reference, "-", dash)
			for _, target := range []string{"/track?reference=" + url.QueryEscape(typed), "/track/" + url.PathEscape(typed)} {
				status, page := getPage(t, http.DefaultClient, h.BaseURL+target)
				if status != http.StatusOK {
					t.Fatalf("round %d, %s: status %d, want 200", round+1, target, status)
				}
				if !strings.Contains(page, "Reference number "+reference) {
					t.Errorf("round %d, %s: page does not show the registration %s", round+1, target, reference)
				}
			}
		}
	}
}

// TestListsSayWhenHidden checks that a list the caller may read nothing
// of gets 403 with a reason, and that the life events page offers no
// paging links when it shows no event.
func TestListsSayWhenHidden(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo, c.APIToken = true, testToken })
	body, err := json.Marshal(demoBirth(t, h, 1))
	if err != nil {
		t.Fatal(err)
	}
	status, response := sendAPI(t, signedInClient(t, h, "registrar"), false, http.MethodPost, h.BaseURL+"/api/v1/births", body)
	if status != http.StatusCreated {
		t.Fatalf("register a birth: status %d, want 201; body %s", status, response)
	}

	status, response = sendAPI(t, http.DefaultClient, true, http.MethodGet, h.BaseURL+"/api/v1/deliveries?state=dead-lettered", nil)
	if status != http.StatusForbidden {
		t.Errorf("deliveries with the token: status %d, want 403; body %s", status, response)
	}
	if p := decodeProblem(t, response); !strings.Contains(p.Detail, "You may not list deliveries") {
		t.Errorf("deliveries with the token: detail %q, want it to say the caller may not list deliveries", p.Detail)
	}
	status, response = sendAPI(t, signedInClient(t, h, "operator"), false, http.MethodGet, h.BaseURL+"/api/v1/deliveries?state=dead-lettered", nil)
	if status != http.StatusOK {
		t.Errorf("deliveries as the operator: status %d, want 200; body %s", status, response)
	}

	status, response = sendAPI(t, http.DefaultClient, true, http.MethodGet, h.BaseURL+"/api/v1/persons/reviews", nil)
	if status != http.StatusForbidden {
		t.Errorf("person reviews with the token: status %d, want 403; body %s", status, response)
	}
	if p := decodeProblem(t, response); !strings.Contains(p.Detail, "You may not review possible matches") {
		t.Errorf("person reviews with the token: detail %q", p.Detail)
	}

	// The social worker is allocated to family 0, not to family 1.
	status, page := getPage(t, signedInClient(t, h, "social-worker"), h.BaseURL+"/operator/life-events")
	if status != http.StatusOK {
		t.Fatalf("life events as the social worker: status %d, want 200", status)
	}
	// The list holds only the events the social worker may read, so its
	// total does not count the other family's birth.
	if !strings.Contains(page, "No life events match") {
		t.Errorf("life events as the social worker: the page does not say no life events match:\n%s", page)
	}
	if strings.Contains(page, "govuk-pagination") {
		t.Errorf("life events as the social worker: the empty page offers paging links")
	}
}

// TestLifeEventsPagePastEnd asks for the life events page at an offset
// past the end of the list, and checks that the page says so and links to
// the first page, rather than saying that the events are hidden.
func TestLifeEventsPagePastEnd(t *testing.T) {
	h := startHub(t, nil)
	registerBirth(t, h, birthJSON(t, "2026-11-20"))
	operator := staffClient(t, h, "operator", policy.RoleOperator)

	status, page := getPage(t, operator, h.BaseURL+"/operator/life-events?offset=100000")

	if status != http.StatusOK {
		t.Fatalf("status %d, want 200", status)
	}
	checkPageText(t, page,
		[]string{"There are no life events on this page", `The list has 1 life event. <a class="govuk-link" href="/operator/life-events?limit=20">Go to the first page</a>`},
		[]string{"that you may see"})
}

// TestDeliveriesPageAnyState checks that the operator's deliveries page
// says which state it lists by default and can list every state, and that
// a replay from that list returns to it.
func TestDeliveriesPageAnyState(t *testing.T) {
	h := startHub(t, func(c *Config) { c.MaxAttempts = 1 })
	var reached recorder
	startService(t, h, "reached", []string{"child.name"}, &reached)
	unreachable := recorder{fail: 1000}
	startService(t, h, "unreachable", []string{"child.name"}, &unreachable)
	event := waitComplete(t, h, registerBirth(t, h, birthJSON(t, "2026-11-20", "reached", "unreachable")).Event.ID, 30*time.Second)
	var deadLetter joinedup.DeliveryID
	for _, d := range event.Deliveries {
		if d.State == joinedup.StateDeadLettered {
			deadLetter = d.ID
		}
	}
	operator := staffClient(t, h, "operator", policy.RoleOperator)

	status, page := getPage(t, operator, h.BaseURL+"/operator/deliveries")
	if status != http.StatusOK {
		t.Fatalf("deliveries: status %d, want 200", status)
	}
	checkPageText(t, page, []string{
		"<title>Deliveries: Dead-lettered – joinedup</title>",
		"Unless you choose another state, the list shows dead-lettered deliveries",
		`<option value="any">In any state</option>`,
		`<option value="dead-lettered" selected>Dead-lettered</option>`,
	}, nil)

	status, page = getPage(t, operator, h.BaseURL+"/operator/deliveries?state=any")
	if status != http.StatusOK {
		t.Fatalf("deliveries in any state: status %d, want 200", status)
	}
	checkPageText(t, page, []string{
		"<title>Deliveries: Any state – joinedup</title>",
		`<option value="any" selected>In any state</option>`,
		"Deliveries in any state, oldest first: showing 1 to 2 of 2",
		">Acted</strong>", ">Dead-lettered</strong>",
		`<input type="hidden" name="state" value="any">`,
	}, nil)

	status, location, _ := postPage(t, operator, h.BaseURL+"/operator/deliveries/"+string(deadLetter)+"/replay", url.Values{"state": {"any"}})
	if status != http.StatusSeeOther || !strings.Contains(location, "state=any") {
		t.Errorf("replay from the list in any state: status %d to %q, want 303 back to that list", status, location)
	}

	// The API lists every state too.
	status, body := sendAPI(t, operator, false, http.MethodGet, h.BaseURL+"/api/v1/deliveries?state=any", nil)
	var list struct{ Total int }
	if err := json.Unmarshal(body, &list); err != nil || status != http.StatusOK || list.Total != 2 {
		t.Errorf("API deliveries in state any: status %d, total %d, want 200 with both deliveries; body %s", status, list.Total, body)
	}
}

// TestDeliveriesPageReachesLaterPages lists dead-lettered deliveries two
// to a page and follows the Next link to the third delivery, which the
// first page does not show.
func TestDeliveriesPageReachesLaterPages(t *testing.T) {
	h := startHub(t, func(c *Config) { c.MaxAttempts = 1 })
	unreachable := recorder{fail: 1000}
	startService(t, h, "unreachable", []string{"child.name"}, &unreachable)
	// The service fails every request, so with MaxAttempts 1 each delivery
	// is dead-lettered.
	references := registerBirthsTo(t, h, "unreachable", 3)
	operator := staffClient(t, h, "operator", policy.RoleOperator)

	status, page := getPage(t, operator, h.BaseURL+"/operator/deliveries?state=dead-lettered&limit=2")
	if status != http.StatusOK {
		t.Fatalf("first page: status %d, want 200", status)
	}
	checkPageText(t, page,
		[]string{"Deliveries that are dead-lettered, oldest first: showing 1 to 2 of 3", references[0], references[1], `rel="next"`},
		[]string{references[2], `rel="prev"`})

	page = getNextPage(t, operator, h, page)
	checkPageText(t, page,
		[]string{"Deliveries that are dead-lettered, oldest first: showing 3 to 3 of 3", references[2], `rel="prev"`},
		[]string{references[0], references[1], `rel="next"`})
}

// TestLifeEventsPageReachesOlderRows lists life events two to a page on
// the hub's own store, registers a birth after the first page is read,
// and follows the Next link to the oldest event, which the first page
// does not show. The new birth joins the top of the list, so the page
// after the first shows the oldest event again only by cursor, and its
// caption counts the new birth before it.
func TestLifeEventsPageReachesOlderRows(t *testing.T) {
	h := startHub(t, nil)
	var references []string
	for i := range 3 {
		references = append(references, registerBirth(t, h, nthBirthJSON(t, i, fmt.Sprintf("2026-11-%02d", 10+i))).Event.Reference)
	}
	operator := staffClient(t, h, "operator", policy.RoleOperator)

	status, page := getPage(t, operator, h.BaseURL+"/operator/life-events?limit=2")
	if status != http.StatusOK {
		t.Fatalf("first page: status %d, want 200", status)
	}
	checkPageText(t, page,
		[]string{"Showing 1 to 2 of 3, newest first", references[2], references[1], `rel="next"`},
		[]string{references[0], `rel="prev"`})

	born := registerBirth(t, h, nthBirthJSON(t, 3, "2026-11-20")).Event.Reference
	page = getNextPage(t, operator, h, page)
	checkPageText(t, page,
		[]string{"Showing 4 to 4 of 4, newest first", references[0], `rel="prev"`},
		[]string{references[1], references[2], born, `rel="next"`})
}

// TestNoticesPageReachesOlderRows signs in as a service officer and
// follows the Next link of the service's notices page to the oldest
// delivery, which the first page does not show.
func TestNoticesPageReachesOlderRows(t *testing.T) {
	h := startHub(t, nil)
	var reached recorder
	startService(t, h, "reached", []string{"child.name"}, &reached)
	references := registerBirthsTo(t, h, "reached", 3)
	ctx := context.Background()
	passwords, err := auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	officer := &auth.Account{Username: "officer-reached", Role: policy.RoleServiceOfficer, Organisation: "test-council", Services: []joinedup.ServiceID{"reached"}}
	if err := ensureAccount(ctx, h.DB, passwords, officer); err != nil {
		t.Fatal(err)
	}
	client := signedInClient(t, h, "officer-reached")

	status, page := getPage(t, client, h.BaseURL+"/services/reached/notices?limit=2")
	if status != http.StatusOK {
		t.Fatalf("first page: status %d, want 200", status)
	}
	checkPageText(t, page,
		[]string{"Received, newest first: showing 1 to 2 of 3", references[2], references[1], "newest first, 2 to a page."},
		[]string{references[0], "Every life event"})

	page = getNextPage(t, client, h, page)
	checkPageText(t, page,
		[]string{"Received, newest first: showing 3 to 3 of 3", references[0], `rel="prev"`},
		[]string{references[1], references[2], `rel="next"`})
}

// registerBirthsTo registers count births, each on its own date, with a
// delivery to service, and waits until each event is complete. It
// returns the events' references in order of registration.
func registerBirthsTo(t *testing.T, h *Hub, service joinedup.ServiceID, count int) []string {
	t.Helper()
	var references []string
	for i := range count {
		dob := fmt.Sprintf("2026-11-%02d", 10+i)
		event := waitComplete(t, h, registerBirth(t, h, birthJSON(t, dob, service)).Event.ID, 30*time.Second)
		references = append(references, event.Reference)
	}
	return references
}

// getNextPage follows the Next link of page, one page of a paged list,
// and returns the page it leads to.
func getNextPage(t *testing.T, client *http.Client, h *Hub, page string) string {
	t.Helper()
	m := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no Next link:\n%s", page)
	}
	next := html.UnescapeString(m[1])
	status, body := getPage(t, client, h.BaseURL+next)
	if status != http.StatusOK {
		t.Fatalf("next page %s: status %d, want 200", next, status)
	}
	return body
}

// TestStaticServesFilesOnly checks that the static files are served,
// and that a directory of them or a path that climbs out of them gets the
// pages' 404 rather than a listing or Go's plain reply.
func TestStaticServesFilesOnly(t *testing.T) {
	h := startHub(t, nil)
	resp, err := http.Get(h.BaseURL + "/static/joinedup.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("/static/joinedup.css: status %d, type %q, want 200 and CSS", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	for _, path := range []string{"/static/", "/static/vendor/", "/static/vendor", "/static/%2e%2e/go.mod", "/static/no-such-file.css"} {
		t.Run(path, func(t *testing.T) {
			status, page := getPage(t, http.DefaultClient, h.BaseURL+path)

			if status != http.StatusNotFound {
				t.Fatalf("status %d, want 404", status)
			}
			checkPageText(t, page, []string{"<title>Not found – joinedup</title>", "There is no page or resource at this address."},
				[]string{`href="joinedup.css"`, `href="govuk-frontend/"`, "module github.com/joinedup/joinedup"})
		})
	}
}

// TestListsForbidWhenNoneReadable asks the demo hub for lists whose
// every item the caller may not read, and checks that each returns 403
// with a message, while unknown ids still get 404 or 422.
func TestListsForbidWhenNoneReadable(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	dpo := signedInClient(t, h, "data-protection-officer")
	officer := signedInClient(t, h, "officer-child-benefit")
	operator := signedInClient(t, h, "operator")
	registrar := signedInClient(t, h, "registrar")

	cases := []struct {
		name   string
		client *http.Client
		target string
		status int
		detail string
	}{
		{"life events as the data protection officer", dpo, "/api/v1/life-events", http.StatusForbidden, "You may not list life events"},
		{"life events as the registrar", registrar, "/api/v1/life-events", http.StatusOK, ""},
		{"life events as the operator", operator, "/api/v1/life-events", http.StatusOK, ""},
		{"life events as the service officer", officer, "/api/v1/life-events", http.StatusOK, ""},
		{"another service's deliveries", officer, "/api/v1/deliveries?state=retrying&service=gp-practice", http.StatusForbidden, `deliveries of service "gp-practice"`},
		{"own service's deliveries", officer, "/api/v1/deliveries?state=retrying&service=child-benefit", http.StatusOK, ""},
		{"deliveries of an unknown service", officer, "/api/v1/deliveries?state=retrying&service=no-such-service", http.StatusUnprocessableEntity, "The query has invalid parameters"},
		{"any service's deliveries as the operator", operator, "/api/v1/deliveries?state=retrying&service=gp-practice", http.StatusOK, ""},
		{"notices as the operator", operator, "/api/v1/services/gp-practice/notices", http.StatusForbidden, `notices of service "gp-practice"`},
		{"another service's notices", officer, "/api/v1/services/gp-practice/notices", http.StatusForbidden, `notices of service "gp-practice"`},
		{"notices of an unknown service", operator, "/api/v1/services/no-such-service/notices", http.StatusNotFound, ""},
		{"own service's notices", officer, "/api/v1/services/child-benefit/notices", http.StatusOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, response := sendAPI(t, tc.client, false, http.MethodGet, h.BaseURL+tc.target, nil)
			if status != tc.status {
				t.Fatalf("GET %s: status %d, want %d; body %s", tc.target, status, tc.status, response)
			}
			if tc.detail == "" {
				return
			}
			if p := decodeProblem(t, response); !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("GET %s: detail %q, want it to contain %q", tc.target, p.Detail, tc.detail)
			}
		})
	}

	status, page := getPage(t, dpo, h.BaseURL+"/operator/life-events")
	if status != http.StatusForbidden {
		t.Errorf("life events page as the data protection officer: status %d, want 403", status)
	}
	if !strings.Contains(html.UnescapeString(page), "You may not list life events") {
		t.Errorf("life events page as the data protection officer does not say why:\n%s", page)
	}
}

// TestTrackPageUsesPlainWords registers a birth with a service that
// keeps it for review and one that cannot be reached. The public tracking
// page must name their states in plain words. The operator's list writes
// the state in lower case within its caption, and the API keeps the codes.
func TestTrackPageUsesPlainWords(t *testing.T) {
	h := startHub(t, func(c *Config) { c.MaxAttempts = 1 })
	review := recorder{outcome: joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "Recorded for manual review."}}
	startService(t, h, "review", []string{"child.name"}, &review)
	// A service that responds 503 to every attempt received the details,
	// and so may hold them. One whose port takes no connection did not.
	unavailable := recorder{fail: 1000}
	startService(t, h, "unavailable", []string{"child.name"}, &unavailable)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := serveRecorder(t, "unreachable", []string{"child.name"}, &recorder{})
	unreachable.Endpoint.URL = "http://" + closed.Addr().String() + "/events"
	closed.Close()
	if err := h.Directory.CreateService(context.Background(), unreachable); err != nil {
		t.Fatal(err)
	}
	event := registerBirth(t, h, birthJSON(t, "2026-11-20", "review", "unavailable", "unreachable")).Event
	waitComplete(t, h, event.ID, 30*time.Second)

	status, page := getPage(t, http.DefaultClient, h.BaseURL+"/track/"+event.Reference)

	if status != http.StatusOK {
		t.Fatalf("tracking page: status %d, want 200", status)
	}
	for _, want := range []string{">Received, not completed</strong>", ">Sent, not confirmed</strong>", ">Not reached</strong>"} {
		if !strings.Contains(page, want) {
			t.Errorf("tracking page lacks the tag %q:\n%s", want, page)
		}
	}
	for _, code := range []string{">Failed<", ">Dead-lettered<"} {
		if strings.Contains(page, code) {
			t.Errorf("tracking page shows the staff label %q", code)
		}
	}

	operator := staffClient(t, h, "operator", policy.RoleOperator)
	for target, caption := range map[string]string{
		"/operator/deliveries":              "Deliveries that are dead-lettered, oldest first",
		"/operator/deliveries?state=failed": "Deliveries that are failed, oldest first",
	} {
		if status, page := getPage(t, operator, h.BaseURL+target); status != http.StatusOK || !strings.Contains(page, caption) {
			t.Errorf("%s: status %d, want 200 with the caption %q:\n%s", target, status, caption, page)
		}
	}

	var stored joinedup.LifeEvent
	getJSONWith(t, operator, h.BaseURL+"/api/v1/life-events/"+string(event.ID), http.StatusOK, &stored)
	states := map[joinedup.ServiceID]joinedup.DeliveryState{}
	for _, d := range stored.Deliveries {
		states[d.Service] = d.State
	}
	if states["review"] != joinedup.StateFailed || states["unreachable"] != joinedup.StateDeadLettered {
		t.Errorf("API gives the states %v, want the codes failed and dead-lettered", states)
	}
}

// TestStaffPagesUseWordsForIds registers a birth with the API token and
// checks that the operator's pages name the event type, the token and
// the life event of each delivery in words rather than by their codes
// and ids.
func TestStaffPagesUseWordsForIds(t *testing.T) {
	h := startHub(t, nil)
	var chosen recorder
	startService(t, h, "chosen", []string{"child.name"}, &chosen)
	event := registerBirth(t, h, birthJSON(t, "2026-11-20", "chosen")).Event
	waitComplete(t, h, event.ID, 10*time.Second)
	operator := staffClient(t, h, "operator", policy.RoleOperator)
	link := `href="/operator/life-events/` + string(event.ID) + `">Life event ` + event.Reference + `</a>`
	tests := []struct {
		target  string
		want    []string
		notWant []string
	}{
		{"/operator/life-events/" + string(event.ID),
			[]string{`<span class="govuk-caption-l">Birth registration</span>`, " by a connected system, with the hub’s API token</dd>", link},
			[]string{"birth.registered", "api-token"}},
		{"/operator/life-events",
			[]string{`<td class="govuk-table__cell">Birth registration</td>`},
			[]string{"birth.registered"}},
		{"/operator/deliveries?state=acted",
			[]string{link},
			[]string{"> " + string(event.ID) + "<"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			status, page := getPage(t, operator, h.BaseURL+tt.target)

			if status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
			checkPageText(t, page, tt.want, tt.notWant)
		})
	}
}

// TestRepeatedQueryParameterRejected sends lists and pages a query
// parameter twice, and checks that each gets 422 naming the parameter
// rather than reading one of the values.
func TestRepeatedQueryParameterRejected(t *testing.T) {
	h := startHub(t, nil)
	resident := addFather(t, h)
	father := signedInClient(t, h, "resident-father")
	operator := staffClient(t, h, "operator", policy.RoleOperator)
	tests := []struct {
		name   string
		client *http.Client
		target string
		field  string
	}{
		{"history", father, "/api/v1/residents/" + resident + "/history?limit=1&limit=2", "/limit"},
		{"life events", operator, "/api/v1/life-events?state=acted&state=failed", "/state"},
		{"deliveries", operator, "/api/v1/deliveries?state=acted&limit=5&limit=6", "/limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := sendAPI(t, tt.client, false, http.MethodGet, h.BaseURL+tt.target, nil)

			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", status, body)
			}
			want := fmt.Sprintf("Give the parameter %q once. The query gives it 2 times.", strings.TrimPrefix(tt.field, "/"))
			if p := decodeProblem(t, body); len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Message != want {
				t.Errorf("errors = %+v, want one on %s: %q", p.Errors, tt.field, want)
			}
		})
	}

	pages := []struct {
		name   string
		client *http.Client
		target string
	}{
		{"record page", father, "/residents/" + resident + "?before=5&before=6"},
		{"life events page", operator, "/operator/life-events?limit=1&limit=2"},
		{"deliveries page", operator, "/operator/deliveries?state=acted&state=failed"},
	}
	for _, tt := range pages {
		t.Run(tt.name, func(t *testing.T) {
			status, page := getPage(t, tt.client, h.BaseURL+tt.target)

			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", status)
			}
			if !strings.Contains(page, "Part of the link appears more than once") {
				t.Errorf("page does not say in plain words that the link repeats a part:\n%s", page)
			}
			if strings.Contains(page, "The query gives") {
				t.Errorf("page gives the API's wording:\n%s", page)
			}
		})
	}
}
