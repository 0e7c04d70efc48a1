package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// staffWithdrawalEnv is a test env with validBirth registered by the
// registrar, which consents to Child Benefit and refuses the GP practice,
// and a Consents that records each withdrawal and marks it in the fake.
type staffWithdrawalEnv struct {
	*testEnv
	event     *joinedup.LifeEvent
	withdrawn *recordingWithdrawer
	// page is the event's life event page, and consent the path of its
	// staff withdrawal pages.
	page, consent string
}

func newStaffWithdrawalEnv(t *testing.T) staffWithdrawalEnv {
	t.Helper()
	env := newTestEnv(t)
	if rec := env.postJSON(t, "/api/v1/births", validBirth); rec.Code != http.StatusCreated {
		t.Fatalf("register the birth: status %d, want 201; body %s", rec.Code, rec.Body)
	}
	withdrawn := &recordingWithdrawer{hub: env.hub}
	env.server.Consents = withdrawn
	event := env.hub.events[0]
	page := "/operator/life-events/" + string(event.ID)
	return staffWithdrawalEnv{testEnv: env, event: event, withdrawn: withdrawn, page: page, consent: page + "/consent"}
}

// confirmationURL returns the address of the confirmation page of a
// withdrawal of the consent for service.
func (e staffWithdrawalEnv) confirmationURL(service string) string {
	return e.consent + "?" + url.Values{"service": {service}}.Encode()
}

// withdrawalAccesses returns the audit entries that record a withdrawal
// of consent through the web layer.
func withdrawalAccesses(t *testing.T, entries []audit.Entry) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for _, e := range entries {
		var detail struct {
			Operation string `json:"operation"`
		}
		if err := json.Unmarshal(e.Detail, &detail); err != nil {
			t.Fatalf("decode detail %s: %v", e.Detail, err)
		}
		if e.Action == audit.ActionAccess && detail.Operation == "withdraw-consent" {
			out = append(out, e)
		}
	}
	return out
}

// withdrawLink is the Withdraw consent link of the life event page for
// Child Benefit, with the text that names the service to screen readers.
const withdrawLink = `?service=child-benefit">Withdraw consent<span class="govuk-visually-hidden"> for Child Benefit</span></a>`

func TestLifeEventPageOffersWithdrawal(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	worker := env.createAccount(t, "worker", policy.RoleSocialWorker)
	mother := env.createAccount(t, "resident-mother", policy.RoleResident)
	env.records.mu.Lock()
	env.records.children[mother.ID] = []joinedup.EventID{env.event.ID}
	env.records.allocations[worker.ID] = []string{mother.ID}
	env.records.mu.Unlock()
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")

	tests := []struct {
		name    string
		account *auth.Account
		offered bool
	}{
		{"registrar of the registering council", env.registrar, true},
		{"social worker allocated to the mother", worker, true},
		{"operator", env.operator, false},
		{"officer of the service told", officer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.signInAs(t, tt.account)

			rec := env.do(t, http.MethodGet, env.page, nil, nil)

			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			if got := strings.Contains(body, withdrawLink); got != tt.offered {
				t.Errorf("page offers the withdrawal of Child Benefit's consent: %v, want %v", got, tt.offered)
			}
			if strings.Contains(body, "?service=gp-practice") {
				t.Errorf("page offers to withdraw the refused consent for the GP practice")
			}
		})
	}
}

func TestStaffWithdrawsConsent(t *testing.T) {
	env := newStaffWithdrawalEnv(t)

	rec := env.do(t, http.MethodGet, env.confirmationURL("child-benefit"), nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("confirmation page: status %d, want 200; body %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	if got, want := pageTitle(page), "Are you sure you want to withdraw consent for Child Benefit? – joinedup"; got != want {
		t.Errorf("confirmation title = %q, want %q", got, want)
	}
	for _, want := range []string{
		"Life event " + env.event.Reference,
		"Siân O’Brien gave this consent when the birth of Ada Grace O’Brien-Lovelace was registered.",
		"Child Benefit has not received the details of the birth of Ada Grace O’Brien-Lovelace yet. If you withdraw consent, they will not be sent and nothing will be shared with it.",
		`<form method="post" action="` + env.consent + `" novalidate>`,
		`<input type="hidden" name="service" value="child-benefit">`,
		`class="govuk-button govuk-button--warning" data-module="govuk-button">Withdraw consent</button>`,
		`<a class="govuk-link" href="` + env.page + `">Cancel</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("confirmation page lacks %q", want)
		}
	}
	if len(env.withdrawn.calls) != 0 {
		t.Fatalf("withdrawals after the confirmation page = %q, want none", env.withdrawn.calls)
	}
	read := env.auditEntries(t)
	if e := read[len(read)-1]; e.Subject != string(env.event.ID) || !strings.Contains(string(e.Detail), `"operation":"read"`) || !strings.Contains(string(e.Detail), `"route":"GET /operator/life-events/{id}/consent"`) {
		t.Errorf("last audit entry = %+v with detail %s, want the confirmation page's read of the event", e, e.Detail)
	}

	res := env.postForm(t, env.consent, url.Values{"service": {"child-benefit"}})

	if res.code != http.StatusSeeOther {
		t.Fatalf("withdraw: status %d, want 303; body %s", res.code, res.body)
	}
	if got, want := res.header.Get("Location"), env.page+"?withdrawn=child-benefit"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if want := string(env.event.ID) + "/child-benefit/" + env.registrar.ID; len(env.withdrawn.calls) != 1 || env.withdrawn.calls[0] != want {
		t.Errorf("withdrawals = %q, want [%s]", env.withdrawn.calls, want)
	}

	accesses := withdrawalAccesses(t, env.auditEntries(t))
	if len(accesses) != 1 {
		t.Fatalf("%d audit entries of a withdrawal, want 1", len(accesses))
	}
	e := accesses[0]
	if e.Actor != env.registrar.ID {
		t.Errorf("actor = %q, want the registrar %q", e.Actor, env.registrar.ID)
	}
	if e.Subject != string(env.event.ID) {
		t.Errorf("subject = %q, want the event %q", e.Subject, env.event.ID)
	}
	if e.Purpose != policy.PurposeConsent {
		t.Errorf("purpose = %q, want %q", e.Purpose, policy.PurposeConsent)
	}
	if len(e.Reasons) != 1 || e.Reasons[0] != "registrar-consent" {
		t.Errorf("reasons = %q, want [registrar-consent]", e.Reasons)
	}
	var detail map[string]any
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if detail["service"] != "child-benefit" {
		t.Errorf("detail names service %v, want child-benefit", detail["service"])
	}
	if detail["route"] != "POST /operator/life-events/{id}/consent" {
		t.Errorf("detail names route %v, want the page's POST route", detail["route"])
	}
	if detail["resource"] != "LifeEvent:"+string(env.event.ID) {
		t.Errorf("detail names resource %v, want LifeEvent:%s", detail["resource"], env.event.ID)
	}

	rec = env.do(t, http.MethodGet, res.header.Get("Location"), nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("life event page after the withdrawal: status %d, want 200", rec.Code)
	}
	page = rec.Body.String()
	if !strings.Contains(page, `class="govuk-notification-banner govuk-notification-banner--success"`) {
		t.Errorf("life event page after the withdrawal has no success banner:\n%s", page)
	}
	if want := "Consent withdrawn for Child Benefit. The service had not received the details, so there was nothing to tell it."; !strings.Contains(page, want) {
		t.Errorf("banner lacks %q:\n%s", want, page)
	}
	if !strings.Contains(page, `">Withdrawn</strong>`) {
		t.Errorf("life event page does not tag the consent Withdrawn")
	}
	if strings.Contains(page, withdrawLink) {
		t.Errorf("life event page still offers to withdraw the consent")
	}

	// The banner shows only for a consent that the page shows withdrawn.
	page = env.do(t, http.MethodGet, env.page+"?withdrawn=gp-practice", nil, nil).Body.String()
	if strings.Contains(page, "Consent withdrawn for") {
		t.Errorf("life event page shows a withdrawal banner for the refused GP practice")
	}
}

// TestStaffWithdrawalOfReceivedDetails checks the pages for a service
// that had received the birth: the confirmation says it will be told and
// may undo what it did, and the banner says that the hub is telling it.
func TestStaffWithdrawalOfReceivedDetails(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	delivery := env.event.Deliveries[0]
	env.hub.mu.Lock()
	delivery.State, delivery.Reached = joinedup.StateActed, true
	delivery.Outcome = &joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Child Benefit claim started."}
	env.hub.mu.Unlock()

	page := env.do(t, http.MethodGet, env.confirmationURL("child-benefit"), nil, nil).Body.String()
	for _, want := range []string{
		"Child Benefit will be told that consent has been withdrawn for the birth of Ada Grace O’Brien-Lovelace, and nothing more will be shared with it.",
		"So far, Child Benefit has reported: “Child Benefit claim started.”",
		"Child Benefit decides what to do with the details it already has. It may stop or undo what it did, such as stopping a payment or taking Ada Grace O’Brien-Lovelace off a list.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("confirmation page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "has not received the details") {
		t.Errorf("confirmation page says that the service has not received the details")
	}

	res := env.postForm(t, env.consent, url.Values{"service": {"child-benefit"}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("withdraw: status %d, want 303; body %s", res.code, res.body)
	}
	// The engine queues a notice for a service that received the birth.
	env.hub.mu.Lock()
	env.event.Deliveries = append(env.event.Deliveries, &joinedup.Delivery{
		ID: delivery.ID + "-notice", EventID: env.event.ID, Service: "child-benefit", Kind: joinedup.EventConsentWithdrawn,
		State: joinedup.StatePending,
	})
	env.hub.mu.Unlock()

	page = env.do(t, http.MethodGet, res.header.Get("Location"), nil, nil).Body.String()
	if want := "Consent withdrawn for Child Benefit. The hub is telling the service, and this page will show when the service confirms the withdrawal."; !strings.Contains(page, want) {
		t.Errorf("banner lacks %q:\n%s", want, page)
	}
}

// TestStaffWithdrawalErrors checks that each fault gets its error page
// from both the confirmation page and the form, and changes nothing.
func TestStaffWithdrawalErrors(t *testing.T) {
	tests := []struct {
		name string
		// prepare, when set, changes the env before the requests.
		prepare func(t *testing.T, env staffWithdrawalEnv)
		// query is the confirmation page's query, and form the form sent.
		query, form url.Values
		status      int
		title       string
		detail      string
	}{
		{
			name:    "consent already withdrawn",
			prepare: func(t *testing.T, env staffWithdrawalEnv) { markWithdrawn(env, "child-benefit") },
			query:   url.Values{"service": {"child-benefit"}}, form: url.Values{"service": {"child-benefit"}},
			status: http.StatusConflict, title: "Consent is already withdrawn",
			detail: "Consent for Child Benefit is already withdrawn, so nothing more is shared with it.",
		},
		{
			name:  "consent refused",
			query: url.Values{"service": {"gp-practice"}}, form: url.Values{"service": {"gp-practice"}},
			status: http.StatusConflict, title: "Consent was refused, so there is nothing to withdraw",
			detail: "Consent for Family GP practice was refused, so nothing is shared with it.",
		},
		{
			name:  "unknown service",
			query: url.Values{"service": {"no-such-service"}}, form: url.Values{"service": {"no-such-service"}},
			status: http.StatusNotFound, title: "Not found",
			detail: "There is no consent for service &#34;no-such-service&#34; on this life event.",
		},
		{
			name:  "no service",
			query: url.Values{}, form: url.Values{},
			status: http.StatusUnprocessableEntity, title: "We could not tell which consent to withdraw",
			detail: "does not say which service’s consent to withdraw, so nothing was changed.",
		},
		{
			name:  "empty service",
			query: url.Values{"service": {""}}, form: url.Values{"service": {""}},
			status: http.StatusUnprocessableEntity, title: "We could not tell which consent to withdraw",
			detail: "does not say which service’s consent to withdraw, so nothing was changed.",
		},
		{
			name:    "operator without permission",
			prepare: func(t *testing.T, env staffWithdrawalEnv) { env.signInAs(t, env.operator) },
			query:   url.Values{"service": {"child-benefit"}}, form: url.Values{"service": {"child-benefit"}},
			status: http.StatusForbidden, title: "You cannot withdraw consent for this life event",
			detail: "With the default policies, the informant can withdraw their consent, " +
				"a registrar of the council that registered the birth can withdraw it when the informant asks, " +
				"and so can a social worker allocated to a parent whose record shows the event.",
		},
		{
			// The life event page gives this officer 403, so the
			// confirmation page must too, not 404.
			name: "officer of a service whose consent was withdrawn",
			prepare: func(t *testing.T, env staffWithdrawalEnv) {
				officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")
				markWithdrawn(env, "child-benefit")
				env.signInAs(t, officer)
			},
			query: url.Values{"service": {"gp-practice"}}, form: url.Values{"service": {"gp-practice"}},
			status: http.StatusForbidden, title: "Consent was withdrawn",
			detail: "Consent to tell Child Benefit about this life event was withdrawn, so its officers can no longer see it.",
		},
		{
			name: "registrar of another council",
			prepare: func(t *testing.T, env staffWithdrawalEnv) {
				elsewhere := &auth.Account{Username: "registrar-elsewhere", Role: policy.RoleRegistrar, Organisation: "elsewhere"}
				if err := env.server.Passwords.CreateAccount(context.Background(), elsewhere, testPassword); err != nil {
					t.Fatal(err)
				}
				env.signInAs(t, elsewhere)
			},
			query: url.Values{"service": {"child-benefit"}}, form: url.Values{"service": {"child-benefit"}},
			status: http.StatusNotFound, title: "Not found",
			detail: "There is no life event with that id.",
		},
	}
	for _, tt := range tests {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(tt.name+" "+method, func(t *testing.T) {
				env := newStaffWithdrawalEnv(t)
				if tt.prepare != nil {
					tt.prepare(t, env)
				}
				before := len(env.auditEntries(t))

				var res formResponse
				if method == http.MethodGet {
					rec := env.do(t, method, env.consent+"?"+tt.query.Encode(), nil, nil)
					res = formResponse{code: rec.Code, body: rec.Body.String(), header: rec.Header()}
				} else {
					res = env.postForm(t, env.consent, tt.form)
				}

				if res.code != tt.status {
					t.Fatalf("status = %d, want %d; body %s", res.code, tt.status, res.body)
				}
				if got, want := pageTitle(res.body), tt.title+" – joinedup"; got != want {
					t.Errorf("title = %q, want %q", got, want)
				}
				if !strings.Contains(res.body, tt.detail) {
					t.Errorf("page lacks %q:\n%s", tt.detail, res.body)
				}
				if len(env.withdrawn.calls) != 0 {
					t.Errorf("withdrawals = %q, want none", env.withdrawn.calls)
				}
				if got := env.auditEntries(t)[before:]; len(got) != 0 {
					t.Errorf("%d audit entries appended, want none", len(got))
				}
			})
		}
	}
}

// markWithdrawn marks the consent for service withdrawn in env's fake hub.
func markWithdrawn(env staffWithdrawalEnv, service joinedup.ServiceID) {
	env.hub.mu.Lock()
	defer env.hub.mu.Unlock()
	for i := range env.event.Consent.Decisions {
		if env.event.Consent.Decisions[i].Service == service {
			env.event.Consent.Decisions[i].Decision = joinedup.ConsentWithdrawn
		}
	}
}

func TestStaffWithdrawalFormLinksBack(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	markWithdrawn(env, "child-benefit")

	res := env.postForm(t, env.consent, url.Values{"service": {"child-benefit"}})

	if res.code != http.StatusConflict {
		t.Fatalf("status = %d, want 409; body %s", res.code, res.body)
	}
	if want := `href="` + env.page + `">Go back to the page you came from</a>`; !strings.Contains(res.body, want) {
		t.Errorf("error page lacks the link back to the life event %q:\n%s", want, res.body)
	}
}

func TestStaffWithdrawalRejectsRepeatedService(t *testing.T) {
	env := newStaffWithdrawalEnv(t)

	t.Run("form", func(t *testing.T) {
		res := env.postForm(t, env.consent, url.Values{"service": {"child-benefit", "gp-practice"}})
		checkRepeatedFieldPage(t, res, "service")
	})
	t.Run("query and form", func(t *testing.T) {
		res := env.postFormWithQuery(t, env.consent, url.Values{"service": {"gp-practice"}}, url.Values{"service": {"child-benefit"}})
		checkQueryRejectedPage(t, res, "service")
	})
	t.Run("confirmation page query", func(t *testing.T) {
		rec := env.do(t, http.MethodGet, env.consent+"?service=child-benefit&service=gp-practice", nil, nil)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422; body %s", rec.Code, rec.Body)
		}
		if got, want := pageTitle(rec.Body.String()), "There is a problem with the link you followed – joinedup"; got != want {
			t.Errorf("title = %q, want %q", got, want)
		}
		if !strings.Contains(rec.Body.String(), "&#34;service&#34; appears 2 times in the link.") {
			t.Errorf("page does not name the repeated parameter:\n%s", rec.Body)
		}
	})
	if len(env.withdrawn.calls) != 0 {
		t.Errorf("withdrawals = %q, want none", env.withdrawn.calls)
	}
}

// TestStaffWithdrawalPageRejectsBody checks that the confirmation page,
// which a browser requests without a body, rejects a request with one.
func TestStaffWithdrawalPageRejectsBody(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"form", "application/x-www-form-urlencoded", "service=child-benefit", http.StatusUnsupportedMediaType},
		{"JSON", "application/json", `{"service":"child-benefit"}`, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(env.auditEntries(t))

			rec := env.do(t, http.MethodGet, env.confirmationURL("child-benefit"), strings.NewReader(tt.body), http.Header{"Content-Type": {tt.contentType}})

			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want an HTML page", got)
			}
			if !strings.Contains(rec.Body.String(), "This request takes no body, so nothing in the body was read or recorded, and nothing was changed.") {
				t.Errorf("page does not say that the request takes no body:\n%s", rec.Body)
			}
			if got := env.auditEntries(t)[before:]; len(got) != 0 {
				t.Errorf("%d audit entries appended, want none", len(got))
			}
		})
	}
}

func TestStaffWithdrawalRejectsCrossOrigin(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"cross-site"}}

	rec := env.do(t, http.MethodPost, env.consent, strings.NewReader("service=child-benefit"), header)

	if rec.Code != http.StatusForbidden {
		t.Errorf("status = %d, want 403; body %s", rec.Code, rec.Body)
	}
	if len(env.withdrawn.calls) != 0 {
		t.Errorf("withdrawals = %q, want none", env.withdrawn.calls)
	}
}

func TestStaffWithdrawalUnknownEvent(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var code int
		if method == http.MethodGet {
			code = env.do(t, method, "/operator/life-events/evt_missing/consent?service=child-benefit", nil, nil).Code
		} else {
			code = env.postForm(t, "/operator/life-events/evt_missing/consent", url.Values{"service": {"child-benefit"}}).code
		}
		if code != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", method, code)
		}
	}
	if len(env.withdrawn.calls) != 0 {
		t.Errorf("withdrawals = %q, want none", env.withdrawn.calls)
	}
}

// TestWithdrawAPIDenialStatus checks that the API's withdrawal returns
// 403, saying who may withdraw, to staff who may read the life event, and
// 404 to a caller who may not read it, as the staff confirmation page
// does. Nothing is withdrawn or recorded.
func TestWithdrawAPIDenialStatus(t *testing.T) {
	env := newStaffWithdrawalEnv(t)
	target := "/api/v1/life-events/" + string(env.event.ID) + "/consent/child-benefit/withdraw"
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")
	elsewhere := &auth.Account{Username: "registrar-elsewhere", Role: policy.RoleRegistrar, Organisation: "elsewhere"}
	if err := env.server.Passwords.CreateAccount(context.Background(), elsewhere, testPassword); err != nil {
		t.Fatal(err)
	}
	stranger := env.createAccount(t, "resident-stranger", policy.RoleResident)

	tests := []struct {
		name    string
		account *auth.Account
		status  int
		detail  string
	}{
		{"operator", env.operator, http.StatusForbidden,
			"The access policies do not let you withdraw consent for life event " + env.event.Reference + ". " +
				"With the default policies, the informant can withdraw their consent, " +
				"a registrar of the council that registered the birth can withdraw it when the informant asks, " +
				"and so can a social worker allocated to a parent whose record shows the event."},
		{"officer of the service told", officer, http.StatusForbidden,
			"The access policies do not let you withdraw consent for life event " + env.event.Reference + "."},
		{"registrar of another council", elsewhere, http.StatusNotFound, "There is no life event with that id."},
		{"resident with no link to the birth", stranger, http.StatusNotFound, "There is no life event with that id."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.signInAs(t, tt.account)
			if tt.status == http.StatusForbidden {
				if rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(env.event.ID), nil, nil); rec.Code != http.StatusOK {
					t.Fatalf("read of the life event: status %d, want 200", rec.Code)
				}
			}
			before := len(env.auditEntries(t))

			p := decodeProblem(t, env.do(t, http.MethodPost, target, nil, nil), tt.status)

			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.detail)
			}
			if len(env.withdrawn.calls) != 0 {
				t.Errorf("withdrawals = %q, want none", env.withdrawn.calls)
			}
			if got := withdrawalAccesses(t, env.auditEntries(t)[before:]); len(got) != 0 {
				t.Errorf("%d audit entries of a withdrawal appended, want none", len(got))
			}
		})
	}

	// Once the consent for Child Benefit is withdrawn, its officer may no
	// longer read the event, and the API says why, as a read of it does.
	markWithdrawn(env, "child-benefit")
	env.signInAs(t, officer)
	p := decodeProblem(t, env.do(t, http.MethodPost, "/api/v1/life-events/"+string(env.event.ID)+"/consent/gp-practice/withdraw", nil, nil), http.StatusForbidden)
	if want := "Consent to tell Child Benefit about this life event was withdrawn, so its officers can no longer see it."; p.Detail != want {
		t.Errorf("officer after the withdrawal: detail = %q, want %q", p.Detail, want)
	}
}
