package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/connector"
	"github.com/joinedup/joinedup/webhook"
)

// lockedBuffer is a bytes.Buffer that a command and a test can share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startReferenceServices runs reference-services against hub until the
// returned function cancels it, and waits until it lists its four
// services. The channel receives the command's result.
func startReferenceServices(t *testing.T, hub, data, token string) (context.CancelFunc, chan error, *lockedBuffer) {
	t.Helper()
	cancel, done, stdout, _ := startReferenceServicesListing(t, hub, data, token, 4)
	return cancel, done, stdout
}

// startReferenceServicesListing is startReferenceServices waiting for
// the given number of services to be listed, and returning the log too.
func startReferenceServicesListing(t *testing.T, hub, data, token string, listed int) (context.CancelFunc, chan error, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runReferenceServices(ctx, []string{"--hub", hub, "--addr", "127.0.0.1:0",
			"--data", data, "--families", "50", "--token", token}, stdout, stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(stdout.String(), "\n") < listed {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("reference-services exited: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("reference-services did not start in 30s\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cancel, done, stdout, stderr
}

func TestReferenceServicesCommand(t *testing.T) {
	var mu sync.Mutex
	registered := map[joinedup.ServiceID]joinedup.Service{}
	hub := http.NewServeMux()
	// read decodes a registration sent with the token, and responds 401
	// to any other.
	read := func(w http.ResponseWriter, r *http.Request) (joinedup.Service, bool) {
		var s joinedup.Service
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			w.WriteHeader(http.StatusUnauthorized)
			return s, false
		}
		json.NewDecoder(r.Body).Decode(&s)
		return s, true
	}
	hub.HandleFunc("POST /api/v1/services", func(w http.ResponseWriter, r *http.Request) {
		s, ok := read(w, r)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := registered[s.ID]; ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"title":"Conflict","status":409,"detail":"The service already exists."}`))
			return
		}
		registered[s.ID] = s
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(s)
	})
	hub.HandleFunc("PUT /api/v1/services/{id}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := read(w, r)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := registered[s.ID]; !ok || string(s.ID) != r.PathValue("id") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		registered[s.ID] = s
		json.NewEncoder(w).Encode(s)
	})
	hubServer := httptest.NewServer(hub)
	defer hubServer.Close()

	data := t.TempDir()
	start := func() (context.CancelFunc, chan error, *lockedBuffer) {
		return startReferenceServices(t, hubServer.URL, data, "t0ken")
	}

	cancel, done, stdout := start()
	mu.Lock()
	count, school := len(registered), registered["primary-school"]
	mu.Unlock()
	if count != 4 {
		t.Errorf("hub has %d services, want 4", count)
	}

	if !strings.Contains(stdout.String(), "primary-school: "+school.Endpoint.URL) {
		t.Errorf("output %q does not list the school's endpoint %s", stdout.String(), school.Endpoint.URL)
	}
	signer, err := webhook.NewSigner(school.Secret)
	if err != nil {
		t.Fatalf("registered secret: %v", err)
	}
	body, _ := json.Marshal(connector.Event{SpecVersion: "1.0", ID: "msg_cmd", Source: hubServer.URL,
		Type: connector.TypeConsentWithdrawn, Delivery: "dlv_unknown",
		Data: json.RawMessage(`{"deliveryId":"dlv_unknown","eventReference":"BR-1","withdrawnAt":"2027-01-01T00:00:00Z"}`)})
	req, _ := http.NewRequest(http.MethodPost, school.Endpoint.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", connector.ContentType)
	signer.SetHeaders(req.Header, "msg_cmd", time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send event: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("event: status %d, want 200", resp.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("reference-services after cancel: %v", err)
	}

	// A second start on the same data keeps the secrets, and updates the
	// registrations that the hub has with its new address.
	cancel, done, stdout = start()
	mu.Lock()
	again := registered["primary-school"]
	mu.Unlock()
	if again.Secret != school.Secret {
		t.Errorf("second start changed the school's secret")
	}
	if !strings.Contains(stdout.String(), "primary-school: "+again.Endpoint.URL) {
		t.Errorf("second start's output %q does not list the school's registered endpoint %s", stdout.String(), again.Endpoint.URL)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("second start: %v", err)
	}
}

func TestReferenceServicesFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no hub", []string{"--data", t.TempDir()}, "--hub and --data are required"},
		{"no data", []string{"--hub", "http://127.0.0.1:8080"}, "--hub and --data are required"},
		{"hub not a URL", []string{"--hub", "127.0.0.1:8080", "--data", t.TempDir()}, "invalid --hub"},
		{"extra argument", []string{"--hub", "http://127.0.0.1:8080", "--data", t.TempDir(), "now"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			err := runReferenceServices(context.Background(), tt.args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestReferenceServicesWithRealHub runs reference-services as its own
// process would, against a real hub: the services register through the
// hub's API, and a birth registered at the hub reaches all four, each of
// which reports an outcome.
func TestReferenceServicesWithRealHub(t *testing.T) {
	services := filepath.Join(t.TempDir(), "services.json")
	organisations, err := json.Marshal(map[string]any{"organisations": demoOrganisations})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(services, organisations, 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, func(c *Config) { c.ServicesFile = services })
	cancel, done, _ := startReferenceServices(t, h.BaseURL, t.TempDir(), testToken)
	defer cancel()

	registered, err := h.Directory.ListServices(context.Background())
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	var ids []joinedup.ServiceID
	for _, s := range registered {
		ids = append(ids, s.ID)
	}
	if len(ids) != 4 {
		t.Fatalf("hub has services %v, want the four reference services", ids)
	}

	// actOn registers a birth for ids, born on date, and checks that each
	// service reports an outcome. stop ends a run and checks its result.
	actOn := func(run, date string, ids []joinedup.ServiceID) {
		t.Helper()
		out := registerBirth(t, h, birthJSON(t, date, ids...))
		ev := waitComplete(t, h, out.Event.ID, 30*time.Second)
		for _, d := range ev.Deliveries {
			if d.Outcome == nil {
				t.Errorf("after the %s run, delivery to %s has no outcome (state %s, last error %q)", run, d.Service, d.State, d.LastError)
			}
		}
	}
	stop := func(run string, cancel context.CancelFunc, done chan error) {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s reference-services run after cancel: %v", run, err)
		}
	}
	actOn("first", "2026-11-30", ids)
	stop("first", cancel, done)

	// Run again from another data directory, with other secrets, on
	// another port: the hub takes the new registrations and sends there.
	cancel, done, stdout := startReferenceServices(t, h.BaseURL, t.TempDir(), testToken)
	defer cancel()
	for _, id := range ids {
		s, err := h.Directory.FindService(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := string(id) + ": " + s.Endpoint.URL + "\n"; !strings.Contains(stdout.String(), want) {
			t.Errorf("hub sends %s to %s, which the second run does not serve:\n%s", id, s.Endpoint.URL, stdout)
		}
	}
	actOn("second", "2026-11-29", ids)
	stop("second", cancel, done)

	// With the school removed from the hub, a third run serves the other
	// three and logs that the school is not registered.
	if _, err := h.Directory.RetireService(context.Background(), "primary-school"); err != nil {
		t.Fatal(err)
	}
	cancel, done, stdout, stderr := startReferenceServicesListing(t, h.BaseURL, t.TempDir(), testToken, 3)
	defer cancel()
	if strings.Contains(stdout.String(), "primary-school") || !strings.Contains(stderr.String(), "register primary-school") {
		t.Errorf("third run lists the removed school, or does not log why it is not registered:\n%s\n%s", stdout, stderr)
	}
	running := slices.DeleteFunc(slices.Clone(ids), func(id joinedup.ServiceID) bool { return id == "primary-school" })
	actOn("third", "2026-11-28", running)
	stop("third", cancel, done)
}

// TestReferenceServicesUnknownOrganisation checks that registering with a
// hub that lacks the services' organisations fails with a message that
// names the organisation and explains how to add it.
func TestReferenceServicesUnknownOrganisation(t *testing.T) {
	h := startHub(t, func(c *Config) { c.APITokenOrganisation = "test-council" })
	var stdout, stderr lockedBuffer
	err := runReferenceServices(context.Background(), []string{"--hub", h.BaseURL, "--addr", "127.0.0.1:0",
		"--data", t.TempDir(), "--families", "20", "--token", testToken}, &stdout, &stderr)
	if err == nil {
		t.Fatalf("reference-services succeeded against a hub without their organisations")
	}
	for _, want := range []string{`organisation "hmrc"`, `organisation "council"`, `organisation "riverside-surgery"`,
		`organisation "riverside-primary"`, "-services file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestReferenceServicesRegistrationErrors checks that the command names
// what to fix when the hub cannot be reached or rejects the token.
func TestReferenceServicesRegistrationErrors(t *testing.T) {
	h := startHub(t, nil)
	tests := []struct {
		name, hub, token, want string
	}{
		{"no hub", "http://127.0.0.1:1", testToken, "the hub at http://127.0.0.1:1 could not be reached"},
		{"wrong token", h.BaseURL, "not-the-token", "--token must be the hub's -api-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr lockedBuffer
			err := runReferenceServices(context.Background(), []string{"--hub", tt.hub, "--addr", "127.0.0.1:0",
				"--data", t.TempDir(), "--families", "20", "--token", tt.token}, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
