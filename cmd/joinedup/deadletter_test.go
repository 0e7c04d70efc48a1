package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/webhook"
)

// TestLinkLocalDeliveryDeadLettered stores a service whose endpoint is a
// link-local IP address, standing in for a host name that resolves to
// one. Each attempt must fail without sending, and the delivery must be
// dead-lettered. The address is scoped to the loopback interface, so
// nothing could leave the machine even if the guard were missing.
func TestLinkLocalDeliveryDeadLettered(t *testing.T) {
	for _, name := range []string{"HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		if os.Getenv(name) != "" {
			t.Skipf("%s is set, so the hub would send the attempt to the proxy", name)
		}
	}
	h := startHub(t, func(c *Config) { c.MaxAttempts = 2; c.Backoff = 20 * time.Millisecond })
	ctx := context.Background()
	if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
		t.Fatal(err)
	}
	svc := &joinedup.Service{
		ID: "link-local", Organisation: "test-council", Name: "Link-local", Purpose: "testing",
		EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"},
		Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://[fe80::1%25lo]:9/events"},
		Secret:   webhook.NewSecret(),
	}
	// The store takes the service without the directory's validation,
	// which would reject this URL.
	if err := h.DB.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.SyncConsumers(ctx); err != nil {
		t.Fatal(err)
	}

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", svc.ID))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)

	d := ev.Deliveries[0]
	if d.State != joinedup.StateDeadLettered {
		t.Errorf("delivery state = %s, want dead-lettered", d.State)
	}
	if d.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", d.Attempts)
	}
	if !strings.Contains(d.LastError, "fe80::1 is a link-local address") {
		t.Errorf("last error = %q, want it to name the link-local address", d.LastError)
	}
}

// TestRetriesDoNotHoldBackFirstAttempts fails the first attempts at more
// births than the workers send at once, each birth in a message of its
// own, so that each waits minutes for its retry. A birth registered
// after them is still sent at once: messages waiting for a retry do not
// take every place that JetStream keeps for messages handed out.
func TestRetriesDoNotHoldBackFirstAttempts(t *testing.T) {
	h := startHub(t, func(c *Config) { c.Backoff = 5 * time.Minute })
	const failing = 80 // more than four times the default concurrency of 16
	rec := recorder{fail: failing}
	startService(t, h, "gp", []string{"child.name"}, &rec)
	for i := range failing {
		registerBirth(t, h, nthBirthJSON(t, i, "2026-11-20", "gp"))
		// The next birth is registered once this one's attempt has failed,
		// so that each is in a message of its own.
		deadline := time.Now().Add(10 * time.Second)
		for {
			rec.mu.Lock()
			seen := rec.seen
			rec.mu.Unlock()
			if seen > i {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("birth %d was not attempted within 10s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	out := registerBirth(t, h, nthBirthJSON(t, failing, "2026-11-20", "gp"))
	ev := waitComplete(t, h, out.Event.ID, 30*time.Second)
	if d := ev.Deliveries[0]; d.State != joinedup.StateActed || d.Attempts != 1 {
		t.Errorf("delivery after %d retrying = %s after %d attempts, want acted after 1", failing, d.State, d.Attempts)
	}
}
