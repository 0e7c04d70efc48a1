package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

// TestDatesSurviveTimeZones registers births on a hub process running in
// one far-off time zone, with the receiving service in another, and checks
// that every date of birth reads back and arrives exactly as entered.
func TestDatesSurviveTimeZones(t *testing.T) {
	if testing.Short() {
		t.Skip("starts joinedup serve as a process; skipped with -short")
	}
	today := joinedup.Today(time.Now())
	dates := []string{
		today.String(),
		today.AddDate(0, 0, -1).String(),
		today.AddDate(0, -1, 0).String(),
		"2026-03-29", // the day the clocks go forward in London
		"2026-10-25", // the day the clocks go back
	}
	tests := []struct{ hubZone, serviceZone string }{
		{"Pacific/Kiritimati", "Pacific/Rarotonga"},
		{"Pacific/Rarotonga", "Pacific/Kiritimati"},
	}
	for _, tt := range tests {
		t.Run(tt.hubZone, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.serviceZone)
			if err != nil {
				t.Fatal(err)
			}
			// NOTE: the race detector reports this write, because an embedded
			// NATS server started by an earlier test reads time.Local.
			old := time.Local
			time.Local = loc
			defer func() { time.Local = old }()

			var rec recorder
			svc := serveRecorder(t, "registry", []string{"child.dateOfBirth", "parents.dateOfBirth"}, &rec)
			hub := startProcess(t, []string{"TZ=" + tt.hubZone},
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
		})
	}
}
