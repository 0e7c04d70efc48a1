package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/natsbus"
)

// sendAPI sends a request with client, adding the API token when
// withToken is set, and returns the status and the body.
func sendAPI(t *testing.T, client *http.Client, withToken bool, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if withToken {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// decodeProblem decodes an RFC 9457 problem document.
func decodeProblem(t *testing.T, body []byte) joinedup.Problem {
	t.Helper()
	var p joinedup.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode problem: %v; body %s", err, body)
	}
	return p
}

// waitDeliveryState polls until the delivery of event id to service is in
// state, for up to 10 seconds.
func waitDeliveryState(t *testing.T, h *Hub, id joinedup.EventID, service joinedup.ServiceID, state joinedup.DeliveryState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, err := h.LifeEvents.FindLifeEvent(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ev.Deliveries {
			if d.Service == service && d.State == state {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery of %s to %s did not become %s: %+v", id, service, state, ev.Deliveries)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pageText gets a page with client and returns its HTML, failing the test
// on any status other than 200.
func pageText(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	status, body := sendAPI(t, client, false, http.MethodGet, url, nil)
	if status != http.StatusOK {
		t.Fatalf("get %s: status %d, want 200; body %s", url, status, body)
	}
	return string(body)
}

// requestCount returns how many requests the recorder's service received.
func (r *recorder) requestCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}

func TestRetireServiceThroughAPI(t *testing.T) {
	eachMode(t, testRetireServiceThroughAPI)
}

func testRetireServiceThroughAPI(t *testing.T, mode func(*Config)) {
	ctx := context.Background()
	h := startHub(t, both(mode, func(c *Config) { c.Backoff = 100 * time.Millisecond; c.MaxAttempts = 1000 }))
	var down, up recorder
	down.fail = 1 << 30
	startService(t, h, "down", []string{"child.name"}, &down)
	startService(t, h, "up", []string{"child.name"}, &up)

	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "down", "up"))
	waitDeliveryState(t, h, out.Event.ID, "down", joinedup.StateRetrying)

	status, body := sendAPI(t, http.DefaultClient, true, http.MethodDelete, h.BaseURL+"/api/v1/services/down", nil)
	if status != http.StatusOK {
		t.Fatalf("remove service: status %d, want 200; body %s", status, body)
	}
	var retired joinedup.RetiredService
	if err := json.Unmarshal(body, &retired); err != nil {
		t.Fatalf("decode removal: %v; body %s", err, body)
	}
	if retired.DeadLettered != 1 {
		t.Errorf("removal dead-lettered %d deliveries, want the 1 retrying", retired.DeadLettered)
	}
	if retired.Service == nil || !retired.Service.Retired() {
		t.Fatalf("removal returned service %+v, want it with retiredAt", retired.Service)
	}
	if retired.Service.Secret != "" {
		t.Error("removal response shows the service's secret")
	}

	// The queued delivery is ended, and the other service is unaffected.
	ev := waitComplete(t, h, out.Event.ID, 10*time.Second)
	for _, d := range ev.Deliveries {
		switch d.Service {
		case "down":
			if d.State != joinedup.StateDeadLettered || d.LastError != joinedup.RetiredLastError {
				t.Errorf("delivery to the removed service is %s with %q, want dead-lettered with %q", d.State, d.LastError, joinedup.RetiredLastError)
			}
		case "up":
			if d.State != joinedup.StateActed {
				t.Errorf("delivery to the other service is %s, want acted", d.State)
			}
		}
	}

	// Nothing more reaches the removed service, its consumer is gone and
	// the stream holds no message for it.
	sent := down.requestCount()
	time.Sleep(time.Second)
	if n := down.requestCount(); n != sent {
		t.Errorf("removed service received %d more requests, want none", n-sent)
	}
	if _, err := h.Bus.Stream.Consumer(ctx, natsbus.ConsumerName("down")); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("consumer of the removed service: error %v, want consumer not found", err)
	}
	queued, err := h.Bus.QueuedByService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := queued["down"]; n != 0 {
		t.Errorf("stream holds %d messages for the removed service, want 0", n)
	}

	// A message that a relay publishes after the workers stopped is
	// purged on the next sync.
	if _, err := h.Bus.JS.Publish(ctx, h.Bus.Subject("down"), []byte(ev.Deliveries[0].ID)); err != nil {
		t.Fatal(err)
	}
	if err := h.Engine.SyncConsumers(ctx); err != nil {
		t.Fatal(err)
	}
	if queued, err = h.Bus.QueuedByService(ctx); err != nil {
		t.Fatal(err)
	}
	if n := queued["down"]; n != 0 {
		t.Errorf("stream holds %d messages for the removed service after a sync, want 0", n)
	}

	// It is no longer offered, but can still be listed on request.
	if got := listServiceIDs(t, h); !slices.Equal(got, []joinedup.ServiceID{"up"}) {
		t.Errorf("services = %v, want only up", got)
	}
	status, body = sendAPI(t, http.DefaultClient, true, http.MethodGet, h.BaseURL+"/api/v1/services?includeRetired=true", nil)
	var all struct {
		Items []joinedup.Service `json:"items"`
	}
	if err := json.Unmarshal(body, &all); err != nil || status != http.StatusOK {
		t.Fatalf("list with removed services: status %d, error %v", status, err)
	}
	i := slices.IndexFunc(all.Items, func(s joinedup.Service) bool { return s.ID == "down" })
	if i < 0 || !all.Items[i].Retired() {
		t.Errorf("list with removed services = %+v, want down with retiredAt", all.Items)
	} else if listed := all.Items[i].RetiredAt; !listed.Equal(retired.Service.RetiredAt) {
		t.Errorf("listed retiredAt %s, want the %s that the removal returned", listed.Format(time.RFC3339Nano), retired.Service.RetiredAt.Format(time.RFC3339Nano))
	}
	status, body = sendAPI(t, http.DefaultClient, true, http.MethodGet, h.BaseURL+"/api/v1/services?includeRetired=maybe", nil)
	if status != http.StatusUnprocessableEntity || !slices.Contains(problemFields(t, body), "/includeRetired") {
		t.Errorf("list with includeRetired=maybe: status %d, body %s; want 422 naming /includeRetired", status, body)
	}

	// Reading, changing and removing it again get 404 saying it was
	// removed, and its id cannot be registered again.
	removedRequests := []struct {
		name   string
		method string
		body   []byte
	}{
		{"read", http.MethodGet, nil},
		{"change", http.MethodPut, serviceJSON(t, "down", "http://127.0.0.1:9/events")},
		{"remove again", http.MethodDelete, nil},
	}
	for _, rr := range removedRequests {
		status, body := sendAPI(t, http.DefaultClient, true, rr.method, h.BaseURL+"/api/v1/services/down", rr.body)
		if status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404; body %s", rr.name, status, body)
			continue
		}
		if p := decodeProblem(t, body); !strings.Contains(p.Detail, "was removed") {
			t.Errorf("%s: detail %q does not say the service was removed", rr.name, p.Detail)
		}
	}
	status, body = sendAPI(t, http.DefaultClient, true, http.MethodDelete, h.BaseURL+"/api/v1/services/never-registered", nil)
	if status != http.StatusNotFound {
		t.Errorf("remove an unknown service: status %d, want 404; body %s", status, body)
	}
	status, body = postService(t, h, http.DefaultClient, true, "down", "http://127.0.0.1:9/events")
	if status != http.StatusConflict {
		t.Errorf("register the removed id again: status %d, want 409; body %s", status, body)
	} else if p := decodeProblem(t, body); !strings.Contains(p.Detail, "removed service had the id") {
		t.Errorf("register the removed id again: detail %q does not say a removed service had the id", p.Detail)
	}

	// A registration naming it is rejected as one naming an unknown
	// service is, and records nothing.
	beforePage, err := h.DB.ListLifeEvents(ctx, joinedup.LifeEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	before := beforePage.Items
	unknownStatus, unknownBody := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/births", nthBirthJSON(t, 1, "2026-11-20", "no-such-service"))
	removedStatus, removedBody := sendAPI(t, http.DefaultClient, true, http.MethodPost, h.BaseURL+"/api/v1/births", nthBirthJSON(t, 1, "2026-11-20", "down"))
	if removedStatus != http.StatusUnprocessableEntity || unknownStatus != removedStatus {
		t.Fatalf("registration naming the removed service: status %d, want 422 as for an unknown service (%d); body %s", removedStatus, unknownStatus, removedBody)
	}
	unknownErrors, removedErrors := decodeProblem(t, unknownBody).Errors, decodeProblem(t, removedBody).Errors
	if len(removedErrors) != 1 || removedErrors[0].Field != "/consent/services/0" {
		t.Errorf("registration naming the removed service: errors %+v, want one on /consent/services/0", removedErrors)
	}
	wantMessage := strings.Replace(unknownErrors[0].Message, "no-such-service", "down", 1)
	if len(removedErrors) == 1 && removedErrors[0].Message != wantMessage {
		t.Errorf("registration naming the removed service: message %q, want the unknown service's %q", removedErrors[0].Message, wantMessage)
	}
	afterPage, err := h.DB.ListLifeEvents(ctx, joinedup.LifeEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	after := afterPage.Items
	if len(after) != len(before) {
		t.Errorf("life events after the rejected registrations = %d, want %d", len(after), len(before))
	}

	// The public tracking page still names the removed service.
	page := pageText(t, http.DefaultClient, h.BaseURL+"/track/"+out.Event.Reference)
	if !strings.Contains(page, "Service down") || !strings.Contains(page, "removed from the hub") {
		t.Errorf("tracking page does not name the removed service and say it was removed:\n%s", page)
	}
}

// TestOnlyOperatorRemovesService checks that signed-in staff other than an
// operator cannot remove a service, that an operator's removal is
// audited, and that a removed service's dead-lettered delivery cannot be
// replayed.
func TestOnlyOperatorRemovesService(t *testing.T) {
	ctx := context.Background()
	h := startHub(t, func(c *Config) { c.Demo = true; c.APIToken = testToken; c.MaxAttempts = 1 })
	var down recorder
	down.fail = 1 << 30
	startService(t, h, "down", []string{"child.name"}, &down)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "down"))
	waitDeliveryState(t, h, out.Event.ID, "down", joinedup.StateDeadLettered)
	url := h.BaseURL + "/api/v1/services/down"

	for _, username := range []string{"officer-child-benefit", "social-worker", "registrar", "data-protection-officer", demoResidentName(0)} {
		t.Run(username, func(t *testing.T) {
			status, body := sendAPI(t, signedInClient(t, h, username), false, http.MethodDelete, url, nil)
			if status != http.StatusForbidden {
				t.Fatalf("status = %d, want 403; body %s", status, body)
			}
			if p := decodeProblem(t, body); p.Type != joinedup.ProblemTypePrefix+joinedup.EFORBIDDEN {
				t.Errorf("problem type %q, want forbidden", p.Type)
			}
		})
	}
	if svc, err := h.Directory.FindService(ctx, "down"); err != nil || svc.Retired() {
		t.Fatalf("service after the denied removals: %+v, error %v; want it in use", svc, err)
	}
	if ids := listServiceIDs(t, h); !slices.Contains(ids, "down") {
		t.Errorf("services after the denied removals = %v, want down still listed", ids)
	}
	registrar := signedInClient(t, h, "registrar")
	choice := `name="consent-services" type="checkbox" value="down"`
	if form := pageText(t, registrar, h.BaseURL+"/births/new"); !strings.Contains(form, choice) {
		t.Fatalf("birth form does not offer the service before its removal:\n%s", form)
	}

	operator := signedInClient(t, h, "operator")
	if status, body := sendAPI(t, operator, false, http.MethodDelete, url, nil); status != http.StatusOK {
		t.Fatalf("operator: status %d, want 200; body %s", status, body)
	}
	if form := pageText(t, registrar, h.BaseURL+"/births/new"); strings.Contains(form, choice) {
		t.Error("birth form still offers the removed service")
	}

	records, err := h.DB.AuditRecords(ctx, 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	removals := 0
	for _, r := range records {
		if strings.Contains(string(r.Detail), `"ServiceDirectory:down"`) && strings.Contains(string(r.Detail), `"remove"`) {
			removals++
		}
	}
	if removals != 1 {
		t.Errorf("audit log has %d removals of the service, want 1", removals)
	}

	// The dead-lettered delivery cannot be replayed, through the API or
	// the operator's page, which offers no Replay button for it.
	delivery := out.Event.Deliveries[0].ID
	status, body := sendAPI(t, operator, false, http.MethodPost, h.BaseURL+"/api/v1/deliveries/"+string(delivery)+"/replay", nil)
	if status != http.StatusConflict {
		t.Fatalf("replay a delivery to the removed service: status %d, want 409; body %s", status, body)
	}
	if p := decodeProblem(t, body); !strings.Contains(p.Detail, "was removed") {
		t.Errorf("replay problem detail %q does not say the service was removed", p.Detail)
	}
	if d, err := h.DB.FindDelivery(ctx, delivery); err != nil || d.State != joinedup.StateDeadLettered {
		t.Errorf("delivery after the rejected replay: %+v, error %v; want dead-lettered", d, err)
	}
	page := pageText(t, operator, h.BaseURL+"/operator/deliveries?state=dead-lettered")
	if !strings.Contains(page, "Service down") {
		t.Errorf("deliveries page does not name the removed service:\n%s", page)
	}
	if strings.Contains(page, "/operator/deliveries/"+string(delivery)+"/replay") {
		t.Error("deliveries page offers to replay a delivery to the removed service")
	}
}

// TestServicesFileKeepsServiceRemoved removes a service that the services
// file lists, restarts the hub with the same file, and checks that the
// service stays removed and the start logs a warning.
func TestServicesFileKeepsServiceRemoved(t *testing.T) {
	dir := t.TempDir()
	var gp recorder
	svc := serveRecorder(t, "gp", []string{"child.name"}, &gp)
	file := servicesFileFor(t, svc)
	config := func(c *Config) { c.Data, c.ServicesFile = dir, file }

	first := startHub(t, config)
	if status, body := sendAPI(t, http.DefaultClient, true, http.MethodDelete, first.BaseURL+"/api/v1/services/gp", nil); status != http.StatusOK {
		t.Fatalf("remove service: status %d, want 200; body %s", status, body)
	}
	removed, err := first.Directory.FindService(context.Background(), "gp")
	if err != nil {
		t.Fatal(err)
	}
	first.Close()

	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.Addr, cfg.APIToken = "127.0.0.1:0", testToken
	config(&cfg)
	second, err := OpenHub(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("restart with the services file that lists the removed service: %v", err)
	}
	t.Cleanup(func() { second.Close() })

	stored, err := second.Directory.FindService(context.Background(), "gp")
	if err != nil {
		t.Fatal(err)
	}
	if !stored.RetiredAt.Equal(removed.RetiredAt) {
		t.Errorf("service after the restart retired at %v, want %v as before", stored.RetiredAt, removed.RetiredAt)
	}
	if got := listServiceIDs(t, second); len(got) != 0 {
		t.Errorf("services after the restart = %v, want none", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "service_id=gp") {
		t.Errorf("start log has no warning about the removed service:\n%s", logs.String())
	}
}
