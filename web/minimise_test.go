package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
)

// TestServiceOfficerSeesOnlyDeclaredFields checks that a service officer
// reading a life event sent to their service sees only the fields that
// service declared, and only its own delivery.
func TestServiceOfficerSeesOnlyDeclaredFields(t *testing.T) {
	env := newTestEnv(t)
	body := strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["child-benefit", "gp-practice"]`, 1)
	if rec := env.postJSON(t, "/api/v1/births", body); rec.Code != http.StatusCreated {
		t.Fatalf("register birth: status %d, body %s", rec.Code, rec.Body)
	}
	event := env.hub.events[0]
	env.signInAs(t, env.createAccount(t, "officer-gp", "service-officer", "gp-practice"))

	rec := env.do(t, http.MethodGet, "/api/v1/life-events/"+string(event.ID), nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("read life event: status %d, body %s", rec.Code, rec.Body)
	}
	var got joinedup.LifeEvent
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(got.Payload, &reg); err != nil {
		t.Fatal(err)
	}
	if len(reg.Parents) == 0 || reg.Parents[0].Address.Postcode == "" {
		t.Errorf("the GP officer does not see the parents' address the GP declared: %s", got.Payload)
	}
	if strings.Contains(string(got.Payload), "nationalInsuranceNumber") || reg.Informant.Name.Full() != "" {
		t.Errorf("the GP officer sees fields the GP did not declare: %s", got.Payload)
	}
	for _, d := range got.Deliveries {
		if d.Service != "gp-practice" {
			t.Errorf("the GP officer sees the delivery to %s", d.Service)
		}
	}
}
