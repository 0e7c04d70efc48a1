package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

// checkRepeatedFieldPage checks that res is the 422 error page of a form
// that gave field more than once.
func checkRepeatedFieldPage(t *testing.T, res formResponse, field string) {
	t.Helper()
	if res.code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", res.code, res.body)
	}
	if !strings.Contains(res.body, "sent a field more than once") {
		t.Errorf("error page does not say that a field was sent more than once:\n%s", res.body)
	}
	if !strings.Contains(res.body, "The field &#34;"+field+"&#34; was sent") {
		t.Errorf("error page does not name the field %q:\n%s", field, res.body)
	}
}

// checkQueryRejectedPage checks that res is the 422 error page of a form
// posted to an address with field in its query, which no form reads.
func checkQueryRejectedPage(t *testing.T, res formResponse, field string) {
	t.Helper()
	if res.code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", res.code, res.body)
	}
	if !strings.Contains(res.body, "parameter in its web address") && !strings.Contains(res.body, "no parameters in its web address") {
		t.Errorf("error page does not say that the web address had a parameter:\n%s", res.body)
	}
	if !strings.Contains(res.body, "The web address gives the parameter &#34;"+field+"&#34;") {
		t.Errorf("error page does not name the parameter %q:\n%s", field, res.body)
	}
}

// postFormWithQuery sends form as postForm does, to target with query.
func (e *testEnv) postFormWithQuery(t *testing.T, target string, query, form url.Values) formResponse {
	t.Helper()
	return e.postForm(t, target+"?"+query.Encode(), form)
}

// TestBirthFormRejectsRepeatedField includes the service checkboxes,
// which may repeat in the body but not appear in the query as well.
func TestBirthFormRejectsRepeatedField(t *testing.T) {
	env := newTestEnv(t)
	repeated := birthFormValues()
	repeated.Add("child-name-given", "Other")
	tests := []struct {
		name  string
		query url.Values
		form  url.Values
		field string
		want  string
	}{
		{"body", nil, repeated, "child-name-given", "was sent 2 times"},
		{"query and body", url.Values{"child-name-given": {"Other"}}, birthFormValues(), "child-name-given", "which this request does not take"},
		{"services in query", url.Values{"consent-services": {"gp-practice"}}, birthFormValues(), "consent-services", "which this request does not take"},
		{"other parameter in query", url.Values{"dry-run": {"yes"}}, birthFormValues(), "dry-run", "which this request does not take"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.postFormWithQuery(t, "/births/new", tt.query, tt.form)

			if tt.query == nil {
				checkRepeatedFieldPage(t, res, tt.field)
			} else {
				checkQueryRejectedPage(t, res, tt.field)
			}
			if !strings.Contains(res.body, tt.want) {
				t.Errorf("error page does not say %q:\n%s", tt.want, res.body)
			}
			if !strings.Contains(res.body, `href="/births/new">Go back to the page you came from</a>`) {
				t.Errorf("error page does not link back to the birth form:\n%s", res.body)
			}
			if n := len(env.hub.events); n != 0 {
				t.Errorf("births registered = %d, want 0", n)
			}
		})
	}
}

func TestBirthFormAcceptsSeveralServices(t *testing.T) {
	env := newTestEnv(t)

	res := env.postForm(t, "/births/new", birthFormValues())

	if res.code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %s", res.code, res.body)
	}
	if n := len(env.hub.events); n != 1 {
		t.Fatalf("births registered = %d, want 1", n)
	}
}

func TestBreakGlassRejectsRepeatedReason(t *testing.T) {
	env := newResidentEnv(t)
	env.signIn(t, env.worker)
	target := "/residents/" + env.father + "/break-glass"
	tests := []struct {
		name  string
		query url.Values
		form  url.Values
	}{
		{"body", nil, url.Values{"reason": {"a", "b"}, "hours": {"1"}}},
		{"query and body", url.Values{"reason": {"b"}}, url.Values{"reason": {"a"}, "hours": {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.postFormWithQuery(t, target, tt.query, tt.form)

			if tt.query == nil {
				checkRepeatedFieldPage(t, res, "reason")
			} else {
				checkQueryRejectedPage(t, res, "reason")
			}
			if n := len(env.records.grants); n != 0 {
				t.Errorf("grants issued = %d, want 0", n)
			}
		})
	}
}

func TestBreakGlassReviewRejectsRepeatedNote(t *testing.T) {
	env := newResidentEnv(t)
	dpo := env.createAccount(t, "dpo", policy.RoleDataProtectionOfficer)
	env.signIn(t, env.worker)
	env.postForm(t, "/residents/"+env.father+"/break-glass", url.Values{"reason": {"Welfare check."}, "hours": {"1"}})
	grant := env.records.grants[0]
	env.signInAs(t, dpo)
	target := "/dpo/break-glass/" + grant.ID + "/review"
	tests := []struct {
		name  string
		query url.Values
		form  url.Values
	}{
		{"body", nil, url.Values{"note": {"first", "second"}}},
		{"query and body", url.Values{"note": {"second"}}, url.Values{"note": {"first"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.postFormWithQuery(t, target, tt.query, tt.form)

			if tt.query == nil {
				checkRepeatedFieldPage(t, res, "note")
			} else {
				checkQueryRejectedPage(t, res, "note")
			}
			if grant.ReviewedBy != "" {
				t.Errorf("grant reviewed by %q, want no review", grant.ReviewedBy)
			}
		})
	}
}

func TestConsentFormRejectsServiceInQuery(t *testing.T) {
	env := newResidentEnv(t)
	env.signIn(t, env.father)
	withdrawn := &recordingWithdrawer{hub: env.hub}
	env.server.Consents = withdrawn

	res := env.postFormWithQuery(t, "/residents/"+env.father+"/consent",
		url.Values{"service": {"gp-practice"}}, url.Values{"event": {string(env.event.ID)}, "service": {"child-benefit"}})

	checkQueryRejectedPage(t, res, "service")
	if len(withdrawn.calls) != 0 {
		t.Errorf("withdrawals = %q, want none", withdrawn.calls)
	}
}

func TestPersonReviewRejectsRepeatedDecision(t *testing.T) {
	env, review := newPersonsEnv(t)
	env.signInAs(t, env.operator)
	form := url.Values{"decision": {"reject", "confirm"}, "reason": {"Different dates of birth"}}

	res := env.postForm(t, "/operator/persons/reviews/"+review.ID, form)

	checkRepeatedFieldPage(t, res, "decision")
	rec := env.do(t, http.MethodGet, "/operator/persons/reviews?state=rejected", nil, nil)
	if strings.Contains(rec.Body.String(), "Different dates of birth") {
		t.Errorf("the review was decided after a rejected form")
	}
}

func TestReplayFormRejectsRepeatedState(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	env.signInAs(t, env.operator)
	d := env.hub.events[0].Deliveries[0]
	env.hub.setState(d.ID, joinedup.StateDeadLettered, "timeout")

	res := env.postFormWithQuery(t, "/operator/deliveries/"+string(d.ID)+"/replay",
		url.Values{"state": {"failed"}}, url.Values{"state": {"dead-lettered"}})

	checkQueryRejectedPage(t, res, "state")
	if got := env.hub.delivery(d.ID).State; got != joinedup.StateDeadLettered {
		t.Errorf("delivery state = %q, want it still dead-lettered", got)
	}
}

// TestSignInRejectsFieldInQueryAndBody checks that a field given once in
// the query and once in the body is rejected, and does not sign in as
// the user named in either.
func TestSignInRejectsFieldInQueryAndBody(t *testing.T) {
	env := newTestEnv(t)
	env.session = nil
	tests := []struct {
		name  string
		query url.Values
		form  url.Values
		field string
	}{
		{"username", url.Values{"username": {"registrar"}}, url.Values{"username": {"operator"}, "password": {testPassword}}, "username"},
		{"next", url.Values{"next": {"/operator/life-events"}}, url.Values{"username": {"registrar"}, "password": {testPassword}, "next": {"/births/new"}}, "next"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.postFormWithQuery(t, "/sign-in", tt.query, tt.form)

			// next is the one parameter that the sign-in form reads from
			// its web address, so only it counts as repeated.
			if tt.field == "next" {
				checkRepeatedFieldPage(t, res, tt.field)
			} else {
				checkQueryRejectedPage(t, res, tt.field)
			}
			if !strings.Contains(res.body, "you have not been signed in") {
				t.Errorf("error page does not say that the user was not signed in:\n%s", res.body)
			}
			if cookie := res.header.Get("Set-Cookie"); cookie != "" {
				t.Errorf("response sets a cookie: %s", cookie)
			}
		})
	}
}

// TestSignInErrorLinkKeepsNext checks that the error page of a sign-in
// request links to the sign-in page, with next only when every next
// given is the same path on this hub.
func TestSignInErrorLinkKeepsNext(t *testing.T) {
	env := newTestEnv(t)
	env.session = nil
	signInWithNext := `href="/sign-in?next=%2fbirths%2fnew">Go to the sign-in page</a>`
	signInAlone := `href="/sign-in">Go to the sign-in page</a>`
	tests := []struct {
		name  string
		query url.Values
		form  url.Values // nil for a GET of the sign-in page
		want  string
	}{
		{"page, same next twice", url.Values{"next": {"/births/new", "/births/new"}}, nil, signInWithNext},
		{"page, two nexts", url.Values{"next": {"/births/new", "/operator/life-events"}}, nil, signInAlone},
		{"page, other site twice", url.Values{"next": {"//example.com/", "//example.com/"}}, nil, signInAlone},
		{"page, repeated other parameter", url.Values{"next": {"/births/new"}, "signed-out": {"1", "1"}}, nil, signInWithNext},
		{"form, repeated username", nil, url.Values{"username": {"registrar", "operator"}, "password": {testPassword}, "next": {"/births/new"}}, signInWithNext},
		{"form, next in query and body", url.Values{"next": {"/operator/life-events"}}, url.Values{"username": {"registrar"}, "password": {testPassword}, "next": {"/births/new"}}, signInAlone},
		{"form, same next in query and body", url.Values{"next": {"/births/new"}}, url.Values{"username": {"registrar"}, "password": {testPassword}, "next": {"/births/new"}}, signInWithNext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var body string
			if tt.form == nil {
				rec := env.do(t, http.MethodGet, "/sign-in?"+tt.query.Encode(), nil, nil)
				code, body = rec.Code, rec.Body.String()
			} else {
				res := env.postFormWithQuery(t, "/sign-in", tt.query, tt.form)
				code, body = res.code, res.body
			}

			if code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", code, body)
			}
			if !strings.Contains(strings.ToLower(body), strings.ToLower(tt.want)) {
				t.Errorf("error page lacks the link %s:\n%s", tt.want, body)
			}
		})
	}
}

// TestRepeatedQueryParameterWording checks that the API names a repeated
// parameter in quotes, and that a page says the same in plain words.
func TestRepeatedQueryParameterWording(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)

	p := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/life-events?limit=2&limit=3", nil, nil), http.StatusUnprocessableEntity)
	want := `Give the parameter "limit" once. The query gives it 2 times.`
	if len(p.Errors) != 1 || p.Errors[0].Field != "/limit" || p.Errors[0].Message != want {
		t.Errorf("API errors = %+v, want one on /limit: %q", p.Errors, want)
	}

	rec := env.do(t, http.MethodGet, "/operator/life-events?limit=2&limit=3", nil, nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("page: status %d, want 422", rec.Code)
	}
	page := rec.Body.String()
	if got, want := pageTitle(page), "There is a problem with the link you followed – joinedup"; got != want {
		t.Errorf("page: title = %q, want %q", got, want)
	}
	if !strings.Contains(page, "&#34;limit&#34; appears 2 times in the link.") {
		t.Errorf("page does not say that limit appears twice:\n%s", page)
	}
	if strings.Contains(page, "The query gives") || strings.Contains(page, "Give the parameter") {
		t.Errorf("page gives the API's wording:\n%s", page)
	}
}
