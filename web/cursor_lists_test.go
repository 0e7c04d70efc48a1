package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/joinedup/joinedup/policy"
)

// nextCursor returns the next cursor of the first page, of one item, of
// the API list at path.
func (e *testEnv) nextCursor(t *testing.T, path string) string {
	t.Helper()
	rec := e.do(t, http.MethodGet, path+"?limit=1", nil, nil)
	var page struct {
		Next string `json:"next"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != http.StatusOK || page.Next == "" {
		t.Fatalf("GET %s?limit=1: status %d, next %q, err %v; want a next cursor", path, rec.Code, page.Next, err)
	}
	return page.Next
}

// TestCursorsTiedToTheirList checks that each list paged by cursor, in
// the API and on its page, rejects with 422 naming the parameter a cursor
// that another list gave, and that the list that gave it accepts it.
func TestCursorsTiedToTheirList(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 3)
	env.signInAs(t, env.operator)
	deliveries := env.nextCursor(t, "/api/v1/deliveries")
	events := env.nextCursor(t, "/api/v1/life-events")
	officer := env.createAccount(t, "officer-two", policy.RoleServiceOfficer, "child-benefit", "gp-practice")
	env.signInAs(t, officer)
	notices := env.nextCursor(t, "/api/v1/services/child-benefit/notices")

	type check struct {
		operator      bool
		api, page     string
		cursor, given string
	}
	checks := []check{
		{true, "/api/v1/life-events", "/operator/life-events", deliveries, "deliveries"},
		{true, "/api/v1/life-events", "/operator/life-events", notices, "notices"},
		{true, "/api/v1/deliveries", "/operator/deliveries", events, "life events"},
		{true, "/api/v1/deliveries", "/operator/deliveries", notices, "notices"},
		{false, "/api/v1/services/child-benefit/notices", "/services/child-benefit/notices", deliveries, "deliveries"},
		{false, "/api/v1/services/child-benefit/notices", "/services/child-benefit/notices", events, "life events"},
		{false, "/api/v1/services/gp-practice/notices", "/services/gp-practice/notices", notices, "child-benefit notices"},
	}
	for _, c := range checks {
		if c.operator {
			env.signInAs(t, env.operator)
		} else {
			env.signInAs(t, officer)
		}
		for _, name := range []string{"after", "before"} {
			query := "?" + name + "=" + url.QueryEscape(c.cursor)
			p := decodeProblem(t, env.do(t, http.MethodGet, c.api+query, nil, nil), http.StatusUnprocessableEntity)
			if len(p.Errors) != 1 || p.Errors[0].Field != "/"+name || !strings.Contains(p.Errors[0].Message, "given by another list") {
				t.Errorf("GET %s with a %s cursor as %s: errors %+v, want one on /%s that names another list", c.api, c.given, name, p.Errors, name)
			}
			rec := env.do(t, http.MethodGet, c.page+query, nil, nil)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("GET %s with a %s cursor as %s: status %d, want 422", c.page, c.given, name, rec.Code)
			}
			if want := "The " + name + " cursor was given by another list."; !strings.Contains(rec.Body.String(), want) {
				t.Errorf("GET %s with a %s cursor as %s: page lacks %q", c.page, c.given, name, want)
			}
		}
	}

	for path, cursor := range map[string]string{
		"/api/v1/deliveries":                     deliveries,
		"/operator/deliveries":                   deliveries,
		"/api/v1/life-events":                    events,
		"/operator/life-events":                  events,
		"/api/v1/services/child-benefit/notices": notices,
		"/services/child-benefit/notices":        notices,
	} {
		if strings.Contains(path, "notices") {
			env.signInAs(t, officer)
		} else {
			env.signInAs(t, env.operator)
		}
		if rec := env.do(t, http.MethodGet, path+"?after="+url.QueryEscape(cursor), nil, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s with its own cursor: status %d, want 200", path, rec.Code)
		}
	}
}

// TestEmptyCursorRejected checks that an empty after or before gets 422
// like a malformed cursor, and counts as given next to offset or the
// other cursor, in the API and on the pages.
func TestEmptyCursorRejected(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 2)
	officer := env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit")

	for _, list := range []struct {
		operator  bool
		api, page string
	}{
		{true, "/api/v1/life-events", "/operator/life-events"},
		{true, "/api/v1/deliveries", "/operator/deliveries"},
		{false, "/api/v1/services/child-benefit/notices", "/services/child-benefit/notices"},
	} {
		if list.operator {
			env.signInAs(t, env.operator)
		} else {
			env.signInAs(t, officer)
		}
		for query, want := range map[string][]string{
			"after=":           {"/after"},
			"before=":          {"/before"},
			"after=&offset=5":  {"/after", "/after"},
			"after=&before=":   {"/after", "/before", "/before"},
			"offset=&before=":  {"/before", "/before"},
			"offset=0&after=":  {"/after", "/after"},
			"before=&limit=10": {"/before"},
		} {
			p := decodeProblem(t, env.do(t, http.MethodGet, list.api+"?"+query, nil, nil), http.StatusUnprocessableEntity)
			got := fieldsOf(p)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("GET %s?%s: fields %q, want %q", list.api, query, got, want)
			}
			if !strings.Contains(p.Errors[0].Message, "cursor is empty") {
				t.Errorf("GET %s?%s: first message %q, want one that says the cursor is empty", list.api, query, p.Errors[0].Message)
			}
			rec := env.do(t, http.MethodGet, list.page+"?"+query, nil, nil)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("GET %s?%s: status %d, want 422", list.page, query, rec.Code)
			}
			if !strings.Contains(rec.Body.String(), "cursor is empty.") {
				t.Errorf("GET %s?%s: page does not say the cursor is empty", list.page, query)
			}
		}
	}
}
