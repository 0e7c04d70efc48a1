package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/store/sqlite"
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

// TestUnknownTokenOrganisationRejected starts hubs whose API token
// registers births for an organisation: the start fails when neither the
// services file nor the demo creates it, and then it stores no
// organisation of either.
func TestUnknownTokenOrganisationRejected(t *testing.T) {
	tests := []struct {
		name         string
		organisation string
		demo         bool
		wantErr      bool
	}{
		{"unknown organisation", "no-such-council", false, true},
		{"organisation of the services file", "test-council", false, false},
		{"unknown organisation with the demo", "no-such-council", true, true},
		{"organisation of the demo", "council", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Addr, cfg.Data, cfg.Demo = "127.0.0.1:0", t.TempDir(), tt.demo
			cfg.APIToken, cfg.APITokenOrganisation = testToken, tt.organisation
			if !tt.demo {
				cfg.ServicesFile = servicesFileFor(t)
			}
			h, err := OpenHub(context.Background(), cfg, testLogger(t))
			if err == nil {
				h.Close()
			}
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("error = %v, want an error: %t", err, tt.wantErr)
			}
			want := `-api-token-organisation "no-such-council" names no organisation of the hub`
			if tt.wantErr && !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q, want it to contain %q", err, want)
			}
			if tt.wantErr && !strings.Contains(err.Error(), "add it to the organisations of the -services file") {
				t.Errorf("error = %q, want it to say how to add the organisation", err)
			}
			if !tt.wantErr {
				return
			}
			db, err := sqlite.Open(context.Background(), filepath.Join(cfg.Data, "joinedup.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if orgs, err := db.ListOrganisations(context.Background()); err != nil || len(orgs) != 0 {
				t.Errorf("after the failed start the store has organisations %v (error %v), want none", orgs, err)
			}
		})
	}
}
