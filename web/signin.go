package web

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// Paths of the sign-in pages and of the resident's own record.
const (
	pathSignIn       = "/sign-in"
	pathSignInOIDC   = "/sign-in/oidc"
	pathOIDCCallback = "/sign-in/oidc/callback"
	pathMyRecord     = "/my-record"
)

// Audit actions of signing in and out.
const (
	actionSignIn  = "sign-in"
	actionSignOut = "sign-out"
)

type signInView struct {
	Username  string
	Next      string
	OIDC      bool
	SignedOut bool
}

func (s *Server) signInForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// A link that gives next twice would otherwise lead to the first page
	// after sign-in and ignore the second without saying so.
	if err := onceEach(q); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderSignIn(w, r, http.StatusOK, "", safeNext(q.Get("next")), nil, q.Get("signed-out") != "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, username, next string, errs []formError, signedOut bool) {
	s.render(w, r, status, "sign-in.html", page{
		Title:  "Sign in",
		Errors: errs,
		Data: signInView{
			Username: username, Next: next, OIDC: s.OIDC != nil, SignedOut: signedOut,
		},
	})
}

// usernameError returns the error of a sign-in that failed as a whole,
// shown on the user name input.
func usernameError(message string) []formError {
	return []formError{{Field: "/username", Href: "username", Message: message}}
}

// signIn checks a local account's password and starts a session. The
// message of a failed or throttled sign-in comes from package auth, which
// does not say whether the user name exists.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	// readForm rejects a field given more than once before the password is
	// checked, so a rejected form neither starts a session nor counts as a
	// failed attempt. Its only EINVALID is that fault.
	values, err := readForm(w, r, maxBodyBytes)
	if joinedup.ErrorCode(err) == joinedup.EINVALID {
		// The error page reads next from the values to link back to sign-in.
		r.PostForm = values
		err = joinedup.Invalid("The sign-in form sent a field more than once, so you have not been signed in. Go back to the form and sign in again.",
			joinedup.ErrorFields(err)...)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	r.PostForm = values
	username := r.PostForm.Get("username")
	// next may come in the form or in the sign-in address, and readForm
	// has rejected a form that gives it in both.
	next := safeNext(r.PostForm.Get("next"))
	if _, inForm := r.PostForm["next"]; !inForm {
		next = safeNext(r.URL.Query().Get("next"))
	}
	var missing []formError
	if strings.TrimSpace(username) == "" {
		missing = append(missing, formError{Field: "/username", Href: "username", Message: "Enter your user name"})
	}
	if r.PostForm.Get("password") == "" {
		missing = append(missing, formError{Field: "/password", Href: "password", Message: "Enter your password"})
	}
	if len(missing) > 0 {
		s.renderSignIn(w, r, http.StatusUnprocessableEntity, username, next, missing, false)
		return
	}

	account, err := s.Passwords.SignIn(r.Context(), username, r.PostForm.Get("password"), s.clientAddress(r))
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		setRetryAfter(w, throttled.Wait)
		s.renderSignIn(w, r, http.StatusTooManyRequests, username, next, usernameError(joinedup.ErrorMessage(err)), false)
		return
	}
	if joinedup.ErrorCode(err) == joinedup.EUNAUTHORIZED {
		s.renderSignIn(w, r, http.StatusUnauthorized, username, next, usernameError(joinedup.ErrorMessage(err)), false)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.startSession(w, r, account, "password", next)
}

func (s *Server) signInOIDC(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.fail(w, r, joinedup.Errorf(joinedup.ENOTFOUND, "Sign-in with an identity provider is not set up on this hub."))
		return
	}
	s.OIDC.Redirect(w, r)
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.OIDC == nil {
		s.fail(w, r, joinedup.Errorf(joinedup.ENOTFOUND, "Sign-in with an identity provider is not set up on this hub."))
		return
	}
	account, err := s.OIDC.Callback(r.Context(), w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.startSession(w, r, account, "oidc", "")
}

// startSession starts a session for account, records the sign-in and
// sends the browser on to next or to the account's home page.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, account *auth.Account, method, next string) {
	if _, err := s.Sessions.Start(r.Context(), w, r, account.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.recordSignEvent(r.Context(), account.ID, actionSignIn, method)
	if next == "" {
		next = homePath(account)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends every session of the signed-in account and records it.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	account, err := s.Sessions.Authenticate(r.Context(), r)
	if err := s.Sessions.SignOut(r.Context(), w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err == nil {
		s.recordSignEvent(r.Context(), account.ID, actionSignOut, "")
	}
	http.Redirect(w, r, pathSignIn+"?signed-out=1", http.StatusSeeOther)
}

// recordSignEvent appends a sign-in or sign-out to the audit log. A log
// that cannot be written does not stop anyone signing in or out.
func (s *Server) recordSignEvent(ctx context.Context, accountID, action, method string) {
	if s.Audit == nil {
		return
	}
	detail, _ := json.Marshal(map[string]any{"method": method})
	if method == "" {
		detail = nil
	}
	if _, err := s.Audit.Append(ctx, audit.Entry{Actor: accountID, Action: action, Subject: accountID, Detail: detail}); err != nil {
		s.Logger.ErrorContext(ctx, "record sign-in event in audit log", "account_id", accountID, "action", action, "error", err)
	}
}

// parsePostForm reads a small form posted from one of the hub's pages
// into r.PostForm, and reports whether it could. When it could not, the
// error is written.
func (s *Server) parsePostForm(w http.ResponseWriter, r *http.Request) bool {
	values, err := readForm(w, r, maxBodyBytes)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	r.PostForm = values
	return true
}

// homePath returns the first page of an account's role.
func homePath(a *auth.Account) string {
	switch a.Role {
	case policy.RoleRegistrar:
		return "/births/new"
	case policy.RoleSocialWorker:
		return "/residents"
	case policy.RoleOperator:
		return "/operator/deliveries?state=dead-lettered"
	case policy.RoleDataProtectionOfficer:
		return "/dpo/break-glass"
	case policy.RoleResident:
		return "/residents/" + a.ID
	case policy.RoleServiceOfficer:
		if len(a.Services) > 0 {
			return "/services/" + url.PathEscape(string(a.Services[0])) + "/notices"
		}
	}
	return "/operator/life-events"
}

// safeNext returns next when it is a path on this hub, and "" otherwise,
// so that the sign-in page cannot send a browser to another site.
// Browsers drop tabs and line breaks from a URL, so "/\t/example.com"
// would reach them as "//example.com": every control character is
// refused, as is a backslash, which browsers read as a slash.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return next
}

// setRetryAfter tells the client to wait at least wait, rounded up to
// whole seconds, before its next attempt.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
}

// clientAddress returns the IP address of the client that sent r. When
// the connection comes from a trusted proxy, it is the last address in
// X-Forwarded-For that is not a trusted proxy's. Proxies append the
// address they received the request from, so entries left of that one
// were written by the client and could be forged.
func (s *Server) clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trustedProxy(peer) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A proxy that writes something other than an address is
			// misconfigured, so the last address read is used.
			break
		}
		client = addr.Unmap()
		if !s.trustedProxy(client) {
			break
		}
	}
	return client.String()
}

// trustedProxy reports whether addr belongs to a trusted proxy.
func (s *Server) trustedProxy(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// myRecord sends a signed-in resident to their record, and staff to their
// home page.
func (s *Server) myRecord(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, homePath(principalOf(r)), http.StatusSeeOther)
}
