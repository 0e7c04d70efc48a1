package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/policy"
)

func TestResidentHistoryPages(t *testing.T) {
	env := newResidentEnv(t)
	env.records.allocations[env.worker] = []string{env.father}
	env.signIn(t, env.worker)
	for range 3 {
		env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	}
	stored := 0
	for _, e := range env.auditEntries(t) {
		if e.Subject == env.father || e.Subject == string(env.event.ID) {
			stored++
		}
	}

	// The father's reads of the pages are his own accesses, which the
	// history leaves out, so the pages hold the entries stored before.
	env.signIn(t, env.father)
	target := "/api/v1/residents/" + env.father + "/history?limit=2"
	read := 0
	for pages := 0; target != ""; pages++ {
		if pages > stored {
			t.Fatalf("history still has a next page after %d pages of 2", pages)
		}
		rec := env.do(t, http.MethodGet, target, nil, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200; body %s", target, rec.Code, rec.Body)
		}
		var page struct {
			Accesses   []recordAccess `json:"accesses"`
			NextBefore uint64         `json:"nextBefore"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatalf("decode %s: %v", target, err)
		}
		if len(page.Accesses) > 2 {
			t.Errorf("GET %s returned %d accesses, want at most 2", target, len(page.Accesses))
		}
		read += len(page.Accesses)
		target = ""
		if page.NextBefore > 0 {
			target = fmt.Sprintf("/api/v1/residents/%s/history?limit=2&before=%d", env.father, page.NextBefore)
		}
	}
	if read != stored {
		t.Errorf("pages held %d accesses in all, want %d", read, stored)
	}
}

func TestResidentHistoryPageLinksOlder(t *testing.T) {
	env := newResidentEnv(t)
	env.records.allocations[env.worker] = []string{env.father}
	env.signIn(t, env.worker)
	env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil)
	env.signIn(t, env.father)

	body := env.do(t, http.MethodGet, "/residents/"+env.father+"?limit=1", nil, nil).Body.String()
	if !strings.Contains(body, "Show older uses") {
		t.Errorf("record with one access a page lacks the link to older uses")
	}
	body = env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil).Body.String()
	if strings.Contains(body, "Show older uses") {
		t.Errorf("record with every access on one page links to older uses")
	}
}

func TestResidentHistoryInvalidQuery(t *testing.T) {
	env := newResidentEnv(t)
	env.signIn(t, env.father)
	base := "/api/v1/residents/" + env.father + "/history"
	for _, query := range []string{"?limit=0", "?limit=501", "?limit=ten", "?limit=", "?before=0", "?before=-1", "?before=x", "?before=", "?foo=1", "?withdrawn=gp-practice"} {
		decodeProblem(t, env.do(t, http.MethodGet, base+query, nil, nil), http.StatusUnprocessableEntity)
	}

	// A caller who may not read the record learns nothing from the query.
	other := env.createAccount(t, "resident-other", policy.RoleResident)
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/residents/"+other.ID+"/history?limit=0", nil, nil), http.StatusNotFound)
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/residents/"+other.ID+"/history?foo=1", nil, nil), http.StatusNotFound)

	// The page takes parameters of its own, such as withdrawn.
	if rec := env.do(t, http.MethodGet, "/residents/"+env.father+"?withdrawn=gp-practice", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("record page with withdrawn: status %d, want 200", rec.Code)
	}
}

// TestReasonInWords checks each kind of stored reason that a resident's
// record turns into a sentence, and that other text is left as typed.
func TestReasonInWords(t *testing.T) {
	env := newTestEnv(t)
	s := env.server
	for _, tt := range []struct{ reason, service, want string }{
		{"social-worker-allocated", "", "A social worker allocated to the resident needs their record for their care."},
		{"informant's choice at registration", "Child Benefit", "The informant chose this when the birth was registered."},
		{"consent given to child-benefit", "Child Benefit", "The informant consented to Child Benefit being told."},
		{"consent to tell gp-practice withdrawn", "Riverside Surgery", "Consent to tell Riverside Surgery was withdrawn, so nothing more is shared with it."},
		{"notice to gp-practice that consent was withdrawn", "Riverside Surgery", "Consent to tell Riverside Surgery was withdrawn, so the hub sends it a notice of the withdrawal."},
		{"action that primary-school asked to be reminded of", "Riverside Primary School", "Riverside Primary School asked to be reminded of this."},
		{"lawful basis: Social Security Administration Act 1992", "Child Benefit", "The law requires Child Benefit to be told: Social Security Administration Act 1992."},
		{"Child seen alone at A&E tonight", "", "Child seen alone at A&E tonight"},
		{"consent given to child-benefit", "", "consent given to child-benefit"},
	} {
		if got := s.reasonInWords(tt.reason, tt.service); got != tt.want {
			t.Errorf("reasonInWords(%q, %q) = %q, want %q", tt.reason, tt.service, got, tt.want)
		}
	}
}

// TestActionInWords checks the words a resident's record gives for what
// an access or a disclosure did.
func TestActionInWords(t *testing.T) {
	for _, tt := range []struct{ action, operation, kind, want string }{
		{audit.ActionAccess, "read", "", "Record viewed"},
		{audit.ActionAccess, "list", "", "Included in a list that staff viewed"},
		{audit.ActionAccess, "list progress", "", "Progress included in a list that staff viewed"},
		{audit.ActionDisclosure, "", joinedup.EventConsentWithdrawn, "Notice of a withdrawal sent to a service, or an attempt made to send it"},
		{audit.ActionDisclosure, "", joinedup.EventActionDue, "Service reminded of an action it planned"},
	} {
		if got := actionInWords(tt.action, tt.operation, tt.kind); got != tt.want {
			t.Errorf("actionInWords(%q, %q, %q) = %q, want %q", tt.action, tt.operation, tt.kind, got, tt.want)
		}
	}
}

// TestAttemptInWords checks the words for each attempt at a disclosure,
// before and after a replay.
func TestAttemptInWords(t *testing.T) {
	for _, tt := range []struct {
		kind                string
		attempt, generation int
		want                string
	}{
		{joinedup.EventBirthRegistered, 1, 0, "Attempt 1 to send details to a service"},
		{joinedup.EventBirthRegistered, 7, 0, "Attempt 7 to send details to a service"},
		{joinedup.EventBirthRegistered, 1, 2, "Attempt 1 to send details to a service, in resend 2 by staff"},
		{joinedup.EventConsentWithdrawn, 3, 0, "Attempt 3 to tell a service that consent was withdrawn"},
		{joinedup.EventActionDue, 2, 1, "Attempt 2 to remind a service of an action it planned, in resend 1 by staff"},
	} {
		if got := attemptInWords(tt.kind, tt.attempt, tt.generation); got != tt.want {
			t.Errorf("attemptInWords(%q, %d, %d) = %q, want %q", tt.kind, tt.attempt, tt.generation, got, tt.want)
		}
	}
}

// TestHistoryNumbersAttempts appends disclosures of three attempts, one
// after a replay, and one recorded without an attempt number. It checks
// that the history keeps every entry and distinguishes the attempts.
func TestHistoryNumbersAttempts(t *testing.T) {
	env := newResidentEnv(t)
	for _, detail := range []string{
		`{"service":"child-benefit","kind":"birth.registered","attempt":1,"generation":0}`,
		`{"service":"child-benefit","kind":"birth.registered","attempt":2,"generation":0}`,
		`{"service":"child-benefit","kind":"birth.registered","attempt":1,"generation":1}`,
		`{"service":"child-benefit","kind":"birth.registered"}`,
	} {
		if _, err := env.server.Audit.Append(t.Context(), audit.Entry{Actor: "hub", Action: audit.ActionDisclosure,
			Subject: string(env.event.ID), Reasons: []string{"consent given to child-benefit"}, Detail: []byte(detail)}); err != nil {
			t.Fatal(err)
		}
	}
	env.signIn(t, env.father)

	var disclosures []recordAccess
	for _, a := range readRecord(t, env, env.father).Accesses {
		if a.Action == audit.ActionDisclosure {
			disclosures = append(disclosures, a)
		}
	}
	// The history lists the newest first.
	want := []string{
		"Details sent to a service, or an attempt made to send them",
		"Attempt 1 to send details to a service, in resend 1 by staff",
		"Attempt 2 to send details to a service",
		"Attempt 1 to send details to a service",
	}
	if len(disclosures) != len(want) {
		t.Fatalf("history has %d disclosures, want %d", len(disclosures), len(want))
	}
	for i, a := range disclosures {
		if a.ActionInWords != want[i] {
			t.Errorf("disclosure %d in words = %q, want %q", i, a.ActionInWords, want[i])
		}
	}
	if a := disclosures[1]; a.Attempt != 1 || a.Generation != 1 {
		t.Errorf("disclosure after the replay: attempt %d, generation %d; want 1 and 1", a.Attempt, a.Generation)
	}
	if a := disclosures[2]; a.Attempt != 2 || a.Generation != 0 {
		t.Errorf("second disclosure: attempt %d, generation %d; want 2 and 0", a.Attempt, a.Generation)
	}

	page := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil).Body.String()
	for _, text := range want {
		if !strings.Contains(page, text+"<br>Service: Child Benefit") {
			t.Errorf("record page lacks %q for Child Benefit", text)
		}
	}
	if !strings.Contains(page, "Several attempts for one service are tries at sending the same details.") {
		t.Errorf("record page does not explain repeated attempts:\n%s", page)
	}
}
