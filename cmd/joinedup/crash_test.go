package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store/sqlite"
)

// TestCrashLosesNothing kills joinedup serve with SIGKILL while it is
// delivering a batch of births, restarts it on the same data, and checks
// that every service acted on every accepted birth exactly once.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts joinedup serve as a process; skipped with -short")
	}
	names := []joinedup.ServiceID{"child-benefit", "housing-benefit", "gp-practice", "school"}
	recs := make([]*recorder, len(names))
	var services []*joinedup.Service
	for i, id := range names {
		recs[i] = &recorder{delay: 30 * time.Millisecond}
		services = append(services, serveRecorder(t, id, []string{"child", "parents"}, recs[i]))
	}
	file := servicesFileFor(t, services...)
	data := t.TempDir()
	args := []string{"--addr", "127.0.0.1:0", "--data", data, "--services", file, "--backoff", "100ms"}

	hub := startProcess(t, nil, args...)

	// Register a batch of births and kill the hub once the services are
	// part-way through them.
	const batch = 40
	var accepted []joinedup.EventID
	for i := range batch {
		id, err := postBirth(t, hub.BaseURL, nthBirthJSON(t, i, "2026-11-20", names...))
		if err != nil {
			t.Fatalf("register birth %d: %v", i, err)
		}
		accepted = append(accepted, id)
	}
	var acted atomic.Int64
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := 0
		for _, r := range recs {
			n += len(r.received())
		}
		acted.Store(int64(n))
		if n >= batch || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	hub.kill(t)
	total := batch * len(names)
	if got := acted.Load(); got >= int64(total) {
		t.Fatalf("every delivery finished before the kill (%d of %d); the test did not interrupt a batch", got, total)
	}
	t.Logf("killed the hub after %d of %d deliveries", acted.Load(), total)

	// Restart on the same data and register a few more.
	hub = startProcess(t, nil, args...)
	for i := range 5 {
		id, err := postBirth(t, hub.BaseURL, nthBirthJSON(t, i, "2026-11-21", names...))
		if err != nil {
			t.Fatalf("register birth %d after restart: %v", i, err)
		}
		accepted = append(accepted, id)
	}
	waitAllComplete(t, hub.BaseURL, accepted, 60*time.Second)
	hub.stop(t)

	for i, r := range recs {
		perEvent := r.effects(t)
		for _, id := range accepted {
			if n := perEvent[id]; n != 1 {
				t.Errorf("%s acted on birth %s %d times, want exactly once", names[i], id, n)
			}
		}
		if len(perEvent) != len(accepted) {
			t.Errorf("%s acted on %d births, want %d", names[i], len(perEvent), len(accepted))
		}
	}

}

// TestCrashCountsCutOffAttempt kills joinedup serve while an attempt is
// waiting for the service's response, and checks that after the restart the
// cut-off attempt is counted. With attempts to spare, the service acts
// once, the delivery shows two attempts, and the audit log records
// attempts 1 and 2 rather than attempt 1 twice. With a limit of one
// attempt, the cut-off attempt uses it up: the delivery is dead-lettered
// and not sent again.
func TestCrashCountsCutOffAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts joinedup serve as a process; skipped with -short")
	}
	tests := []struct {
		name        string
		maxAttempts string
		state       joinedup.DeliveryState
		attempts    int
		effects     int
		disclosures []int
	}{
		{"attempts to spare", "10", joinedup.StateActed, 2, 1, []int{1, 2}},
		{"limit of one attempt", "1", joinedup.StateDeadLettered, 1, 0, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{hang: 1}
			service := serveRecorder(t, "gp", []string{"child"}, rec)
			data := t.TempDir()
			args := []string{"--addr", "127.0.0.1:0", "--data", data, "--services", servicesFileFor(t, service), "--max-attempts", tt.maxAttempts}

			hub := startProcess(t, nil, args...)
			id, err := postBirth(t, hub.BaseURL, birthJSON(t, "2026-11-20", "gp"))
			if err != nil {
				t.Fatal(err)
			}
			rec.waitCalled(t)
			hub.kill(t)

			hub = startProcess(t, nil, args...)
			waitAllComplete(t, hub.BaseURL, []joinedup.EventID{id}, 60*time.Second)
			var ev joinedup.LifeEvent
			if err := getJSON(t, hub.BaseURL+"/api/v1/life-events/"+string(id), &ev); err != nil {
				t.Fatal(err)
			}
			hub.stop(t)

			if n := rec.effects(t)[id]; n != tt.effects {
				t.Errorf("the service acted %d times, want %d", n, tt.effects)
			}
			if len(ev.Deliveries) != 1 {
				t.Fatalf("the birth has %d deliveries, want 1", len(ev.Deliveries))
			}
			if d := ev.Deliveries[0]; d.Attempts != tt.attempts || d.State != tt.state {
				t.Fatalf("the delivery is %s after %d attempts, want %s after %d", d.State, d.Attempts, tt.state, tt.attempts)
			}
			if attempts := disclosedAttempts(t, data, id); !slices.Equal(attempts, tt.disclosures) {
				t.Errorf("disclosures recorded attempts %v, want %v", attempts, tt.disclosures)
			}
		})
	}
}

// disclosedAttempts returns the attempt numbers of the disclosures of
// life event id in the audit log of the hub whose data is in data, in
// the order they were appended.
func disclosedAttempts(t *testing.T, data string, id joinedup.EventID) []int {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "joinedup.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().Query(`SELECT detail FROM audit_entries WHERE subject = $1 AND action = $2 ORDER BY seq`, id, audit.ActionDisclosure)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var attempts []int
	for rows.Next() {
		var detail string
		var d struct{ Attempt int }
		if err := rows.Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(detail), &d); err != nil {
			t.Fatal(err)
		}
		attempts = append(attempts, d.Attempt)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return attempts
}
