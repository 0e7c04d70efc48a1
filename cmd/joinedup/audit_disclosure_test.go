package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/joinedup/joinedup/audit"
)

// TestDisclosuresAreAudited checks that the informant's consent decisions
// and each delivery a service receives are appended to the audit log,
// naming the record by id only.
func TestDisclosuresAreAudited(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, nil)
	key, err := audit.GenerateKey(rand.Reader, "joinedup.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ctx, audit.Config{Storage: h.DB, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	h.Engine.Audit, h.LifeEvents.Audit = log, log

	var gp, school recorder
	startService(t, h, "gp", []string{"child.name"}, &gp)
	startService(t, h, "school", []string{"child.dateOfBirth"}, &school)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "gp"))
	waitComplete(t, h, out.Event.ID, 10*time.Second)

	cp, err := log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := log.Entries(ctx, 0, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range entries {
		if e.Subject != string(out.Event.ID) {
			t.Errorf("entry %d names subject %q, want the event id %s", e.Seq, e.Subject, out.Event.ID)
		}
		var detail map[string]any
		json.Unmarshal(e.Detail, &detail)
		got[e.Action+" "+detail["service"].(string)]++
	}
	want := map[string]int{"consent.given gp": 1, "consent.refused school": 1, "disclosure gp": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("audit log has %d %q entries, want %d; all: %v", got[k], k, n, got)
		}
	}
	if err := log.Verify(ctx, nil); err != nil {
		t.Errorf("verify audit log: %v", err)
	}
}
