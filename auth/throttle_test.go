package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := &Throttle{Free: 2, Base: time.Second, Max: 5 * time.Second, Forget: time.Hour, MaxKeys: 10}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

	steps := []struct {
		failures int
		wantWait time.Duration
	}{
		{1, 0},
		{2, 0},
		{3, time.Second},
		{4, 2 * time.Second},
		{5, 4 * time.Second},
		{6, 5 * time.Second}, // capped at Max
		{7, 5 * time.Second},
	}
	for _, s := range steps {
		if got := th.Fail("ada", t0); got != s.failures {
			t.Fatalf("Fail returned %d, want %d", got, s.failures)
		}
		if got := th.Wait("ada", t0); got != s.wantWait {
			t.Errorf("after %d failures Wait = %v, want %v", s.failures, got, s.wantWait)
		}
	}

	if got := th.Wait("ada", t0.Add(3*time.Second)); got != 2*time.Second {
		t.Errorf("Wait 3s later = %v, want 2s", got)
	}
	if got := th.Wait("ben", t0); got != 0 {
		t.Errorf("Wait for another key = %v, want 0", got)
	}

	// After Forget without failures, the count starts again.
	later := t0.Add(time.Hour)
	if got := th.Wait("ada", later); got != 0 {
		t.Errorf("Wait after Forget = %v, want 0", got)
	}
	if got := th.Fail("ada", later); got != 1 {
		t.Errorf("Fail after Forget returned %d, want 1", got)
	}

	th.Fail("ada", later)
	th.Fail("ada", later)
	th.Reset("ada")
	if got := th.Wait("ada", later); got != 0 {
		t.Errorf("Wait after Reset = %v, want 0", got)
	}
}

func TestThrottleLongRun(t *testing.T) {
	th := &Throttle{Free: 0, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 10}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for range 100 {
		th.Fail("ada", t0)
	}
	if got := th.Wait("ada", t0); got != 15*time.Minute {
		t.Errorf("Wait after 100 failures = %v, want the 15m maximum", got)
	}
}

func TestThrottleMaxKeys(t *testing.T) {
	th := &Throttle{Free: 5, Base: time.Second, Max: time.Minute, Forget: time.Minute, MaxKeys: 3}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	th.Fail("old", t0)
	th.Fail("a", t0.Add(2*time.Minute))
	th.Fail("b", t0.Add(2*time.Minute))
	th.Fail("c", t0.Add(2*time.Minute))
	if _, ok := th.keys["old"]; ok {
		t.Error("forgotten key kept after MaxKeys was reached")
	}
	for i := range 20 {
		th.Fail(fmt.Sprintf("key-%d", i), t0.Add(2*time.Minute))
	}
	if len(th.keys) > 3 {
		t.Errorf("%d keys held, want at most MaxKeys 3", len(th.keys))
	}
}

func TestAddressKey(t *testing.T) {
	tests := map[string]string{
		"192.0.2.7":                  "192.0.2.7",
		"192.0.2.7:51234":            "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":       "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":           "192.0.2.7",
		"not an address":             "not an address",
	}
	for in, want := range tests {
		if got := AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWaitText(t *testing.T) {
	tests := map[time.Duration]string{
		time.Millisecond:               "1 second",
		time.Second:                    "1 second",
		1500 * time.Millisecond:        "2 seconds",
		119 * time.Second:              "119 seconds",
		2 * time.Minute:                "2 minutes",
		14*time.Minute + 1*time.Second: "15 minutes",
	}
	for in, want := range tests {
		if got := WaitText(in); got != want {
			t.Errorf("WaitText(%v) = %q, want %q", in, got, want)
		}
	}
}
