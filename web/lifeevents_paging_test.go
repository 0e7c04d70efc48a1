package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// getLifeEvents requests a list of life events from the API with the
// query and returns the list.
func (e *testEnv) getLifeEvents(t *testing.T, query string) lifeEventList {
	t.Helper()
	rec := e.do(t, http.MethodGet, "/api/v1/life-events?"+query, nil, nil)
	var list lifeEventList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/life-events?%s: status %d, err %v; body %s", query, rec.Code, err, rec.Body)
	}
	return list
}

// eventRefs returns the reference numbers of events, in order.
func eventRefs(events []*joinedup.LifeEvent) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.Reference)
	}
	return out
}

// newestFirst returns the reference numbers of the fake hub's events,
// newest first, as the list orders them.
func (e *testEnv) newestFirst() []string {
	refs := eventRefs(e.hub.events)
	slices.Reverse(refs)
	return refs
}

// TestLifeEventsAPICursors pages through the API's list of life events
// by its next and previous cursors while a birth is registered between
// two requests. The page after the first starts with the event after the
// first page's last, so no event is listed twice, and the previous cursor
// leads back to the events of the first page.
func TestLifeEventsAPICursors(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 5)
	listed := env.newestFirst()

	first := env.getLifeEvents(t, "limit=2")
	if first.Next == "" || first.Previous != "" || first.Offset != 0 || first.Total != 5 {
		t.Fatalf("first page: next %q, previous %q, offset %d, total %d; want only a next cursor, offset 0 and total 5",
			first.Next, first.Previous, first.Offset, first.Total)
	}

	env.registerBirths(t, 1)
	var got []string
	got = append(got, eventRefs(first.Items)...)
	page := first
	for range 5 {
		page = env.getLifeEvents(t, "limit=2&after="+url.QueryEscape(page.Next))
		if want := len(got) + 1; page.Offset != want || page.Total != 6 {
			t.Errorf("page after %d events: offset %d and total %d, want %d and 6", len(got), page.Offset, page.Total, want)
		}
		got = append(got, eventRefs(page.Items)...)
		if page.Next == "" {
			break
		}
	}
	if !slices.Equal(got, listed) {
		t.Errorf("the pages list %v, want each event of the first request once: %v", got, listed)
	}
	if page.Previous == "" {
		t.Fatalf("the last page has no previous cursor")
	}

	back := env.getLifeEvents(t, "limit=2&before="+url.QueryEscape(page.Previous))
	// The list is now the new birth and then listed, so the two events
	// before the last are at offset 3.
	if want := listed[2:4]; !slices.Equal(eventRefs(back.Items), want) || back.Offset != 3 {
		t.Errorf("the page before the last lists %v at offset %d, want %v at offset 3", eventRefs(back.Items), back.Offset, want)
	}
	// A page with both cursors matches the OpenAPI document.
	body := env.do(t, http.MethodGet, "/api/v1/life-events?limit=2&after="+url.QueryEscape(first.Next), nil, nil).Body.String()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse response: %v", err)
	}
	if err := responseSchema(t, "LifeEventList").Validate(doc); err != nil || !strings.Contains(body, `"previous":`) || !strings.Contains(body, `"next":`) {
		t.Errorf("a page between two others: %v; body %s", err, body)
	}
	// An offset still places a page, and is given back as it was asked.
	if byOffset := env.getLifeEvents(t, "limit=2&offset=4"); byOffset.Offset != 4 || len(byOffset.Items) != 2 {
		t.Errorf("page at offset 4: offset %d, %d events; want offset 4 and 2 events", byOffset.Offset, len(byOffset.Items))
	}
}

// TestLifeEventsAPIStateLeaves lists the life events with a dead-lettered
// delivery, and takes the first listed event out of the list, as a replay
// does, before the next page is read. The next page still starts with
// the event after the first page's last, skipping none.
func TestLifeEventsAPIStateLeaves(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 5)
	for _, ev := range env.hub.events {
		env.hub.setState(ev.Deliveries[0].ID, joinedup.StateDeadLettered, "connection refused")
	}
	listed := env.newestFirst()

	first := env.getLifeEvents(t, "state=dead-lettered&limit=2")
	env.hub.setState(first.Items[0].Deliveries[0].ID, joinedup.StatePending, "")

	got := eventRefs(first.Items)
	page := first
	for range 5 {
		page = env.getLifeEvents(t, "state=dead-lettered&limit=2&after="+url.QueryEscape(page.Next))
		if want := len(got) - 1; page.Offset != want || page.Total != 4 {
			t.Errorf("page after %d events: offset %d and total %d, want %d and 4", len(got), page.Offset, page.Total, want)
		}
		got = append(got, eventRefs(page.Items)...)
		if page.Next == "" {
			break
		}
	}
	if !slices.Equal(got, listed) {
		t.Errorf("the pages list %v, want every event that was listed once: %v", got, listed)
	}
}

// TestLifeEventsRejectBadPlace checks that the list of life events, in
// the API and on the page, refuses a cursor it did not give and more
// than one of offset, after and before, naming the parameter, and
// records no access.
func TestLifeEventsRejectBadPlace(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 3)
	valid := url.QueryEscape(joinedup.EventCursor{At: testNow, ID: env.hub.events[1].ID}.Token(lifeEventsList))
	entries := len(env.auditEntries(t))

	for query, want := range map[string]string{
		"after=garbage":                              "/after",
		"before=" + url.QueryEscape("MTIz.NA"):       "/before",
		"after=" + url.QueryEscape("LTEuZXZ0"):       "/after",  // "-1.evt"
		"before=" + url.QueryEscape("MTIzNA"):        "/before", // no dot
		"offset=1&after=" + valid:                    "/after",
		"offset=1&before=" + valid:                   "/before",
		"after=" + valid + "&before=" + valid:        "/before",
		"state=failed&before=" + valid + "&offset=2": "/before",
	} {
		p := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/life-events?"+query, nil, nil), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != want || p.Errors[0].In != joinedup.InQuery {
			t.Errorf("GET /api/v1/life-events?%s: errors %+v, want one on %s in the query", query, p.Errors, want)
		}
		rec := env.do(t, http.MethodGet, "/operator/life-events?"+query, nil, nil)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("GET /operator/life-events?%s: status %d, want 422", query, rec.Code)
		}
	}
	if p := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/life-events?after=garbage&offset=1", nil, nil), http.StatusUnprocessableEntity); !slices.Equal(fieldsOf(p), []string{"/after", "/after"}) ||
		!strings.Contains(p.Errors[1].Message, "Give at most one of offset, after and before") {
		t.Errorf("a bad cursor with an offset: errors %+v, want the cursor and the two parameters named", p.Errors)
	}
	if got := len(env.auditEntries(t)); got != entries {
		t.Errorf("the refused requests recorded %d audit entries, want none", got-entries)
	}
}

// TestLifeEventsPageCursorLinks follows the Previous and Next links of
// the life events page while a birth is registered between two pages,
// and checks that the links keep the state filter and that each caption
// names the events of the whole list that the page shows.
func TestLifeEventsPageCursorLinks(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 3)
	listed := env.newestFirst()
	env.signInAs(t, env.operator)

	body := env.do(t, http.MethodGet, "/operator/life-events?limit=2", nil, nil).Body.String()
	if want := "Showing 1 to 2 of 3, newest first"; !strings.Contains(body, want) {
		t.Errorf("first page lacks %q", want)
	}
	if !strings.Contains(body, listed[0]) || !strings.Contains(body, listed[1]) || strings.Contains(body, listed[2]) {
		t.Errorf("first page does not show exactly %v", listed[:2])
	}
	next := pageLink(body, "next")
	if !strings.HasPrefix(next, "/operator/life-events?after=") || !strings.HasSuffix(next, "&limit=2") {
		t.Errorf("first page's Next link is %q, want one after a cursor with the limit", next)
	}
	if pageLink(body, "prev") != "" {
		t.Errorf("first page has a Previous link")
	}

	env.signInAs(t, env.registrar)
	env.registerBirths(t, 1)
	env.signInAs(t, env.operator)

	body = env.do(t, http.MethodGet, next, nil, nil).Body.String()
	if want := "Showing 4 to 4 of 4, newest first"; !strings.Contains(body, want) {
		t.Errorf("second page lacks %q", want)
	}
	if !strings.Contains(body, listed[2]) || strings.Contains(body, listed[1]) {
		t.Errorf("second page does not show only %s", listed[2])
	}
	if pageLink(body, "next") != "" {
		t.Errorf("second page has a Next link")
	}
	previous := pageLink(body, "prev")
	if !strings.HasPrefix(previous, "/operator/life-events?before=") {
		t.Fatalf("second page's Previous link is %q, want one before a cursor", previous)
	}
	body = env.do(t, http.MethodGet, previous, nil, nil).Body.String()
	if want := "Showing 2 to 3 of 4, newest first"; !strings.Contains(body, want) {
		t.Errorf("the page before the second lacks %q", want)
	}
	if !strings.Contains(body, listed[0]) || !strings.Contains(body, listed[1]) {
		t.Errorf("the page before the second does not show %v", listed[:2])
	}
	if previous := pageLink(body, "prev"); !strings.HasPrefix(previous, "/operator/life-events?before=") {
		t.Errorf("the page before the second has the Previous link %q, want one before a cursor to the new birth", previous)
	}

	// The links keep the state listed.
	body = env.do(t, http.MethodGet, "/operator/life-events?state=pending&limit=1", nil, nil).Body.String()
	if next := pageLink(body, "next"); !strings.Contains(next, "state=pending") || !strings.Contains(next, "after=") {
		t.Errorf("the Next link of pending events is %q, want one after a cursor with the state", next)
	}

	// A cursor past the end of the list shows no event and links to the
	// first page.
	last := url.QueryEscape(joinedup.EventCursorOf(env.hub.events[0]).Token(lifeEventsList))
	body = env.do(t, http.MethodGet, "/operator/life-events?limit=2&after="+last, nil, nil).Body.String()
	if want := `There are no life events on this page`; !strings.Contains(body, want) {
		t.Errorf("the page after the last event lacks %q", want)
	}
	if want := `The list has 4 life events. <a class="govuk-link" href="/operator/life-events?limit=2">Go to the first page</a>`; !strings.Contains(body, want) {
		t.Errorf("the page after the last event lacks %q", want)
	}
}

// TestLifeEventListsNarrowed checks that a registrar's list and a social
// worker's hold only the events they may read, so that every page is
// full and the total counts only those: a registrar's, the events
// registered for their organisation, with the API token's when the
// token registers for it, and a social worker's, the births of the
// children of the residents allocated to them.
func TestLifeEventListsNarrowed(t *testing.T) {
	env := newTestEnv(t)
	env.server.APIToken = "operator-token-for-tests"
	other := &auth.Account{Username: "other-registrar", Role: policy.RoleRegistrar, Organisation: "other-council"}
	if err := env.server.Passwords.CreateAccount(context.Background(), other, testPassword); err != nil {
		t.Fatal(err)
	}
	worker := env.createAccount(t, "social-worker", policy.RoleSocialWorker)
	mother := env.createAccount(t, "mother", policy.RoleResident)

	// The registrars take turns, and the token registers one birth.
	var ours, theirs []string
	for i := range 4 {
		account := env.registrar
		if i%2 == 1 {
			account = other
		}
		env.signInAs(t, account)
		env.registerBirths(t, 1)
		ref := env.hub.events[len(env.hub.events)-1].Reference
		if account == other {
			theirs = append([]string{ref}, theirs...)
		} else {
			ours = append([]string{ref}, ours...)
		}
	}
	env.session = nil
	rec := env.do(t, http.MethodPost, "/api/v1/births", strings.NewReader(validBirth),
		http.Header{"Authorization": {"Bearer operator-token-for-tests"}, "Content-Type": {"application/json"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("register with the token: status %d; body %s", rec.Code, rec.Body)
	}
	ours = append([]string{env.hub.events[len(env.hub.events)-1].Reference}, ours...)
	env.records.allocations[worker.ID] = []string{mother.ID}
	env.records.children[mother.ID] = []joinedup.EventID{env.hub.events[1].ID}

	for _, tt := range []struct {
		name    string
		account *auth.Account
		want    []string
	}{
		{"the council's registrar", env.registrar, ours},
		{"the other council's registrar", other, theirs},
		{"the social worker", worker, []string{env.hub.events[1].Reference}},
	} {
		env.signInAs(t, tt.account)
		var got []string
		page := env.getLifeEvents(t, "limit=1")
		for range 6 {
			if page.Total != len(tt.want) || len(page.Items) != 1 {
				t.Errorf("%s: %d events on a page of a list of %d, want 1 of %d", tt.name, len(page.Items), page.Total, len(tt.want))
			}
			got = append(got, eventRefs(page.Items)...)
			if page.Next == "" {
				break
			}
			page = env.getLifeEvents(t, "limit=1&after="+url.QueryEscape(page.Next))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: the pages list %v, want %v", tt.name, got, tt.want)
		}
		body := env.do(t, http.MethodGet, "/operator/life-events?limit=1", nil, nil).Body.String()
		if want := "Showing 1 to 1 of " + strconv.Itoa(len(tt.want)); !strings.Contains(body, want) {
			t.Errorf("%s: the page lacks %q", tt.name, want)
		}
	}

	// An operator's list is every event's progress.
	env.signInAs(t, env.operator)
	if list := env.getLifeEvents(t, "limit=100"); list.Total != 5 || len(list.Items) != 5 {
		t.Errorf("operator: %d events of %d, want 5 of 5", len(list.Items), list.Total)
	}
}
