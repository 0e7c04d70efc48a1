package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// principalOf returns the signed-in account of the request, or nil.
func principalOf(r *http.Request) *auth.Account {
	a, _ := auth.FromContext(r.Context())
	return a
}

// bearerToken checks the Authorization header of r against the
// configured API token and returns a problem for the caller when it does
// not match. The scheme name is case-insensitive (RFC 9110). Hashing both
// tokens first keeps the comparison constant-time in the token's length
// as well as its content.
func (s *Server) bearerToken(r *http.Request) error {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		return joinedup.Errorf(joinedup.EUNAUTHORIZED, "The request has %d Authorization headers. Send one: Authorization: Bearer TOKEN, with the hub's API token.", len(values))
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return joinedup.Errorf(joinedup.EUNAUTHORIZED, "The Authorization header does not use the Bearer scheme. Send the hub's API token as Authorization: Bearer TOKEN, or sign in.")
	}
	token = strings.TrimSpace(token)
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(s.APIToken))
	if s.APIToken == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return joinedup.Errorf(joinedup.EUNAUTHORIZED, "The bearer token is not valid. Send the hub's API token in the Authorization header (Authorization: Bearer TOKEN), or sign in.")
	}
	return nil
}

// tokenAccount is the principal of a request made with the API token: a
// registrar of TokenOrganisation, for machines that register births and
// follow them, such as joinedup demo. authorizeServiceChange also lets it
// register services, for machines such as joinedup reference-services.
func (s *Server) tokenAccount() *auth.Account {
	return &auth.Account{ID: tokenAccountID, Username: tokenAccountID, Role: policy.RoleRegistrar, Organisation: s.TokenOrganisation}
}

// authenticate returns the account of the request's session or API token.
// With neither it returns EUNAUTHORIZED, and it clears a session cookie
// that no longer names a session.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, allowToken bool) (*auth.Account, error) {
	if allowToken && (r.Header.Get("Authorization") != "" || len(r.Header.Values("Authorization")) > 1) {
		if err := s.bearerToken(r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="joinedup"`)
			return nil, err
		}
		return s.tokenAccount(), nil
	}
	account, err := s.Sessions.Authenticate(r.Context(), r)
	if joinedup.ErrorCode(err) == joinedup.EUNAUTHORIZED {
		if hasCookie(r, s.Sessions.CookieName()) {
			s.Sessions.ClearCookie(w)
		}
	}
	return account, err
}

// requireStaff lets through a member of staff signed in with a session or,
// on API routes, a request with the API token. A page redirects a browser
// with no session to the sign-in page, and a resident gets 403.
func (s *Server) requireStaff(next http.HandlerFunc) http.Handler {
	return s.requireAccount(true, next)
}

// requireSignIn lets through anyone signed in, staff or resident.
func (s *Server) requireSignIn(next http.HandlerFunc) http.Handler {
	return s.requireAccount(false, next)
}

func (s *Server) requireAccount(staffOnly bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := wantsPage(r)
		account, err := s.authenticate(w, r, !page)
		if err != nil {
			if page && joinedup.ErrorCode(err) == joinedup.EUNAUTHORIZED {
				http.Redirect(w, r, signInURL(r), http.StatusSeeOther)
				return
			}
			if joinedup.ErrorCode(err) == joinedup.EUNAUTHORIZED && r.Header.Get("Authorization") == "" && !hasCookie(r, s.Sessions.CookieName()) {
				// A program calling the API with no credentials needs the
				// header to send more than a prompt to sign in.
				w.Header().Set("WWW-Authenticate", `Bearer realm="joinedup"`)
				err = joinedup.Errorf(joinedup.EUNAUTHORIZED,
					"This request needs credentials: send the hub's API token in the Authorization header (Authorization: Bearer TOKEN), or sign in at %s.", pathSignIn)
			}
			s.fail(w, r, err)
			return
		}
		r = r.WithContext(auth.NewContext(r.Context(), account))
		if staffOnly && account.Role == policy.RoleResident {
			s.fail(w, r, joinedup.Errorf(joinedup.EFORBIDDEN, "This page is for council and partner staff. Residents can see their record at %s.", pathMyRecord))
			return
		}
		next(w, r)
	})
}

// withOptionalSignIn adds the account of a valid session to a public
// page's request, so that the page shows who is signed in and the
// sign-out button. A request without one goes through unchanged.
func (s *Server) withOptionalSignIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasCookie(r, s.Sessions.CookieName()) {
			if account, err := s.Sessions.Authenticate(r.Context(), r); err == nil {
				r = r.WithContext(auth.NewContext(r.Context(), account))
			}
		}
		next(w, r)
	})
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

// signInURL returns the URL of the sign-in page, which sends the browser
// back to r's page after sign-in.
func signInURL(r *http.Request) string {
	next := r.URL.Path
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	return pathSignIn + "?" + url.Values{"next": {next}}.Encode()
}
