package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// residentRecord is the part of GET /api/v1/residents/{id}/history that
// these tests read.
type residentRecord struct {
	Events []struct {
		ID      joinedup.EventID `json:"id"`
		Consent struct {
			GivenBy        string   `json:"givenBy"`
			OnBehalfOf     []string `json:"onBehalfOf"`
			Resident       string   `json:"resident"`
			CoversResident bool     `json:"coversResident"`
		} `json:"consent"`
		Services []struct {
			Service   joinedup.ServiceID `json:"service"`
			Decision  string             `json:"decision"`
			SentAbout []struct {
				Person string `json:"person"`
			} `json:"sentAbout"`
			ResidentFields []string `json:"residentFields"`
			MayWithdraw    bool     `json:"mayWithdraw"`
		} `json:"services"`
	} `json:"events"`
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

// addFather creates resident-father, the account of the father who
// registers the births of birthJSON, and returns its id.
func addFather(t *testing.T, h *Hub) string {
	t.Helper()
	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20"), &reg); err != nil {
		t.Fatal(err)
	}
	return addResident(t, h, "resident-father", reg.Parents[0])
}

// TestResidentRecordMatchesDelivery registers a birth by the mother, with
// the father as the other parent, and checks the father's record against
// what the services received. A service told on the mother's consent got
// none of his details, a service told under a lawful basis got his name,
// and his record lists exactly that. He may not withdraw her consent, and
// the mother may.
func TestResidentRecordMatchesDelivery(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	var chosen, statutory recorder
	startService(t, h, "chosen", []string{"child.name", "parents.name", "parents.nationalInsuranceNumber", "informant.name"}, &chosen)
	svc := serveRecorder(t, "statutory", []string{"parents.name"}, &statutory)
	svc.LawfulBasis = "duty to plan services for every household"
	if err := h.Directory.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}

	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20", "chosen"), &reg); err != nil {
		t.Fatal(err)
	}
	father := reg.Parents[0]
	mother := joinedup.Parent{Role: "mother", Name: joinedup.Name{Given: "Aoife", Family: "Ní Bhriain"},
		DateOfBirth: mustDate(t, "1991-08-09"), NationalInsuranceNumber: "AB123456C", Address: father.Address}
	reg.Parents = []joinedup.Parent{mother, father}
	informant := 0
	reg.Informant = joinedup.Informant{Name: mother.Name, Capacity: "mother", Parent: &informant}
	addResident(t, h, "resident-mother", mother)
	fatherID := addResident(t, h, "resident-father", father)
	body, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	event := registerBirth(t, h, body).Event
	waitComplete(t, h, event.ID, 10*time.Second)

	client := signedInClient(t, h, "resident-father")
	var record residentRecord
	getJSONWith(t, client, h.BaseURL+"/api/v1/residents/"+fatherID+"/history", http.StatusOK, &record)
	if len(record.Events) != 1 || record.Events[0].ID != event.ID {
		t.Fatalf("father's record shows %d events, want the birth %s", len(record.Events), event.ID)
	}
	consent := record.Events[0].Consent
	if consent.GivenBy != "Aoife Ní Bhriain" || consent.Resident != "/parents/1" || consent.CoversResident {
		t.Errorf("consent given by %q, resident %q, covers resident %v; want the mother's, /parents/1, not covered",
			consent.GivenBy, consent.Resident, consent.CoversResident)
	}

	received := map[joinedup.ServiceID]string{}
	for id, r := range map[joinedup.ServiceID]*recorder{"chosen": &chosen, "statutory": &statutory} {
		events := r.received()
		if len(events) != 1 {
			t.Fatalf("%s received %d events, want 1", id, len(events))
		}
		received[id] = string(events[0].Data)
	}
	for _, s := range record.Events[0].Services {
		data, ok := received[s.Service]
		if !ok {
			continue
		}
		var people []string
		for _, p := range s.SentAbout {
			people = append(people, p.Person)
		}
		// The father's name and number appear in what a service received
		// exactly when his record lists details of his for it.
		sentFathers := strings.Contains(data, father.Name.Given) || strings.Contains(data, father.NationalInsuranceNumber)
		if sentFathers != (len(s.ResidentFields) > 0) {
			t.Errorf("%s received %s, but the father's record lists his fields as %v", s.Service, data, s.ResidentFields)
		}
		if sentFathers != slices.Contains(people, "/parents/1") {
			t.Errorf("%s received %s, but the father's record lists details of %v", s.Service, data, people)
		}
		if s.MayWithdraw {
			t.Errorf("the father may withdraw the decision for %s", s.Service)
		}
	}
	if !strings.Contains(received["statutory"], father.Name.Given) || strings.Contains(received["chosen"], father.Name.Given) {
		t.Errorf("the statutory service received %s and the chosen one %s; want the father's name in the first only", received["statutory"], received["chosen"])
	}

	status, page := getPage(t, client, h.BaseURL+"/residents/"+fatherID)
	if status != http.StatusOK {
		t.Fatalf("father's record page: status %d, want 200", status)
	}
	if !strings.Contains(page, "It does not cover you, so services told on it were sent none of your details.") {
		t.Errorf("father's record page does not say the consent does not cover him:\n%s", page)
	}
	if strings.Contains(page, "Withdraw consent") {
		t.Errorf("father's record page offers to withdraw the mother's consent")
	}

	form := url.Values{"event": {string(event.ID)}, "service": {"chosen"}}
	if status, _, _ := postPage(t, client, h.BaseURL+"/residents/"+fatherID+"/consent", form); status != http.StatusForbidden {
		t.Errorf("father's withdrawal on the form: status %d, want 403", status)
	}
	if status, body := sendAPI(t, client, false, http.MethodPost, h.BaseURL+"/api/v1/life-events/"+string(event.ID)+"/consent/chosen/withdraw", nil); status != http.StatusForbidden {
		t.Errorf("father's withdrawal through the API: status %d, want 403; body %s", status, body)
	}
	if ev, err := h.LifeEvents.FindLifeEvent(ctx, event.ID); err != nil || !ev.Consent.Given("chosen") {
		t.Fatalf("consent for chosen after the father's withdrawals = %+v (%v), want given", ev.Consent.Decisions, err)
	}

	motherClient := signedInClient(t, h, "resident-mother")
	if status, body := sendAPI(t, motherClient, false, http.MethodPost, h.BaseURL+"/api/v1/life-events/"+string(event.ID)+"/consent/chosen/withdraw", nil); status != http.StatusAccepted {
		t.Fatalf("mother's withdrawal: status %d, want 202; body %s", status, body)
	}
	if ev, _ := h.LifeEvents.FindLifeEvent(ctx, event.ID); ev.Consent.Given("chosen") {
		t.Errorf("consent for chosen is still given after the mother withdrew it")
	}
}

// TestResidentRecordReadIsOneEntry reads a record with three children on
// a real hub. The read appends one audit entry about the resident that
// names the three events. The resident's list leaves it out and lists a
// social worker's read.
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

// TestRecordNamesAPIToken registers a birth with the API token and checks
// that the parent's record names the token in words, with the typographic
// apostrophe that the pages use.
func TestRecordNamesAPIToken(t *testing.T) {
	h := startHub(t, nil)
	resident := addFather(t, h)
	registerBirth(t, h, birthJSON(t, "2026-11-20"))

	status, page := getPage(t, signedInClient(t, h, "resident-father"), h.BaseURL+"/residents/"+resident)

	if status != http.StatusOK {
		t.Fatalf("record: status %d, want 200", status)
	}
	if !strings.Contains(page, "A connected system, with the hub’s API token") {
		t.Errorf("record does not name the API token in words:\n%s", page)
	}
	if strings.Contains(page, "hub's") || strings.Contains(page, "hub&#39;s") {
		t.Errorf("record writes the hub’s with a straight apostrophe")
	}
}

// TestRecordOlderUsesKeepLimit reads a record one use at a time and checks
// that the link to older uses keeps the limit of the page it is on.
func TestRecordOlderUsesKeepLimit(t *testing.T) {
	h := startHub(t, nil)
	resident := addFather(t, h)
	registerBirth(t, h, birthJSON(t, "2026-11-20"))
	client := signedInClient(t, h, "resident-father")

	status, page := getPage(t, client, h.BaseURL+"/residents/"+resident+"?limit=1")

	if status != http.StatusOK {
		t.Fatalf("record: status %d, want 200", status)
	}
	link := regexp.MustCompile(`<a class="govuk-link" href="\?before=([0-9]+)&amp;limit=1">Show older uses</a>`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("record has no link to older uses that keeps limit=1:\n%s", page)
	}
	status, page = getPage(t, client, h.BaseURL+"/residents/"+resident+"?before="+link[1]+"&limit=1")
	if status != http.StatusOK {
		t.Fatalf("older uses: status %d, want 200", status)
	}
	_, table, _ := strings.Cut(page, `id="accesses"`)
	table, _, _ = strings.Cut(table, "</table>")
	if rows := strings.Count(table, `<tr class="govuk-table__row">`) - 1; rows != 1 {
		t.Errorf("older uses show %d uses, want 1 as the limit asks:\n%s", rows, table)
	}
}

// TestResidentAddedAfterBirth registers a birth before either parent has
// an account, and then gives the father one. His record must show the
// birth, as it would had the account come first, and the mother's
// account, whose identity no parent of the birth has, must not.
func TestResidentAddedAfterBirth(t *testing.T) {
	h := startHub(t, nil)
	var chosen recorder
	startService(t, h, "chosen", []string{"child.name"}, &chosen)
	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20", "chosen"), &reg); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	event := registerBirth(t, h, body).Event

	fatherID := addResident(t, h, "resident-father", reg.Parents[0])
	other := reg.Parents[0]
	other.DateOfBirth = mustDate(t, "1980-01-01")
	otherID := addResident(t, h, "resident-other", other)

	var record residentRecord
	getJSONWith(t, signedInClient(t, h, "resident-father"), h.BaseURL+"/api/v1/residents/"+fatherID+"/history", http.StatusOK, &record)
	if len(record.Events) != 1 || record.Events[0].ID != event.ID {
		t.Errorf("the father's record shows %d events, want the birth %s registered before his account", len(record.Events), event.ID)
	}
	record = residentRecord{}
	getJSONWith(t, signedInClient(t, h, "resident-other"), h.BaseURL+"/api/v1/residents/"+otherID+"/history", http.StatusOK, &record)
	if len(record.Events) != 0 {
		t.Errorf("a resident with the father's number but another date of birth sees %d events, want none", len(record.Events))
	}
}
