package main

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
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
