package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/auth/oidctest"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/reference/population"
	"github.com/joinedup/joinedup/store/storetest"
	"github.com/joinedup/joinedup/web/browsertest"
)

// These tests run the real hub with the demo council and its reference
// services, sign in with the demo accounts, and check both what each
// person sees and what the services receive.

// demoBirth returns the registration of a birth in demo family i of the
// hub's seed, consenting to every reference service.
func demoBirth(t testing.TB, h *Hub, i int) joinedup.BirthRegistration {
	t.Helper()
	reg := population.Births(1, i+1, joinedup.Today(time.Now()))[i]
	services, err := h.Directory.ListServices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range services {
		reg.Consent.Services = append(reg.Consent.Services, s.ID)
	}
	return reg
}

// registerWithToken registers reg through the API with the demo's token.
func registerWithToken(t testing.TB, h *Hub, reg joinedup.BirthRegistration) *joinedup.LifeEvent {
	t.Helper()
	body, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, h.BaseURL+"/api/v1/births", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+demoAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register birth with the token: status %d, body %s", resp.StatusCode, b)
	}
	var out birthResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out.Event
}

// accountID returns the id of the demo account with the user name.
func accountID(t testing.TB, h *Hub, username string) string {
	t.Helper()
	a, err := h.DB.FindAccountByUsername(context.Background(), username)
	if err != nil {
		t.Fatalf("find account %s: %v", username, err)
	}
	return a.ID
}

// signIn signs a browser in with a demo account and returns the status
// of the page it lands on.
func signIn(t *testing.T, b *browsertest.Browser, h *Hub, username string) int {
	t.Helper()
	b.Visit(h.BaseURL + "/sign-in")
	b.Fill(map[string]string{"#username": username, "#password": demoPassword})
	return b.Submit(`form[action="/sign-in"] button[type=submit]`)
}

func signOut(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	if status := b.Submit(`form[action="/sign-out"] button[type=submit]`); status != http.StatusOK {
		t.Fatalf("sign out: status %d, want 200 on the sign-in page", status)
	}
}

// text returns the visible text of the current page's main content.
func text(b *browsertest.Browser) string {
	return b.Eval(`document.querySelector("main").innerText`)
}

func TestRegistrarRegistersInBrowser(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	b := browsertest.New(t)

	// A page for staff sends a browser with no session to sign in first.
	if status := b.Visit(h.BaseURL + "/births/new"); status != http.StatusOK {
		t.Fatalf("births form without a session: status %d after the redirect, want 200", status)
	}
	if got := b.Eval(`location.pathname`); got != "/sign-in" {
		t.Fatalf("births form without a session went to %s, want /sign-in", got)
	}
	b.Fill(map[string]string{"#username": "registrar", "#password": "wrong-password"})
	if status := b.Submit(`form[action="/sign-in"] button[type=submit]`); status != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d, want 401", status)
	}
	if summary := b.Eval(`document.querySelector(".govuk-error-summary").innerText`); !strings.Contains(summary, "incorrect") {
		t.Errorf("error summary = %q, want the sign-in failure explained", summary)
	}
	b.Fill(map[string]string{"#username": "registrar", "#password": demoPassword})
	if status := b.Submit(`form[action="/sign-in"] button[type=submit]`); status != http.StatusOK {
		t.Fatalf("sign in: status %d", status)
	}
	if got := b.Eval(`location.pathname`); got != "/births/new" {
		t.Fatalf("after sign-in the browser is at %s, want back at /births/new", got)
	}

	reg := demoBirth(t, h, 0)
	father := reg.Parents[*reg.Informant.Parent]
	b.Fill(map[string]string{
		"#child-name-given": reg.Child.Name.Given, "#child-name-family": reg.Child.Name.Family,
		"#child-dateOfBirth-day":   fmt.Sprint(reg.Child.DateOfBirth.Day),
		"#child-dateOfBirth-month": fmt.Sprint(int(reg.Child.DateOfBirth.Month)),
		"#child-dateOfBirth-year":  fmt.Sprint(reg.Child.DateOfBirth.Year),
		"#child-placeOfBirth":      reg.Child.PlaceOfBirth,
		"#parents-0-name-given":    father.Name.Given, "#parents-0-name-family": father.Name.Family,
		"#parents-0-dateOfBirth-day":         fmt.Sprint(father.DateOfBirth.Day),
		"#parents-0-dateOfBirth-month":       fmt.Sprint(int(father.DateOfBirth.Month)),
		"#parents-0-dateOfBirth-year":        fmt.Sprint(father.DateOfBirth.Year),
		"#parents-0-nationalInsuranceNumber": father.NationalInsuranceNumber,
		"#parents-0-address-lines-0":         father.Address.Lines[0],
		"#parents-0-address-town":            father.Address.Town,
		"#parents-0-address-postcode":        father.Address.Postcode,
		"#informant-name-given":              father.Name.Given, "#informant-name-family": father.Name.Family,
	})
	checked := b.Eval(fmt.Sprintf(`(() => {
		const pick = (name, value) => { document.querySelector('input[name="' + name + '"][value="' + value + '"]').checked = true; };
		pick("child-sex", %q);
		pick("parents-0-role", "father");
		pick("informant-capacity", "father");
		pick("informant-parent", "0");
		const boxes = document.querySelectorAll('input[name="consent-services"]');
		boxes.forEach(box => { box.checked = true; });
		return String(boxes.length);
	})()`, reg.Child.Sex))
	if checked != "4" {
		t.Fatalf("the form offers %s services, want the 4 reference services", checked)
	}
	if status := b.Submit(`form[action="/births/new"] button[type=submit]`); status != http.StatusOK {
		t.Fatalf("register: status %d after the redirect; page: %s", status, text(b))
	}
	reference := b.Eval(`document.querySelector(".govuk-panel__body strong").textContent`)
	if !strings.HasPrefix(reference, "JU-") {
		t.Fatalf("confirmation reference = %q, want JU-…", reference)
	}
	if got := b.Eval(`location.pathname`); !strings.HasPrefix(got, "/births/evt_") {
		t.Errorf("confirmation is at %s, want /births/{id}", got)
	}
	if status := b.Visit(b.Eval(`location.href`)); status != http.StatusOK {
		t.Errorf("reloading the confirmation: status %d, want 200", status)
	}
	if got := b.Eval(`document.querySelector(".govuk-panel__body strong").textContent`); got != reference {
		t.Errorf("reloaded confirmation shows reference %q, want %q", got, reference)
	}

	// The tracking page shows every service's outcome once they report.
	wantServices := []string{"Child Benefit", "Housing Benefit and Council Tax Reduction", "Riverside Surgery", "Riverside Primary School pupil planning"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if status := b.Visit(h.BaseURL + "/track/" + reference); status != http.StatusOK {
			t.Fatalf("tracking page: status %d", status)
		}
		table := b.Eval(`document.querySelector("#deliveries table").innerText`)
		if strings.Count(table, "Done")+strings.Count(table, "Received, not completed") == len(wantServices) {
			for _, name := range wantServices {
				if !strings.Contains(table, name) {
					t.Errorf("tracking table lacks %s:\n%s", name, table)
				}
			}
			if strings.Contains(table, "Nothing reported yet") {
				t.Errorf("a service has no outcome summary:\n%s", table)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every service reported an outcome in time:\n%s", table)
		}
		time.Sleep(500 * time.Millisecond)
	}
	signOut(t, b)
}

func TestStaffAndResidentSeeOnlyTheirsInBrowser(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	event := registerWithToken(t, h, demoBirth(t, h, 0))
	waitComplete(t, h, event.ID, 60*time.Second)
	father := accountID(t, h, demoResidentName(0))
	stranger := accountID(t, h, demoResidentName(1))
	b := browsertest.New(t)

	t.Run("social worker", func(t *testing.T) {
		signIn(t, b, h, "social-worker")
		b.Visit(h.BaseURL + "/residents?q=resident-0")
		results := b.Eval(`document.querySelector("main table").innerText`)
		if !strings.Contains(results, demoResidentName(0)+"\tAllocated to you") {
			t.Errorf("search results lack the allocated resident:\n%s", results)
		}
		if !strings.Contains(results, demoResidentName(1)+"\tOnly with break glass") {
			t.Errorf("search results lack another resident, openable with break glass:\n%s", results)
		}

		if status := b.Visit(h.BaseURL + "/residents/" + father); status != http.StatusOK {
			t.Fatalf("allocated resident's record: status %d", status)
		}
		if page := text(b); !strings.Contains(page, "Birth of ") || !strings.Contains(page, event.Reference) {
			t.Errorf("allocated resident's record lacks the child's birth %s:\n%s", event.Reference, page)
		}
		if status := b.Visit(h.BaseURL + "/operator/life-events/" + string(event.ID)); status != http.StatusOK {
			t.Errorf("allocated resident's child's life event: status %d, want 200", status)
		}

		if status := b.Visit(h.BaseURL + "/residents/" + stranger); status != http.StatusNotFound {
			t.Fatalf("unallocated resident's record: status %d, want 404", status)
		}
		if page := text(b); strings.Contains(page, "Birth of") {
			t.Errorf("the 404 page shows record data:\n%s", page)
		}
		b.Fill(map[string]string{"#reason": "Police report a child at risk at this address tonight.", "#duration": "2"})
		if status := b.Submit(`form[action$="/break-glass"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("break glass: status %d; page: %s", status, text(b))
		}
		if warning := b.Eval(`document.querySelector(".govuk-warning-text").innerText`); !strings.Contains(warning, "break glass") || !strings.Contains(warning, "Police report") {
			t.Errorf("record opened with break glass does not say so: %q", warning)
		}
		signOut(t, b)
		if status := b.Visit(h.BaseURL + "/residents/" + father); status != http.StatusOK || b.Eval(`location.pathname`) != "/sign-in" {
			t.Errorf("after sign-out the record is still open: status %d at %s", status, b.Eval(`location.pathname`))
		}
	})

	t.Run("resident", func(t *testing.T) {
		signIn(t, b, h, demoResidentName(0))
		if got := b.Eval(`location.pathname`); got != "/residents/"+father {
			t.Fatalf("resident landed on %s, want their record", got)
		}
		page := text(b)
		for _, want := range []string{"Your record", event.Reference, "Riverside Primary School pupil planning", "About you: name, date of birth, address", "social-worker (social worker)", "Record viewed", "A social worker allocated to the resident needs their record for their care."} {
			if !strings.Contains(page, want) {
				t.Errorf("resident's record lacks %q:\n%s", want, page)
			}
		}
		if status := b.Visit(h.BaseURL + "/residents/" + stranger); status != http.StatusNotFound {
			t.Errorf("another resident's record: status %d, want 404", status)
		}
		if got := b.Eval(`String(document.querySelector("#reason") !== null)`); got != "false" {
			t.Errorf("a resident is offered break glass")
		}
		if status := b.Visit(h.BaseURL + "/operator/life-events"); status != http.StatusForbidden {
			t.Errorf("staff page for a resident: status %d, want 403", status)
		}
		if status := b.Visit(h.BaseURL + "/births/new"); status != http.StatusForbidden {
			t.Errorf("births form for a resident: status %d, want 403", status)
		}

		b.Visit(h.BaseURL + "/my-record")
		if status := b.Submit(`form[action$="/consent"]:has(input[value="primary-school"]) button`); status != http.StatusOK {
			t.Fatalf("withdraw the school's consent: status %d", status)
		}
		if heading := b.Eval(`document.querySelector("h1").innerText`); heading != "Are you sure you want to withdraw consent for Riverside Primary School pupil planning?" {
			t.Errorf("confirmation heading = %q, want the school named", heading)
		}
		if status := b.Submit(`form[method="post"][action$="/consent"] button`); status != http.StatusOK {
			t.Fatalf("confirm the withdrawal: status %d", status)
		}
		if banner := b.Eval(`document.querySelector(".govuk-notification-banner").innerText`); !strings.Contains(banner, "Consent withdrawn for Riverside Primary School") {
			t.Errorf("banner after withdrawing = %q, want the school named", banner)
		}
		signOut(t, b)
	})

	t.Run("service officer", func(t *testing.T) {
		signIn(t, b, h, "officer-primary-school")
		if got := b.Eval(`location.pathname`); got != "/services/primary-school/notices" {
			t.Fatalf("service officer landed on %s, want the school's notices", got)
		}
		if table := b.Eval(`document.querySelector("main table").innerText`); !strings.Contains(table, "Riverside Primary School pupil planning") {
			t.Errorf("school's notices lack its deliveries:\n%s", table)
		}
		if status := b.Visit(h.BaseURL + "/services/child-benefit/notices"); status != http.StatusForbidden {
			t.Errorf("another service's notices: status %d, want 403", status)
		}
		// The resident withdrew the school's consent above, so the hub
		// shares nothing more with the school, its officers included.
		if status := b.Visit(h.BaseURL + "/operator/life-events/" + string(event.ID)); status != http.StatusForbidden {
			t.Errorf("life event whose consent to the school was withdrawn: status %d, want 403", status)
		}
		signOut(t, b)
	})

	t.Run("registrar", func(t *testing.T) {
		signIn(t, b, h, "registrar")
		if status := b.Visit(h.BaseURL + "/residents/" + father); status != http.StatusNotFound {
			t.Errorf("a registrar reading a resident's record: status %d, want 404", status)
		}
		signOut(t, b)
	})

	t.Run("data protection officer", func(t *testing.T) {
		signIn(t, b, h, "data-protection-officer")
		b.Visit(h.BaseURL + "/dpo/break-glass")
		table := b.Eval(`document.querySelector("main table").innerText`)
		if !strings.Contains(table, "social-worker opened the record of "+demoResidentName(1)) || !strings.Contains(table, "Police report") {
			t.Fatalf("review list lacks the break-glass use:\n%s", table)
		}
		b.Fill(map[string]string{`textarea[name="note"]`: "Checked with the team manager."})
		if status := b.Submit(`form[action$="/review"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("sign off: status %d", status)
		}
		table = b.Eval(`document.querySelector("main table").innerText`)
		if !strings.Contains(table, "Signed off by data-protection-officer") {
			t.Errorf("review list does not show the sign-off:\n%s", table)
		}
		signOut(t, b)
	})
}

// apiClient signs in through the sign-in form, as a program would, and
// keeps the session cookie.
func signedInClient(t *testing.T, h *Hub, username string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(h.BaseURL+"/sign-in", url.Values{"username": {username}, "password": {demoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/sign-in" {
		t.Fatalf("sign in as %s: status %d at %s", username, resp.StatusCode, resp.Request.URL.Path)
	}
	return c
}

func TestWithdrawConsentTellsOnlyTheSchool(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		withdrawConsentTellsOnlyTheSchool(t, startHub(t, func(c *Config) { c.Demo = true }))
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		withdrawConsentTellsOnlyTheSchool(t, startHub(t, func(c *Config) { c.Demo, c.DatabaseURL = true, url }))
	})
}

func withdrawConsentTellsOnlyTheSchool(t *testing.T, h *Hub) {
	ctx := context.Background()
	event := registerWithToken(t, h, demoBirth(t, h, 0))
	before := waitComplete(t, h, event.ID, 60*time.Second)
	var nursery *joinedup.DeferredAction
	for _, a := range before.Actions {
		if a.Service == "primary-school" {
			nursery = a
		}
	}
	if nursery == nil || nursery.State != joinedup.ActionScheduled {
		t.Fatalf("before the withdrawal the school has no scheduled nursery contact: %+v", before.Actions)
	}

	father := signedInClient(t, h, demoResidentName(0))
	resp, err := father.Post(h.BaseURL+"/api/v1/life-events/"+string(event.ID)+"/consent/primary-school/withdraw", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("withdraw: status %d, want 202", resp.StatusCode)
	}

	after := waitComplete(t, h, event.ID, 60*time.Second)
	counts := map[joinedup.ServiceID]int{}
	var notices []*joinedup.Delivery
	for _, d := range after.Deliveries {
		counts[d.Service]++
		if d.Kind == joinedup.EventConsentWithdrawn {
			notices = append(notices, d)
		}
	}
	if len(notices) != 1 || notices[0].Service != "primary-school" {
		t.Fatalf("withdrawal notices = %+v, want one to the school", notices)
	}
	if notices[0].State != joinedup.StateActed || notices[0].Outcome == nil {
		t.Fatalf("the school's notice is %s, want acted with an outcome (confirmed)", notices[0].State)
	}
	if summary := notices[0].Outcome.Summary; !strings.Contains(summary, "nursery call cancelled") {
		t.Errorf("the school's answer to the notice = %q, want its nursery call cancelled", summary)
	}
	for _, s := range []joinedup.ServiceID{"child-benefit", "housing-benefit", "gp-practice"} {
		if counts[s] != 1 {
			t.Errorf("%s has %d deliveries after the withdrawal, want its 1 birth only", s, counts[s])
		}
	}
	for _, a := range after.Actions {
		if a.ID == nursery.ID && a.State != joinedup.ActionCancelled {
			t.Errorf("nursery contact is %s after the withdrawal, want cancelled", a.State)
		}
	}
	if !after.Consent.Given("child-benefit") || after.Consent.Given("primary-school") {
		t.Errorf("consent after the withdrawal = %+v, want only the school's withdrawn", after.Consent.Decisions)
	}

	// The father's history shows the withdrawal as confirmed, and another
	// resident cannot read it.
	var history struct {
		Events []struct {
			Services []struct {
				Service    string `json:"service"`
				Decision   string `json:"decision"`
				Withdrawal string `json:"withdrawal"`
			} `json:"services"`
		} `json:"events"`
		Accesses []struct {
			Action string `json:"action"`
		} `json:"accesses"`
	}
	fatherID := accountID(t, h, demoResidentName(0))
	getJSONWith(t, father, h.BaseURL+"/api/v1/residents/"+fatherID+"/history", http.StatusOK, &history)
	var school string
	for _, s := range history.Events[0].Services {
		if s.Service == "primary-school" {
			school = s.Decision + "/" + s.Withdrawal
		}
	}
	if school != "withdrawn/confirmed" {
		t.Errorf("school in the father's history = %q, want withdrawn/confirmed", school)
	}
	actions := map[string]bool{}
	for _, a := range history.Accesses {
		actions[a.Action] = true
	}
	for _, want := range []string{"access", "disclosure", "consent.withdrawn"} {
		if !actions[want] {
			t.Errorf("father's history has no %q entry; it has %v", want, actions)
		}
	}

	stranger := signedInClient(t, h, demoResidentName(1))
	getJSONWith(t, stranger, h.BaseURL+"/api/v1/residents/"+fatherID+"/history", http.StatusNotFound, nil)
	resp, err = stranger.Post(h.BaseURL+"/api/v1/life-events/"+string(event.ID)+"/consent/child-benefit/withdraw", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another resident withdrawing consent: status %d, want 404", resp.StatusCode)
	}
	if ev, _ := h.LifeEvents.FindLifeEvent(ctx, event.ID); !ev.Consent.Given("child-benefit") {
		t.Errorf("another resident withdrew the father's consent")
	}
}

func TestStaffAPIRequiresSignIn(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Demo = true })
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no credentials", "", http.StatusUnauthorized},
		{"wrong token", "Bearer not-the-token", http.StatusUnauthorized},
		{"demo token", "Bearer " + demoAPIToken, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.BaseURL+"/api/v1/life-events", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}

	registerWithToken(t, h, demoBirth(t, h, 2))
	resp, err := http.Get(h.BaseURL + "/api/v1/audit/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cp struct {
		Size uint64 `json:"size"`
		Note string `json:"note"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cp); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("audit checkpoint: status %d, error %v", resp.StatusCode, err)
	}
	if cp.Size == 0 || cp.Note == "" {
		t.Errorf("audit checkpoint = %+v, want the log's entries counted and a signed note", cp)
	}
}

// getJSONWith gets target with client, checks the status and decodes the
// body into v when v is not nil.
func getJSONWith(t *testing.T, client *http.Client, target string, status int, v any) {
	t.Helper()
	resp, err := client.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d; body %s", target, resp.StatusCode, status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decode %s: %v", target, err)
		}
	}
}

func TestStaffSignInWithOIDC(t *testing.T) {
	const clientID, secret = "joinedup-hub", "client-secret-for-tests"
	provider := oidctest.New(t, clientID, secret, "http://127.0.0.1:9/unset")
	h := startHub(t, func(c *Config) {
		c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = provider.Issuer, clientID, secret
	})
	provider.SetRedirectURL(h.BaseURL + "/sign-in/oidc/callback")
	linked := &auth.Account{
		ID: "acc-oidc-registrar", Username: "oidc.registrar", Role: policy.RoleRegistrar, Organisation: demoOrganisation,
		Issuer: provider.Issuer, Subject: "user-1", CreatedAt: time.Now(),
	}
	if err := h.DB.CreateAccount(context.Background(), linked); err != nil {
		t.Fatal(err)
	}

	signInPage, err := http.Get(h.BaseURL + "/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(signInPage.Body)
	signInPage.Body.Close()
	if !strings.Contains(string(body), `href="/sign-in/oidc"`) {
		t.Errorf("sign-in page does not offer the identity provider")
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(h.BaseURL + "/sign-in/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/births/new" {
		t.Fatalf("OIDC sign-in: status %d at %s, want 200 at the registrar's /births/new", resp.StatusCode, resp.Request.URL.Path)
	}

	provider.SetUser("user-without-account", "nobody@example.test")
	jar, _ = cookiejar.New(nil)
	browser.Jar = jar
	resp, err = browser.Get(h.BaseURL + "/sign-in/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("OIDC identity with no account: status %d, want 401", resp.StatusCode)
	}
}
