package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestDeferredActionFiresOnceAcrossRestart has a service ask for a
// deferred action, moves a test clock past its due date and checks the
// service is sent one action.due event, even after a restart.
func TestDeferredActionFiresOnceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, joinedup.London)}
	data := t.TempDir()
	edit := func(c *Config) { c.Data = data; c.now = clk.Now }

	h := startHub(t, edit)
	due := joinedup.Date{Year: 2029, Month: 9, Day: 1}
	rec := &recorder{outcome: joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded for Reception",
		Deferred: []joinedup.DeferredRequest{{Action: "nursery-contact", Due: due, Summary: "Call the parents"}}}}
	startService(t, h, "school", []string{"child.name"}, rec)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "school"))
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
	if len(ev.Actions) != 1 || ev.Actions[0].State != joinedup.ActionScheduled || ev.Actions[0].Due != due {
		t.Fatalf("actions = %+v, want one scheduled on %s", ev.Actions, due)
	}

	actionsDue := func() []*connector.Event {
		var out []*connector.Event
		for _, e := range rec.received() {
			if e.Type == connector.TypeActionDue {
				out = append(out, e)
			}
		}
		return out
	}

	// The evening before, in London, nothing fires.
	clk.Set(time.Date(2029, 8, 31, 23, 30, 0, 0, joinedup.London))
	if n, err := h.Engine.FireDueActions(ctx); err != nil || n != 0 {
		t.Fatalf("fire the day before: fired %d, err %v; want 0", n, err)
	}

	// Just after midnight in London, which is still 31 August in UTC, it fires.
	clk.Set(time.Date(2029, 9, 1, 0, 30, 0, 0, joinedup.London))
	if n, err := h.Engine.FireDueActions(ctx); err != nil || n != 1 {
		t.Fatalf("fire on the due date: fired %d, err %v; want 1", n, err)
	}
	ev = waitComplete(t, h, out.Event.ID, 10*time.Second)
	if got := len(actionsDue()); got != 1 {
		t.Fatalf("service got %d action.due events, want 1", got)
	}
	a, err := actionsDue()[0].ActionDue()
	if err != nil || a.Action != "nursery-contact" || a.Due != due || a.EventReference != out.Event.Reference {
		t.Errorf("action.due data = %+v (err %v), want nursery-contact due %s for %s", a, err, due, out.Event.Reference)
	}

	// After a restart, later ticks fire nothing more.
	h.Close()
	h = startHub(t, edit)
	clk.Set(time.Date(2029, 9, 2, 9, 0, 0, 0, joinedup.London))
	if n, err := h.Engine.FireDueActions(ctx); err != nil || n != 0 {
		t.Fatalf("fire after restart: fired %d, err %v; want 0", n, err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(actionsDue()); got != 1 {
		t.Errorf("service got %d action.due events after restart, want 1", got)
	}
}
