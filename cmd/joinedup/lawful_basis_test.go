package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
)

// TestStatutoryServiceToldWithoutConsent registers a birth whose informant
// chose no services: a service with a lawful basis is told all the same,
// the receipt names the basis, and the decision cannot be withdrawn.
func TestStatutoryServiceToldWithoutConsent(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	log := attachAuditLog(t, h)
	var health, school recorder
	svc := serveRecorder(t, "health-visiting", []string{"child.dateOfBirth"}, &health)
	svc.LawfulBasis = "duty to notify the health visiting service of every birth"
	if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Directory.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	startService(t, h, "school", []string{"child.name"}, &school)

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", []joinedup.ServiceID{}...))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)

	if n := len(health.received()); n != 1 {
		t.Errorf("statutory service received %d events, want 1", n)
	}
	if n := len(school.received()); n != 0 {
		t.Errorf("service without consent received %d events, want 0", n)
	}
	var found bool
	for _, s := range out.Receipt.Services {
		if s.Service == "health-visiting" {
			found = true
			if s.Decision != joinedup.ConsentNotRequired || s.LawfulBasis != svc.LawfulBasis {
				t.Errorf("receipt shows %q with basis %q, want %q with the service's basis", s.Decision, s.LawfulBasis, joinedup.ConsentNotRequired)
			}
		}
	}
	if !found {
		t.Errorf("receipt does not list the statutory service: %+v", out.Receipt.Services)
	}
	if !ev.Consent.Given("health-visiting") || ev.Consent.Given("school") {
		t.Errorf("consent decisions = %+v, want health visiting told and the school not", ev.Consent.Decisions)
	}
	if _, err := h.Engine.WithdrawConsent(ctx, ev.ID, "health-visiting", "resident"); joinedup.ErrorCode(err) != joinedup.ECONFLICT {
		t.Errorf("withdraw a statutory disclosure: got %v, want conflict", err)
	}

	// The audit entry gives the law, not the informant's choice, as the
	// reason the service is told.
	entries, _ := allEntries(t, log)
	i := slices.IndexFunc(entries, func(e audit.Entry) bool { return e.Action == audit.ActionLawfulBasis })
	if i < 0 {
		t.Fatal("no lawful-basis entry in the audit log")
	}
	if r := entries[i].Reasons; len(r) != 1 || strings.Contains(r[0], "choice") {
		t.Errorf("lawful-basis reasons = %q, want the law as the reason", r)
	}
}

// TestOtherParentWithheldWithoutLawfulBasis registers a birth with two
// parents, given by the father. A service told on his consent receives
// his details and not the mother's. A service told under a lawful basis
// receives both.
func TestOtherParentWithheldWithoutLawfulBasis(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	var statutory, chosen recorder
	startService(t, h, "chosen", []string{"parents.name", "informant"}, &chosen)
	svc := serveRecorder(t, "statutory", []string{"parents.name", "informant"}, &statutory)
	svc.LawfulBasis = "duty to plan services for every household"
	if err := h.Directory.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}

	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20", "chosen"), &reg); err != nil {
		t.Fatal(err)
	}
	mother := reg.Parents[0]
	mother.Role, mother.Name, mother.NationalInsuranceNumber = "mother", joinedup.Name{Given: "Aoife", Family: "Ní Bhriain"}, ""
	reg.Parents = []joinedup.Parent{mother, reg.Parents[0]}
	father := 1
	reg.Informant.Parent = &father
	body, _ := json.Marshal(reg)
	out := registerBirth(t, h, body)
	waitComplete(t, h, out.Event.ID, 10*time.Second)

	got := func(r *recorder) string {
		t.Helper()
		events := r.received()
		if len(events) != 1 {
			t.Fatalf("received %d events, want 1", len(events))
		}
		return string(events[0].Data)
	}
	wantChosen := `{"informant":{"capacity":"father","name":{"family":"O'Neill-Byrne","given":"Seán"},"parent":0},` +
		`"parents":[{"name":{"family":"O'Neill-Byrne","given":"Seán"}}]}`
	if data := got(&chosen); data != wantChosen {
		t.Errorf("service told on the father's consent received %s\nwant %s", data, wantChosen)
	}
	wantStatutory := `{"informant":{"capacity":"father","name":{"family":"O'Neill-Byrne","given":"Seán"},"parent":1},` +
		`"parents":[{"name":{"family":"Ní Bhriain","given":"Aoife"}},{"name":{"family":"O'Neill-Byrne","given":"Seán"}}]}`
	if data := got(&statutory); data != wantStatutory {
		t.Errorf("service told under a lawful basis received %s\nwant %s", data, wantStatutory)
	}
}

// TestNonParentInformantConsentsForNoOne registers a birth given by an
// informant who is not a parent. Choosing a service told on consent is
// rejected. With no service chosen, a service with a lawful basis is
// still told, the consent covers no one, and the service told on consent
// is recorded as not asked rather than refused.
func TestNonParentInformantConsentsForNoOne(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	var statutory, chosen recorder
	startService(t, h, "chosen", []string{"child.name"}, &chosen)
	svc := serveRecorder(t, "statutory", []string{"child.name"}, &statutory)
	svc.LawfulBasis = "duty to notify the health visiting service of every birth"
	if err := h.Directory.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}

	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20", "chosen", "statutory"), &reg); err != nil {
		t.Fatal(err)
	}
	reg.Informant.Capacity, reg.Informant.Parent = joinedup.InformantOther, nil
	reg.Informant.Name = joinedup.Name{Given: "Morwenna", Family: "Trevithick"}
	body, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := apiPost(h.BaseURL+"/api/v1/births", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	problem := string(b)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", resp.StatusCode, problem)
	}
	if !strings.Contains(problem, `"/consent/services/0"`) || !strings.Contains(problem, "Only a parent can agree") {
		t.Errorf("problem does not name the consent-based service: %s", problem)
	}
	if strings.Contains(problem, `"/consent/services/1"`) {
		t.Errorf("problem names the service with a lawful basis: %s", problem)
	}

	reg.Consent.Services = []joinedup.ServiceID{}
	body, err = json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	out := registerBirth(t, h, body)
	waitComplete(t, h, out.Event.ID, 10*time.Second)
	if n := len(statutory.received()); n != 1 {
		t.Errorf("statutory service received %d events, want 1", n)
	}
	if n := len(chosen.received()); n != 0 {
		t.Errorf("service told on consent received %d events, want 0", n)
	}
	if len(out.Receipt.OnBehalfOf) != 0 {
		t.Errorf("receipt onBehalfOf = %v, want none", out.Receipt.OnBehalfOf)
	}
	if !strings.Contains(out.Receipt.LawfulBasis, "not a parent") {
		t.Errorf("receipt basis = %q, want it to say the informant is not a parent", out.Receipt.LawfulBasis)
	}
	decisions := map[joinedup.ServiceID]string{}
	for _, s := range out.Receipt.Services {
		decisions[s.Service] = s.Decision
	}
	if decisions["chosen"] != joinedup.ConsentNotAsked {
		t.Errorf("receipt decision for the service told on consent = %q, want %q", decisions["chosen"], joinedup.ConsentNotAsked)
	}
	if decisions["statutory"] != joinedup.ConsentNotRequired {
		t.Errorf("receipt decision for the statutory service = %q, want %q", decisions["statutory"], joinedup.ConsentNotRequired)
	}
}
