package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

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
