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
