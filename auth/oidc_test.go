package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/auth/oidctest"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// oidcHub is a minimal web front that signs people in through a test
// provider and records the outcome of each callback.
type oidcHub struct {
	server   *httptest.Server
	provider *oidctest.Provider
	oidc     *auth.OIDC
	sessions *auth.Sessions
	db       *store.DB
	lastErr  error
}

func newOIDCHub(t *testing.T) *oidcHub {
	t.Helper()
	h := &oidcHub{db: storetest.SQLite(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { h.oidc.Redirect(w, r) })
	mux.HandleFunc("GET /callback", h.callback)
	h.server = httptest.NewServer(mux)
	t.Cleanup(h.server.Close)

	h.provider = oidctest.New(t, "joinedup-hub", "client-secret-for-tests", h.server.URL+"/callback")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var err error
	h.oidc, err = auth.NewOIDC(context.Background(), h.db, log, auth.OIDCConfig{
		Issuer:       h.provider.Issuer,
		ClientID:     "joinedup-hub",
		ClientSecret: "client-secret-for-tests",
		RedirectURL:  h.server.URL + "/callback",
		Scopes:       []string{"email"},
	})
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	h.sessions = auth.NewSessions(h.db, log, auth.DefaultSessionConfig)

	linked := &auth.Account{
		ID: "acc-sw", Username: "chidi.eze", Role: policy.RoleSocialWorker, Organisation: "council",
		Issuer: h.provider.Issuer, Subject: "user-1",
	}
	if err := h.db.CreateAccount(context.Background(), linked); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return h
}

func (h *oidcHub) callback(w http.ResponseWriter, r *http.Request) {
	a, err := h.oidc.Callback(r.Context(), w, r)
	h.lastErr = err
	if err != nil {
		http.Error(w, joinedup.ErrorMessage(err), http.StatusUnauthorized)
		return
	}
	if _, err := h.sessions.Start(r.Context(), w, r, a.ID); err != nil {
		h.lastErr = err
		http.Error(w, "session", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "signed in as %s", a.ID)
}

// signInWithOIDC runs the whole flow in a fresh browser with a cookie jar
// and returns the final response and its body.
func (h *oidcHub) signInWithOIDC(t *testing.T) (*http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(h.server.URL + "/login")
	if err != nil {
		t.Fatalf("GET /login: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (h *oidcHub) countSessions(t *testing.T) int {
	t.Helper()
	var n int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatalf("count sessions: %v", err)
	}
	return n
}

func TestOIDCSignIn(t *testing.T) {
	h := newOIDCHub(t)
	resp, body := h.signInWithOIDC(t)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback status = %d (%s, %v), want 200", resp.StatusCode, body, h.lastErr)
	}
	if body != "signed in as acc-sw" {
		t.Errorf("body = %q, want signed in as acc-sw", body)
	}
	if got := h.countSessions(t); got != 1 {
		t.Errorf("%d sessions stored, want 1", got)
	}
	var flow, session bool
	for _, c := range resp.Cookies() {
		switch c.Name {
		case "joinedup-oidc":
			flow = c.MaxAge < 0
		case "joinedup-session":
			session = c.Value != ""
		}
	}
	if !flow || !session {
		t.Errorf("callback cookies = %v, want the flow cookie cleared and a session cookie set", resp.Cookies())
	}
}

func TestOIDCRejectsIDToken(t *testing.T) {
	tests := []struct {
		name      string
		tamper    oidctest.Tamper
		wantCause string
	}{
		{"wrong audience", oidctest.Tamper{Audience: "another-client"}, "audience"},
		{"wrong issuer", oidctest.Tamper{Issuer: "https://impostor.example.test"}, "issued by a different provider"},
		{"wrong nonce", oidctest.Tamper{Nonce: "replayed-nonce"}, "nonce does not match"},
		{"wrong signature", oidctest.Tamper{ForeignKey: true}, "signature"},
		{"expired", oidctest.Tamper{Expired: true}, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newOIDCHub(t)
			h.provider.SetTamper(tt.tamper)

			resp, body := h.signInWithOIDC(t)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("callback status = %d (%s), want 401", resp.StatusCode, body)
			}
			if got := joinedup.ErrorCode(h.lastErr); got != joinedup.EUNAUTHORIZED {
				t.Errorf("error code = %q (%v), want %q", got, h.lastErr, joinedup.EUNAUTHORIZED)
			}
			want := "The sign-in service sent an identity that joinedup could not verify. Start again, and tell your administrator if it happens again."
			if got := joinedup.ErrorMessage(h.lastErr); got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
			if !strings.Contains(h.lastErr.Error(), tt.wantCause) {
				t.Errorf("cause = %q, want it to mention %q", h.lastErr, tt.wantCause)
			}
			if got := h.countSessions(t); got != 0 {
				t.Errorf("%d sessions stored, want none", got)
			}
		})
	}
}

func TestOIDCRejectsFlow(t *testing.T) {
	h := newOIDCHub(t)

	// A callback with a code and state but no flow cookie: a forged or
	// replayed redirect, or a different browser.
	resp, err := http.Get(h.server.URL + "/callback?code=abc&state=xyz")
	if err != nil {
		t.Fatalf("GET /callback: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("callback without flow cookie: status %d, want 401", resp.StatusCode)
	}
	if got := joinedup.ErrorMessage(h.lastErr); got != "The sign-in did not finish. Start again from the sign-in page." {
		t.Errorf("message = %q, want the start-again message", got)
	}

	// A callback whose state differs from the flow cookie's.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = browser.Get(h.server.URL + "/login")
	if err != nil {
		t.Fatalf("GET /login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /login status %d, want 302", resp.StatusCode)
	}
	location, _ := resp.Location()
	q := location.Query()
	for _, param := range []string{"state", "nonce", "code_challenge"} {
		if q.Get(param) == "" {
			t.Errorf("authorisation request lacks %s", param)
		}
	}
	if q.Get("code_challenge_method") != "S256" {
		t.Errorf("code_challenge_method = %q, want S256", q.Get("code_challenge_method"))
	}
	resp, err = browser.Get(h.server.URL + "/callback?code=abc&state=not-the-state")
	if err != nil {
		t.Fatalf("GET /callback: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(h.lastErr.Error(), "state does not match") {
		t.Errorf("callback with wrong state: status %d, cause %v; want 401 and a state mismatch", resp.StatusCode, h.lastErr)
	}

	// A provider that refused the sign-in.
	resp, err = http.Get(h.server.URL + "/callback?error=access_denied&state=xyz")
	if err != nil {
		t.Fatalf("GET /callback: %v", err)
	}
	resp.Body.Close()
	if got := joinedup.ErrorMessage(h.lastErr); got != "The sign-in service did not sign you in. Start again from the sign-in page." {
		t.Errorf("message for access_denied = %q, want the refused message", got)
	}

	if got := h.countSessions(t); got != 0 {
		t.Errorf("%d sessions stored, want none", got)
	}
}

func TestOIDCUnlinkedIdentity(t *testing.T) {
	h := newOIDCHub(t)
	h.provider.SetUser("user-2", "someone@example.test")

	resp, _ := h.signInWithOIDC(t)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if got := joinedup.ErrorMessage(h.lastErr); !strings.Contains(got, "no joinedup account is linked") {
		t.Errorf("message = %q, want it to say no account is linked", got)
	}
	if got := h.countSessions(t); got != 0 {
		t.Errorf("%d sessions stored, want none", got)
	}
}

func TestOIDCCodeUsedOnce(t *testing.T) {
	h := newOIDCHub(t)
	jar, _ := cookiejar.New(nil)
	var callback string
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Path == "/callback" {
			callback = r.URL.String()
		}
		return nil
	}}
	resp, err := browser.Get(h.server.URL + "/login")
	if err != nil {
		t.Fatalf("GET /login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first sign-in status %d (%v), want 200", resp.StatusCode, h.lastErr)
	}

	// Replaying the callback fails: the flow cookie is gone and the code
	// was spent.
	resp, err = browser.Get(callback)
	if err != nil {
		t.Fatalf("replay callback: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("replayed callback status %d, want 401", resp.StatusCode)
	}
	var e *joinedup.Error
	if !errors.As(h.lastErr, &e) || e.Code != joinedup.EUNAUTHORIZED {
		t.Errorf("replayed callback error = %v, want EUNAUTHORIZED", h.lastErr)
	}
	if got := h.countSessions(t); got != 1 {
		t.Errorf("%d sessions stored, want only the first sign-in's", got)
	}
}
