package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/joinedup/joinedup"
)

// OIDCConfig configures sign-in with an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL. Its discovery document is read
	// from Issuer + "/.well-known/openid-configuration".
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the hub's callback URL, registered with the provider.
	RedirectURL string
	// Scopes are requested in addition to "openid".
	Scopes []string
	// TLS is true when browsers reach the hub over HTTPS, as in
	// SessionConfig.
	TLS bool
	// Client makes the requests to the provider. Nil means a client with a
	// 10-second timeout.
	Client *http.Client
}

// flowLifetime is how long a browser has to come back from the provider.
const flowLifetime = 10 * time.Minute

// OIDC signs people in with an OpenID Connect provider, using the
// authorisation code flow with state, nonce and PKCE (S256). The state,
// nonce and PKCE verifier travel in a short-lived HttpOnly cookie that is
// read once by the callback.
type OIDC struct {
	store    Store
	log      *slog.Logger
	cfg      OIDCConfig
	client   *http.Client
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier

	// Now returns the current time, for the ID token's expiry. Tests
	// replace it to control the clock.
	Now func() time.Time
}

// NewOIDC reads the provider's discovery document and returns an OIDC that
// signs people in to accounts in store.
func NewOIDC(ctx context.Context, store Store, log *slog.Logger, cfg OIDCConfig) (*OIDC, error) {
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC provider %s: %w", cfg.Issuer, err)
	}

	o := &OIDC{
		store:  store,
		log:    log,
		cfg:    cfg,
		client: client,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  cfg.RedirectURL,
			Scopes:       append([]string{oidc.ScopeOpenID}, cfg.Scopes...),
		},
		Now: time.Now,
	}
	// The key set fetches keys with client; VerifierContext ignores the
	// cancellation of the context it is given.
	keyContext := oidc.ClientContext(context.Background(), client)
	o.verifier = provider.VerifierContext(keyContext, &oidc.Config{ClientID: cfg.ClientID, Now: func() time.Time { return o.Now() }})
	return o, nil
}

func (o *OIDC) flowCookieName() string { return cookieName(o.cfg.TLS, "joinedup-oidc") }

// Redirect starts a sign-in: it sets the flow cookie on w and redirects
// the browser to the provider.
func (o *OIDC) Redirect(w http.ResponseWriter, r *http.Request) {
	state := rand.Text()
	nonce := rand.Text()
	verifier := oauth2.GenerateVerifier()

	http.SetCookie(w, &http.Cookie{
		Name:     o.flowCookieName(),
		Value:    state + "." + nonce + "." + verifier,
		Path:     "/",
		MaxAge:   int(flowLifetime / time.Second),
		Secure:   o.cfg.TLS,
		HttpOnly: true,
		// Lax lets the cookie come back on the provider's top-level
		// redirect to the callback.
		SameSite: http.SameSiteLaxMode,
	})
	url := o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, url, http.StatusFound)
}

// Messages for a failed OIDC sign-in.
const (
	msgOIDCStartAgain = "The sign-in did not finish. Start again from the sign-in page."
	msgOIDCRefused    = "The sign-in service did not sign you in. Start again from the sign-in page."
	msgOIDCInvalid    = "The sign-in service sent an identity that joinedup could not verify. Start again, and tell your administrator if it happens again."
	msgOIDCNoAccount  = "You signed in, but no joinedup account is linked to that identity. Ask your administrator to link one."
)

// Callback completes a sign-in at the redirect URL and returns the account
// linked to the ID token's issuer and subject. It clears the flow cookie
// whatever the outcome. A missing or mismatched state, a code the provider
// will not exchange, and an ID token with the wrong signature, issuer,
// audience or nonce, or one that has expired, each return EUNAUTHORIZED
// with the cause in Err. The caller then starts a session with
// Sessions.Start.
func (o *OIDC) Callback(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Account, error) {
	http.SetCookie(w, &http.Cookie{Name: o.flowCookieName(), Value: "", Path: "/", MaxAge: -1, Secure: o.cfg.TLS, HttpOnly: true, SameSite: http.SameSiteLaxMode})

	query := r.URL.Query()
	if code := query.Get("error"); code != "" {
		o.log.WarnContext(ctx, "OIDC provider returned an error", slog.String("error_code", code))
		return nil, o.reject(msgOIDCRefused, fmt.Errorf("provider returned error %q", code))
	}

	c, err := r.Cookie(o.flowCookieName())
	if err != nil {
		return nil, o.reject(msgOIDCStartAgain, errors.New("flow cookie missing"))
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return nil, o.reject(msgOIDCStartAgain, errors.New("flow cookie malformed"))
	}
	state, nonce, verifier := parts[0], parts[1], parts[2]

	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(state)) != 1 {
		o.log.WarnContext(ctx, "OIDC state mismatch")
		return nil, o.reject(msgOIDCStartAgain, errors.New("state does not match the flow cookie"))
	}
	code := query.Get("code")
	if code == "" {
		return nil, o.reject(msgOIDCStartAgain, errors.New("code missing"))
	}

	ctx = oidc.ClientContext(ctx, o.client)
	token, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		o.log.WarnContext(ctx, "OIDC code exchange failed", slog.Any("error", err))
		return nil, o.reject(msgOIDCRefused, fmt.Errorf("exchange code: %w", err))
	}
	rawID, ok := token.Extra("id_token").(string)
	if !ok || rawID == "" {
		return nil, o.reject(msgOIDCInvalid, errors.New("token response has no id_token"))
	}

	// Verify checks the signature against the provider's keys, then the
	// issuer, the audience (our client id) and the expiry.
	id, err := o.verifier.Verify(ctx, rawID)
	if err != nil {
		o.log.WarnContext(ctx, "OIDC ID token rejected", slog.Any("error", err))
		return nil, o.reject(msgOIDCInvalid, fmt.Errorf("verify ID token: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(nonce)) != 1 {
		o.log.WarnContext(ctx, "OIDC ID token rejected", slog.String("error", "nonce mismatch"))
		return nil, o.reject(msgOIDCInvalid, errors.New("verify ID token: nonce does not match the flow cookie"))
	}

	account, err := o.store.FindAccountByIdentity(ctx, id.Issuer, id.Subject)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		o.log.WarnContext(ctx, "OIDC identity has no account", slog.String("issuer", id.Issuer))
		return nil, o.reject(msgOIDCNoAccount, errors.New("no account linked to the identity"))
	} else if err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}
	return account, nil
}

func (o *OIDC) reject(message string, cause error) error {
	return &joinedup.Error{Code: joinedup.EUNAUTHORIZED, Message: message, Err: cause}
}
