package reference_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/reference"
	"github.com/joinedup/joinedup/reference/population"
)

func TestHousingBenefitReportsByCallback(t *testing.T) {
	h := newHarness(t, reference.Config{})
	d := h.birth("housing-benefit", population.Births(testSeed, 1, today)[0])

	code, o := h.send(d, "msg_callback")

	if code != http.StatusAccepted || o.Status != joinedup.OutcomeAccepted {
		t.Fatalf("status %d, outcome %+v, want 202 and accepted", code, o)
	}
	reported, ok := h.hub.callback(d.id)
	if !ok {
		t.Fatal("no outcome reported by callback within 10s")
	}
	if reported.Status != joinedup.OutcomeActed {
		t.Errorf("reported status = %q, want acted", reported.Status)
	}
	if want := "Housing Benefit and Council Tax Reduction recalculated for a household of 3:"; !strings.HasPrefix(reported.Summary, want) {
		t.Errorf("reported summary = %q, want it to start %q", reported.Summary, want)
	}
	if reported.Reference != o.Reference {
		t.Errorf("reported reference = %q, want %q as in the response", reported.Reference, o.Reference)
	}
}

func TestCallbackRetriedWhileHubDown(t *testing.T) {
	h := newHarness(t, reference.Config{})
	h.hub.mu.Lock()
	h.hub.down = 2
	h.hub.mu.Unlock()
	d := h.birth("housing-benefit", population.Births(testSeed, 1, today)[0])

	if code, _ := h.send(d, "msg_retry"); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitForCalls(t, h, 1)
	h.advance(time.Second) // the first retry is due a second after the failure
	waitForCalls(t, h, 2)
	h.advance(2 * time.Second)

	if _, ok := h.hub.callback(d.id); !ok {
		t.Fatal("no outcome reported after the hub came back")
	}
	// The service records the callback as sent after the hub has answered,
	// so wait for that record.
	sent := `SELECT COUNT(*) FROM callbacks WHERE state = 'sent'`
	for deadline := time.Now().Add(10 * time.Second); h.count("housing-benefit", sent) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.count("housing-benefit", `SELECT attempts FROM callbacks WHERE state = 'sent'`); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
}

func TestCallbackRejectedNotRetried(t *testing.T) {
	h := newHarness(t, reference.Config{})
	h.hub.mu.Lock()
	h.hub.conflict = true
	h.hub.mu.Unlock()
	d := h.birth("housing-benefit", population.Births(testSeed, 1, today)[0])

	if code, _ := h.send(d, "msg_conflict"); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitForCalls(t, h, 1)
	rejected := `SELECT COUNT(*) FROM callbacks WHERE state = 'rejected'`
	for deadline := time.Now().Add(10 * time.Second); h.count("housing-benefit", rejected) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.count("housing-benefit", rejected); n != 1 {
		t.Fatalf("rejected callbacks = %d, want 1", n)
	}

	// No retry follows, however long the service waits.
	h.advance(time.Hour)
	time.Sleep(500 * time.Millisecond) // two polls of the callback worker
	h.hub.mu.Lock()
	calls := h.hub.calls
	h.hub.mu.Unlock()
	if calls != 1 {
		t.Errorf("hub received %d callbacks, want 1", calls)
	}
}

func waitForCalls(t *testing.T, h *harness, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		h.hub.mu.Lock()
		calls := h.hub.calls
		h.hub.mu.Unlock()
		if calls >= n {
			return
		}
	}
	t.Fatalf("hub received fewer than %d callbacks in 10s", n)
}

func TestWithdrawalCancelsUnsentCallback(t *testing.T) {
	h := newHarness(t, reference.Config{})
	h.hub.mu.Lock()
	h.hub.down = 1
	h.hub.mu.Unlock()
	d := h.birth("housing-benefit", population.Births(testSeed, 1, today)[0])
	if code, _ := h.send(d, "msg_cancel"); code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitForCalls(t, h, 1)

	h.act(withdrawal("housing-benefit", d.id))
	h.advance(time.Minute)
	time.Sleep(500 * time.Millisecond) // two polls of the callback worker

	if n := h.count("housing-benefit", `SELECT count(*) FROM callbacks WHERE state = 'cancelled'`); n != 1 {
		t.Errorf("cancelled callbacks = %d, want 1", n)
	}
	h.hub.mu.Lock()
	_, reported := h.hub.outcomes[d.id]
	h.hub.mu.Unlock()
	if reported {
		t.Errorf("the outcome was reported after consent was withdrawn")
	}
}
