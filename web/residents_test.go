package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

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
	// The father reads in words why the worker read his record. The
	// policy's id stays beside them for anyone who checks the log.
	for _, a := range own.Accesses {
		if a.Actor != "worker" {
			continue
		}
		want := "A social worker allocated to the resident needs their record for their care."
		if !slices.Equal(a.Reasons, []string{"social-worker-allocated"}) || !slices.Equal(a.ReasonsInWords, []string{want}) {
			t.Errorf("the worker's read gives reasons %q and reasons in words %q; want [social-worker-allocated] and [%s]", a.Reasons, a.ReasonsInWords, want)
		}
	}
	rec := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	page := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(page, "A social worker allocated to the resident needs their record for their care.") || strings.Contains(page, "social-worker-allocated") {
		t.Errorf("the father's record page, status %d, does not give the worker's reason in words:\n%s", rec.Code, page)
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

// share returns the service's row of the record's only event.
func share(t *testing.T, record residentRecord, service joinedup.ServiceID) recordShare {
	t.Helper()
	if len(record.Events) != 1 {
		t.Fatalf("record has %d events, want 1", len(record.Events))
	}
	for _, s := range record.Events[0].Shares {
		if s.Service == service {
			return s
		}
	}
	t.Fatalf("record has no row for %s", service)
	return recordShare{}
}

// people returns the pointers of the people whose details a row lists
// the service as receiving.
func people(s recordShare) []string {
	var out []string
	for _, p := range s.SentAbout {
		out = append(out, p.Person)
	}
	return out
}

func TestOtherParentRecordShowsInformantConsent(t *testing.T) {
	env := newTwoParentEnv(t)
	env.signIn(t, env.father)

	record := readRecord(t, env.residentEnv, env.father)
	consent := record.Events[0].Consent
	if consent == nil {
		t.Fatal("the father's record has no consent")
	}
	doc, err := jsonschema.UnmarshalJSON(env.do(t, http.MethodGet, "/api/v1/residents/"+env.father+"/history", nil, nil).Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := responseSchema(t, "ResidentHistory").Validate(doc); err != nil {
		t.Errorf("father's record does not match schema ResidentHistory: %v", err)
	}
	if consent.GivenBy != "Siân O’Brien" || consent.Capacity != "mother" {
		t.Errorf("consent given by %q as %q, want Siân O’Brien as mother", consent.GivenBy, consent.Capacity)
	}
	if consent.Resident != "/parents/1" || consent.CoversResident {
		t.Errorf("consent resident %q, covers resident %v; want /parents/1, not covered", consent.Resident, consent.CoversResident)
	}
	if !slices.Equal(consent.OnBehalfOf, []string{"/child", "/parents/0"}) {
		t.Errorf("consent on behalf of %v, want the child and the mother", consent.OnBehalfOf)
	}
	cb := share(t, record, "child-benefit")
	if cb.MayWithdraw {
		t.Errorf("the father may withdraw the mother's consent for Child Benefit")
	}
	if len(cb.ResidentFields) != 0 {
		t.Errorf("Child Benefit fields about the father = %v, want none", cb.ResidentFields)
	}
	if got := people(cb); !slices.Equal(got, []string{"/child", "/parents/0"}) {
		t.Errorf("Child Benefit receives details of %v, want the child and the mother", got)
	}

	rec := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("father's record: status %d, want 200", rec.Code)
	}
	page := rec.Body.String()
	for _, want := range []string{
		"Siân O’Brien registered this birth as the mother and gave or refused consent for each service below.",
		"The consent covers Ada Grace O’Brien-Lovelace and Siân O’Brien.",
		"It does not cover you, so services told on it were sent none of your details. Only Siân O’Brien can withdraw it.",
		"About Ada Grace O’Brien-Lovelace: name, date of birth",
		"About Siân O’Brien: name, National Insurance number",
		"None of your details",
		"Only Siân O’Brien, who gave this consent, can withdraw it.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("father's record lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Withdraw consent", "parents’ National Insurance numbers", "About you"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("father's record shows %q", unwanted)
		}
	}

	// The social worker allocated to the father reads the same.
	env.signIn(t, env.worker)
	rec = env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	if want := "It does not cover this resident, so services told on it were sent none of this resident’s details."; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("the worker's view of the father's record lacks %q", want)
	}
}

func TestInformantRecordShowsOwnConsent(t *testing.T) {
	env := newTwoParentEnv(t)
	env.signIn(t, env.mother)

	record := readRecord(t, env.residentEnv, env.mother)
	consent := record.Events[0].Consent
	if consent.Resident != "/parents/0" || !consent.CoversResident {
		t.Errorf("consent resident %q, covers resident %v; want /parents/0, covered", consent.Resident, consent.CoversResident)
	}
	cb := share(t, record, "child-benefit")
	if !cb.MayWithdraw {
		t.Errorf("the mother may not withdraw her own consent for Child Benefit")
	}
	if want := []string{"parents.name", "parents.nationalInsuranceNumber"}; !slices.Equal(cb.ResidentFields, want) {
		t.Errorf("Child Benefit fields about the mother = %v, want %v", cb.ResidentFields, want)
	}
	if gp := share(t, record, "gp-practice"); gp.MayWithdraw || len(gp.SentAbout) != 0 {
		t.Errorf("refused GP practice: may withdraw %v, sent about %v; want no withdrawal and no one", gp.MayWithdraw, people(gp))
	}

	page := env.do(t, http.MethodGet, "/residents/"+env.mother, nil, nil).Body.String()
	for _, want := range []string{
		"You registered this birth as the mother and gave or refused consent for each service below.",
		"The consent covers Ada Grace O’Brien-Lovelace and you.",
		"It does not cover Tomás Lovelace, so services told on it were not sent their details.",
		"About you: name, National Insurance number",
		"Withdraw consent<span class=\"govuk-visually-hidden\"> for Child Benefit</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("mother's record lacks %q", want)
		}
	}
	if strings.Contains(page, "Tomás Lovelace:") {
		t.Errorf("mother's record says a service received the father's details")
	}
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

// TestSentAboutMatchesDelivery checks that the people and fields a record
// lists for a service are those of the data a delivery sends it, which
// joinedup.Project and joinedup.ProjectCovered make.
func TestSentAboutMatchesDelivery(t *testing.T) {
	var birth joinedup.BirthRegistration
	if err := json.Unmarshal([]byte(twoParentBirth), &birth); err != nil {
		t.Fatal(err)
	}
	birth = birth.Normalize()
	noFatherNINO := birth
	noFatherNINO.Parents = slices.Clone(birth.Parents)
	noFatherNINO.Parents[1].NationalInsuranceNumber = ""
	mother, both := []string{"/child", "/parents/0"}, []string{"/child", "/parents/0", "/parents/1"}

	tests := []struct {
		name     string
		birth    joinedup.BirthRegistration
		fields   []string
		decision string
		onBehalf []string
		people   []string
	}{
		{"consent", birth, []string{"child.name", "parents.name", "parents.nationalInsuranceNumber"}, joinedup.ConsentGiven, mother, []string{"/child", "/parents/0"}},
		{"withdrawn consent", birth, []string{"child.name", "parents.address.postcode"}, joinedup.ConsentWithdrawn, mother, []string{"/child", "/parents/0"}},
		{"lawful basis", birth, []string{"child.name", "parents.name"}, joinedup.ConsentNotRequired, mother, []string{"/child", "/parents/0", "/parents/1"}},
		{"whole parents", birth, []string{"parents"}, joinedup.ConsentGiven, mother, []string{"/parents/0"}},
		{"informant only", birth, []string{"child.dateOfBirth", "informant.name"}, joinedup.ConsentGiven, mother, []string{"/child", "/parents/0"}},
		{"whole informant", birth, []string{"informant", "parents.address.postcode"}, joinedup.ConsentNotRequired, mother, []string{"/parents/0", "/parents/1"}},
		{"both covered, one without a number", noFatherNINO, []string{"parents.nationalInsuranceNumber"}, joinedup.ConsentGiven, both, []string{"/parents/0", "/parents/1"}},
		{"nothing declared", birth, []string{}, joinedup.ConsentGiven, mother, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := json.Marshal(tt.birth)
			if err != nil {
				t.Fatal(err)
			}
			ev := &joinedup.LifeEvent{ID: "evt_test", Type: joinedup.EventBirthRegistered, Payload: payload,
				Consent: joinedup.Consent{OnBehalf: tt.onBehalf}}
			sent, err := sentAbout(ev, tt.birth, tt.fields, tt.decision, 1)
			if err != nil {
				t.Fatal(err)
			}
			var data json.RawMessage
			if tt.decision == joinedup.ConsentNotRequired {
				data, err = joinedup.Project(payload, tt.fields)
			} else {
				data, err = joinedup.ProjectCovered(payload, tt.fields, tt.onBehalf)
			}
			if err != nil {
				t.Fatal(err)
			}
			var delivered struct {
				Child     map[string]any   `json:"child"`
				Parents   []map[string]any `json:"parents"`
				Informant map[string]any   `json:"informant"`
			}
			if err := json.Unmarshal(data, &delivered); err != nil {
				t.Fatal(err)
			}

			var got []string
			var child, informant []string
			var parents [][]string
			for _, p := range sent {
				got = append(got, p.Person)
				var own []string
				for _, f := range p.Fields {
					switch part, rest, _ := strings.Cut(f, "."); part {
					case "child":
						child = append(child, rest)
					case "informant":
						informant = append(informant, rest)
					case "parents":
						own = append(own, strings.Split(rest, ".")[0])
					}
				}
				if strings.HasPrefix(p.Person, "/parents/") && delivered.Parents != nil {
					parents = append(parents, own)
				}
				if p.Resident != (p.Person == "/parents/1") {
					t.Errorf("%s is marked as the resident %v, want only /parents/1", p.Person, p.Resident)
				}
			}
			if !slices.Equal(got, tt.people) {
				t.Errorf("people = %v, want %v (delivered %s)", got, tt.people, data)
			}
			if keys := sortedKeys(delivered.Child); !slices.Equal(sortedUnique(child), keys) {
				t.Errorf("child fields = %v, delivered %v", child, keys)
			}
			if keys := sortedKeys(delivered.Informant); !slices.Equal(sortedUnique(informant), keys) {
				t.Errorf("informant fields = %v, delivered %v", informant, keys)
			}
			if len(parents) != len(delivered.Parents) {
				t.Fatalf("%d parents listed, %d delivered: %s", len(parents), len(delivered.Parents), data)
			}
			for i, p := range delivered.Parents {
				if keys := sortedKeys(p); !slices.Equal(sortedUnique(parents[i]), keys) {
					t.Errorf("parent %d fields = %v, delivered %v", i, parents[i], keys)
				}
			}
		})
	}
}

func sortedKeys(m map[string]any) []string {
	return sortedUnique(slices.Collect(maps.Keys(m)))
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestDeclaredOrder(t *testing.T) {
	declared := []string{"child.name", "child.dateOfBirth", "parents", "informant.name"}
	fields := []string{"child.dateOfBirth", "child.name", "informant.name", "parents.address.postcode", "parents.name", "unknown"}
	want := []string{"child.name", "child.dateOfBirth", "parents.address.postcode", "parents.name", "informant.name", "unknown"}
	if got := declaredOrder(fields, declared); !slices.Equal(got, want) {
		t.Errorf("declaredOrder = %v, want %v", got, want)
	}
}

// TestConfirmationNamesWhoseDetailsAreSent checks that the registrar's
// confirmation page lists, for a service told on the mother's consent,
// the child's and the mother's details and none of the father's.
func TestConfirmationNamesWhoseDetailsAreSent(t *testing.T) {
	env := newTestEnv(t)
	if rec := env.postJSON(t, "/api/v1/births", twoParentBirth); rec.Code != http.StatusCreated {
		t.Fatalf("register the birth: status %d, want 201; body %s", rec.Code, rec.Body)
	}

	rec := env.do(t, http.MethodGet, "/births/"+string(env.hub.events[0].ID), nil, nil)

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"About Ada Grace O’Brien-Lovelace: name", "About Siân O’Brien: ", "It will receive nothing."} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmation lacks %q", want)
		}
	}
	if strings.Contains(body, "About Tomás Lovelace") {
		t.Errorf("confirmation lists the father's details as sent, although the consent does not cover him")
	}
}

// withdrawInFake marks the father's consent for Child Benefit withdrawn
// in env's fake hub and sets its delivery as change leaves it. It returns
// that delivery.
func withdrawInFake(env residentEnv, change func(d *joinedup.Delivery)) *joinedup.Delivery {
	env.hub.mu.Lock()
	defer env.hub.mu.Unlock()
	for i := range env.event.Consent.Decisions {
		if env.event.Consent.Decisions[i].Service == "child-benefit" {
			env.event.Consent.Decisions[i].Decision = joinedup.ConsentWithdrawn
		}
	}
	d := env.event.Deliveries[0]
	change(d)
	return d
}

// TestRecordWithdrawnBeforeReached checks that a service whose delivery
// was withdrawn before any attempt reached it is shown as sent nothing,
// on the page and in the JSON.
func TestRecordWithdrawnBeforeReached(t *testing.T) {
	env := newResidentEnv(t)
	withdrawInFake(env, func(d *joinedup.Delivery) {
		d.State, d.Attempts, d.Reached, d.LastError = joinedup.StateWithdrawn, 3, false, "connection refused"
	})
	env.signIn(t, env.father)

	page := env.do(t, http.MethodGet, "/residents/"+env.father+"?withdrawn=child-benefit", nil, nil).Body.String()
	if !strings.Contains(page, "Not shared. Consent was withdrawn before the details reached the service.") {
		t.Errorf("record does not say the details were not shared:\n%s", page)
	}
	if strings.Contains(page, "About you:") {
		t.Errorf("record lists details about the father as shared with Child Benefit:\n%s", page)
	}
	if !strings.Contains(page, "The service had not received the details, so there was nothing to tell it.") {
		t.Errorf("banner does not say the service had not received the details:\n%s", page)
	}

	cb := share(t, readRecord(t, env, env.father), "child-benefit")
	if !cb.NotSent {
		t.Error("record as JSON: notSent is false, want true")
	}
	if len(cb.SentAbout) != 0 {
		t.Errorf("record as JSON: sentAbout = %v, want empty", people(cb))
	}
	if len(cb.ResidentFields) != 0 {
		t.Errorf("record as JSON: residentFields = %v, want empty", cb.ResidentFields)
	}
}

// TestRecordWithdrawnAfterReached checks that a delivery withdrawn after
// an attempt may have reached the service still lists what was sent.
func TestRecordWithdrawnAfterReached(t *testing.T) {
	env := newResidentEnv(t)
	withdrawInFake(env, func(d *joinedup.Delivery) {
		d.State, d.Attempts, d.Reached, d.LastError = joinedup.StateWithdrawn, 1, true, "status 500"
	})
	env.signIn(t, env.father)

	page := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil).Body.String()
	if strings.Contains(page, "Not shared.") {
		t.Errorf("record says details were not shared with a service an attempt may have reached:\n%s", page)
	}
	if !strings.Contains(page, "About you:") {
		t.Errorf("record does not list the father's details as shared:\n%s", page)
	}
	if cb := share(t, readRecord(t, env, env.father), "child-benefit"); cb.NotSent || len(cb.SentAbout) == 0 {
		t.Errorf("record as JSON: notSent %v with sentAbout %v, want false with people", cb.NotSent, people(cb))
	}
}

// TestRecordWithdrawalNoticeNotDelivered checks what the record says when
// the notice of a withdrawal ran out of attempts, and when the service
// reported that it could not act on it.
func TestRecordWithdrawalNoticeNotDelivered(t *testing.T) {
	for _, tt := range []struct {
		name      string
		state     joinedup.DeliveryState
		outcome   *joinedup.Outcome
		cell      string
		banner    string
		jsonValue string
	}{
		{
			name: "dead-lettered", state: joinedup.StateDeadLettered,
			cell:      "The hub could not reach the service to tell it of the withdrawal. Staff can see this and can send the notice again.",
			banner:    "The hub could not reach the service to tell it of the withdrawal, and has stopped trying. Staff can see this and can send the notice again.",
			jsonValue: "unreached",
		},
		{
			name: "failed", state: joinedup.StateFailed,
			outcome:   &joinedup.Outcome{Status: joinedup.OutcomeFailed, Summary: "Claim is with a caseworker."},
			cell:      "The service received the notice of the withdrawal but reported that it could not act on it. Staff can see this.",
			banner:    "The service received the notice of the withdrawal but reported that it could not act on it. Staff can see this.",
			jsonValue: "failed",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newResidentEnv(t)
			first := withdrawInFake(env, func(d *joinedup.Delivery) {
				d.State, d.Reached = joinedup.StateWithdrawn, true
				d.Outcome = &joinedup.Outcome{Status: joinedup.OutcomeAccepted}
			})
			env.hub.mu.Lock()
			env.event.Deliveries = append(env.event.Deliveries, &joinedup.Delivery{
				ID: first.ID + "-notice", EventID: env.event.ID, Service: "child-benefit", Kind: joinedup.EventConsentWithdrawn,
				State: tt.state, Attempts: 10, Reached: true, LastError: "status 500", Outcome: tt.outcome,
			})
			env.hub.mu.Unlock()
			env.signIn(t, env.father)

			page := env.do(t, http.MethodGet, "/residents/"+env.father+"?withdrawn=child-benefit", nil, nil).Body.String()
			if !strings.Contains(page, "<br>"+tt.cell) {
				t.Errorf("table lacks %q:\n%s", tt.cell, page)
			}
			if !strings.Contains(page, "Consent withdrawn for Child Benefit. "+tt.banner) {
				t.Errorf("banner lacks %q:\n%s", tt.banner, page)
			}
			for _, unwanted := range []string{"has not confirmed the withdrawal yet", "The hub is telling the service"} {
				if strings.Contains(page, unwanted) {
					t.Errorf("page says %q", unwanted)
				}
			}
			if got := share(t, readRecord(t, env, env.father), "child-benefit").Withdrawal; got != tt.jsonValue {
				t.Errorf("record as JSON: withdrawal = %q, want %q", got, tt.jsonValue)
			}
		})
	}
}

// TestWithdrawAPIRejectsBody checks that the withdrawal API rejects a
// body, which it would not record, before anything changes, and accepts
// an empty one whatever its Content-Type.
func TestWithdrawAPIRejectsBody(t *testing.T) {
	env := newTwoParentEnv(t)
	withdrawn := &recordingWithdrawer{}
	env.server.Consents = withdrawn
	env.signIn(t, env.mother)
	target := "/api/v1/life-events/" + string(env.event.ID) + "/consent/child-benefit/withdraw"
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
	}{
		{"JSON reason", "application/json", `{"reason":"Informant telephoned"}`, http.StatusUnprocessableEntity},
		{"empty JSON object", "application/json", `{}`, http.StatusUnprocessableEntity},
		{"plain text", "text/plain", "Informant telephoned", http.StatusUnsupportedMediaType},
		{"no Content-Type", "", "reason=Informant+telephoned", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.contentType != "" {
				header.Set("Content-Type", tt.contentType)
			}

			p := decodeProblem(t, env.do(t, http.MethodPost, target, strings.NewReader(tt.body), header), tt.status)

			if !strings.Contains(p.Detail, "This request takes no body") || !strings.Contains(p.Detail, "nothing was changed") {
				t.Errorf("detail %q does not say that the request takes no body and nothing was changed", p.Detail)
			}
			if len(withdrawn.calls) != 0 {
				t.Fatalf("withdrawals after a rejected body = %q, want none", withdrawn.calls)
			}
		})
	}

	rec := env.do(t, http.MethodPost, target, strings.NewReader(""), http.Header{"Content-Type": {"application/json"}})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("empty body: status %d, want 202; body %s", rec.Code, rec.Body)
	}
	if len(withdrawn.calls) != 1 {
		t.Errorf("withdrawals after an empty body = %q, want one", withdrawn.calls)
	}
}
