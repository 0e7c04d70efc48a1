package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// auditEntries returns every entry of the env's audit log.
func (e *testEnv) auditEntries(t *testing.T) []audit.Entry {
	t.Helper()
	cp, err := e.server.Audit.Checkpoint(context.Background())
	if err != nil {
		t.Fatalf("audit checkpoint: %v", err)
	}
	entries, err := e.server.Audit.Entries(context.Background(), 0, cp.Size)
	if err != nil {
		t.Fatalf("audit entries: %v", err)
	}
	return entries
}

// lastEntry returns the newest audit entry with the action.
func lastEntry(entries []audit.Entry, action string) *audit.Entry {
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == action {
			return &entries[i]
		}
	}
	return nil
}

func TestEventReadIsAudited(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	event := env.hub.events[0]

	rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(event.ID), nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	e := lastEntry(env.auditEntries(t), audit.ActionAccess)
	if e == nil {
		t.Fatal("no access entry in the audit log")
	}
	if e.Actor != env.registrar.ID || e.Subject != string(event.ID) || e.Purpose != policy.PurposeRegistration {
		t.Errorf("entry = actor %q, subject %q, purpose %q; want the registrar reading %s for registration", e.Actor, e.Subject, e.Purpose, event.ID)
	}
	if len(e.Reasons) != 1 || e.Reasons[0] != "registrar-life-event" {
		t.Errorf("reasons = %q, want [registrar-life-event]", e.Reasons)
	}
	var detail map[string]string
	if err := json.Unmarshal(e.Detail, &detail); err != nil || detail["route"] != "GET /api/v1/life-events/{id}" {
		t.Errorf("detail = %s, want the route named", e.Detail)
	}
}

func TestDeniedReadLooksMissing(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth) // consents to child-benefit only
	event := env.hub.events[0]
	before := len(env.auditEntries(t))

	tests := []struct {
		name    string
		account func() string
	}{
		{"registrar of another organisation", func() string {
			a := &auth.Account{Username: "registrar-elsewhere", Role: policy.RoleRegistrar, Organisation: "elsewhere"}
			if err := env.server.Passwords.CreateAccount(context.Background(), a, testPassword); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}},
		{"officer of a service not told", func() string {
			return env.createAccount(t, "officer-gp", policy.RoleServiceOfficer, "gp-practice").ID
		}},
	}
	missing := env.do(t, http.MethodGet, "/api/v1/life-events/evt_missing", nil, nil)
	want := decodeProblem(t, missing, http.StatusNotFound)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.account()
			account, err := env.records.FindAccount(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			env.signInAs(t, account)
			got := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/life-events/"+string(event.ID), nil, nil), http.StatusNotFound)
			if got.Title != want.Title || !strings.HasPrefix(got.Detail, "There is no life event") {
				t.Errorf("denied read = %q / %q, want it to read like a missing event (%q)", got.Title, got.Detail, want.Title)
			}
			list := env.do(t, http.MethodGet, "/api/v1/life-events", nil, nil)
			var body lifeEventList
			if err := json.Unmarshal(list.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Items) != 0 {
				t.Errorf("list shows %d events, want none", len(body.Items))
			}
		})
	}
	if after := len(env.auditEntries(t)); after != before {
		t.Errorf("denied reads appended %d audit entries, want 0", after-before)
	}
}

func TestServiceOfficerReadsEventSentToService(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")
	env.signInAs(t, officer)
	if rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(env.hub.events[0].ID), nil, nil); rec.Code != http.StatusOK {
		t.Errorf("officer of a recipient: status %d, want 200", rec.Code)
	}
	// The audit entry names the service the officer read it for.
	if e := lastEntry(env.auditEntries(t), audit.ActionAccess); e == nil || !strings.Contains(string(e.Detail), `"service":"child-benefit"`) {
		t.Errorf("officer's access entry = %+v, want one naming child-benefit", e)
	}

	// The officer's list, and its total, count only the events sent to
	// their service.
	env.signInAs(t, env.registrar)
	if rec := env.postJSON(t, "/api/v1/births", strings.Replace(strings.Replace(validBirth, `["child-benefit"]`, `["gp-practice"]`, 1), "Ada Grace", "Bea", 1)); rec.Code != http.StatusCreated {
		t.Fatalf("register a birth for the GP only: status %d; body %s", rec.Code, rec.Body)
	}
	env.signInAs(t, officer)
	var list struct {
		Items []json.RawMessage `json:"items"`
		Total int               `json:"total"`
	}
	if err := json.Unmarshal(env.do(t, http.MethodGet, "/api/v1/life-events", nil, nil).Body.Bytes(), &list); err != nil || list.Total != 1 || len(list.Items) != 1 {
		t.Errorf("officer's list: %d items of %d, err %v; want the 1 event sent to Child Benefit", len(list.Items), list.Total, err)
	}

	// Once the consent to tell Child Benefit is withdrawn, its officer can
	// no longer read the event, and is told why.
	withdraw := &recordingWithdrawer{hub: env.hub}
	if err := withdraw.WithdrawConsent(context.Background(), env.hub.events[0].ID, "child-benefit", "resident"); err != nil {
		t.Fatal(err)
	}
	rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(env.hub.events[0].ID), nil, nil)
	if p := decodeProblem(t, rec, http.StatusForbidden); !strings.Contains(p.Detail, "was withdrawn, so its officers can no longer see it") {
		t.Errorf("officer's read of a withdrawn event: detail %q, want it to say that consent was withdrawn", p.Detail)
	}
	rec = env.do(t, http.MethodGet, "/operator/life-events/"+string(env.hub.events[0].ID), nil, nil)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Consent was withdrawn") {
		t.Errorf("officer's page of a withdrawn event: status %d, want 403 saying that consent was withdrawn", rec.Code)
	}
}

func TestSignInPage(t *testing.T) {
	env := newTestEnv(t)
	env.session = nil

	res := env.postForm(t, "/sign-in", url.Values{"username": {"registrar"}, "password": {testPassword}, "next": {"/operator/life-events"}})
	if res.code != http.StatusSeeOther || res.header.Get("Location") != "/operator/life-events" {
		t.Errorf("sign in: %d to %q, want 303 to the next page", res.code, res.header.Get("Location"))
	}
	if e := lastEntry(env.auditEntries(t), actionSignIn); e == nil || e.Actor != env.registrar.ID {
		t.Errorf("sign-in audit entry = %+v, want one for the registrar", e)
	}

	res = env.postForm(t, "/sign-in", url.Values{"username": {"registrar"}, "password": {testPassword}, "next": {"//attacker.test/"}})
	if res.header.Get("Location") != "/births/new" {
		t.Errorf("sign in with a foreign next: redirect to %q, want the registrar's home page", res.header.Get("Location"))
	}

	// A next with a tab would reach a browser as "//attacker.test".
	res = env.postFormWithQuery(t, "/sign-in", url.Values{"next": {"/\t/attacker.test"}}, url.Values{"username": {"registrar"}, "password": {testPassword}})
	if res.header.Get("Location") != "/births/new" {
		t.Errorf("sign in with a tab in next: redirect to %q, want the registrar's home page", res.header.Get("Location"))
	}

	// next in the sign-in address is followed as next in the form is.
	res = env.postFormWithQuery(t, "/sign-in", url.Values{"next": {"/operator/life-events"}}, url.Values{"username": {"registrar"}, "password": {testPassword}})
	if res.code != http.StatusSeeOther || res.header.Get("Location") != "/operator/life-events" {
		t.Errorf("sign in with next in the address: %d to %q, want 303 to the next page", res.code, res.header.Get("Location"))
	}
	res = env.postFormWithQuery(t, "/sign-in", url.Values{"next": {"//attacker.test/"}}, url.Values{"username": {"registrar"}, "password": {testPassword}})
	if res.header.Get("Location") != "/births/new" {
		t.Errorf("sign in with a foreign next in the address: redirect to %q, want the registrar's home page", res.header.Get("Location"))
	}

	// Package auth lets five failures through before it slows the account.
	for range 6 {
		res = env.postForm(t, "/sign-in", url.Values{"username": {"registrar"}, "password": {"wrong password"}})
		if res.code != http.StatusUnauthorized || !strings.Contains(res.body, "The user name or password is incorrect") {
			t.Fatalf("wrong password: status %d, want 401 with the reason", res.code)
		}
	}
	res = env.postForm(t, "/sign-in", url.Values{"username": {"registrar"}, "password": {"wrong password"}})
	if !strings.Contains(res.body, "too many failed attempts") {
		t.Errorf("seventh attempt does not say the sign-in is slowed:\n%s", res.body)
	}
	if res.code != http.StatusTooManyRequests {
		t.Errorf("seventh attempt: status %d, want 429", res.code)
	}
	if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("seventh attempt: Retry-After = %q, want the seconds to wait", ra)
	}
}

// TestSignInRejectsRepeatedNext checks that the sign-in page and form
// reject a next given twice with an error page naming it in plain words,
// and that the rejected form neither signs in nor counts as a failed
// attempt.
func TestSignInRejectsRepeatedNext(t *testing.T) {
	env := newTestEnv(t)
	env.session = nil

	rec := env.do(t, http.MethodGet, "/sign-in?next=/births/new&next=/operator/life-events", nil, nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("page: status %d, want 422", rec.Code)
	}
	if got, want := pageTitle(rec.Body.String()), "There is a problem with the link you followed – joinedup"; got != want {
		t.Errorf("page: title = %q, want %q", got, want)
	}
	if !strings.Contains(rec.Body.String(), "&#34;next&#34; appears 2 times in the link.") {
		t.Errorf("page does not say that next appears twice:\n%s", rec.Body)
	}
	// The two values differ, so the link keeps neither.
	if !strings.Contains(rec.Body.String(), `href="/sign-in">Go to the sign-in page</a>`) {
		t.Errorf("page does not link to the sign-in page:\n%s", rec.Body)
	}

	form := url.Values{"username": {"registrar"}, "password": {testPassword}, "next": {"/births/new", "/operator/life-events"}}
	res := env.postForm(t, "/sign-in", form)
	if res.code != http.StatusUnprocessableEntity {
		t.Errorf("form: status %d, want 422", res.code)
	}
	if got, want := pageTitle(res.body), "There is a problem with the information sent – joinedup"; got != want {
		t.Errorf("form: title = %q, want %q", got, want)
	}
	if !strings.Contains(res.body, "you have not been signed in") {
		t.Errorf("form: error page does not say that the user was not signed in:\n%s", res.body)
	}
	if !strings.Contains(res.body, "The field &#34;next&#34; was sent 2 times.") {
		t.Errorf("form: error page does not say that next was sent twice:\n%s", res.body)
	}
	if !strings.Contains(res.body, `href="/sign-in">Go to the sign-in page</a>`) {
		t.Errorf("form: error page does not link back to the sign-in form:\n%s", res.body)
	}
	if cookie := res.header.Get("Set-Cookie"); cookie != "" {
		t.Errorf("form: response sets a cookie: %s", cookie)
	}

	// Package auth slows an account after five failures, so six rejected
	// forms with a wrong password would slow the next attempt had they
	// counted.
	form.Set("password", "wrong password")
	form["next"] = []string{"/births/new", "/operator/life-events"}
	for range 6 {
		env.postForm(t, "/sign-in", form)
	}
	res = env.postForm(t, "/sign-in", url.Values{"username": {"registrar"}, "password": {"wrong password"}})
	if res.code != http.StatusUnauthorized {
		t.Errorf("wrong password after six rejected forms: status %d, want 401", res.code)
	}

	// Nothing above writes to the audit log, and auditEntries fails on an
	// empty log, so the entries are read after one sign-in.
	res = env.postForm(t, "/sign-in", url.Values{"username": {"registrar"}, "password": {testPassword}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("sign in once: status %d, want 303", res.code)
	}
	signIns := 0
	for _, e := range env.auditEntries(t) {
		if e.Action == actionSignIn {
			signIns++
		}
	}
	if signIns != 1 {
		t.Errorf("%d sign-in audit entries, want 1 for the sign-in after the rejected forms", signIns)
	}
}

func TestSignOutEndsEverySession(t *testing.T) {
	env := newTestEnv(t)
	first := env.sessionCookie(t, env.registrar)
	second := env.sessionCookie(t, env.registrar)

	env.session = first
	res := env.postForm(t, "/sign-out", nil)
	if res.code != http.StatusSeeOther {
		t.Fatalf("sign out: status %d, want 303", res.code)
	}
	env.session = second
	if rec := env.do(t, http.MethodGet, "/births/new", nil, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("the other session after sign-out: status %d, want 303 to sign in", rec.Code)
	}
}

func TestSafeNext(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/births/new", "/births/new"},
		{"/operator/deliveries?state=failed", "/operator/deliveries?state=failed"},
		{"//attacker.test/", ""},
		{"/\\attacker.test", ""},
		{"https://attacker.test/", ""},
		{"", ""},
		// Browsers drop tabs and line breaks, leaving "//attacker.test".
		{"/\t/attacker.test", ""},
		{"/\n/attacker.test", ""},
		{"/\x00/attacker.test", ""},
		{"/\x7f/attacker.test", ""},
	}
	for _, tt := range tests {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

// residentEnv is a test env with a father whose identity matches the
// parent of validBirth, the birth registered, and a social worker.
type residentEnv struct {
	*testEnv
	event          *joinedup.LifeEvent
	father, worker string
}

func newResidentEnv(t *testing.T) residentEnv {
	env := newTestEnv(t)
	father := env.createAccount(t, "resident-father", policy.RoleResident)
	worker := env.createAccount(t, "worker", policy.RoleSocialWorker)
	env.records.identities = map[string]fakeIdentity{father.ID: {nino: "AB123456C", dateOfBirth: joinedup.Date{Year: 1994, Month: time.March, Day: 2}}}
	env.postJSON(t, "/api/v1/births", validBirth)
	return residentEnv{testEnv: env, event: env.hub.events[0], father: father.ID, worker: worker.ID}
}

func (e residentEnv) signIn(t *testing.T, id string) {
	t.Helper()
	a, err := e.records.FindAccount(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	e.signInAs(t, a)
}

func TestResidentRecordShowsSharing(t *testing.T) {
	env := newResidentEnv(t)
	env.signIn(t, env.father)

	rec := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("own record: status %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"Your record", "Birth of Ada Grace O’Brien-Lovelace", "Child Benefit", "About Ada Grace O’Brien-Lovelace: name, date of birth", "Withdraw consent"} {
		if !strings.Contains(body, want) {
			t.Errorf("own record lacks %q", want)
		}
	}

	other := env.createAccount(t, "resident-other", policy.RoleResident)
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/residents/"+other.ID+"/history", nil, nil), http.StatusNotFound)
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/residents/acc_missing/history", nil, nil), http.StatusNotFound)
}

func TestResidentRecordListsEveryChild(t *testing.T) {
	env := newResidentEnv(t)
	for _, givenName := range []string{"Bea", "Cal"} {
		if rec := env.postJSON(t, "/api/v1/births", strings.Replace(validBirth, "Ada Grace", givenName, 1)); rec.Code != http.StatusCreated {
			t.Fatalf("register the birth of %s: status %d, want 201; body %s", givenName, rec.Code, rec.Body)
		}
	}
	// The fake lists children oldest first. Reversed, the list shows that
	// the record follows the order of ChildEvents.
	env.records.mu.Lock()
	children := env.records.children[env.father]
	slices.Reverse(children)
	env.records.mu.Unlock()
	env.signIn(t, env.father)

	target := "/api/v1/residents/" + env.father + "/history"
	rec := env.do(t, http.MethodGet, target, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200; body %s", target, rec.Code, rec.Body)
	}
	var record residentRecord
	if err := json.Unmarshal(rec.Body.Bytes(), &record); err != nil {
		t.Fatalf("decode %s: %v", target, err)
	}
	var ids []joinedup.EventID
	var names []string
	for _, ev := range record.Events {
		ids = append(ids, ev.ID)
		names = append(names, ev.Child)
	}
	if !slices.Equal(ids, children) {
		t.Errorf("record events = %v, want %v", ids, children)
	}
	wantNames := []string{"Cal O’Brien-Lovelace", "Bea O’Brien-Lovelace", "Ada Grace O’Brien-Lovelace"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("record children = %q, want %q", names, wantNames)
	}

	// A child's event that cannot be found fails the record rather than
	// leaving the child out.
	env.records.mu.Lock()
	env.records.children[env.father] = append(env.records.children[env.father], "evt_missing")
	env.records.mu.Unlock()
	decodeProblem(t, env.do(t, http.MethodGet, target, nil, nil), http.StatusNotFound)
}

func TestResidentWithdrawsConsent(t *testing.T) {
	env := newResidentEnv(t)
	// A banner of a withdrawal that the record does not show is not shown.
	env.signIn(t, env.father)
	if page := env.do(t, http.MethodGet, "/residents/"+env.father+"?withdrawn=child-benefit", nil, nil).Body.String(); strings.Contains(page, "Consent withdrawn for") {
		t.Errorf("the record shows a withdrawal banner for a consent still given")
	}

	withdrawn := &recordingWithdrawer{hub: env.hub}
	env.server.Consents = withdrawn

	for _, form := range []url.Values{
		{"event": {string(env.event.ID)}},
		{"event": {string(env.event.ID)}, "service": {"child-benefit", "gp-practice"}},
		{"service": {"child-benefit"}},
	} {
		if res := env.postForm(t, "/residents/"+env.father+"/consent", form); res.code != http.StatusUnprocessableEntity {
			t.Errorf("withdraw with %v: status %d, want 422", form, res.code)
		}
	}
	if len(withdrawn.calls) != 0 {
		t.Fatalf("withdrawals after refused forms = %q, want none", withdrawn.calls)
	}

	res := env.postForm(t, "/residents/"+env.father+"/consent", url.Values{"event": {string(env.event.ID)}, "service": {"child-benefit"}})
	if res.code != http.StatusSeeOther {
		t.Fatalf("withdraw: status %d, want 303; body %s", res.code, res.body)
	}
	if len(withdrawn.calls) != 1 || withdrawn.calls[0] != string(env.event.ID)+"/child-benefit/"+env.father {
		t.Errorf("withdrawals = %q, want the father's for child-benefit", withdrawn.calls)
	}
	rec := env.do(t, http.MethodGet, res.header.Get("Location"), nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Consent withdrawn for Child Benefit") {
		t.Errorf("record after withdrawing: status %d, want 200 with the service named in the banner", rec.Code)
	}
	// The fake queued no notice, so the banner must not claim that the
	// service was notified.
	if !strings.Contains(rec.Body.String(), "had not received the details, so there was nothing to tell it") {
		t.Errorf("the banner does not say that there was nothing to tell the service:\n%s", rec.Body)
	}

	other := env.createAccount(t, "resident-other", policy.RoleResident)
	env.signInAs(t, other)
	rec = env.do(t, http.MethodPost, "/api/v1/life-events/"+string(env.event.ID)+"/consent/child-benefit/withdraw", nil, nil)
	decodeProblem(t, rec, http.StatusNotFound)
	if len(withdrawn.calls) != 1 {
		t.Errorf("another resident withdrew consent: %q", withdrawn.calls)
	}
}

// recordingWithdrawer records each withdrawal and, when hub is set,
// marks the consent decision withdrawn there, as the engine does.
type recordingWithdrawer struct {
	calls []string
	hub   *fakeHub
}

func (r *recordingWithdrawer) WithdrawConsent(ctx context.Context, event joinedup.EventID, service joinedup.ServiceID, actor string) error {
	r.calls = append(r.calls, string(event)+"/"+string(service)+"/"+actor)
	if r.hub == nil {
		return nil
	}
	r.hub.mu.Lock()
	defer r.hub.mu.Unlock()
	for _, ev := range r.hub.events {
		for i := range ev.Consent.Decisions {
			if ev.ID == event && ev.Consent.Decisions[i].Service == service {
				ev.Consent.Decisions[i].Decision = joinedup.ConsentWithdrawn
			}
		}
	}
	return nil
}

func TestBreakGlass(t *testing.T) {
	env := newResidentEnv(t)
	env.signIn(t, env.worker)
	target := "/residents/" + env.father
	// Another member of staff, whose role opens no resident's record,
	// reads that no record they may open matches, not that no resident
	// does.
	env.signIn(t, env.createAccount(t, "search-registrar", policy.RoleRegistrar).ID)
	if page := env.do(t, http.MethodGet, "/residents?q=resident-father", nil, nil).Body.String(); !strings.Contains(page, "No resident whose record you may open matches") {
		t.Errorf("a registrar's search does not say that no record they may open matches:\n%s", page)
	}
	env.signIn(t, env.worker)
	// The search that finds the record belongs to the enquiry, so a hidden
	// break glass hides it too.
	if page := env.do(t, http.MethodGet, "/residents?q=resident-father", nil, nil).Body.String(); !strings.Contains(page, env.father) {
		t.Fatalf("search does not find the father:\n%s", page)
	}

	rec := env.do(t, http.MethodGet, target, nil, nil)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "break-glass") {
		t.Fatalf("unallocated record: status %d, want 404 with the break-glass form", rec.Code)
	}
	res := env.postForm(t, target+"/break-glass", url.Values{"reason": {""}, "hours": {"9"}})
	if res.code != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Enter the reason") || !strings.Contains(res.body, "Choose a duration") {
		t.Errorf("break glass without a reason: status %d, want 422 naming the reason and the duration", res.code)
	}

	res = env.postForm(t, target+"/break-glass", url.Values{
		"reason": {"Child reported missing tonight."}, "hours": {"1"},
		"hidden-day": {"31"}, "hidden-month": {"February"}, "hidden-year": {"2027"},
	})
	if res.code != http.StatusUnprocessableEntity || !strings.Contains(res.body, "The date must be a real date, or leave the date empty") {
		t.Errorf("hidden until 31 February: status %d, want 422 asking for a real date", res.code)
	}
	if !strings.Contains(res.body, `href="#hidden-day"`) || !strings.Contains(res.body, `id="hidden-day"`) {
		t.Errorf("the error summary does not link to the date's day input:\n%s", res.body)
	}

	for _, year := range []string{"2999", "2020"} {
		res = env.postForm(t, target+"/break-glass", url.Values{
			"reason": {"Child reported missing tonight."}, "hours": {"1"},
			"hidden-day": {"1"}, "hidden-month": {"1"}, "hidden-year": {year},
		})
		if res.code != http.StatusUnprocessableEntity || !strings.Contains(res.body, "after today and within 2 years") {
			t.Errorf("hidden until 1 January %s: status %d, want 422 naming the allowed dates", year, res.code)
		}
	}

	// The month may be a name, as on the birth form.
	res = env.postForm(t, target+"/break-glass", url.Values{
		"reason": {"Child reported missing tonight."}, "hours": {"1"},
		"hidden-day": {"1"}, "hidden-month": {"January"}, "hidden-year": {"2027"},
	})
	if res.code != http.StatusSeeOther {
		t.Fatalf("break glass: status %d, want 303; body %s", res.code, res.body)
	}
	rec = env.do(t, http.MethodGet, target, nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Child reported missing tonight.") {
		t.Fatalf("record under break glass: status %d, want 200 showing the reason", rec.Code)
	}
	e := lastEntry(env.auditEntries(t), audit.ActionAccess)
	if e.Purpose != policy.PurposeSafeguarding || len(e.Reasons) != 1 || e.Reasons[0] != "social-worker-break-glass" {
		t.Errorf("access under break glass = purpose %q, reasons %q; want safeguarding by social-worker-break-glass", e.Purpose, e.Reasons)
	}
	// A search lists the record as open under the grant, not as allocated.
	if page := env.do(t, http.MethodGet, "/residents?q=resident-father", nil, nil).Body.String(); !strings.Contains(page, "Open with break glass until") || strings.Contains(page, "Allocated to you") {
		t.Errorf("search under break glass does not say the record is open with break glass:\n%s", page)
	}

	// The father does not see the access until the date given.
	env.signIn(t, env.father)
	history := func() string {
		return env.do(t, http.MethodGet, "/api/v1/residents/"+env.father+"/history", nil, nil).Body.String()
	}
	if strings.Contains(history(), `"worker"`) {
		t.Errorf("the father sees the hidden access before 1 January 2027")
	}
	env.server.Now = func() time.Time { return time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC) }
	if !strings.Contains(history(), `"worker"`) {
		t.Errorf("the father does not see the access on 1 January 2027")
	}

	// The grant ends after its hour.
	env.signIn(t, env.worker)
	env.server.Now = func() time.Time { return testNow.Add(61 * time.Minute) }
	if rec := env.do(t, http.MethodGet, target, nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("record after the grant expired: status %d, want 404", rec.Code)
	}
}

func TestBreakGlassReview(t *testing.T) {
	env := newResidentEnv(t)
	dpo := env.createAccount(t, "dpo", policy.RoleDataProtectionOfficer)
	env.signIn(t, env.worker)
	env.postForm(t, "/residents/"+env.father+"/break-glass", url.Values{"reason": {"Welfare check."}, "hours": {"1"}})
	grant := env.records.grants[0]

	if rec := env.do(t, http.MethodGet, "/dpo/break-glass", nil, nil); rec.Code != http.StatusForbidden {
		t.Errorf("review list for a social worker: status %d, want 403", rec.Code)
	}
	env.signInAs(t, dpo)
	rec := env.do(t, http.MethodGet, "/dpo/break-glass", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Welfare check.") {
		t.Fatalf("review list: status %d, want 200 listing the grant", rec.Code)
	}
	for _, note := range []string{"Justified\u202e.", "Justified\x07", strings.Repeat("a", policy.MaxBreakGlassReason+1)} {
		res := env.postForm(t, "/dpo/break-glass/"+grant.ID+"/review", url.Values{"note": {note}})
		if res.code != http.StatusUnprocessableEntity || grant.ReviewedBy != "" {
			t.Errorf("sign off with the note %.20q: status %d, reviewed by %q; want 422 and no review", note, res.code, grant.ReviewedBy)
		}
		// The list comes back with the error beside the note, which is kept.
		if !strings.Contains(res.body, `href="#note-`+grant.ID+`"`) || !strings.Contains(res.body, html.EscapeString(note[:5])) {
			t.Errorf("refused sign-off does not show the list with the error and the note:\n%s", res.body)
		}
	}
	for _, note := range []string{"", " \r\n "} {
		res := env.postForm(t, "/dpo/break-glass/"+grant.ID+"/review", url.Values{"note": {note}})
		if res.code != http.StatusUnprocessableEntity || grant.ReviewedBy != "" || !strings.Contains(res.body, "Enter what you checked") {
			t.Errorf("sign off with the note %q: status %d, reviewed by %q; want 422 asking for a note", note, res.code, grant.ReviewedBy)
		}
	}
	res := env.postForm(t, "/dpo/break-glass/"+grant.ID+"/review", url.Values{"note": {"Justified.\r\nThe record was needed. " + strings.Repeat("e\u0301", 400)}})
	if res.code != http.StatusSeeOther || grant.ReviewedBy != dpo.ID {
		t.Fatalf("sign off: status %d, reviewed by %q; want 303 by the officer", res.code, grant.ReviewedBy)
	}
	if list := env.do(t, http.MethodGet, "/dpo/break-glass?reviewed="+grant.ID, nil, nil).Body.String(); !strings.Contains(list, "signed off: ") {
		t.Errorf("review list after the sign-off shows no success banner:\n%s", list)
	}
	if list := env.do(t, http.MethodGet, "/dpo/break-glass?"+url.Values{"reviewed": {"Every use was already checked"}}.Encode(), nil, nil).Body.String(); strings.Contains(list, "Success") {
		t.Errorf("review list shows a success banner for text from the address:\n%s", list)
	}
	if list := env.do(t, http.MethodGet, "/dpo/break-glass", nil, nil).Body.String(); !strings.Contains(list, "Justified.<br>The record was needed.") {
		t.Errorf("review list does not keep the note's line break:\n%s", list)
	}
	if res := env.postForm(t, "/dpo/break-glass/"+grant.ID+"/review", url.Values{"note": {"Again."}}); res.code != http.StatusConflict {
		t.Errorf("second sign-off: status %d, want 409", res.code)
	}
}

// TestHiddenBreakGlassReviewStaysHidden checks that the officer's review
// of a break glass hidden from the resident does not show the resident
// that the glass was broken, before the date it was hidden until.
func TestHiddenBreakGlassReviewStaysHidden(t *testing.T) {
	env := newResidentEnv(t)
	dpo := env.createAccount(t, "dpo", policy.RoleDataProtectionOfficer)
	env.signIn(t, env.worker)
	res := env.postForm(t, "/residents/"+env.father+"/break-glass", url.Values{
		"reason": {"Police enquiry under way."}, "hours": {"1"},
		"hidden-day": {"1"}, "hidden-month": {"1"}, "hidden-year": {"2027"},
	})
	if res.code != http.StatusSeeOther {
		t.Fatalf("break glass: status %d, want 303", res.code)
	}
	grant := env.records.grants[0]
	env.signInAs(t, dpo)
	env.do(t, http.MethodGet, "/dpo/break-glass", nil, nil)
	env.postForm(t, "/dpo/break-glass/"+grant.ID+"/review", url.Values{"note": {"Justified."}})

	env.signIn(t, env.father)
	history := env.do(t, http.MethodGet, "/api/v1/residents/"+env.father+"/history", nil, nil).Body.String()
	for _, hidden := range []string{`"dpo"`, `"worker"`, "break-glass"} {
		if strings.Contains(history, hidden) {
			t.Errorf("the resident's history shows %s before 1 January 2027", hidden)
		}
	}
	env.server.Now = func() time.Time { return time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC) }
	if history := env.do(t, http.MethodGet, "/api/v1/residents/"+env.father+"/history", nil, nil).Body.String(); !strings.Contains(history, `"dpo"`) {
		t.Errorf("the resident's history does not show the review on 1 January 2027")
	}
}

func TestServiceNotices(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth) // sent to child-benefit only
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")
	gpOfficer := env.createAccount(t, "officer-gp", policy.RoleServiceOfficer, "gp-practice")

	env.signInAs(t, officer)
	rec := env.do(t, http.MethodGet, "/services/child-benefit/notices", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), string(env.hub.events[0].ID)) {
		t.Errorf("own service's notices: status %d, want 200 listing the event", rec.Code)
	}
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/services/gp-practice/notices", nil, nil), http.StatusForbidden)
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/services/no-such-service/notices", nil, nil), http.StatusNotFound)

	env.signInAs(t, gpOfficer)
	var list deliveryList
	rec = env.do(t, http.MethodGet, "/api/v1/services/gp-practice/notices", nil, nil)
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK || len(list.Items) != 0 {
		t.Errorf("notices of a service told nothing: status %d, %d items, want 200 with none", rec.Code, len(list.Items))
	}
}

func TestSearchResultsAreAudited(t *testing.T) {
	env := newResidentEnv(t)
	env.signIn(t, env.worker)
	before := len(env.auditEntries(t))

	rec := env.do(t, http.MethodGet, "/residents?q=resident-father", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Only with break glass") {
		t.Fatalf("search: status %d, want 200 listing the resident as break glass only", rec.Code)
	}
	entries := env.auditEntries(t)[before:]
	if len(entries) != 1 {
		t.Fatalf("search appended %d audit entries, want 1 for its one result", len(entries))
	}
	if e := entries[0]; e.Subject != env.father || e.Actor != env.worker || len(e.Reasons) != 1 || e.Reasons[0] != "social-worker-obtain-break-glass" {
		t.Errorf("search entry = subject %q, actor %q, reasons %q; want the father, the worker and the break-glass policy", e.Subject, e.Actor, e.Reasons)
	}

	env.signInAs(t, env.registrar)
	rec = env.do(t, http.MethodGet, "/residents?q=resident-father", nil, nil)
	if strings.Contains(rec.Body.String(), `href="/residents/`+env.father+`"`) {
		t.Errorf("a registrar's search lists a resident")
	}

	// The resident's record distinguishes the search from a read.
	env.signIn(t, env.father)
	rec = env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	if !strings.Contains(rec.Body.String(), "Found in a search") {
		t.Errorf("the resident's record does not show the worker's search as one")
	}
}

// TestReplayButtonOnlyForOperators checks that a failed delivery on a
// service's notices page offers Replay to an operator and not to the
// service's officer, who may not replay it.
func TestReplayButtonOnlyForOperators(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth) // sent to child-benefit only
	env.hub.mu.Lock()
	env.hub.events[0].Deliveries[0].State = joinedup.StateFailed
	env.hub.mu.Unlock()
	form := `action="/operator/deliveries/` + string(env.hub.events[0].Deliveries[0].ID) + `/replay"`

	env.signInAs(t, env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit"))
	rec := env.do(t, http.MethodGet, "/services/child-benefit/notices", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Failed") {
		t.Fatalf("officer's notices: status %d, want 200 listing the failed delivery", rec.Code)
	}
	if strings.Contains(rec.Body.String(), form) {
		t.Error("the officer is offered Replay, which only an operator may use")
	}

	env.signInAs(t, env.operator)
	rec = env.do(t, http.MethodGet, "/operator/deliveries?state=failed", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), form) {
		t.Errorf("operator's list of failed deliveries: status %d, want 200 with a Replay button", rec.Code)
	}
}

// TestWithdrawnEventUnlinkedForOfficer checks that once consent to tell
// Child Benefit is withdrawn, its officer's notices and deliveries pages
// still list the event's deliveries, the withdrawal notice included, but
// without a link to the event, which the officer can no longer open, and
// say why. Those who may still open the event keep the link.
func TestWithdrawnEventUnlinkedForOfficer(t *testing.T) {
	env := newTestEnv(t)
	birth := strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["child-benefit", "gp-practice"]`, 1)
	if rec := env.postJSON(t, "/api/v1/births", birth); rec.Code != http.StatusCreated {
		t.Fatalf("register: status %d; body %s", rec.Code, rec.Body)
	}
	ev := env.hub.events[0]
	withdraw := &recordingWithdrawer{hub: env.hub}
	if err := withdraw.WithdrawConsent(context.Background(), ev.ID, "child-benefit", "resident"); err != nil {
		t.Fatal(err)
	}
	env.hub.mu.Lock()
	ev.Deliveries = append(ev.Deliveries, &joinedup.Delivery{ID: "dlv_withdrawal_notice", EventID: ev.ID, Service: "child-benefit",
		Kind: joinedup.EventConsentWithdrawn, State: joinedup.StatePending})
	env.hub.mu.Unlock()
	link := `href="/operator/life-events/` + string(ev.ID) + `"`
	const reason = "consent withdrawn, so you can no longer open it"

	env.signInAs(t, env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit"))
	if rec := env.do(t, http.MethodGet, "/operator/life-events/"+string(ev.ID), nil, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("officer opens the event: status %d, want 403", rec.Code)
	}
	for _, page := range []string{"/services/child-benefit/notices", "/operator/deliveries?state=any"} {
		rec := env.do(t, http.MethodGet, page, nil, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("officer's %s: status %d, want 200", page, rec.Code)
		}
		if !strings.Contains(body, "Notice that consent was withdrawn") {
			t.Errorf("officer's %s does not list the withdrawal notice", page)
		}
		if strings.Contains(body, link) {
			t.Errorf("officer's %s links to the event, which returns 403", page)
		}
		if n := strings.Count(body, reason); n != 2 {
			t.Errorf("officer's %s says %d times that consent was withdrawn, want 2: the event's delivery and the notice", page, n)
		}
		if !strings.Contains(body, ev.Reference) {
			t.Errorf("officer's %s does not name the event's reference number %s", page, ev.Reference)
		}
	}

	// The event was also sent to the GP practice, so an officer of both
	// services may still open it.
	env.signInAs(t, env.createAccount(t, "officer-both", policy.RoleServiceOfficer, "child-benefit", "gp-practice"))
	body := env.do(t, http.MethodGet, "/services/child-benefit/notices", nil, nil).Body.String()
	if !strings.Contains(body, link) || strings.Contains(body, reason) {
		t.Errorf("notices of an officer who may still open the event: want the link and no reason:\n%s", body)
	}

	env.signInAs(t, env.operator)
	body = env.do(t, http.MethodGet, "/operator/deliveries?state=any", nil, nil).Body.String()
	if !strings.Contains(body, link) || strings.Contains(body, reason) {
		t.Errorf("operator's deliveries: want the link and no reason:\n%s", body)
	}

	env.signInAs(t, env.registrar)
	body = env.do(t, http.MethodGet, "/operator/life-events/"+string(ev.ID), nil, nil).Body.String()
	if !strings.Contains(body, link) || strings.Contains(body, reason) {
		t.Errorf("registrar's page of the event: want the link and no reason:\n%s", body)
	}
}

// TestBreakGlassOnAllocatedRecord checks that a social worker who sends
// the break-glass form for a resident they are allocated to is taken to
// the record, with no grant issued.
func TestBreakGlassOnAllocatedRecord(t *testing.T) {
	env := newTwoParentEnv(t)
	env.signIn(t, env.worker)

	res := env.postForm(t, "/residents/"+env.father+"/break-glass", url.Values{"reason": {"Checking on the family."}, "hours": {"1"}})

	location := res.header.Get("Location")
	if res.code != http.StatusSeeOther || location != "/residents/"+env.father+"?access=already-open" {
		t.Errorf("status %d to %q, want 303 to the record", res.code, location)
	}
	if len(env.records.grants) != 0 {
		t.Errorf("%d grants issued, want none", len(env.records.grants))
	}
	// The record page explains why the answers given were not used.
	if page := env.do(t, http.MethodGet, location, nil, nil).Body.String(); !strings.Contains(page, "You can already open this record, so no break-glass access was recorded") {
		t.Errorf("record page does not say that no break glass was recorded:\n%s", page)
	}
}

// TestDeliveryListIsOneEntryPerChild checks that an operator's list of
// deliveries records one audit entry for each child whose deliveries it
// shows, naming every delivery, rather than one for each delivery.
func TestDeliveryListIsOneEntryPerChild(t *testing.T) {
	env := newTestEnv(t)
	birth := strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["child-benefit", "gp-practice"]`, 1)
	if rec := env.postJSON(t, "/api/v1/births", birth); rec.Code != http.StatusCreated {
		t.Fatalf("register: status %d; body %s", rec.Code, rec.Body)
	}
	ev := env.hub.events[0]
	for _, d := range ev.Deliveries {
		env.hub.setState(d.ID, joinedup.StateDeadLettered, "timeout")
	}
	env.signInAs(t, env.operator)
	before := len(env.auditEntries(t))

	if rec := env.do(t, http.MethodGet, "/operator/deliveries?state=dead-lettered", nil, nil); rec.Code != http.StatusOK {
		t.Fatalf("deliveries page: status %d", rec.Code)
	}

	entries := env.auditEntries(t)[before:]
	if len(entries) != 1 || entries[0].Subject != string(ev.ID) {
		t.Fatalf("%d entries, want one about the child", len(entries))
	}
	var detail struct {
		Resources []string `json:"resources"`
	}
	if err := json.Unmarshal(entries[0].Detail, &detail); err != nil || len(detail.Resources) != 2 {
		t.Errorf("detail = %s, want both deliveries named", entries[0].Detail)
	}
}

// TestRegistrarWithdrawsConsent checks that a registrar may withdraw a
// consent of a birth their organisation registered, under the consent
// purpose and its own policy, and that the audit log names that policy.
func TestRegistrarWithdrawsConsent(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	withdrawn := &recordingWithdrawer{hub: env.hub}
	env.server.Consents = withdrawn
	event := env.hub.events[0].ID

	rec := env.do(t, http.MethodPost, "/api/v1/life-events/"+string(event)+"/consent/child-benefit/withdraw", nil, nil)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("registrar's withdrawal: status %d, want 202; body %s", rec.Code, rec.Body)
	}
	if len(withdrawn.calls) != 1 {
		t.Fatalf("withdrawals = %q, want one", withdrawn.calls)
	}
	e := lastEntry(env.auditEntries(t), audit.ActionAccess)
	if e == nil {
		t.Fatal("no access entry for the withdrawal")
	}
	if e.Purpose != policy.PurposeConsent {
		t.Errorf("purpose = %q, want %q", e.Purpose, policy.PurposeConsent)
	}
	if len(e.Reasons) != 1 || e.Reasons[0] != "registrar-consent" {
		t.Errorf("reasons = %q, want [registrar-consent]", e.Reasons)
	}
}

// TestBreakGlassSignOffButtonText checks that each Sign off button tells a
// screen reader who opened whose record and when, in words that differ
// from button to button, and never the grant's id.
func TestBreakGlassSignOffButtonText(t *testing.T) {
	env := newResidentEnv(t)
	dpo := env.createAccount(t, "dpo", policy.RoleDataProtectionOfficer)
	other := env.createAccount(t, "resident-other", policy.RoleResident)
	env.signIn(t, env.worker)
	for _, resident := range []string{env.father, other.ID} {
		if res := env.postForm(t, "/residents/"+resident+"/break-glass", url.Values{"reason": {"Welfare check."}, "hours": {"1"}}); res.code != http.StatusSeeOther {
			t.Fatalf("break glass for %s: status %d, want 303", resident, res.code)
		}
	}
	env.signInAs(t, dpo)

	page := env.do(t, http.MethodGet, "/dpo/break-glass", nil, nil).Body.String()

	for _, want := range []string{
		`Sign off<span class="govuk-visually-hidden"> worker opening the record of resident-father on 4 December 2026 at 12:00pm</span>`,
		`Sign off<span class="govuk-visually-hidden"> worker opening the record of resident-other on 4 December 2026 at 12:00pm</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("review list lacks the button %s:\n%s", want, page)
		}
	}
	for _, g := range env.records.grants {
		if strings.Contains(page, "> "+g.ID+"<") {
			t.Errorf("review list reads the grant id %s to a screen reader", g.ID)
		}
	}

	grant := env.records.grants[0]
	res := env.postForm(t, "/dpo/break-glass/"+grant.ID+"/review", url.Values{"note": {"Justified."}})
	banner := env.do(t, http.MethodGet, res.header.Get("Location"), nil, nil).Body.String()
	if want := "Break-glass use signed off: worker opening the record of "; !strings.Contains(banner, want) || strings.Contains(banner, grant.ID+" signed off") {
		t.Errorf("banner does not describe the use signed off in words:\n%s", banner)
	}
}

// TestDescribeUsesUnique checks that two grants the words do not tell
// apart get their places in the list.
func TestDescribeUsesUnique(t *testing.T) {
	grant := func(id string) *Grant {
		return &Grant{Grant: policy.Grant{ID: id, Worker: "acc_w", Resident: "acc_r", IssuedAt: testNow}}
	}
	names := map[string]string{"acc_w": "Sam Worker", "acc_r": "Ada Resident"}

	uses := describeUses([]*Grant{grant("bg_1"), grant("bg_2")}, names)

	const base = "Sam Worker opening the record of Ada Resident on 4 December 2026 at 12:00pm"
	if got, want := uses["bg_1"], base+", number 1 in the list"; got != want {
		t.Errorf("first use = %q, want %q", got, want)
	}
	if got, want := uses["bg_2"], base+", number 2 in the list"; got != want {
		t.Errorf("second use = %q, want %q", got, want)
	}
	if got := describeUses([]*Grant{grant("bg_1")}, names)["bg_1"]; got != base {
		t.Errorf("single use = %q, want %q", got, base)
	}
}
