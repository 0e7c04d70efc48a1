package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/store/storetest"
	"github.com/joinedup/joinedup/webhook"
)

// eachMode runs fn as a subtest on the embedded default ("embedded") and,
// when PostgreSQL and NATS are configured, in cluster mode ("cluster").
// fn passes the mode's configuration change to startHub.
func eachMode(t *testing.T, fn func(t *testing.T, mode func(*Config))) {
	t.Run("embedded", func(t *testing.T) { fn(t, func(*Config) {}) })
	t.Run("cluster", func(t *testing.T) {
		dbURL := storetest.PostgresURL(t)
		natsURL, stream := clusterStream(t)
		fn(t, func(c *Config) { c.DatabaseURL, c.NATSURL, c.Stream = dbURL, natsURL, stream })
	})
}

// both returns a configuration change that applies a and then b.
func both(a, b func(*Config)) func(*Config) {
	return func(c *Config) {
		if a != nil {
			a(c)
		}
		if b != nil {
			b(c)
		}
	}
}

// TestNATSEndpointService delivers to a service that receives on a NATS
// subject rather than a webhook.
func TestNATSEndpointService(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		ctx := context.Background()
		h := startHub(t, mode)
		if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "nhs", Name: "NHS Trust"}); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "svc.db")+"?_txlock=immediate&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		secret := webhook.NewSecret()
		var got []*connector.Event
		receiver, err := connector.New(ctx, connector.Config{Service: "hospital", Secrets: []string{secret}, DB: db, Logger: testLogger(t),
			Handler: connector.HandlerFunc(func(ctx context.Context, tx *sql.Tx, e *connector.Event) (joinedup.Outcome, error) {
				got = append(got, e)
				return joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Noted on the maternity record"}, nil
			})})
		if err != nil {
			t.Fatal(err)
		}
		subject := "services." + t.Name()[len("TestNATSEndpointService/"):] + ".hospital"
		sub, err := receiver.Subscribe(ctx, h.Bus.Conn, subject)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()

		err = h.Directory.CreateService(ctx, &joinedup.Service{ID: "hospital", Organisation: "nhs", Name: "Maternity", Purpose: "testing",
			EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.dateOfBirth"}, Secret: secret,
			Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointNATS, Subject: subject}})
		if err != nil {
			t.Fatal(err)
		}
		out := registerBirth(t, h, birthJSON(t, "2026-11-20", "hospital"))
		ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
		if d := ev.Deliveries[0]; d.State != joinedup.StateActed || d.Outcome.Summary != "Noted on the maternity record" {
			t.Errorf("delivery = %s %+v, want acted with the service's summary", d.State, d.Outcome)
		}
		if len(got) != 1 || string(got[0].Data) != `{"child":{"dateOfBirth":"2026-11-20"}}` {
			t.Errorf("service received %d events, first %s; want one with the date of birth only", len(got), dataOf(got))
		}
	})
}

func dataOf(events []*connector.Event) string {
	if len(events) == 0 {
		return "none"
	}
	return string(events[0].Data)
}

// TestOutcomeByCallback has a service accept a delivery and report the
// outcome later by a signed callback.
func TestOutcomeByCallback(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		ctx := context.Background()
		h := startHub(t, mode)
		rec := &recorder{outcome: joinedup.Outcome{Status: joinedup.OutcomeAccepted}}
		svc := startService(t, h, "benefits", []string{"child.name"}, rec)

		out := registerBirth(t, h, birthJSON(t, "2026-11-20", "benefits"))
		id := out.Event.Deliveries[0].ID
		deadline := time.Now().Add(10 * time.Second)
		for {
			d, err := h.DB.FindDelivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if d.State == joinedup.StateDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery is %s, want delivered", d.State)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// A callback signed with another secret is rejected and changes nothing.
		forger, err := connector.NewClient(h.BaseURL, "benefits", webhook.NewSecret(), http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		if err := forger.ReportOutcome(ctx, id, joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Forged"}); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
			t.Errorf("forged callback: got %v, want unauthorized", err)
		}

		client, err := connector.NewClient(h.BaseURL, "benefits", svc.Secret, http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		outcome := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Claim started", Reference: "CB-1"}
		for range 2 {
			if err := client.ReportOutcome(ctx, id, outcome); err != nil {
				t.Fatalf("report outcome: %v", err)
			}
		}
		ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
		if d := ev.Deliveries[0]; d.State != joinedup.StateActed || d.Outcome.Summary != "Claim started" {
			t.Errorf("delivery = %s %+v, want acted with the callback's summary", d.State, d.Outcome)
		}

		// The same signed message sent twice, as someone who captured it
		// would, is refused the second time.
		signer, err := webhook.NewSigner(svc.Secret)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"status":"acted","summary":"Claim started","reference":"CB-1"}`)
		header := http.Header{"Content-Type": {"application/json"}, "Joinedup-Service": {"benefits"}}
		signer.SetHeaders(header, "msg_captured", time.Now(), body)
		for i, want := range []int{http.StatusNoContent, http.StatusUnauthorized} {
			req, err := http.NewRequest(http.MethodPost, h.BaseURL+"/api/v1/deliveries/"+string(id)+"/outcome", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("signed message sent the %d time: status %d, want %d", i+1, resp.StatusCode, want)
			}
		}
	})
}
