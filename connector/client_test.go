package connector_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/webhook"
)

// fakeHub serves the outcome callback as the hub does: it verifies the
// signature with the service's secret and records what it received.
type fakeHub struct {
	signer   *webhook.Signer
	ids      []string
	outcomes []joinedup.Outcome
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get(connector.HeaderService) != "school" {
		writeProblem(w, http.StatusUnauthorized, "Unknown service.")
		return
	}
	if err := h.signer.Verify(r.Header, body, time.Now()); err != nil {
		writeProblem(w, http.StatusUnauthorized, "Invalid signature.")
		return
	}
	if r.PathValue("id") != "dlv_1" {
		writeProblem(w, http.StatusNotFound, "Delivery dlv_x not found.")
		return
	}
	var o joinedup.Outcome
	if err := json.Unmarshal(body, &o); err != nil {
		writeProblem(w, http.StatusBadRequest, "Invalid outcome.")
		return
	}
	h.ids = append(h.ids, r.Header.Get(webhook.HeaderID))
	h.outcomes = append(h.outcomes, o)
	w.WriteHeader(http.StatusNoContent)
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(connector.Problem{Title: http.StatusText(status), Status: status, Detail: detail})
}

func startFakeHub(t *testing.T, secret string) (*fakeHub, string) {
	t.Helper()
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	hub := &fakeHub{signer: signer}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/deliveries/{id}/outcome", hub)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return hub, srv.URL
}

func TestReportOutcome(t *testing.T) {
	secret := webhook.NewSecret()
	hub, url := startFakeHub(t, secret)
	c, err := connector.NewClient(url, "school", secret, nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	o := joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Recorded for the September 2031 intake"}

	for range 2 {
		if err := c.ReportOutcome(context.Background(), "dlv_1", o); err != nil {
			t.Fatalf("ReportOutcome: %v", err)
		}
	}

	if len(hub.outcomes) != 2 {
		t.Fatalf("hub received %d outcomes, want 2", len(hub.outcomes))
	}
	if hub.outcomes[0].Summary != o.Summary {
		t.Errorf("summary = %q, want %q", hub.outcomes[0].Summary, o.Summary)
	}
	if hub.ids[0] == hub.ids[1] {
		t.Errorf("two callbacks used the same webhook-id %q, want a fresh one each", hub.ids[0])
	}
}

func TestReportOutcomeErrors(t *testing.T) {
	secret := webhook.NewSecret()
	_, url := startFakeHub(t, secret)
	tests := []struct {
		name     string
		secret   string
		delivery joinedup.DeliveryID
		want     string
	}{
		{"unknown delivery", secret, "dlv_x", joinedup.ENOTFOUND},
		{"wrong secret", webhook.NewSecret(), "dlv_1", joinedup.EUNAUTHORIZED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := connector.NewClient(url, "school", tt.secret, nil)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			err = c.ReportOutcome(context.Background(), tt.delivery, joinedup.Outcome{Status: joinedup.OutcomeActed})
			if got := joinedup.ErrorCode(err); got != tt.want {
				t.Errorf("error code = %q, want %q (error %v)", got, tt.want, err)
			}
		})
	}
}

func TestReportOutcomeHubDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := connector.NewClient(url, "school", webhook.NewSecret(), nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	err = c.ReportOutcome(context.Background(), "dlv_1", joinedup.Outcome{Status: joinedup.OutcomeActed})

	if got := joinedup.ErrorCode(err); got != joinedup.EUNAVAILABLE {
		t.Errorf("error code = %q, want %q", got, joinedup.EUNAVAILABLE)
	}
}

func TestRegister(t *testing.T) {
	var got joinedup.Service
	var auth string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/services", func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got)
		got.Secret = "whsec_generated"
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(got)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	s := joinedup.Service{
		ID:         "school",
		Name:       "Primary school pupil planning",
		EventTypes: []string{joinedup.EventBirthRegistered},
		Fields:     []string{"child.dateOfBirth"},
		Endpoint:   joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:8090/reference/school/events"},
	}
	created, err := connector.Register(context.Background(), nil, srv.URL, "token-1", s)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}

	if auth != "Bearer token-1" {
		t.Errorf("Authorization = %q, want %q", auth, "Bearer token-1")
	}
	if got.ID != "school" {
		t.Errorf("hub received id %q, want school", got.ID)
	}
	if created.Secret != "whsec_generated" {
		t.Errorf("returned secret = %q, want the hub's", created.Secret)
	}
}
