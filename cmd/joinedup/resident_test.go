package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// residentRecord is the part of GET /api/v1/residents/{id}/history that
// these tests read.
type residentRecord struct {
	Accesses []struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
	} `json:"accesses"`
}

// addResident creates a resident account with demoPassword and records
// its identity, so that it is linked to the births it is a parent in.
func addResident(t *testing.T, h *Hub, username string, parent joinedup.Parent) string {
	t.Helper()
	ctx := context.Background()
	passwords, err := auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Account{Username: username, Role: policy.RoleResident}
	if err := ensureAccount(ctx, h.DB, passwords, a); err != nil {
		t.Fatal(err)
	}
	nino, ok := joinedup.NormalizeNINO(parent.NationalInsuranceNumber)
	if !ok {
		t.Fatalf("invalid National Insurance number %q", parent.NationalInsuranceNumber)
	}
	if err := addResidentIdentity(ctx, h.DB, a.ID, nino, parent.DateOfBirth); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestResidentRecordReadIsOneEntry reads a record with three children on
// a real hub and checks that the read appends one audit entry about the
// resident, naming the three events, that History leaves it out of the
// resident's list and that a social worker's read is listed.
func TestResidentRecordReadIsOneEntry(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20"), &reg); err != nil {
		t.Fatal(err)
	}
	residentID := addResident(t, h, "resident-father", reg.Parents[0])
	var events []joinedup.EventID
	for _, givenName := range []string{"Zoë Ann", "Ciarán", "Niamh"} {
		reg.Child.Name.Given = givenName
		body, err := json.Marshal(reg)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, registerBirth(t, h, body).Event.ID)
	}
	slices.Reverse(events) // the record lists the newest first

	passwords, err := auth.NewPasswords(h.DB, h.logger, auth.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	worker := &auth.Account{Username: "social-worker", Role: policy.RoleSocialWorker, Organisation: demoOrganisation}
	if err := ensureAccount(ctx, h.DB, passwords, worker); err != nil {
		t.Fatal(err)
	}
	if err := allocateWorker(ctx, h.DB, worker.ID, residentID); err != nil {
		t.Fatal(err)
	}

	client := signedInClient(t, h, "resident-father")
	var before uint64
	if err := h.DB.SQL().QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if status, _ := getPage(t, client, h.BaseURL+"/residents/"+residentID); status != http.StatusOK {
		t.Fatalf("own record: status %d, want 200", status)
	}
	rows, err := h.DB.SQL().Query(`SELECT subject, detail FROM audit_entries WHERE seq > $1 AND actor = $2 AND action = 'access'`, before, residentID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var reads []string
	for rows.Next() {
		var subject, detail string
		if err := rows.Scan(&subject, &detail); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Events []joinedup.EventID `json:"events"`
		}
		if err := json.Unmarshal([]byte(detail), &d); err != nil {
			t.Fatal(err)
		}
		if subject != residentID || !slices.Equal(d.Events, events) {
			t.Errorf("entry about %s names events %v, want one about %s naming %v", subject, d.Events, residentID, events)
		}
		reads = append(reads, subject)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(reads) != 1 {
		t.Errorf("one read of a record with 3 children appended %d entries, want 1", len(reads))
	}

	getJSONWith(t, signedInClient(t, h, "social-worker"), h.BaseURL+"/api/v1/residents/"+residentID+"/history", http.StatusOK, nil)
	var record residentRecord
	getJSONWith(t, client, h.BaseURL+"/api/v1/residents/"+residentID+"/history", http.StatusOK, &record)
	var own, byWorker int
	for _, a := range record.Accesses {
		switch {
		case a.Actor == "resident-father" && a.Action == "access":
			own++
		case a.Actor == "social-worker" && a.Action == "access":
			byWorker++
		}
	}
	if own != 0 || byWorker != 1 {
		t.Errorf("resident's list has %d of their own reads and %d by the social worker, want 0 and 1", own, byWorker)
	}
}
