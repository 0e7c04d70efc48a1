package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/lifeevent"
)

// TestRegistrationPeopleRecognised registers two births to the same
// parents, the second with a typing error in the father's family name,
// and checks that the hub's person index links each parent's records to
// one person and gives each child a person of its own.
func TestRegistrationPeopleRecognised(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	var gp recorder
	startService(t, h, "gp", []string{"child.name"}, &gp)

	first := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	var reg joinedup.BirthRegistration
	if err := json.Unmarshal(birthJSON(t, "2026-11-20", "gp"), &reg); err != nil {
		t.Fatal(err)
	}
	reg.Child.Name.Given = "Róisín"
	reg.Parents[0].Name.Family = "O'Neil-Byrne"
	reg.Informant.Name = reg.Parents[0].Name
	body, _ := json.Marshal(reg)
	second := registerBirth(t, h, body)

	person := func(id joinedup.EventID, pointer string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, err := h.Persons.PersonOf(ctx, lifeevent.RegistrationSource, string(id)+pointer)
			if err == nil {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("record %s%s not in the person index: %v", id, pointer, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if a, b := person(first.Event.ID, "/parents/0"), person(second.Event.ID, "/parents/0"); a != b {
		t.Errorf("the father's two records belong to persons %s and %s, want one", a, b)
	}
	if a, b := person(first.Event.ID, "/child"), person(second.Event.ID, "/child"); a == b {
		t.Errorf("two children with different names were linked as person %s", a)
	}
}
