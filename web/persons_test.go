package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joinedup/joinedup/linkage"
)

// newPersonsEnv returns a test environment with a real person index on its
// store, holding one GP record and a possible match waiting for review.
func newPersonsEnv(t *testing.T) (*testEnv, *linkage.Review) {
	t.Helper()
	ctx := context.Background()
	env := newTestEnv(t)
	persons, err := linkage.OpenPersons(ctx, env.records.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	env.server.Persons = persons

	original := linkage.Record{ID: "gp-1", GivenName: "Aoife", FamilyName: "Byrne", DateOfBirth: "1991-05-14",
		AddressLines: []string{"3 Mill Lane"}, Postcode: "LS6 2AB", NINO: "JG103759A"}
	if _, err := persons.Resolve(ctx, "gp-practice", original); err != nil {
		t.Fatal(err)
	}
	other := &linkage.PersonRecord{Source: "school", Record: linkage.Record{ID: "sch-9", GivenName: "Aoife", FamilyName: "Byrne",
		DateOfBirth: "1991-04-15", Postcode: "LS6 2AB"}, LinkedBy: linkage.LinkedNew}
	review := &linkage.Review{ID: "rev_test", Source: "school", RecordID: "sch-9", CandidateSource: "gp-practice",
		CandidateRecordID: "gp-1", Weight: 6, Probability: 0.9, State: linkage.ReviewOpen}
	if err := env.records.db.AddPersonRecord(ctx, other, review); err != nil {
		t.Fatal(err)
	}
	return env, review
}

func TestPersonMatchAPI(t *testing.T) {
	env, _ := newPersonsEnv(t)
	tests := []struct {
		name     string
		body     string
		status   int
		decision string
	}{
		{"same person", `{"id":"x","givenName":"Aoife","familyName":"Byrne","dateOfBirth":"1991-05-14","postcode":"LS6 2AB","nino":"JG 10 37 59 A"}`, http.StatusOK, "match"},
		{"stranger", `{"id":"y","givenName":"Tomasz","familyName":"Nowak","dateOfBirth":"1970-01-30","postcode":"BD1 1AA"}`, http.StatusOK, "none"},
		{"unknown field", `{"id":"z","surname":"Byrne"}`, http.StatusUnprocessableEntity, ""},
		{"no id", `{"givenName":"Aoife"}`, http.StatusUnprocessableEntity, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.postJSON(t, "/api/v1/persons/match", tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.decision == "" {
				return
			}
			var got matchResult
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if string(got.Decision) != tt.decision {
				t.Errorf("decision %q, want %q; body %s", got.Decision, tt.decision, rec.Body)
			}
			if tt.decision == "match" && (got.PersonID == "" || len(got.Fields) == 0) {
				t.Errorf("a match names no person or no field comparisons: %s", rec.Body)
			}
		})
	}

	// A social worker may not use the index.
	worker := env.createAccount(t, "worker", "social-worker")
	env.signInAs(t, worker)
	if rec := env.postJSON(t, "/api/v1/persons/match", tests[0].body); rec.Code != http.StatusForbidden {
		t.Errorf("social worker match: status %d, want 403", rec.Code)
	}
}

func TestPersonReviewDecision(t *testing.T) {
	env, open := newPersonsEnv(t)

	// A registrar may match but not decide.
	if rec := env.do(t, http.MethodGet, "/api/v1/persons/reviews", nil, nil); rec.Code != http.StatusForbidden {
		t.Errorf("registrar lists reviews: status %d, want 403", rec.Code)
	}

	env.signInAs(t, env.operator)
	rec := env.do(t, http.MethodGet, "/api/v1/persons/reviews", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), open.ID) {
		t.Fatalf("operator lists reviews: status %d, body %s", rec.Code, rec.Body)
	}
	if rec := env.do(t, http.MethodGet, "/api/v1/persons/reviews?states=open", nil, nil); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("reviews with a parameter the list does not take: status %d, want 422", rec.Code)
	}
	for _, reason := range []string{``, `   `, `a\u0001b`, `\u202egnp.exe`, `Same\u200bperson`, strings.Repeat("x", linkage.MaxReviewReason+1)} {
		rec := env.postJSON(t, "/api/v1/persons/reviews/"+open.ID, `{"decision":"confirm","reason":"`+reason+`"}`)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"/reason"`) {
			t.Errorf("decision with the reason %.20q: status %d, want 422 naming /reason; body %s", reason, rec.Code, rec.Body)
		}
	}
	// A body without a decision or a reason gets the page's messages.
	rec = env.postJSON(t, "/api/v1/persons/reviews/"+open.ID, `{}`)
	for _, want := range []string{"Select whether the records are the same person", "Enter why the records are or are not the same person"} {
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("decision without decision and reason: status %d, want 422 saying %q; body %s", rec.Code, want, rec.Body)
		}
	}
	// The limit counts the reason as stored, trimmed and composed, as the
	// page counts it.
	rec = env.postJSON(t, "/api/v1/persons/reviews/"+open.ID, `{"decision":"confirm","reason":"          `+strings.Repeat("e\u0301", linkage.MaxReviewReason)+`"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("confirm with a reason at its limit once composed: status %d, body %s", rec.Code, rec.Body)
	}
	var got review
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got.State != linkage.ReviewConfirmed || got.DecidedBy != env.operator.ID {
		t.Errorf("review after confirming = %+v, want confirmed by the operator", got)
	}
	if rec := env.postJSON(t, "/api/v1/persons/reviews/"+open.ID, `{"decision":"reject","reason":"again"}`); rec.Code == http.StatusOK {
		t.Errorf("deciding a decided review: status %d, want an error", rec.Code)
	}
	if e := lastEntry(env.auditEntries(t), "access"); e == nil || e.Subject != "person-index" {
		t.Errorf("last access entry = %+v, want one about the person index", e)
	}
}

func TestPersonReviewsPage(t *testing.T) {
	env, review := newPersonsEnv(t)
	env.signInAs(t, env.operator)

	rec := env.do(t, http.MethodGet, "/operator/persons/reviews", nil, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), review.ID) || !strings.Contains(rec.Body.String(), "15 April 1991") {
		t.Fatalf("reviews page: status %d, want the review with both records; body %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "links the new record to the candidate’s person") {
		t.Errorf("reviews page lacks the decision's hint with a typographic apostrophe; body %s", rec.Body)
	}

	form := url.Values{"decision": {"reject"}, "reason": {"Sent as plain text"}}
	plain := http.Header{"Content-Type": {"text/plain"}}
	rec = env.do(t, http.MethodPost, "/operator/persons/reviews/"+review.ID, strings.NewReader(form.Encode()), plain)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("decision sent as text/plain: status %d, want 415", rec.Code)
	}

	form.Del("reason")
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	rec = env.do(t, http.MethodPost, "/operator/persons/reviews/"+review.ID, strings.NewReader(form.Encode()), header)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "govuk-error-summary") {
		t.Errorf("reject without a reason: status %d, want 422 with an error summary", rec.Code)
	}
	if link := `href="#reason-` + review.ID + `"`; !strings.Contains(rec.Body.String(), link) || !strings.Contains(rec.Body.String(), `id="reason-`+review.ID+`"`) {
		t.Errorf("error summary does not link to the reason's textarea with %s:\n%s", link, rec.Body)
	}

	// The page checks a reason as the API does.
	for _, reason := range []string{"a\x01b", "\u202egnp.exe", strings.Repeat("x", linkage.MaxReviewReason+1)} {
		form.Set("reason", reason)
		rec = env.do(t, http.MethodPost, "/operator/persons/reviews/"+review.ID, strings.NewReader(form.Encode()), header)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "govuk-error-summary") {
			t.Errorf("reject with the reason %.20q: status %d, want 422 with an error summary", reason, rec.Code)
		}
	}
	rec = env.do(t, http.MethodGet, "/api/v1/persons/reviews?state=open", nil, nil)
	if !strings.Contains(rec.Body.String(), review.ID) {
		t.Fatalf("a review stopped being open after decisions with bad reasons; body %s", rec.Body)
	}
	// The banner shows only for a review that is decided.
	for _, id := range []string{review.ID, "Every review was already decided"} {
		if body := env.do(t, http.MethodGet, "/operator/persons/reviews?"+url.Values{"decided": {id}}.Encode(), nil, nil).Body.String(); strings.Contains(body, "is recorded") {
			t.Errorf("reviews page with decided=%q shows a success banner:\n%s", id, body)
		}
	}

	form.Set("reason", "Different dates of birth and no shared identifier")
	rec = env.do(t, http.MethodPost, "/operator/persons/reviews/"+review.ID, strings.NewReader(form.Encode()), header)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("reject: status %d, want 303; body %s", rec.Code, rec.Body)
	}
	rec = env.do(t, http.MethodGet, "/operator/persons/reviews?state=rejected", nil, nil)
	if !strings.Contains(rec.Body.String(), "Different dates of birth") {
		t.Errorf("rejected review does not show its reason")
	}
}
