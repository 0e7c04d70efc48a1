package main

import (
	"context"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

// TestStatutoryServiceToldWithoutConsent registers a birth whose informant
// chose no services: a service with a lawful basis is told all the same,
// the receipt names the basis, and the decision cannot be withdrawn.
func TestStatutoryServiceToldWithoutConsent(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
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
}
