package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

// Environment of the child process that TestDatesSurviveTimeZones runs
// for each pair of zones. The child's TZ sets its local zone, where the
// receiving service runs, when the process starts.
const (
	serviceZoneVar = "JOINEDUP_TEST_SERVICE_ZONE"
	hubZoneVar     = "JOINEDUP_TEST_HUB_ZONE"
)

// TestDatesSurviveTimeZones registers births on a hub process running in
// one far-off time zone, with the receiving service in another, and checks
// that every date of birth reads back and arrives exactly as entered. The
// service runs in a test process of its own, started with TZ set, because
// changing time.Local in a running process races with every goroutine
// that reads the time.
func TestDatesSurviveTimeZones(t *testing.T) {
	if testing.Short() {
		t.Skip("starts joinedup serve as a process; skipped with -short")
	}
	if zone := os.Getenv(serviceZoneVar); zone != "" {
		datesSurvive(t, os.Getenv(hubZoneVar), zone)
		return
	}
	bin := binary(t)
	for _, tt := range []struct{ hubZone, serviceZone string }{
		{"Pacific/Kiritimati", "Pacific/Rarotonga"},
		{"Pacific/Rarotonga", "Pacific/Kiritimati"},
	} {
		t.Run(tt.hubZone, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDatesSurviveTimeZones$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "TZ="+tt.serviceZone, serviceZoneVar+"="+tt.serviceZone,
				hubZoneVar+"="+tt.hubZone, binaryVar+"="+bin)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("test process with the service in %s: %v\n%s", tt.serviceZone, err, out)
			}
		})
	}
}

// datesSurvive runs TestDatesSurviveTimeZones with the hub in hubZone and
// the service in this process, whose local zone must be serviceZone.
func datesSurvive(t *testing.T, hubZone, serviceZone string) {
	loc, err := time.LoadLocation(serviceZone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, localOffset := now.Zone()
	_, zoneOffset := now.In(loc).Zone()
	if localOffset != zoneOffset {
		t.Fatalf("the test process runs %d s from UTC, not in %s: start it with TZ=%s", localOffset, serviceZone, serviceZone)
	}
	today := joinedup.Today(now)
	dates := []string{
		today.String(),
		today.AddDate(0, 0, -1).String(),
		today.AddDate(0, -1, 0).String(),
		"2026-03-29", // the day the clocks go forward in London
		"2026-10-25", // the day the clocks go back
	}

	var rec recorder
	svc := serveRecorder(t, "registry", []string{"child.dateOfBirth", "parents.dateOfBirth"}, &rec)
	hub := startProcess(t, []string{"TZ=" + hubZone},
		"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--services", servicesFileFor(t, svc))

	var ids []joinedup.EventID
	for _, dob := range dates {
		d := mustDate(t, dob)
		if d.Before(today.AddDate(-1, 0, 0)) {
			continue
		}
		id, err := postBirth(t, hub.BaseURL, birthJSON(t, dob, "registry"))
		if err != nil {
			t.Fatalf("register birth on %s: %v", dob, err)
		}
		ids = append(ids, id)

		var ev joinedup.LifeEvent
		if err := getJSON(t, hub.BaseURL+"/api/v1/life-events/"+string(id), &ev); err != nil {
			t.Fatal(err)
		}
		var reg joinedup.BirthRegistration
		if err := json.Unmarshal(ev.Payload, &reg); err != nil {
			t.Fatal(err)
		}
		if got := reg.Child.DateOfBirth.String(); got != dob {
			t.Errorf("date of birth read back as %s, want %s", got, dob)
		}
	}
	waitAllComplete(t, hub.BaseURL, ids, 30*time.Second)
	hub.stop(t)

	received := map[string]bool{}
	for _, e := range rec.received() {
		var reg joinedup.BirthRegistration
		if err := json.Unmarshal(e.Data, &reg); err != nil {
			t.Fatal(err)
		}
		received[reg.Child.DateOfBirth.String()] = true
		if got := reg.Parents[0].DateOfBirth.String(); got != "1990-03-04" {
			t.Errorf("parent's date of birth arrived as %s, want 1990-03-04", got)
		}
	}
	for _, dob := range dates {
		if !mustDate(t, dob).Before(today.AddDate(-1, 0, 0)) && !received[dob] {
			t.Errorf("no birth with date of birth %s arrived; got %v", dob, received)
		}
	}
}
