package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

// TestTrackThrottlesGuessing checks that a client address that looks up
// many reference numbers that do not exist must wait, and that other
// addresses can still track their registrations.
func TestTrackThrottlesGuessing(t *testing.T) {
	env := newTestEnv(t)
	rec := env.postJSON(t, "/api/v1/births", validBirth)
	if rec.Code != http.StatusCreated {
		t.Fatalf("register birth: status %d, body %s", rec.Code, rec.Body)
	}
	var created struct {
		Event struct{ Reference string } `json:"event"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.Event.Reference == "" {
		t.Fatalf("decode registration: %v, body %s", err, rec.Body)
	}

	track := func(reference, address string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/track/"+reference, nil)
		req.RemoteAddr = address
		rec := httptest.NewRecorder()
		env.handler.ServeHTTP(rec, req)
		return rec
	}
	const guesser = "198.51.100.7:40000"
	for i := range 21 {
		if rec := track(fmt.Sprintf("JU-AAAA-%04d", i), guesser); rec.Code != http.StatusNotFound {
			t.Fatalf("unknown reference %d: status %d, want 404", i, rec.Code)
		}
	}

	rec = track(created.Event.Reference, guesser)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("lookup after 21 unknown references: status %d, want 429", rec.Code)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("429 has no Retry-After header")
	}
	if body := rec.Body.String(); !strings.Contains(body, "too many reference numbers") || strings.Contains(body, "Who has been told") {
		t.Errorf("429 page does not explain the wait, or shows the registration:\n%s", body)
	}

	if rec := track(created.Event.Reference, "203.0.113.9:40000"); rec.Code != http.StatusOK {
		t.Errorf("another address tracks the registration: status %d, want 200", rec.Code)
	}
}

// TestTrackSaysWhenServiceUnreached checks that the informant's page does
// not call every service finished while one could not be reached.
func TestTrackSaysWhenServiceUnreached(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.setState(ev.Deliveries[0].ID, joinedup.StateDeadLettered, "connection refused")
	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if !strings.Contains(body, "The hub could not reach every service") || strings.Contains(body, "Every service has finished") {
		t.Errorf("tracking page with a dead-lettered delivery does not say a service was not reached:\n%s", body)
	}
}

// TestTrackSaysWhenServiceUnconfirmed checks that the informant's page
// does not call a service unreached when an attempt may have reached it,
// as when it responded without a valid outcome until attempts ran out.
func TestTrackSaysWhenServiceUnconfirmed(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.setState(ev.Deliveries[0].ID, joinedup.StateDeadLettered, "the service responded 200 OK with no outcome")
	env.hub.mu.Lock()
	ev.Deliveries[0].Reached = true
	env.hub.mu.Unlock()
	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if !strings.Contains(body, ">Sent, not confirmed</strong>") || !strings.Contains(body, "Not every service confirmed what it did") {
		t.Errorf("tracking page with a dead-lettered delivery that reached its service does not say it was sent and not confirmed:\n%s", body)
	}
	if strings.Contains(body, "Not reached") || strings.Contains(body, "could not reach every service") {
		t.Errorf("tracking page says a service that may hold the details was not reached:\n%s", body)
	}
}

// TestTrackSaysBothKindsOfDeadLetter checks that the informant's page
// names both kinds of dead letter when the registration has one of each.
func TestTrackSaysBothKindsOfDeadLetter(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", strings.Replace(validBirth, `"services": ["child-benefit"]`, `"services": ["child-benefit", "gp-practice"]`, 1))
	ev := env.hub.events[0]
	if len(ev.Deliveries) != 2 {
		t.Fatalf("registration has %d deliveries, want 2", len(ev.Deliveries))
	}
	env.hub.setState(ev.Deliveries[0].ID, joinedup.StateDeadLettered, "connection refused")
	env.hub.setState(ev.Deliveries[1].ID, joinedup.StateDeadLettered, "webhook returned status 503 Service Unavailable")
	env.hub.mu.Lock()
	ev.Deliveries[1].Reached = true
	env.hub.mu.Unlock()
	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if !strings.Contains(body, "The hub could not reach every service, and not every service it reached confirmed what it did") {
		t.Errorf("tracking page with both kinds of dead letter does not name both:\n%s", body)
	}
	if !strings.Contains(body, ">Not reached</strong>") || !strings.Contains(body, ">Sent, not confirmed</strong>") {
		t.Errorf("tracking page lacks a tag of each kind of dead letter:\n%s", body)
	}
}

// TestLifeEventsListLabelsWithdrawalNotice checks that the operator's
// list of life events names a withdrawal notice as such, as the event's
// own page does.
func TestLifeEventsListLabelsWithdrawalNotice(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.mu.Lock()
	first := ev.Deliveries[0]
	ev.Deliveries = append(ev.Deliveries, &joinedup.Delivery{ID: first.ID + "-notice", EventID: ev.ID, Service: first.Service,
		Kind: joinedup.EventConsentWithdrawn, State: joinedup.StatePending})
	env.hub.mu.Unlock()
	env.signInAs(t, env.operator)
	body := env.do(t, http.MethodGet, "/operator/life-events", nil, nil).Body.String()
	if n := strings.Count(body, "(told that consent was withdrawn)"); n != 1 {
		t.Errorf("the list labels %d deliveries as withdrawal notices, want 1:\n%s", n, body)
	}
}

// TestTrackFormOneReference checks that the tracking form sends one
// reference number on to its page, and that a query giving two gets the
// form again with an error rather than the page of the first.
func TestTrackFormOneReference(t *testing.T) {
	env := newTestEnv(t)
	env.session = nil

	rec := env.do(t, http.MethodGet, "/track?reference=ju-7k3m-9qxd", nil, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/track/JU-7K3M-9QXD" {
		t.Errorf("one reference: status %d to %q, want 303 to /track/JU-7K3M-9QXD", rec.Code, rec.Header().Get("Location"))
	}

	rec = env.do(t, http.MethodGet, "/track?reference=JU-7K3M-9QXD&reference=JU-AAAA-0000", nil, nil)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("two references: status %d, want 422", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "Enter one reference number") {
		t.Errorf("two references: the form does not ask for one reference number:\n%s", rec.Body)
	}
}

// TestTrackListsServicesNotTold checks that a service whose delivery was
// withdrawn before any attempt reached it is listed as not told, and
// that a withdrawn delivery that may have reached its service stays
// among those told, with nothing more awaited.
func TestTrackListsServicesNotTold(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.setState(ev.Deliveries[0].ID, joinedup.StateWithdrawn, "connection refused")

	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	told, notTold, found := strings.Cut(body, "Services not told")
	if !found {
		t.Fatalf("tracking page has no list of services not told:\n%s", body)
	}
	if !strings.Contains(notTold, "Child Benefit") {
		t.Errorf("Child Benefit is not among the services not told:\n%s", body)
	}
	if !strings.Contains(notTold, "Consent was withdrawn before the details reached this service, so it was not told. Nothing will be sent to it.") {
		t.Errorf("the list of services not told does not say why:\n%s", body)
	}
	if strings.Contains(told, "Child Benefit") {
		t.Errorf("Child Benefit is listed among the services told:\n%s", body)
	}
	if !strings.Contains(told, "No service has been told.") {
		t.Errorf("the list of services told does not say that none was:\n%s", body)
	}
	if strings.Contains(body, "Nothing reported yet") {
		t.Errorf("tracking page awaits a report from a service that was not told:\n%s", body)
	}

	env.hub.mu.Lock()
	ev.Deliveries[0].Reached = true
	env.hub.mu.Unlock()
	body = env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if strings.Contains(body, "Services not told") {
		t.Errorf("tracking page lists a service an attempt may have reached as not told:\n%s", body)
	}
	if !strings.Contains(body, "Stopped: consent withdrawn</strong></td>") {
		t.Errorf("tracking page does not label the withdrawn delivery:\n%s", body)
	}
	if !strings.Contains(body, "Nothing reported.</td>") || strings.Contains(body, "Nothing reported yet") {
		t.Errorf("tracking page does not say plainly that nothing was reported:\n%s", body)
	}
}

// TestTrackInputNotEchoed checks that the tracking page reads fullwidth
// input as a reference number, and that input that cannot be one gets a
// message asking for one, which does not repeat the input.
func TestTrackInputNotEchoed(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.session = nil

	fullwidth := strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r + 0xFEE0
		}
		return r
	}, ev.Reference)
	if rec := env.do(t, http.MethodGet, "/track/"+url.PathEscape(fullwidth), nil, nil); rec.Code != http.StatusOK {
		t.Errorf("fullwidth reference %q: status %d, want 200", fullwidth, rec.Code)
	}
	rec := env.do(t, http.MethodGet, "/track?reference="+url.QueryEscape(fullwidth), nil, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/track/"+ev.Reference {
		t.Errorf("fullwidth reference on the form: status %d to %q, want 303 to /track/%s", rec.Code, rec.Header().Get("Location"), ev.Reference)
	}

	for _, tt := range []struct{ name, input string }{
		{"right-to-left override", "\u202eJU-1234-5678"},
		{"5,000 characters", strings.Repeat("JU", 2500)},
		{"markup", "<script>"},
		{"zero-width space", "JU-1234\u200b-5678"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range []string{"/track/" + url.PathEscape(tt.input), "/track?reference=" + url.QueryEscape(tt.input)} {
				rec := env.do(t, http.MethodGet, target, nil, nil)
				if rec.Code != http.StatusNotFound && rec.Code != http.StatusUnprocessableEntity {
					t.Errorf("%s: status %d, want 404 or 422", target[:7], rec.Code)
				}
				body := rec.Body.String()
				if !strings.Contains(body, "Enter a reference number like JU-7K3M-9QXD") {
					t.Errorf("%s: page does not ask for a reference number:\n%s", target[:7], body)
				}
				if strings.Contains(body, "No registration has") {
					t.Errorf("%s: page reports the input as a reference number that was not found", target[:7])
				}
				if strings.ContainsAny(body, "\u202e\u200b") {
					t.Errorf("%s: page contains an invisible character from the input", target[:7])
				}
				if strings.Contains(body, strings.Repeat("JU", 21)) {
					t.Errorf("%s: page repeats more than 40 characters of the input", target[:7])
				}
				// The field shows no text but what was entered, so never
				// the input with its invisible character taken out.
				if strings.Contains(body, "JU-1234-5678") {
					t.Errorf("%s: page shows the input cleaned into a valid-looking reference", target[:7])
				}
			}
		})
	}

	body := env.do(t, http.MethodGet, "/track/JU-0000-0000", nil, nil).Body.String()
	if !strings.Contains(body, "No registration has the reference number JU-0000-0000. Check it and enter it again.") {
		t.Errorf("unknown reference: the message does not name it in full sentences:\n%s", body)
	}
}

// TestTrackShowsWithdrawnConsent checks that after a withdrawal the
// tracking page gives the service that was told one row, which says that
// consent was withdrawn and what became of the notice, in the words of
// the resident's record, and that it names no person.
func TestTrackShowsWithdrawnConsent(t *testing.T) {
	env := newResidentEnv(t)
	delivery := env.event.Deliveries[0]
	env.hub.setActed(delivery.ID, "Child Benefit claim started.")
	withdrawer := &recordingWithdrawer{hub: env.hub}
	if err := withdrawer.WithdrawConsent(context.Background(), env.event.ID, "child-benefit", env.father); err != nil {
		t.Fatal(err)
	}
	// The engine queues a notice for a service that received the birth.
	notice := &joinedup.Delivery{ID: delivery.ID + "-notice", EventID: env.event.ID, Service: "child-benefit",
		Kind: joinedup.EventConsentWithdrawn, State: joinedup.StatePending, CreatedAt: delivery.CreatedAt.Add(time.Minute)}
	env.hub.mu.Lock()
	env.event.Deliveries = append(env.event.Deliveries, notice)
	env.hub.mu.Unlock()

	tests := []struct {
		name    string
		state   joinedup.DeliveryState
		outcome string
		// want is the sentence about the notice, and after what the
		// service reported it did on it.
		want, after string
	}{
		{"notice on its way", joinedup.StatePending, "", "The service has not confirmed the withdrawal yet.", ""},
		{"notice confirmed", joinedup.StateActed, "Claim stopped.", "The service confirmed the withdrawal.", "After consent was withdrawn: Claim stopped."},
		{"notice not reached", joinedup.StateDeadLettered, "", "The hub could not reach the service to tell it of the withdrawal.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.hub.mu.Lock()
			notice.State, notice.Outcome = tt.state, nil
			if tt.outcome != "" {
				notice.Outcome = &joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: tt.outcome}
			}
			env.hub.mu.Unlock()
			env.session = nil

			body := env.do(t, http.MethodGet, "/track/"+env.event.Reference, nil, nil).Body.String()

			told, _, _ := strings.Cut(body, "Services not told")
			if n := strings.Count(told, `<th scope="row" class="govuk-table__header">Child Benefit`); n != 1 {
				t.Errorf("the services told have %d rows for Child Benefit, want 1", n)
			}
			if !strings.Contains(told, `">Consent withdrawn</strong>`) {
				t.Errorf("the row of Child Benefit does not say that consent was withdrawn")
			}
			if !strings.Contains(told, tt.want) {
				t.Errorf("the row of Child Benefit lacks %q", tt.want)
			}
			if !strings.Contains(told, "Child Benefit claim started.") {
				t.Errorf("the row of Child Benefit lacks what the service did before the withdrawal")
			}
			if tt.after != "" && !strings.Contains(told, tt.after) {
				t.Errorf("the row of Child Benefit lacks %q", tt.after)
			}
			if strings.Contains(told, ">Done</strong>") {
				t.Errorf("the row of Child Benefit still says Done")
			}
			if strings.Contains(told, "Notice that consent was withdrawn") {
				t.Errorf("the notice has a row of its own")
			}
			for _, name := range []string{"Ada Grace", "O’Brien"} {
				if strings.Contains(body, name) {
					t.Errorf("tracking page shows the name %q", name)
				}
			}

			env.signIn(t, env.father)
			record := env.do(t, http.MethodGet, "/residents/"+env.father, nil, nil).Body.String()
			if !strings.Contains(record, tt.want) {
				t.Errorf("the resident's record lacks %q, which the tracking page says", tt.want)
			}
		})
	}
}

// TestTrackSkipsCancelledDueAction withdraws consent for a service that
// was told of the birth and had a due action not yet sent. The tracking
// page must list the service among those told, once, and not among the
// services not told because of the cancelled action.
func TestTrackSkipsCancelledDueAction(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.mu.Lock()
	birth := ev.Deliveries[0]
	birth.State, birth.Reached = joinedup.StateActed, true
	birth.Outcome = &joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: "Claim started"}
	ev.Deliveries = append(ev.Deliveries, &joinedup.Delivery{
		ID: joinedup.DeliveryID(joinedup.NewID("dlv")), EventID: ev.ID, Service: birth.Service,
		Kind: joinedup.EventActionDue, State: joinedup.StateWithdrawn, CreatedAt: birth.CreatedAt.Add(time.Microsecond),
	})
	for i := range ev.Consent.Decisions {
		if ev.Consent.Decisions[i].Service == birth.Service {
			ev.Consent.Decisions[i].Decision = joinedup.ConsentWithdrawn
		}
	}
	env.hub.mu.Unlock()

	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if strings.Contains(body, "Services not told") {
		t.Errorf("the tracking page lists a service told of the birth as not told, for its cancelled due action:\n%s", body)
	}
	if n := strings.Count(body, ">Child Benefit<"); n != 1 {
		t.Errorf("the tracking page names Child Benefit in %d rows, want 1:\n%s", n, body)
	}
}

// TestTrackAfterServiceRemoved withdraws consent for a service that had
// accepted the birth and never reported more, and then removes the
// service. The tracking page must say that the service received the
// details, that it was removed before it confirmed the withdrawal, and
// count the registration as finished, so that it stops refreshing.
func TestTrackAfterServiceRemoved(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.mu.Lock()
	birth := ev.Deliveries[0]
	birth.State, birth.Reached = joinedup.StateWithdrawn, true
	birth.Outcome = &joinedup.Outcome{Status: joinedup.OutcomeAccepted}
	ev.Deliveries = append(ev.Deliveries, &joinedup.Delivery{
		ID: joinedup.DeliveryID(joinedup.NewID("dlv")), EventID: ev.ID, Service: birth.Service,
		Kind: joinedup.EventConsentWithdrawn, State: joinedup.StateDelivered, Reached: true,
		Outcome: &joinedup.Outcome{Status: joinedup.OutcomeAccepted}, CreatedAt: birth.CreatedAt.Add(time.Microsecond),
	})
	for i := range ev.Consent.Decisions {
		if ev.Consent.Decisions[i].Service == birth.Service {
			ev.Consent.Decisions[i].Decision = joinedup.ConsentWithdrawn
		}
	}
	env.hub.services[birth.Service].RetiredAt = testNow
	env.hub.mu.Unlock()

	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if !strings.Contains(body, "The service was removed from the hub before it confirmed the withdrawal.") {
		t.Errorf("the tracking page does not say that the removed service will not confirm the withdrawal:\n%s", body)
	}
	if strings.Contains(body, "has not confirmed the withdrawal yet") {
		t.Errorf("the tracking page still awaits a removed service:\n%s", body)
	}
	if !strings.Contains(body, `data-complete="true"`) {
		t.Errorf("the tracking page does not count the registration as finished:\n%s", body)
	}

	// While the service is in use, the page says what it did with the
	// birth and still awaits its confirmation.
	env.hub.mu.Lock()
	env.hub.services[birth.Service].RetiredAt = time.Time{}
	env.hub.mu.Unlock()
	body = env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if !strings.Contains(body, "The service received the details and reported nothing more.") {
		t.Errorf("the tracking page leaves empty what a service that only accepted did:\n%s", body)
	}
	if !strings.Contains(body, `data-complete="false"`) {
		t.Errorf("the tracking page counts the registration as finished while the service may still confirm:\n%s", body)
	}
}

// TestOperatorNavigationLinksLifeEvents checks that an operator's
// navigation leads to the life events, which they follow for each
// registration's progress.
func TestOperatorNavigationLinksLifeEvents(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)
	body := env.do(t, http.MethodGet, "/operator/deliveries", nil, nil).Body.String()
	if !strings.Contains(body, `href="/operator/life-events"`) {
		t.Errorf("operator's navigation has no link to the life events:\n%s", body)
	}
}

// TestTrackSaysWhenNoServiceWasAsked checks the page of a registration
// whose informant, not a parent, could consent for no service. The page
// must state that no service received it, and why, rather than that every
// service has finished.
func TestTrackSaysWhenNoServiceWasAsked(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.mu.Lock()
	ev.Deliveries = nil
	for i := range ev.Consent.Decisions {
		ev.Consent.Decisions[i].Decision = joinedup.ConsentNotAsked
	}
	env.hub.mu.Unlock()
	body := env.do(t, http.MethodGet, "/track/"+ev.Reference, nil, nil).Body.String()
	if !strings.Contains(body, "No service has been told of this registration.") || !strings.Contains(body, "could not give consent for the parents") {
		t.Errorf("tracking page of a registration that told no service does not say so and why:\n%s", body)
	}
	if strings.Contains(body, "Every service has finished") || strings.Contains(body, "did not agree") {
		t.Errorf("tracking page says services finished, or that the informant refused, though none was asked:\n%s", body)
	}
}
