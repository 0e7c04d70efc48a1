// Package auth signs staff and residents in and keeps them signed in.
//
// Two ways to sign in lead to the same session:
//
//   - Local accounts with a user name and a password hashed with argon2id
//     (Passwords). Repeated failures are slowed per account and per client
//     address, and logged without the password or the full user name.
//   - OpenID Connect (OIDC), with the authorisation code flow, state, nonce
//     and PKCE. The ID token's issuer and subject select the local account.
//
// A session is an opaque random id in a cookie. The store keeps only the
// SHA-256 hash of the id, with an absolute expiry and the time of last use
// for the idle expiry. Any node of a cluster can therefore check a session,
// and a leaked copy of the table cannot be replayed as cookies. Signing out
// ends every session of the account.
package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

// Account is a person who may sign in: a member of staff with a role and
// an organisation, or a resident.
type Account struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	// PasswordHash is the argon2id hash in PHC string form, or empty for
	// an account that signs in only with OIDC.
	PasswordHash string               `json:"-"`
	Role         policy.Role          `json:"role"`
	Organisation joinedup.OrgID       `json:"organisation,omitempty"`
	Services     []joinedup.ServiceID `json:"services,omitempty"`
	// Issuer and Subject are the OIDC identity linked to the account, both
	// empty when none is.
	Issuer    string    `json:"issuer,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Principal returns the account as a policy principal.
func (a *Account) Principal() policy.Principal {
	return policy.Principal{ID: a.ID, Role: a.Role, Organisation: a.Organisation, Services: slices.Clone(a.Services)}
}

// Session is one signed-in browser. IDHash is the hex SHA-256 of the id in
// the cookie. ExpiresAt is the absolute expiry; the idle expiry is
// LastSeenAt plus the idle timeout of Sessions.
type Session struct {
	IDHash     string
	AccountID  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Store keeps accounts and sessions. A lookup that finds nothing returns
// an ENOTFOUND *joinedup.Error, and creating an account whose user name or
// OIDC identity is taken returns ECONFLICT.
type Store interface {
	CreateAccount(ctx context.Context, a *Account) error
	FindAccount(ctx context.Context, id string) (*Account, error)
	FindAccountByUsername(ctx context.Context, username string) (*Account, error)
	FindAccountByIdentity(ctx context.Context, issuer, subject string) (*Account, error)

	CreateSession(ctx context.Context, s *Session) error
	FindSession(ctx context.Context, idHash string) (*Session, error)
	// TouchSession sets the last use of a session.
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteAccountSessions ends every session of an account and returns
	// how many there were.
	DeleteAccountSessions(ctx context.Context, accountID string) (int, error)
	// DeleteExpiredSessions removes sessions past their absolute expiry at
	// now or unused since idleSince, and returns how many.
	DeleteExpiredSessions(ctx context.Context, now, idleSince time.Time) (int, error)
}

// Limits on user names, in characters.
const MaxUsernameLength = 100

// NormalizeUsername returns a user name in the form accounts are stored
// and looked up by: NFC, without surrounding spaces, in lower case.
func NormalizeUsername(s string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFC.String(s)))
}
