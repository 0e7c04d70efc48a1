package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/policy"
)

// recordRead is the detail of the audit entry of a record read.
type recordRead struct {
	Resource  string             `json:"resource"`
	Operation string             `json:"operation"`
	Events    []joinedup.EventID `json:"events"`
}

// registerChildren registers n more births of validBirth's parent, each
// with another given name. n is at most 5.
func registerChildren(t *testing.T, env residentEnv, n int) {
	t.Helper()
	for _, givenName := range []string{"Bea", "Cal", "Dot", "Eve", "Fay"}[:n] {
		body := strings.Replace(validBirth, "Ada Grace", givenName, 1)
		if rec := env.postJSON(t, "/api/v1/births", body); rec.Code != http.StatusCreated {
			t.Fatalf("register the birth of %s: status %d, want 201; body %s", givenName, rec.Code, rec.Body)
		}
	}
}

// readRecord gets the record as JSON with the signed-in account.
func readRecord(t *testing.T, env residentEnv, resident string) residentRecord {
	t.Helper()
	rec := env.do(t, http.MethodGet, "/api/v1/residents/"+resident+"/history", nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("read record: status %d, want 200; body %s", rec.Code, rec.Body)
	}
	var record residentRecord
	if err := json.Unmarshal(rec.Body.Bytes(), &record); err != nil {
		t.Fatalf("decode record: %v", err)
	}
	return record
}

func TestResidentRecordViewIsOneEntry(t *testing.T) {
	env := newResidentEnv(t)
	registerChildren(t, env, 4)
	children, _ := env.records.ChildEvents(t.Context(), env.father) // the record's order
	env.signIn(t, env.father)

	before := len(env.auditEntries(t))
	if rec := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil); rec.Code != http.StatusOK {
		t.Fatalf("own record: status %d, want 200", rec.Code)
	}
	entries := env.auditEntries(t)[before:]
	if len(entries) != 1 {
		t.Fatalf("one view of a record with 5 children appended %d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Actor != env.father || e.Subject != env.father || e.Action != audit.ActionAccess || e.Purpose != policy.PurposeSubjectAccess {
		t.Errorf("entry = actor %q, subject %q, action %q, purpose %q; want the father reading his own record for subject access",
			e.Actor, e.Subject, e.Action, e.Purpose)
	}
	var detail recordRead
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		t.Fatalf("decode detail %s: %v", e.Detail, err)
	}
	if detail.Resource != "Record:"+env.father || detail.Operation != "read" {
		t.Errorf("detail = %s, want a read of Record:%s", e.Detail, env.father)
	}
	if !slices.Equal(detail.Events, children) {
		t.Errorf("entry names events %v, want the 5 shown %v", detail.Events, children)
	}
}

func TestResidentRecordOmitsOwnReads(t *testing.T) {
	env := newResidentEnv(t)
	registerChildren(t, env, 2)
	env.records.allocations[env.worker] = []string{env.father}

	env.signIn(t, env.father)
	for range 3 {
		readRecord(t, env, env.father)
	}
	env.signIn(t, env.worker)
	before := len(env.auditEntries(t))
	worker := readRecord(t, env, env.father)
	entries := env.auditEntries(t)[before:]
	if len(entries) != 1 {
		t.Fatalf("a social worker's read appended %d entries, want 1", len(entries))
	}
	if e := entries[0]; e.Actor != env.worker || e.Subject != env.father || e.Purpose != policy.PurposeSocialCare {
		t.Errorf("worker's entry = actor %q, subject %q, purpose %q; want the worker reading the father's record for social care", e.Actor, e.Subject, e.Purpose)
	}
	var detail recordRead
	if err := json.Unmarshal(entries[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if len(detail.Events) != 3 {
		t.Errorf("worker's entry names %d events, want the 3 shown", len(detail.Events))
	}

	env.signIn(t, env.father)
	own := readRecord(t, env, env.father)
	for name, record := range map[string]residentRecord{"father": own, "worker": worker} {
		var byFather, byWorker int
		for _, a := range record.Accesses {
			switch a.Actor {
			case "resident-father":
				byFather++
			case "worker":
				byWorker++
			}
		}
		if byFather != 0 {
			t.Errorf("the record as the %s reads it lists %d of the father's own reads, want none", name, byFather)
		}
		// The record is read after the read is recorded, so the worker's
		// read lists itself.
		if byWorker != 1 {
			t.Errorf("the record as the %s reads it lists %d reads by the worker, want 1", name, byWorker)
		}
	}

	children, _ := env.records.ChildEvents(t.Context(), env.father)
	var registrar int
	for _, e := range env.auditEntries(t) {
		if e.Actor == env.registrar.ID && slices.Contains(children, joinedup.EventID(e.Subject)) {
			registrar++
		}
	}
	var listed int
	for _, a := range own.Accesses {
		if a.Actor == "registrar" {
			listed++
		}
	}
	if registrar == 0 || listed != registrar {
		t.Errorf("father's record lists %d accesses by the registrar, want all %d in the audit log", listed, registrar)
	}
}

func TestResidentRecordReadOfManyEvents(t *testing.T) {
	env := newResidentEnv(t)
	// 1,001 events: one more than an entry names. They are copies of the
	// registered birth, linked to the father in the fake.
	env.hub.mu.Lock()
	env.records.mu.Lock()
	for range maxEventsPerEntry {
		ev := *env.event
		ev.ID = joinedup.EventID(joinedup.NewID("evt"))
		env.hub.events = append(env.hub.events, &ev)
		env.records.children[env.father] = append(env.records.children[env.father], ev.ID)
	}
	env.records.mu.Unlock()
	env.hub.mu.Unlock()
	env.signIn(t, env.father)

	before := len(env.auditEntries(t))
	record := readRecord(t, env, env.father)
	entries := env.auditEntries(t)[before:]
	if len(entries) != 2 {
		t.Fatalf("a read of %d events appended %d entries, want 2", len(record.Events), len(entries))
	}
	var named []joinedup.EventID
	for i, e := range entries {
		var detail recordRead
		if err := json.Unmarshal(e.Detail, &detail); err != nil {
			t.Fatal(err)
		}
		if want := []int{maxEventsPerEntry, 1}[i]; len(detail.Events) != want {
			t.Errorf("entry %d names %d events, want %d", i, len(detail.Events), want)
		}
		named = append(named, detail.Events...)
	}
	var recordEvents []joinedup.EventID
	for _, ev := range record.Events {
		recordEvents = append(recordEvents, ev.ID)
	}
	if !slices.Equal(named, recordEvents) {
		t.Errorf("the entries name %d events, want the %d shown in order", len(named), len(recordEvents))
	}
}

// twoParentBirth is validBirth with a father, who is not the informant.
// The mother registers it and consents to Child Benefit only.
const twoParentBirth = `{
  "child": {"name": {"given": "Ada Grace", "family": "O’Brien-Lovelace"}, "sex": "female", "dateOfBirth": "2026-11-20", "placeOfBirth": "Leeds General Infirmary"},
  "parents": [
    {"role": "mother", "name": {"given": "Siân", "family": "O’Brien"}, "dateOfBirth": "1994-03-02", "nationalInsuranceNumber": "AB 12 34 56 C",
     "address": {"lines": ["1 Test Street"], "town": "Leeds", "postcode": "ls1 4ap"}},
    {"role": "father", "name": {"given": "Tomás", "family": "Lovelace"}, "dateOfBirth": "1992-07-15", "nationalInsuranceNumber": "JG 10 37 59 A",
     "address": {"lines": ["9 Other Road"], "town": "Leeds", "postcode": "LS2 7EW"}}
  ],
  "informant": {"name": {"given": "Siân", "family": "O’Brien"}, "capacity": "mother", "parent": 0},
  "consent": {"services": ["child-benefit"]}
}`

// twoParentEnv is a test env with twoParentBirth registered, and resident
// accounts for its mother, the informant, and its father.
type twoParentEnv struct {
	residentEnv
	mother, father string
}

func newTwoParentEnv(t *testing.T) twoParentEnv {
	env := newTestEnv(t)
	mother := env.createAccount(t, "resident-mother", policy.RoleResident)
	father := env.createAccount(t, "resident-father", policy.RoleResident)
	worker := env.createAccount(t, "worker", policy.RoleSocialWorker)
	env.records.identities = map[string]fakeIdentity{
		mother.ID: {nino: "AB123456C", dateOfBirth: joinedup.Date{Year: 1994, Month: time.March, Day: 2}},
		father.ID: {nino: "JG103759A", dateOfBirth: joinedup.Date{Year: 1992, Month: time.July, Day: 15}},
	}
	env.records.allocations[worker.ID] = []string{father.ID}
	if rec := env.postJSON(t, "/api/v1/births", twoParentBirth); rec.Code != http.StatusCreated {
		t.Fatalf("register the birth: status %d, want 201; body %s", rec.Code, rec.Body)
	}
	resident := residentEnv{testEnv: env, event: env.hub.events[0], father: father.ID, worker: worker.ID}
	return twoParentEnv{residentEnv: resident, mother: mother.ID, father: father.ID}
}

func TestWithdrawalRefusedForOtherParent(t *testing.T) {
	env := newTwoParentEnv(t)
	withdrawn := &recordingWithdrawer{}
	env.server.Consents = withdrawn
	form := url.Values{"event": {string(env.event.ID)}, "service": {"child-benefit"}}
	env.signIn(t, env.father)

	res := env.postForm(t, "/residents/"+env.father+"/consent", form)
	if res.code != http.StatusForbidden {
		t.Errorf("father's withdrawal on the form: status %d, want 403", res.code)
	}
	if !strings.Contains(res.body, "Only the parent who gave consent can withdraw it") || !strings.Contains(res.body, "Ask Siân O’Brien to withdraw it") {
		t.Errorf("father's withdrawal on the form: the page does not say who may withdraw:\n%s", res.body)
	}
	if rec := env.do(t, http.MethodGet, "/residents/"+env.father+"/consent?"+form.Encode(), nil, nil); rec.Code != http.StatusForbidden {
		t.Errorf("father's confirmation page: status %d, want 403", rec.Code)
	}
	p := decodeProblem(t, env.do(t, http.MethodPost, "/api/v1/life-events/"+string(env.event.ID)+"/consent/child-benefit/withdraw", nil, nil), http.StatusForbidden)
	if !strings.Contains(p.Detail, "Siân O’Brien gave it, and it does not cover your details") {
		t.Errorf("father's withdrawal through the API: detail %q does not say whose consent it is", p.Detail)
	}
	if len(withdrawn.calls) != 0 {
		t.Fatalf("the father withdrew the mother's consent: %q", withdrawn.calls)
	}

	env.signIn(t, env.mother)
	if res := env.postForm(t, "/residents/"+env.mother+"/consent", form); res.code != http.StatusSeeOther {
		t.Fatalf("mother's withdrawal: status %d, want 303; body %s", res.code, res.body)
	}
	if len(withdrawn.calls) != 1 || withdrawn.calls[0] != string(env.event.ID)+"/child-benefit/"+env.mother {
		t.Errorf("withdrawals = %q, want the mother's for Child Benefit", withdrawn.calls)
	}
}
