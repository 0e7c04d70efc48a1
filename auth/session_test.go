package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/store"
	"github.com/joinedup/joinedup/store/storetest"
)

// newSessions returns Sessions over a fresh SQLite store holding the
// accounts acc-1 and acc-2, with a clock the test controls.
func newSessions(t *testing.T, tls bool) (*auth.Sessions, *store.DB, *time.Time) {
	t.Helper()
	db := storetest.SQLite(t)
	for _, id := range []string{"acc-1", "acc-2"} {
		a := &auth.Account{ID: id, Username: id, Role: policy.RoleSocialWorker, Organisation: "council"}
		if err := db.CreateAccount(context.Background(), a); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
	}
	cfg := auth.DefaultSessionConfig
	cfg.TLS = tls
	s := auth.NewSessions(db, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s, db, &now
}

// signIn starts a session for accountID and returns its cookie.
func signIn(t *testing.T, s *auth.Sessions, accountID string) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if _, err := s.Start(context.Background(), w, httptest.NewRequest("POST", "/sign-in", nil), accountID); err != nil {
		t.Fatalf("Start: %v", err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Start set %d cookies, want 1", len(cookies))
	}
	return cookies[0]
}

func requestWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/records", nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func countSessions(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatalf("count sessions: %v", err)
	}
	return n
}

func TestSessionCookie(t *testing.T) {
	tests := []struct {
		name       string
		tls        bool
		wantName   string
		wantSecure bool
	}{
		{"plain HTTP", false, "joinedup-session", false},
		{"TLS", true, "__Host-joinedup-session", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db, _ := newSessions(t, tt.tls)
			c := signIn(t, s, "acc-1")

			if c.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", c.Name, tt.wantName)
			}
			if c.Secure != tt.wantSecure {
				t.Errorf("Secure = %v, want %v", c.Secure, tt.wantSecure)
			}
			if !c.HttpOnly {
				t.Error("HttpOnly = false, want true")
			}
			if c.SameSite != http.SameSiteLaxMode {
				t.Errorf("SameSite = %v, want Lax", c.SameSite)
			}
			if c.Path != "/" || c.Domain != "" {
				t.Errorf("Path, Domain = %q, %q; want /, empty", c.Path, c.Domain)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil || len(raw) != 32 {
				t.Errorf("cookie value %q is not 32 random bytes in base64url", c.Value)
			}

			var stored string
			if err := db.SQL().QueryRow(`SELECT id_hash FROM sessions`).Scan(&stored); err != nil {
				t.Fatalf("read session: %v", err)
			}
			if stored == c.Value || len(stored) != 64 {
				t.Errorf("stored id = %q, want the 64-hex-digit SHA-256 of the cookie value, not the value", stored)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	s, _, now := newSessions(t, false)
	ctx := context.Background()
	c := signIn(t, s, "acc-1")

	a, err := s.Authenticate(ctx, requestWith(c))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if a.ID != "acc-1" {
		t.Errorf("account = %s, want acc-1", a.ID)
	}

	// Each use pushes the idle expiry back: five uses 20 minutes apart
	// outlast the 30-minute idle timeout.
	for i := range 5 {
		*now = now.Add(20 * time.Minute)
		if _, err := s.Authenticate(ctx, requestWith(c)); err != nil {
			t.Fatalf("use %d after %v: %v", i+1, 20*time.Minute*time.Duration(i+1), err)
		}
	}
}

func TestAuthenticateRejects(t *testing.T) {
	forged := make([]byte, 32)
	rand.Read(forged)

	tests := []struct {
		name        string
		cookie      func(valid *http.Cookie) *http.Cookie
		advance     time.Duration
		wantMessage string
		wantDeleted bool // the valid session is gone afterwards
	}{
		{
			name:        "no cookie",
			cookie:      func(*http.Cookie) *http.Cookie { return nil },
			wantMessage: "Sign in to continue.",
		},
		{
			name: "forged cookie",
			cookie: func(valid *http.Cookie) *http.Cookie {
				return &http.Cookie{Name: valid.Name, Value: base64.RawURLEncoding.EncodeToString(forged)}
			},
			wantMessage: "Your session has ended. Sign in again to continue.",
		},
		{
			name: "malformed cookie",
			cookie: func(valid *http.Cookie) *http.Cookie {
				return &http.Cookie{Name: valid.Name, Value: valid.Value + "x"}
			},
			wantMessage: "Your session has ended. Sign in again to continue.",
		},
		{
			name: "cookie not base64",
			cookie: func(valid *http.Cookie) *http.Cookie {
				return &http.Cookie{Name: valid.Name, Value: "not-base64!"}
			},
			wantMessage: "Your session has ended. Sign in again to continue.",
		},
		{
			name:        "idle too long",
			cookie:      func(valid *http.Cookie) *http.Cookie { return valid },
			advance:     30 * time.Minute,
			wantMessage: "Your session has ended. Sign in again to continue.",
			wantDeleted: true,
		},
		{
			name:        "past absolute expiry",
			cookie:      func(valid *http.Cookie) *http.Cookie { return valid },
			advance:     12 * time.Hour,
			wantMessage: "Your session has ended. Sign in again to continue.",
			wantDeleted: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db, now := newSessions(t, false)
			ctx := context.Background()
			valid := signIn(t, s, "acc-1")
			*now = now.Add(tt.advance)

			a, err := s.Authenticate(ctx, requestWith(tt.cookie(valid)))
			if a != nil {
				t.Errorf("account = %s, want none", a.ID)
			}
			if got := joinedup.ErrorCode(err); got != joinedup.EUNAUTHORIZED {
				t.Fatalf("error code = %q (%v), want %q", got, err, joinedup.EUNAUTHORIZED)
			}
			if got := joinedup.ErrorMessage(err); got != tt.wantMessage {
				t.Errorf("message = %q, want %q", got, tt.wantMessage)
			}

			wantCount := 1
			if tt.wantDeleted {
				wantCount = 0
			}
			if got := countSessions(t, db); got != wantCount {
				t.Errorf("%d sessions stored, want %d", got, wantCount)
			}
		})
	}
}

// TestAbsoluteExpiry checks that constant use does not extend a session
// past its absolute expiry.
func TestAbsoluteExpiry(t *testing.T) {
	s, _, now := newSessions(t, false)
	ctx := context.Background()
	c := signIn(t, s, "acc-1")

	for elapsed := 20 * time.Minute; elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
		*now = now.Add(20 * time.Minute)
		if _, err := s.Authenticate(ctx, requestWith(c)); err != nil {
			t.Fatalf("Authenticate after %v: %v", elapsed, err)
		}
	}
	*now = now.Add(20 * time.Minute)
	if _, err := s.Authenticate(ctx, requestWith(c)); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
		t.Errorf("Authenticate after 12h of use = %v, want EUNAUTHORIZED", err)
	}
}

func TestSignOut(t *testing.T) {
	s, db, _ := newSessions(t, false)
	ctx := context.Background()
	tablet := signIn(t, s, "acc-1")
	laptop := signIn(t, s, "acc-1")
	other := signIn(t, s, "acc-2")

	w := httptest.NewRecorder()
	if err := s.SignOut(ctx, w, requestWith(tablet)); err != nil {
		t.Fatalf("SignOut: %v", err)
	}
	cleared := w.Result().Cookies()
	if len(cleared) != 1 || cleared[0].MaxAge >= 0 || cleared[0].Value != "" {
		t.Errorf("SignOut cookies = %v, want one that clears the session cookie", cleared)
	}

	for name, c := range map[string]*http.Cookie{"tablet": tablet, "laptop": laptop} {
		if _, err := s.Authenticate(ctx, requestWith(c)); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
			t.Errorf("%s session after sign-out = %v, want EUNAUTHORIZED", name, err)
		}
	}
	if a, err := s.Authenticate(ctx, requestWith(other)); err != nil || a.ID != "acc-2" {
		t.Errorf("other account's session = %v, %v; want acc-2 still signed in", a, err)
	}
	if got := countSessions(t, db); got != 1 {
		t.Errorf("%d sessions stored, want 1", got)
	}

	// Signing out without a session only clears the cookie.
	if err := s.SignOut(ctx, httptest.NewRecorder(), requestWith(nil)); err != nil {
		t.Errorf("SignOut without a session: %v", err)
	}
}

func TestStartReplacesSession(t *testing.T) {
	s, db, _ := newSessions(t, false)
	ctx := context.Background()
	planted := signIn(t, s, "acc-2")

	w := httptest.NewRecorder()
	if _, err := s.Start(ctx, w, requestWith(planted), "acc-1"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if _, err := s.Authenticate(ctx, requestWith(planted)); joinedup.ErrorCode(err) != joinedup.EUNAUTHORIZED {
		t.Errorf("the session named before sign-in = %v, want it ended", err)
	}
	fresh := w.Result().Cookies()[0]
	if fresh.Value == planted.Value {
		t.Error("Start kept the session id from the request, want a new one")
	}
	if got := countSessions(t, db); got != 1 {
		t.Errorf("%d sessions stored, want 1", got)
	}
}

func TestDeleteExpired(t *testing.T) {
	s, db, now := newSessions(t, false)
	ctx := context.Background()
	signIn(t, s, "acc-1")
	*now = now.Add(20 * time.Minute)
	recent := signIn(t, s, "acc-2")
	*now = now.Add(15 * time.Minute)

	n, err := s.DeleteExpired(ctx)
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != 1 {
		t.Errorf("DeleteExpired removed %d, want 1", n)
	}
	if _, err := s.Authenticate(ctx, requestWith(recent)); err != nil {
		t.Errorf("recent session after clean-up: %v", err)
	}
	if got := countSessions(t, db); got != 1 {
		t.Errorf("%d sessions stored, want 1", got)
	}
}

func TestContext(t *testing.T) {
	if _, ok := auth.FromContext(context.Background()); ok {
		t.Error("FromContext of an empty context found an account")
	}
	a := &auth.Account{ID: "acc-1"}
	got, ok := auth.FromContext(auth.NewContext(context.Background(), a))
	if !ok || got != a {
		t.Errorf("FromContext = %v, %v; want the account stored", got, ok)
	}
}
