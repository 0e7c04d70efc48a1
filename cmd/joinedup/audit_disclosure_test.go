package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
)

// attachAuditLog gives h's engine and life events an audit log in h's
// store, signed with a new key, and returns it.
func attachAuditLog(t *testing.T, h *Hub) *audit.Log {
	t.Helper()
	key, err := audit.GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(context.Background(), audit.Config{Storage: h.DB, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	h.Engine.Audit, h.LifeEvents.Audit = log, log
	return log
}

// TestDisclosuresAreAudited checks that the registrar's access, the
// informant's consent decisions and each delivery a service receives are
// appended to the audit log, naming the record by id only, and that the
// registration's entries share one append.
func TestDisclosuresAreAudited(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	log := attachAuditLog(t, h)

	var gp, school recorder
	startService(t, h, "gp", []string{"child.name"}, &gp)
	startService(t, h, "school", []string{"child.dateOfBirth"}, &school)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	waitComplete(t, h, out.Event.ID, 10*time.Second)

	entries, _ := allEntries(t, log)
	got := map[string]int{}
	for _, e := range entries {
		if e.Subject != string(out.Event.ID) {
			t.Errorf("entry %d names subject %q, want the event id %s", e.Seq, e.Subject, out.Event.ID)
		}
		var detail map[string]any
		json.Unmarshal(e.Detail, &detail)
		about, _ := detail["service"].(string)
		if e.Action == audit.ActionAccess {
			about, _ = detail["operation"].(string)
		}
		got[e.Action+" "+about]++
	}
	want := map[string]int{"consent.given gp": 1, "consent.refused school": 1, "disclosure gp": 1, audit.ActionAccess + " register": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("audit log has %d %q entries, want %d; all: %v", got[k], k, n, got)
		}
	}
	if err := log.Verify(ctx, nil); err != nil {
		t.Errorf("verify audit log: %v", err)
	}
	checkOneAppend(t, h, entries)
}

// checkOneAppend checks that the consent decisions and the registrar's
// access among entries were appended together: no checkpoint falls
// between them, so the registration cost the audit log one transaction.
func checkOneAppend(t *testing.T, h *Hub, entries []audit.Entry) {
	t.Helper()
	var seqs []uint64
	for _, e := range entries {
		if e.Action == audit.ActionAccess || strings.HasPrefix(e.Action, "consent.") {
			seqs = append(seqs, e.Seq)
		}
	}
	if len(seqs) < 2 {
		t.Fatalf("registration entries at %v, want consent decisions and an access", seqs)
	}
	first, last := seqs[0], seqs[len(seqs)-1]
	if last-first != uint64(len(seqs)-1) {
		t.Errorf("registration entries at %v, want them next to one another", seqs)
	}
	checkpoints, err := h.DB.AuditCheckpoints(context.Background(), 0, entries[len(entries)-1].Seq+1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checkpoints {
		if c.Size > first && c.Size <= last {
			t.Errorf("checkpoint of size %d splits the registration's entries %v", c.Size, seqs)
		}
	}
}

// TestDisclosureRecordsConsentedFields widens a service's fields while its
// delivery is retrying, and checks that the retry's disclosure entry lists
// only the field the consent decision recorded, as the retry sends.
func TestDisclosureRecordsConsentedFields(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, func(c *Config) { c.Backoff = 200 * time.Millisecond })
	log := attachAuditLog(t, h)

	var gp recorder
	gp.fail = 1
	svc := startService(t, h, "gp", []string{"child.name"}, &gp)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	gp.waitCalled(t)
	wider := *svc
	wider.Fields = []string{"child", "parents.nationalInsuranceNumber"}
	if err := h.Directory.UpdateService(ctx, &wider); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, h, out.Event.ID, 10*time.Second)

	var disclosures []string
	for _, d := range disclosureDetails[struct {
		Fields []string `json:"fields"`
	}](t, log) {
		disclosures = append(disclosures, strings.Join(d.Fields, ","))
	}
	if len(disclosures) != 2 || disclosures[0] != "child.name" || disclosures[1] != "child.name" {
		t.Errorf("disclosures list fields %q, want child.name for both attempts", disclosures)
	}
}

// TestReplayedDisclosureNamesGeneration dead-letters a delivery after one
// attempt and replays it. The replay counts attempts from zero again, so
// the two disclosure entries differ in their generation.
func TestReplayedDisclosureNamesGeneration(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, func(c *Config) { c.MaxAttempts = 1 })
	log := attachAuditLog(t, h)

	var gp recorder
	gp.fail = 1
	startService(t, h, "gp", []string{"child.name"}, &gp)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
	if s := ev.Deliveries[0].State; s != joinedup.StateDeadLettered {
		t.Fatalf("delivery state %s, want dead-lettered", s)
	}
	if err := h.Engine.ReplayDelivery(ctx, ev.Deliveries[0].ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	waitComplete(t, h, out.Event.ID, 10*time.Second)

	var got []string
	for _, d := range disclosureDetails[struct {
		Attempt    int `json:"attempt"`
		Generation int `json:"generation"`
	}](t, log) {
		got = append(got, fmt.Sprintf("generation %d attempt %d", d.Generation, d.Attempt))
	}
	if want := []string{"generation 0 attempt 1", "generation 1 attempt 1"}; !slices.Equal(got, want) {
		t.Errorf("disclosures = %q, want %q", got, want)
	}
}

// allEntries returns every entry of log, with the size of the checkpoint
// they were read at.
func allEntries(t *testing.T, log *audit.Log) ([]audit.Entry, uint64) {
	t.Helper()
	ctx := context.Background()
	cp, err := log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := log.Entries(ctx, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	return entries, cp.Size
}

// disclosureDetails returns the detail of each disclosure entry in log,
// in order, decoded into T.
func disclosureDetails[T any](t *testing.T, log *audit.Log) []T {
	t.Helper()
	entries, _ := allEntries(t, log)
	var out []T
	for _, e := range entries {
		if e.Action != audit.ActionDisclosure {
			continue
		}
		var detail T
		if err := json.Unmarshal(e.Detail, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return out
}

// downStorage is an audit log storage whose appends all fail, as when the
// audit log cannot be written.
type downStorage struct{ audit.Storage }

func (downStorage) AppendAudit(context.Context, func(context.Context, audit.Head) (*audit.Batch, error)) error {
	return errors.New("audit log down")
}

// TestAuditEntriesSurviveFailedAppend registers a birth and withdraws its
// consent while every audit append fails. Both commit, and their entries
// are appended once when the log can be written again, as after a crash
// between a registration's commit and its append.
func TestAuditEntriesSurviveFailedAppend(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	key, err := audit.GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	down, err := audit.Open(ctx, audit.Config{Storage: downStorage{h.DB}, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	h.Engine.Audit, h.LifeEvents.Audit = down, down

	var gp recorder
	startService(t, h, "gp", []string{"child.name"}, &gp)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	if _, err := h.Engine.WithdrawConsent(ctx, out.Event.ID, "gp", "informant"); err != nil {
		t.Fatalf("withdraw consent while the audit log is down: %v", err)
	}

	up, err := audit.Open(ctx, audit.Config{Storage: h.DB, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.AppendQueued(ctx); err != nil {
		t.Fatalf("append queued: %v", err)
	}
	if err := up.AppendQueued(ctx); err != nil {
		t.Fatalf("append queued again: %v", err)
	}
	entries, _ := allEntries(t, up)
	got := map[string]int{}
	for _, e := range entries {
		got[e.Action]++
	}
	want := map[string]int{audit.ActionConsentGiven: 1, audit.ActionAccess: 1, audit.ActionConsentWithdrawn: 1}
	for action, n := range want {
		if got[action] != n {
			t.Errorf("audit log has %d %q entries, want %d; all: %v", got[action], action, n, got)
		}
	}
	if err := up.Verify(ctx, nil); err != nil {
		t.Errorf("verify audit log: %v", err)
	}
}
