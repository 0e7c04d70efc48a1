package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
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

	page := env.do(t, http.MethodGet, "/operator/life-events", nil, nil)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), ev.Reference) {
		t.Errorf("operator life events page: status %d, want the reference %s listed", page.Code, ev.Reference)
	}
	if e := lastEntry(env.auditEntries(t), "access"); e == nil || !strings.Contains(string(e.Detail), "list progress") {
		t.Errorf("last access entry = %+v, want a progress listing", e)
	}
}

// TestOperatorOpensProgressOnly checks that the life event an operator
// opens from the list shows its progress, but none of the registration.
func TestOperatorOpensProgressOnly(t *testing.T) {
	env := newTestEnv(t)
	if rec := env.postJSON(t, "/api/v1/births", validBirth); rec.Code != http.StatusCreated {
		t.Fatalf("register birth: status %d, body %s", rec.Code, rec.Body)
	}
	env.signInAs(t, env.operator)
	var list lifeEventList
	if err := json.Unmarshal(env.do(t, http.MethodGet, "/api/v1/life-events", nil, nil).Body.Bytes(), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("list life events: %v, %d items, want 1", err, len(list.Items))
	}
	id := string(list.Items[0].ID)

	rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+id, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("operator reads the life event: status %d, want 200, body %s", rec.Code, rec.Body)
	}
	var ev joinedup.LifeEvent
	if err := json.Unmarshal(rec.Body.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.Payload) != "{}" {
		t.Errorf("operator reads payload %s, want {}", ev.Payload)
	}
	if name := ev.Consent.GivenBy.Full(); name != "" {
		t.Errorf("operator reads informant %q, want none", name)
	}
	if len(ev.Deliveries) == 0 {
		t.Error("operator reads no deliveries, want each recipient's state")
	}
	if e := lastEntry(env.auditEntries(t), "access"); e == nil || !strings.Contains(string(e.Detail), "read progress") {
		t.Errorf("last access entry = %+v, want a progress read", e)
	}

	page := env.do(t, http.MethodGet, "/operator/life-events/"+id, nil, nil)
	if page.Code != http.StatusOK {
		t.Fatalf("operator opens the life event page: status %d, want 200", page.Code)
	}
	body := page.Body.String()
	if !strings.Contains(body, list.Items[0].Reference) {
		t.Errorf("life event page does not show the reference %s", list.Items[0].Reference)
	}
	for _, personal := range []string{"Ada", "born", "Parent 1"} {
		if strings.Contains(body, personal) {
			t.Errorf("life event page shows %q to an operator", personal)
		}
	}
}
