package main

import (
	"context"
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
