package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/webhook"
)

// badOutcomeTexts are outcomes whose text a page would show wrongly, each
// with the JSON Pointer of the field that must be named as invalid.
var badOutcomeTexts = []struct {
	name  string
	body  string
	field string
}{
	{"NUL and BEL in the summary", `{"status":"acted","summary":"Line1\u0000\nLine2\u0007"}`, "/summary"},
	{"direction override in the summary", `{"status":"acted","summary":"Evil\u202etxt.exe"}`, "/summary"},
	{"unreadable character in the reference", `{"status":"acted","summary":"Claim started","reference":"CB-\ufffd1"}`, "/reference"},
	{"NUL in a deferred action's name", `{"status":"acted","summary":"Recorded","deferred":[{"action":"nursery\u0000contact","due":"2029-09-01"}]}`, "/deferred/0/action"},
	{"zero-width space in a deferred action's summary", `{"status":"acted","summary":"Recorded","deferred":[{"action":"nursery-contact","due":"2029-09-01","summary":"Call\u200bthe parents"}]}`, "/deferred/0/summary"},
}

// TestInvalidOutcomeCallbackChangesNothing sends signed callbacks whose
// text contains control or invisible characters, each for a delivery of
// its own. Each must get a 422 problem naming the field and leave the
// delivery and its deferred actions as they were.
func TestInvalidOutcomeCallbackChangesNothing(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		ctx := context.Background()
		h := startHub(t, mode)
		rec := &recorder{outcome: joinedup.Outcome{Status: joinedup.OutcomeAccepted}}
		svc := startService(t, h, "benefits", []string{"child.name"}, rec)

		for i, tt := range badOutcomeTexts {
			t.Run(tt.name, func(t *testing.T) {
				out := registerBirth(t, h, nthBirthJSON(t, i, "2026-11-20", "benefits"))
				id := out.Event.Deliveries[0].ID
				waitDeliveryState(t, h, out.Event.ID, "benefits", joinedup.StateDelivered)
				before, err := h.DB.FindDelivery(ctx, id)
				if err != nil {
					t.Fatal(err)
				}

				resp, b := sendCallback(t, h, svc, id, []byte(tt.body))
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("status %d, want 422; body %s", resp.StatusCode, b)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Errorf("content type %q, want application/problem+json", ct)
				}
				p := decodeProblem(t, b)
				var fields []string
				for _, fe := range p.Errors {
					fields = append(fields, fe.Field)
				}
				if !slices.Equal(fields, []string{tt.field}) {
					t.Errorf("problem names %q, want [%s]; body %s", fields, tt.field, b)
				}

				after, err := h.DB.FindDelivery(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(after, before) {
					t.Errorf("delivery after the rejected callback = %+v, want it unchanged from %+v", after, before)
				}
				ev, err := h.LifeEvents.FindLifeEvent(ctx, out.Event.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(ev.Actions) != 0 {
					t.Errorf("deferred actions = %+v, want none", ev.Actions)
				}
			})
		}
	})
}

// TestInvalidOutcomeResponseFailsAttempt has a webhook service respond to
// each delivery with an outcome whose text contains control or invisible
// characters. The attempt must count as failed, with a last error that
// names the field, and the outcome's text must not be stored.
func TestInvalidOutcomeResponseFailsAttempt(t *testing.T) {
	eachMode(t, func(t *testing.T, mode func(*Config)) {
		ctx := context.Background()
		h := startHub(t, both(mode, func(c *Config) { c.MaxAttempts = 1 }))
		if err := h.DB.UpsertOrganisation(ctx, joinedup.Organisation{ID: "test-council", Name: "Test Council"}); err != nil {
			t.Fatal(err)
		}

		for i, tt := range badOutcomeTexts {
			t.Run(tt.name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Write([]byte(tt.body))
				}))
				t.Cleanup(srv.Close)
				id := joinedup.ServiceID("answers-" + string(rune('a'+i)))
				err := h.Directory.CreateService(ctx, &joinedup.Service{
					ID: id, Organisation: "test-council", Name: "Service " + string(id), Purpose: "testing",
					EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.name"}, Secret: webhook.NewSecret(),
					Endpoint: joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: srv.URL + "/events"},
				})
				if err != nil {
					t.Fatal(err)
				}

				out := registerBirth(t, h, nthBirthJSON(t, i, "2026-11-20", id))
				ev := waitComplete(t, h, out.Event.ID, 10*time.Second)

				d := ev.Deliveries[0]
				if d.State != joinedup.StateDeadLettered || d.Attempts != 1 {
					t.Errorf("delivery %s after %d attempts, want dead-lettered after 1", d.State, d.Attempts)
				}
				if !strings.Contains(d.LastError, "invalid outcome") || !strings.Contains(d.LastError, tt.field+": ") {
					t.Errorf("last error = %q, want an invalid outcome with %s named", d.LastError, tt.field)
				}
				if d.Outcome != nil {
					t.Errorf("outcome = %+v, want none stored", d.Outcome)
				}
				if len(ev.Actions) != 0 {
					t.Errorf("deferred actions = %+v, want none", ev.Actions)
				}
			})
		}
	})
}

// TestOutcomeTextAllowsLineBreaks checks that the rule for an outcome's
// text is the one for text that staff type: tabs and line breaks are
// valid, so a service may send a summary of more than one line.
func TestOutcomeTextAllowsLineBreaks(t *testing.T) {
	h := startHub(t, nil)
	rec := &recorder{outcome: joinedup.Outcome{Status: joinedup.OutcomeAccepted}}
	svc := startService(t, h, "benefits", []string{"child.name"}, rec)
	out := registerBirth(t, h, birthJSON(t, "2026-11-20", "benefits"))
	id := out.Event.Deliveries[0].ID
	waitDeliveryState(t, h, out.Event.ID, "benefits", joinedup.StateDelivered)

	body := []byte(`{"status":"acted","summary":"Claim started.\r\nFirst payment:\t4 December","reference":"CB-1"}`)
	if resp, b := sendCallback(t, h, svc, id, body); resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d, want 204; body %s", resp.StatusCode, b)
	}
}

// sendCallback posts body as svc's outcome callback for delivery id,
// signed with a fresh webhook-id, and returns the response and its body.
func sendCallback(t *testing.T, h *Hub, svc *joinedup.Service, id joinedup.DeliveryID, body []byte) (*http.Response, []byte) {
	t.Helper()
	signer, err := webhook.NewSigner(svc.Secret)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, h.BaseURL+"/api/v1/deliveries/"+string(id)+"/outcome", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Joinedup-Service", string(svc.ID))
	signer.SetHeaders(req.Header, "msg_"+rand.Text(), time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
