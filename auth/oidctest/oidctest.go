// Package oidctest runs a small OpenID Connect provider on loopback for
// tests. It serves discovery, a JSON Web Key Set and an authorisation
// endpoint that signs in one configured user without asking. Its token
// endpoint checks the client secret, the redirect URI and the PKCE
// verifier (S256 only). It then returns an ID token signed with an ES256
// key made at start.
//
// Tamper makes the next ID tokens wrong in one chosen way, so that tests
// can check that a client rejects them.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Tamper lists the ways to make an ID token wrong. The zero value makes
// correct tokens.
type Tamper struct {
	Audience   string // put this in aud in place of the client id
	Issuer     string // put this in iss in place of the issuer URL
	Nonce      string // put this in nonce in place of the nonce requested
	Expired    bool   // set exp an hour in the past
	ForeignKey bool   // sign with a key that is not in the key set
}

// Provider is a running test provider. Its fields are fixed at New; use
// SetUser and SetTamper to change what it signs.
type Provider struct {
	Issuer       string // the server's URL, such as http://127.0.0.1:39211
	ClientID     string
	ClientSecret string
	RedirectURL  string

	server  *httptest.Server
	keyID   string
	key     *ecdsa.PrivateKey
	foreign *ecdsa.PrivateKey

	mu      sync.Mutex
	subject string
	email   string
	tamper  Tamper
	codes   map[string]authorisation
}

// authorisation is the grant behind one code: the request's redirect URI,
// nonce and PKCE challenge, and the user signed in.
type authorisation struct {
	redirectURI string
	nonce       string
	challenge   string
	subject     string
	email       string
	expires     time.Time
}

// New starts a provider on 127.0.0.1 for one client, and stops it when t
// ends. The signed-in user is "user-1" until SetUser changes it.
func New(t testing.TB, clientID, clientSecret, redirectURL string) *Provider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate signing key: %v", err)
	}
	foreign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate foreign key: %v", err)
	}

	p := &Provider{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		keyID:        "key-" + rand.Text()[:8],
		key:          key,
		foreign:      foreign,
		subject:      "user-1",
		codes:        map[string]authorisation{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.server = httptest.NewServer(mux)
	p.Issuer = p.server.URL
	t.Cleanup(p.server.Close)
	return p
}

// SetUser sets the subject and email of the person the provider signs in.
func (p *Provider) SetUser(subject, email string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subject, p.email = subject, email
}

// SetTamper sets how the ID tokens issued from now on are made wrong.
func (p *Provider) SetTamper(t Tamper) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = t
}

// SetRedirectURL sets the only redirect URI the provider accepts, for
// tests that learn the client's address after New.
func (p *Provider) SetRedirectURL(u string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.RedirectURL = u
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      []string{"openid", "email"},
	})
}

func (p *Provider) keys(w http.ResponseWriter, r *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &p.key.PublicKey, KeyID: p.keyID, Algorithm: string(jose.ES256), Use: "sig",
	}}}
	writeJSON(w, http.StatusOK, set)
}

// authorize signs the configured user in at once and redirects back with a
// code. A request that breaks the rules of the code flow with PKCE gets
// 400 and no redirect, which keeps the tests simple. A real provider
// redirects back with an error code when the client and redirect URI are
// valid.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()

	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != p.RedirectURL:
		http.Error(w, "redirect_uri is not registered", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		http.Error(w, "scope must include openid", http.StatusBadRequest)
		return
	case q.Get("state") == "" || q.Get("nonce") == "":
		http.Error(w, "state and nonce are required", http.StatusBadRequest)
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		http.Error(w, "PKCE with code_challenge_method S256 is required", http.StatusBadRequest)
		return
	}

	code := rand.Text()
	p.codes[code] = authorisation{
		redirectURI: q.Get("redirect_uri"),
		nonce:       q.Get("nonce"),
		challenge:   q.Get("code_challenge"),
		subject:     p.subject,
		email:       p.email,
		expires:     time.Now().Add(time.Minute),
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	values := back.Query()
	values.Set("code", code)
	values.Set("state", q.Get("state"))
	back.RawQuery = values.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code for tokens. Each code works once.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}

	p.mu.Lock()
	code := r.PostForm.Get("code")
	grant, found := p.codes[code]
	delete(p.codes, code)
	tamper := p.tamper
	p.mu.Unlock()

	if !found || time.Now().After(grant.expires) || r.PostForm.Get("redirect_uri") != grant.redirectURI {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != grant.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}

	idToken, err := p.sign(grant, tamper)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": rand.Text(),
		"token_type":   "Bearer",
		"expires_in":   300,
		"id_token":     idToken,
	})
}

func (p *Provider) sign(grant authorisation, tamper Tamper) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss":   p.Issuer,
		"sub":   grant.subject,
		"aud":   p.ClientID,
		"iat":   now.Unix(),
		"exp":   now.Add(5 * time.Minute).Unix(),
		"nonce": grant.nonce,
	}
	if grant.email != "" {
		claims["email"] = grant.email
	}
	if tamper.Audience != "" {
		claims["aud"] = tamper.Audience
	}
	if tamper.Issuer != "" {
		claims["iss"] = tamper.Issuer
	}
	if tamper.Nonce != "" {
		claims["nonce"] = tamper.Nonce
	}
	if tamper.Expired {
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}

	key := p.key
	if tamper.ForeignKey {
		key = p.foreign
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: p.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	signed, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return signed.CompactSerialize()
}

// tokenError writes an OAuth 2.0 token error response.
func tokenError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
