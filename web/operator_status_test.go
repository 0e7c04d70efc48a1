package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestOperatorSeesProgressOnly checks that an operator lists every life
// event with each recipient's state, but none of the registration.
func TestOperatorSeesProgressOnly(t *testing.T) {
	env := newTestEnv(t)
	if rec := env.postJSON(t, "/api/v1/births", validBirth); rec.Code != http.StatusCreated {
		t.Fatalf("register birth: status %d, body %s", rec.Code, rec.Body)
	}
	env.signInAs(t, env.operator)

	rec := env.do(t, http.MethodGet, "/api/v1/life-events", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("list life events: status %d, body %s", rec.Code, rec.Body)
	}
	var list lifeEventList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("operator sees %d life events, want 1", len(list.Items))
	}
	ev := list.Items[0]
	if string(ev.Payload) != "{}" || ev.Consent.GivenBy.Full() != "" {
		t.Errorf("operator sees payload %s and informant %q, want neither", ev.Payload, ev.Consent.GivenBy.Full())
	}
	if len(ev.Deliveries) == 0 || ev.Deliveries[0].State == "" {
		t.Errorf("operator sees deliveries %+v, want each recipient's state", ev.Deliveries)
	}

	// The full record stays out of reach.
	if rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(ev.ID), nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("operator reads the life event: status %d, want 404", rec.Code)
	}
	page := env.do(t, http.MethodGet, "/operator/life-events", nil, nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), ev.Reference) {
		t.Errorf("operator life events page: status %d, want the reference %s listed", page.Code, ev.Reference)
	}
	if e := lastEntry(env.auditEntries(t), "access"); e == nil || !strings.Contains(string(e.Detail), "list progress") {
		t.Errorf("last access entry = %+v, want a progress listing", e)
	}
}
