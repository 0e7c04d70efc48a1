package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

// hidingPolicies returns the default policies with one more that forbids
// reading the resources named, each as "Type::\"id\"".
func hidingPolicies(t *testing.T, hidden []string) *policy.Policies {
	t.Helper()
	return policiesWith(t, fmt.Sprintf(`@id("hide-some")
forbid (principal, action == Action::"read", resource)
when { resource in [%s] };
`, strings.Join(hidden, ", ")))
}

// policiesWith returns the default policies with the policies of text.
func policiesWith(t *testing.T, text string) *policy.Policies {
	t.Helper()
	files := fstest.MapFS{}
	defaults := os.DirFS("../policy/default")
	names, err := fs.Glob(defaults, "*.cedar")
	if err != nil || len(names) == 0 {
		t.Fatalf("list the default policies: %v, %d files", err, len(names))
	}
	for _, name := range names {
		text, err := fs.ReadFile(defaults, name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: text}
	}
	files["zz-own.cedar"] = &fstest.MapFile{Data: []byte(text)}
	p, err := policy.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// getDeliveries requests a list of deliveries from the API with the
// query and returns the list.
func (e *testEnv) getDeliveries(t *testing.T, query string) deliveryList {
	t.Helper()
	rec := e.do(t, http.MethodGet, "/api/v1/deliveries?"+query, nil, nil)
	var list deliveryList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/deliveries?%s: status %d, err %v; body %s", query, rec.Code, err, rec.Body)
	}
	return list
}

// walk pages through a list from its first page by next cursors and
// then back from the last page by previous cursors, and returns the
// items of each page in the order met, and the pages' sizes. read
// returns a page's items, its next cursor and its previous one.
func walk(t *testing.T, read func(query string) (items []string, next, previous string)) (forward, backward []string, sizes []int) {
	t.Helper()
	items, next, previous := read("limit=2")
	forward, sizes = items, []int{len(items)}
	for range 20 {
		if next == "" {
			break
		}
		items, next, previous = read("limit=2&after=" + url.QueryEscape(next))
		forward, sizes = append(forward, items...), append(sizes, len(items))
	}
	backward = items
	for range 20 {
		if previous == "" {
			break
		}
		items, _, previous = read("limit=2&before=" + url.QueryEscape(previous))
		backward = append(slices.Clone(items), backward...)
	}
	return forward, backward, sizes
}

// checkFull reports a page other than the last with fewer than two items.
func checkFull(t *testing.T, list string, sizes []int) {
	t.Helper()
	for i, n := range sizes[:len(sizes)-1] {
		if n != 2 {
			t.Errorf("%s: page %d of %d has %d items, want 2 on every page but the last: sizes %v", list, i+1, len(sizes), n, sizes)
		}
	}
}

// TestPagesFilledUnderNarrowerPolicies runs a hub whose own policies
// forbid reading some life events and deliveries that the default ones
// let the account read, in runs longer than a page and at the end of the
// list. Each page of the lists in the API then still holds as many items
// as its limit, but the last, and paging forward and back lists each
// item that may be read once, in order.
func TestPagesFilledUnderNarrowerPolicies(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 10)

	events := env.newestFirst()
	env.signInAs(t, env.operator)
	deliveries := env.getDeliveries(t, "limit=100")
	env.signInAs(t, env.registrar)
	byRef := map[string]joinedup.EventID{}
	for _, ev := range env.hub.events {
		byRef[ev.Reference] = ev.ID
	}
	var hidden, visibleEvents, visibleDeliveries []string
	for i, ref := range events {
		if (i >= 1 && i <= 5) || i == len(events)-1 {
			hidden = append(hidden, fmt.Sprintf("LifeEvent::%q", byRef[ref]))
			continue
		}
		visibleEvents = append(visibleEvents, ref)
	}
	if len(deliveries.Items) < 10 {
		t.Fatalf("the hub holds %d deliveries, want at least 10", len(deliveries.Items))
	}
	for i, d := range deliveries.Items {
		if (i >= 2 && i <= 6) || i >= len(deliveries.Items)-2 {
			hidden = append(hidden, fmt.Sprintf("Delivery::%q", d.ID))
			continue
		}
		visibleDeliveries = append(visibleDeliveries, string(d.ID))
	}
	env.server.Policies = hidingPolicies(t, hidden)

	forward, backward, sizes := walk(t, func(query string) ([]string, string, string) {
		l := env.getLifeEvents(t, query)
		return eventRefs(l.Items), l.Next, l.Previous
	})
	checkFull(t, "life events", sizes)
	if !slices.Equal(forward, visibleEvents) || !slices.Equal(backward, visibleEvents) {
		t.Errorf("life events: forward %v and back %v, want %v both ways", forward, backward, visibleEvents)
	}

	env.signInAs(t, env.operator)
	forward, backward, sizes = walk(t, func(query string) ([]string, string, string) {
		l := env.getDeliveries(t, query)
		var ids []string
		for _, d := range l.Items {
			ids = append(ids, string(d.ID))
		}
		return ids, l.Next, l.Previous
	})
	checkFull(t, "deliveries", sizes)
	if !slices.Equal(forward, visibleDeliveries) || !slices.Equal(backward, visibleDeliveries) {
		t.Errorf("deliveries: forward %v and back %v, want %v both ways", forward, backward, visibleDeliveries)
	}
}

// TestProgressLeavesOutHiddenDeliveries runs a hub whose own policies
// forbid operators to read one service's deliveries. An operator who
// reads life events for their progress then gets the other services'
// deliveries, in the list and on the event, and none of that service's,
// and a list by state does not list an event for a hidden delivery.
func TestProgressLeavesOutHiddenDeliveries(t *testing.T) {
	env := newTestEnv(t)
	twoServices := strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["child-benefit", "gp-practice"]`, 1)
	for range 2 {
		if rec := env.postJSON(t, "/api/v1/births", twoServices); rec.Code != http.StatusCreated {
			t.Fatalf("register birth: status %d; body %s", rec.Code, rec.Body)
		}
	}
	const hidden = "gp-practice"
	env.server.Policies = policiesWith(t, fmt.Sprintf(`@id("operators-not-%[1]s")
forbid (principal is Staff, action == Action::"read", resource is Delivery)
when { principal.role == "operator" && resource has service && resource.service == %[1]q };
`, hidden))
	env.signInAs(t, env.operator)

	check := func(where string, ev *joinedup.LifeEvent) {
		t.Helper()
		if len(ev.Deliveries) == 0 {
			t.Errorf("%s: event %s shows no deliveries, want those of the other services", where, ev.Reference)
		}
		for _, d := range ev.Deliveries {
			if d.Service == hidden {
				t.Errorf("%s: event %s shows its delivery to %s, which the operator may not read", where, ev.Reference, hidden)
			}
		}
	}
	for _, ev := range env.getLifeEvents(t, "limit=10").Items {
		check("GET /api/v1/life-events", ev)
	}
	id := env.hub.events[0].ID
	rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(id), nil, nil)
	var ev joinedup.LifeEvent
	if err := json.Unmarshal(rec.Body.Bytes(), &ev); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/life-events/%s: status %d, err %v; body %s", id, rec.Code, err, rec.Body)
	}
	check("GET /api/v1/life-events/{id}", &ev)

	// An event whose only delivery is hidden is not listed for that
	// delivery's state.
	env.signInAs(t, env.registrar)
	onlyHidden := strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["gp-practice"]`, 1)
	if rec := env.postJSON(t, "/api/v1/births", onlyHidden); rec.Code != http.StatusCreated {
		t.Fatalf("register birth: status %d; body %s", rec.Code, rec.Body)
	}
	last := env.hub.events[len(env.hub.events)-1]
	state := last.Deliveries[0].State
	env.signInAs(t, env.operator)
	listed := env.getLifeEvents(t, "limit=10&state="+string(state))
	for _, ev := range listed.Items {
		if ev.ID == last.ID {
			t.Errorf("GET /api/v1/life-events?state=%s lists event %s, whose only delivery in that state the operator may not read", state, ev.Reference)
		}
	}
	if len(listed.Items) == 0 {
		t.Errorf("GET /api/v1/life-events?state=%s lists no event, want those with a delivery to child-benefit in that state", state)
	}
}

// TestPolicyErrorsLogged runs a hub whose own policy fails to evaluate,
// as one with a misspelt attribute does. Cedar leaves such a policy out
// of the decision, so the hub logs the error, once however many
// decisions meet it.
func TestPolicyErrorsLogged(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 2)
	env.server.Policies = policiesWith(t, `@id("operators-not-gp")
forbid (principal is Staff, action == Action::"read", resource is Delivery)
when { principal.role == "operator" && resource.servce == "gp-practice" };
`)
	env.signInAs(t, env.operator)
	for range 2 {
		env.getDeliveries(t, "limit=10")
	}
	const logged = "access policy failed to evaluate"
	if n := strings.Count(env.logs.String(), logged); n != 1 {
		t.Errorf("the log has %d lines saying %q, want 1; log:\n%s", n, logged, env.logs)
	}
	if !strings.Contains(env.logs.String(), "operators-not-gp") {
		t.Errorf("the log does not name the policy operators-not-gp; log:\n%s", env.logs)
	}
}
