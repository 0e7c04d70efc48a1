package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/joinedup/joinedup"
)

// SessionConfig sets the lifetime of sessions and how their cookie is
// sent.
type SessionConfig struct {
	// IdleTimeout ends a session that has not been used for this long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in, however
	// much it is used.
	AbsoluteTimeout time.Duration
	// TLS is true when browsers reach the hub over HTTPS, directly or
	// through a proxy. The cookies are then Secure and their names carry
	// the __Host- prefix, which browsers accept only from a secure origin
	// with Path=/ and no Domain.
	TLS bool
}

// DefaultSessionConfig ends a session after 30 minutes unused or 12 hours
// after sign-in, whichever comes first.
var DefaultSessionConfig = SessionConfig{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour}

// touchInterval is the age at which a request rewrites the stored last use
// of its session, so that a busy session does not write on every request.
// The idle expiry is late by up to this much.
const touchInterval = time.Minute

// sessionIDBytes is the length of a session id before encoding: 256 bits
// from crypto/rand.
const sessionIDBytes = 32

// Sessions starts, checks and ends sessions, and sets their cookie.
type Sessions struct {
	store Store
	log   *slog.Logger
	cfg   SessionConfig

	// Now returns the current time. Tests replace it to control the clock.
	Now func() time.Time
}

// NewSessions returns Sessions over store.
func NewSessions(store Store, log *slog.Logger, cfg SessionConfig) *Sessions {
	return &Sessions{store: store, log: log, cfg: cfg, Now: time.Now}
}

// CookieName returns the name of the session cookie.
func (s *Sessions) CookieName() string { return cookieName(s.cfg.TLS, "joinedup-session") }

func cookieName(tls bool, name string) string {
	if tls {
		return "__Host-" + name
	}
	return name
}

// Start begins a session for accountID and sets its cookie on w. A session
// named by a cookie on r ends first, so that a session id planted before
// sign-in is never promoted.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, accountID string) (*Session, error) {
	if c, err := r.Cookie(s.CookieName()); err == nil && validSessionID(c.Value) {
		if err := s.store.DeleteSession(ctx, hashSessionID(c.Value)); err != nil && joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			return nil, fmt.Errorf("end previous session: %w", err)
		}
	}

	raw := make([]byte, sessionIDBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("read session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(raw)

	now := s.Now().UTC()
	session := &Session{
		IDHash:     hashSessionID(id),
		AccountID:  accountID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.cfg.AbsoluteTimeout),
	}
	if err := s.store.CreateSession(ctx, session); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}

	// No Max-Age or Expires, so the browser drops the cookie when it
	// closes; the store enforces both expiries whatever the browser does.
	http.SetCookie(w, &http.Cookie{
		Name:     s.CookieName(),
		Value:    id,
		Path:     "/",
		Secure:   s.cfg.TLS,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return session, nil
}

// Messages for a request without a valid session.
const (
	msgSignIn         = "Sign in to continue."
	msgSessionEnded   = "Your session has ended. Sign in again to continue."
	msgAccountMissing = "Your account no longer exists. Ask an administrator for help."
)

// Authenticate returns the account of the session named by r's cookie and
// records the use of the session. A missing, malformed, unknown or expired
// session returns EUNAUTHORIZED, and an expired one is deleted. The caller
// should then clear the cookie with ClearCookie.
func (s *Sessions) Authenticate(ctx context.Context, r *http.Request) (*Account, error) {
	c, err := r.Cookie(s.CookieName())
	if err != nil {
		return nil, joinedup.Errorf(joinedup.EUNAUTHORIZED, msgSignIn)
	}
	if !validSessionID(c.Value) {
		s.log.WarnContext(ctx, "session cookie malformed")
		return nil, joinedup.Errorf(joinedup.EUNAUTHORIZED, msgSessionEnded)
	}
	idHash := hashSessionID(c.Value)

	session, err := s.store.FindSession(ctx, idHash)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		s.log.InfoContext(ctx, "session not found")
		return nil, joinedup.Errorf(joinedup.EUNAUTHORIZED, msgSessionEnded)
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}

	now := s.Now().UTC()
	if !now.Before(session.ExpiresAt) || !now.Before(session.LastSeenAt.Add(s.cfg.IdleTimeout)) {
		if err := s.store.DeleteSession(ctx, idHash); err != nil && joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			return nil, fmt.Errorf("delete expired session: %w", err)
		}
		s.log.InfoContext(ctx, "session expired", slog.String("account_id", session.AccountID))
		return nil, joinedup.Errorf(joinedup.EUNAUTHORIZED, msgSessionEnded)
	}

	account, err := s.store.FindAccount(ctx, session.AccountID)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return nil, joinedup.Errorf(joinedup.EUNAUTHORIZED, msgAccountMissing)
	} else if err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}

	if now.Sub(session.LastSeenAt) >= touchInterval {
		if err := s.store.TouchSession(ctx, idHash, now); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return account, nil
}

// SignOut ends every session of the account signed in on r, on every
// device, and clears the cookie on w. A request with no valid session only
// has its cookie cleared.
func (s *Sessions) SignOut(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	s.ClearCookie(w)

	c, err := r.Cookie(s.CookieName())
	if err != nil || !validSessionID(c.Value) {
		return nil
	}
	session, err := s.store.FindSession(ctx, hashSessionID(c.Value))
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("find session: %w", err)
	}

	n, err := s.store.DeleteAccountSessions(ctx, session.AccountID)
	if err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	s.log.InfoContext(ctx, "signed out", slog.String("account_id", session.AccountID), slog.Int("sessions", n))
	return nil
}

// ClearCookie sets an expired session cookie on w, so the browser deletes it.
func (s *Sessions) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.CookieName(),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   s.cfg.TLS,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// DeleteExpired removes the sessions that have expired, for a periodic
// clean-up, and returns how many.
func (s *Sessions) DeleteExpired(ctx context.Context) (int, error) {
	now := s.Now().UTC()
	n, err := s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.cfg.IdleTimeout))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}

// validSessionID reports whether v has the form of a session id, so that
// a malformed cookie costs no store lookup.
func validSessionID(v string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(raw) == sessionIDBytes
}

func hashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

type accountKey struct{}

// NewContext returns a copy of ctx that carries the signed-in account.
func NewContext(ctx context.Context, a *Account) context.Context {
	return context.WithValue(ctx, accountKey{}, a)
}

// FromContext returns the signed-in account that ctx carries.
func FromContext(ctx context.Context) (*Account, bool) {
	a, ok := ctx.Value(accountKey{}).(*Account)
	return a, ok
}
