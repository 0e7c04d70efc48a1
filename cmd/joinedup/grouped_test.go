package main

import (
	"context"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/delivery"
)

// TestMessagesCarrySeveralDeliveries registers births while the hub's
// delivery engine is stopped, so that their outbox rows wait together,
// and then starts an engine. The relay puts each service's waiting rows
// in one message. One service fails its first requests, so its message
// is offered again: its deliveries already settled are passed over, and
// every service acts on every birth once.
func TestMessagesCarrySeveralDeliveries(t *testing.T) {
	eachMode(t, testMessagesCarrySeveralDeliveries)
}

func testMessagesCarrySeveralDeliveries(t *testing.T, mode func(*Config)) {
	ctx := context.Background()
	h := startHub(t, both(mode, func(c *Config) { c.Backoff = 100 * time.Millisecond }))
	var good, flaky recorder
	flaky.fail = 3
	startService(t, h, "good", []string{"child.name"}, &good)
	startService(t, h, "flaky", []string{"child.name"}, &flaky)
	before, err := h.Bus.Stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}

	h.Engine.Stop()
	const births = 10
	var ids []joinedup.EventID
	for i := range births {
		ids = append(ids, registerBirth(t, h, nthBirthJSON(t, i, "2026-11-20", "good", "flaky")).Event.ID)
	}
	engine := delivery.New(delivery.Config{Source: h.BaseURL, MaxAttempts: 5, Concurrency: 4, BaseBackoff: 100 * time.Millisecond}, h.DB, h.Bus, testLogger(t))
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Stop)

	for _, id := range ids {
		ev := waitComplete(t, h, id, 30*time.Second)
		for _, d := range ev.Deliveries {
			if d.State != joinedup.StateActed {
				t.Errorf("birth %s: delivery to %s is %s, want acted", id, d.Service, d.State)
			}
		}
	}
	after, err := h.Bus.Stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := after.State.LastSeq - before.State.LastSeq; n != 2 {
		t.Errorf("the relay published %d messages for %d deliveries to two services, want 2", n, 2*births)
	}
	checkActedOnce(t, "good", &good, births)
	checkActedOnce(t, "flaky", &flaky, births)
	// Every message is acknowledged once its deliveries are settled.
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := h.Bus.Stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left in the stream, want none", info.State.Msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
