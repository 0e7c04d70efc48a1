package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

// TestCloseLetsDeliveriesSettle closes a demo hub while its in-process
// reference services are receiving deliveries, with one attempt allowed
// per delivery. The hub serves those services, so it stops its workers
// before its HTTP server: no attempt fails for the shutdown, and after a
// restart every birth reaches every service.
func TestCloseLetsDeliveriesSettle(t *testing.T) {
	data := t.TempDir()
	edit := func(c *Config) { c.Demo, c.MaxAttempts, c.Data = true, 1, data }
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	edit(&cfg)
	h, err := OpenHub(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []joinedup.EventID
	for i := range 12 {
		ids = append(ids, registerWithToken(t, h, demoBirth(t, h, i)).ID)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	h = startHub(t, edit)
	for _, id := range ids {
		ev := waitComplete(t, h, id, 30*time.Second)
		for _, d := range ev.Deliveries {
			if d.State == joinedup.StateDeadLettered {
				t.Errorf("birth %s: delivery to %s dead-lettered: %s", id, d.Service, d.LastError)
			}
		}
	}
}

// TestWarnsOfUnknownTokenOrganisation starts a hub whose API token
// registers births for an organisation it does not have, and one whose
// organisation the demo creates, and checks that only the first warns.
func TestWarnsOfUnknownTokenOrganisation(t *testing.T) {
	for _, tt := range []struct {
		organisation string
		warn         bool
	}{
		{"no-such-council", true},
		{"council", false},
	} {
		var logs bytes.Buffer
		cfg := DefaultConfig()
		cfg.Addr, cfg.Data, cfg.Demo = "127.0.0.1:0", t.TempDir(), true
		cfg.APIToken, cfg.APITokenOrganisation = testToken, tt.organisation
		h, err := OpenHub(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(logs.String(), "api-token-organisation")
		if warned != tt.warn {
			t.Errorf("organisation %q: warned %t, want %t; logs:\n%s", tt.organisation, warned, tt.warn, logs.String())
		}
	}
}
