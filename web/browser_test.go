package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/web/browsertest"
)

// refreshSeconds is the interval at which static/joinedup.js reloads a
// tracking page's table.
const refreshSeconds = 10

// TestPagesInBrowser walks a registrar, a parent and an operator through
// the pages in Chromium, checking every page with axe-core.
func TestPagesInBrowser(t *testing.T) {
	env := newTestEnv(t)
	srv := httptest.NewServer(env.handler)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	if status := b.Visit(srv.URL + "/"); status != http.StatusOK {
		t.Fatalf("start page: status %d", status)
	}
	if got := b.Eval(`String(document.body.classList.contains("govuk-frontend-supported"))`); got != "true" {
		t.Errorf("GOV.UK Frontend script did not run: body class govuk-frontend-supported = %s", got)
	}
	if got := b.Eval(`getComputedStyle(document.querySelector("h1")).fontFamily`); strings.Contains(got, "GDS Transport") || !strings.Contains(got, "system-ui") {
		t.Errorf("heading font = %q, want the system font stack", got)
	}

	browserSignIn(t, b, srv.URL, env.registrar.Username)

	t.Run("birth with errors keeps values", func(t *testing.T) {
		b.Visit(srv.URL + "/births/new")
		b.Fill(map[string]string{
			"#child-name-given":      "Zoë",
			"#child-dateOfBirth-day": "29", "#child-dateOfBirth-month": "2", "#child-dateOfBirth-year": "2023",
		})
		if status := b.Submit(`form[action="/births/new"] button[type=submit]`); status != http.StatusUnprocessableEntity {
			t.Errorf("status = %d, want 422", status)
		}
		if title := b.Eval(`document.title`); !strings.HasPrefix(title, "Error: ") {
			t.Errorf("title = %q, want the prefix \"Error: \"", title)
		}
		summary := b.Eval(`document.querySelector(".govuk-error-summary").innerText`)
		if !strings.Contains(summary, "The child’s date of birth must be a real date") {
			t.Errorf("error summary = %q, want the impossible date named", summary)
		}
		if got := b.Eval(`document.activeElement.closest(".govuk-error-summary") ? "focused" : "not focused"`); got != "focused" {
			t.Errorf("error summary is %s, want it focused on load", got)
		}
		if got := b.Eval(`document.querySelector("#child-name-given").value`); got != "Zoë" {
			t.Errorf("given names = %q after the error, want the typed Zoë", got)
		}
		if got := b.Eval(`document.querySelector("#child-dateOfBirth-day").value`); got != "29" {
			t.Errorf("day = %q after the error, want the typed 29", got)
		}
	})

	t.Run("over-long answer keeps the layout", func(t *testing.T) {
		b.Visit(srv.URL + "/births/new")
		b.Fill(map[string]string{"#child-name-given": "Zoë", "#parents-0-address-postcode": "LS1 4AP"})
		// About 100 KB, more than the API accepts but less than the form's
		// bound, as a mistaken paste might be.
		b.Eval(`document.querySelector("#child-placeOfBirth").value = "Leeds General Infirmary, ".repeat(4000); ""`)

		if status := b.Submit(`form[action="/births/new"] button[type=submit]`); status != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422", status)
		}
		summary := b.Eval(`document.querySelector(".govuk-error-summary").innerText`)
		if !strings.Contains(summary, "Place of birth must be 300 characters or fewer") {
			t.Errorf("error summary = %q, want the place of birth's limit named", summary)
		}
		if got := b.Eval(`String(document.querySelector("#child-placeOfBirth").value.length)`); got != "1000" {
			t.Errorf("place of birth shows %s characters, want the first 1000", got)
		}
		if hint := b.Eval(`document.querySelector("#child-placeOfBirth-hint").innerText`); !strings.Contains(hint, "Only the first 1,000 characters of the answer are shown.") {
			t.Errorf("place of birth hint = %q, want it to say the answer is cut", hint)
		}
		if got := b.Eval(`document.querySelector("#parents-0-address-postcode").value`); got != "LS1 4AP" {
			t.Errorf("postcode = %q after the error, want the typed LS1 4AP", got)
		}
		if got := b.Eval(`String(document.documentElement.scrollWidth <= document.documentElement.clientWidth)`); got != "true" {
			t.Errorf("page scrolls sideways after a long answer, want it to fit the window")
		}
		// An input in error is indented by the error border, so only its
		// right edge lines up with the other inputs'.
		placeRight := b.Eval(`String(document.querySelector("#child-placeOfBirth").getBoundingClientRect().right)`)
		givenRight := b.Eval(`String(document.querySelector("#child-name-given").getBoundingClientRect().right)`)
		if placeRight != givenRight {
			t.Errorf("place of birth input ends at %s px, want at %s px as the given names input does", placeRight, givenRight)
		}
	})

	t.Run("form over the bound", func(t *testing.T) {
		b.Visit(srv.URL + "/births/new")
		b.Eval(`document.querySelector("#child-placeOfBirth").value = "Leeds General Infirmary, ".repeat(50000); ""`)

		if status := b.Submit(`form[action="/births/new"] button[type=submit]`); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413", status)
		}
		if heading := b.Eval(`document.querySelector("h1").innerText`); heading != "The form was too large to accept" {
			t.Errorf("heading = %q, want \"The form was too large to accept\"", heading)
		}
		if status := b.Submit(`main a[href="/births/new"]`); status != http.StatusOK {
			t.Errorf("link back to the form: status %d, want 200", status)
		}
		if got := b.Eval(`location.pathname`); got != "/births/new" {
			t.Errorf("link back to the form went to %s, want /births/new", got)
		}
	})

	var reference string
	t.Run("register a birth", func(t *testing.T) {
		b.Visit(srv.URL + "/births/new")
		b.Fill(map[string]string{
			"#child-name-given": "Ada Grace", "#child-name-family": "O’Brien",
			"#child-dateOfBirth-day": "20", "#child-dateOfBirth-month": "11", "#child-dateOfBirth-year": "2026",
			"#child-placeOfBirth":   "Leeds General Infirmary",
			"#parents-0-name-given": "Siân", "#parents-0-name-family": "O’Brien",
			"#parents-0-dateOfBirth-day": "2", "#parents-0-dateOfBirth-month": "3", "#parents-0-dateOfBirth-year": "1994",
			"#parents-0-address-lines-0": "1 Test Street", "#parents-0-address-town": "Leeds", "#parents-0-address-postcode": "LS1 4AP",
			"#informant-name-given": "Siân", "#informant-name-family": "O’Brien",
		})
		b.Do(
			chromedp.Click(chromedp.CSS(`#child-sex`)),
			chromedp.Click(chromedp.CSS(`#parents-0-role`)),
			chromedp.Click(chromedp.CSS(`#informant-capacity`)),
			chromedp.Click(chromedp.CSS(`#informant-parent`)),
			chromedp.Click(chromedp.CSS(`#consent-services`)),
		)
		if status := b.Submit(`form[action="/births/new"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("status = %d, want 200 after the redirect; page: %s", status, b.Eval(`document.body.innerText`))
		}
		reference = b.Eval(`document.querySelector(".govuk-panel__body strong").textContent`)
		if len(env.hub.events) != 1 || env.hub.events[0].Reference != reference {
			t.Fatalf("confirmation shows reference %q, want the one registered", reference)
		}
		if got, want := b.Eval(`location.pathname`), "/births/"+string(env.hub.events[0].ID); got != want {
			t.Errorf("confirmation is at %s, want %s", got, want)
		}
		if status := b.Visit(b.Eval(`location.href`)); status != http.StatusOK {
			t.Errorf("reloading the confirmation: status %d, want 200", status)
		}
		if got := b.Eval(`document.querySelector(".govuk-panel__body strong").textContent`); got != reference {
			t.Errorf("reloaded confirmation shows reference %q, want %q", got, reference)
		}
		if len(env.hub.events) != 1 {
			t.Errorf("%d events registered after reloading the confirmation, want 1", len(env.hub.events))
		}
		if href := b.Eval(`document.querySelector("a[download]").href`); !strings.HasPrefix(href, "data:application/json;base64,") {
			t.Errorf("receipt link = %.40q, want a JSON data URL", href)
		}
	})

	t.Run("track a registration", func(t *testing.T) {
		if reference == "" {
			t.Skip("no registration to track")
		}
		b.Visit(srv.URL + "/track")
		b.Fill(map[string]string{"#reference": strings.ToLower(reference)})
		if status := b.Submit(`form[action="/track"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("status = %d, want 200", status)
		}
		table := b.Eval(`document.querySelector("#deliveries table").innerText`)
		if !strings.Contains(table, "Child Benefit") || !strings.Contains(table, "Waiting to send") {
			t.Errorf("tracking table = %q, want Child Benefit waiting to send", table)
		}

		// The page reloads its table while a service has not finished.
		env.hub.setState(env.hub.events[0].Deliveries[0].ID, joinedup.StateActed, "")
		refreshed := chromedp.Poll[bool](`document.querySelector("#deliveries table").innerText.includes("Done")`,
			chromedp.WithPollingTimeout(3*refreshSeconds*time.Second))
		if _, err := chromedp.Run(b.Context(), refreshed); err != nil {
			t.Errorf("tracking table did not refresh to Done: %v", err)
		}
		if status := b.Eval(`document.querySelector("[data-refresh-status]").textContent`); !strings.HasPrefix(status, "Updated at ") {
			t.Errorf("refresh status = %q, want \"Updated at …\"", status)
		}
		b.CheckPage()

		if status := b.Visit(srv.URL + "/track/JU-0000-0000"); status != http.StatusNotFound {
			t.Errorf("unknown reference: status %d, want 404", status)
		}
	})

	t.Run("operator replays a dead letter", func(t *testing.T) {
		if len(env.hub.events) == 0 {
			t.Skip("no registration to operate on")
		}
		event := env.hub.events[0]
		env.hub.setState(event.Deliveries[0].ID, joinedup.StateDeadLettered, "HTTP 503 from service")

		b.Visit(srv.URL + "/operator/life-events")
		b.Visit(srv.URL + "/operator/life-events/" + string(event.ID))
		if status := b.Submit(`form[action="/sign-out"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("sign out: status %d", status)
		}
		browserSignIn(t, b, srv.URL, env.operator.Username)
		b.Visit(srv.URL + "/operator/deliveries?state=dead-lettered")
		if status := b.Submit(`form[action$="/replay"] button`); status != http.StatusOK {
			t.Fatalf("replay: status %d, want 200 after the redirect", status)
		}
		if banner := b.Eval(`document.querySelector(".govuk-notification-banner").innerText`); !strings.Contains(banner, string(event.Deliveries[0].ID)) {
			t.Errorf("banner = %q, want the replayed delivery named", banner)
		}
		if len(env.hub.replayed) != 1 {
			t.Errorf("replayed %d deliveries, want 1", len(env.hub.replayed))
		}
	})

	t.Run("registrar withdraws consent", func(t *testing.T) {
		if len(env.hub.events) == 0 {
			t.Skip("no registration to withdraw consent from")
		}
		event := env.hub.events[0]
		env.server.Consents = &recordingWithdrawer{hub: env.hub}
		if status := b.Submit(`form[action="/sign-out"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("sign out: status %d", status)
		}
		browserSignIn(t, b, srv.URL, env.registrar.Username)
		page := srv.URL + "/operator/life-events/" + string(event.ID)
		b.Visit(page)

		if status := b.Submit(`a[href$="/consent?service=child-benefit"]`); status != http.StatusOK {
			t.Fatalf("Withdraw consent link: status %d, want 200", status)
		}
		if heading := b.Eval(`document.querySelector("h1").innerText`); heading != "Are you sure you want to withdraw consent for Child Benefit?" {
			t.Errorf("confirmation heading = %q, want Child Benefit named", heading)
		}
		confirmation := b.Eval(`location.href`)

		if status := b.Submit(`form[method="post"][action$="/consent"] button.govuk-button--warning`); status != http.StatusOK {
			t.Fatalf("confirm the withdrawal: status %d, want 200 after the redirect", status)
		}
		if got := b.Eval(`location.origin + location.pathname`); got != page {
			t.Errorf("after the withdrawal the browser is at %s, want the life event page %s", got, page)
		}
		if banner := b.Eval(`document.querySelector(".govuk-notification-banner").innerText`); !strings.Contains(banner, "Consent withdrawn for Child Benefit") {
			t.Errorf("banner = %q, want Child Benefit named", banner)
		}

		if status := b.Visit(confirmation); status != http.StatusConflict {
			t.Errorf("confirmation page of a withdrawn consent: status %d, want 409", status)
		}
		if heading := b.Eval(`document.querySelector("h1").innerText`); heading != "Consent is already withdrawn" {
			t.Errorf("heading = %q, want \"Consent is already withdrawn\"", heading)
		}
	})
}

// browserSignIn signs the browser in with a test account.
func browserSignIn(t *testing.T, b *browsertest.Browser, base, username string) {
	t.Helper()
	b.Visit(base + "/sign-in")
	b.Fill(map[string]string{"#username": username, "#password": testPassword})
	if status := b.Submit(`form[action="/sign-in"] button[type=submit]`); status != http.StatusOK {
		t.Fatalf("sign in as %s: status %d", username, status)
	}
}

// TestTrackPageInBrowser checks the tracking page of a registration with
// a service that was not told, that of one with a consent withdrawn after
// the service was told, and the tracking form's error for input that
// cannot be a reference number, with axe-core.
func TestTrackPageInBrowser(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	ev := env.hub.events[0]
	env.hub.setState(ev.Deliveries[0].ID, joinedup.StateWithdrawn, "connection refused")
	srv := httptest.NewServer(env.handler)
	t.Cleanup(srv.Close)
	b := browsertest.New(t)

	if status := b.Visit(srv.URL + "/track/" + ev.Reference); status != http.StatusOK {
		t.Fatalf("tracking page: status %d", status)
	}
	captions := b.Eval(`Array.from(document.querySelectorAll("#deliveries caption"), c => c.textContent).join("|")`)
	if captions != "Services told|Services not told" {
		t.Errorf("table captions = %q, want Services told and Services not told", captions)
	}
	b.CheckPage()

	// A service told before its consent was withdrawn has one row, which
	// says so.
	env.postJSON(t, "/api/v1/births", strings.Replace(validBirth, "Ada Grace", "Bea", 1))
	told := env.hub.events[1]
	env.hub.setActed(told.Deliveries[0].ID, "Child Benefit claim started.")
	env.hub.mu.Lock()
	told.Deliveries = append(told.Deliveries, &joinedup.Delivery{ID: told.Deliveries[0].ID + "-notice", EventID: told.ID, Service: "child-benefit",
		Kind: joinedup.EventConsentWithdrawn, State: joinedup.StatePending})
	env.hub.mu.Unlock()
	if err := (&recordingWithdrawer{hub: env.hub}).WithdrawConsent(context.Background(), told.ID, "child-benefit", "informant"); err != nil {
		t.Fatal(err)
	}
	if status := b.Visit(srv.URL + "/track/" + told.Reference); status != http.StatusOK {
		t.Fatalf("tracking page after a withdrawal: status %d", status)
	}
	if state := b.Eval(`document.querySelector("#deliveries tbody td").innerText`); !strings.HasPrefix(state, "Consent withdrawn") {
		t.Errorf("state of Child Benefit = %q, want it to start with Consent withdrawn", state)
	}
	b.CheckPage()

	if status := b.Visit(srv.URL + "/track/%E2%80%AEJU-1234-5678"); status != http.StatusNotFound {
		t.Errorf("input with a right-to-left override: status %d, want 404", status)
	}
	if got := b.Eval(`document.querySelector("#reference").value`); got != "" {
		t.Errorf("field value = %q, want it empty rather than the input without the override", got)
	}
	summary := b.Eval(`document.querySelector(".govuk-error-summary").innerText`)
	if !strings.Contains(summary, "Enter a reference number like JU-7K3M-9QXD") {
		t.Errorf("error summary = %q, want a request for a reference number", summary)
	}
	b.CheckPage()
}
