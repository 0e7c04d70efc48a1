// Package web serves the hub's JSON API and its server-rendered pages.
//
// The API speaks JSON and reports every error as RFC 9457 problem details
// (application/problem+json). The pages use GOV.UK Frontend styles and
// components, work without JavaScript and show times in Europe/London.
// Templates, styles and the OpenAPI description are embedded in the binary.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/api"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/webhook"
)

// Server contains the dependencies of the API and the pages. Fill in its
// fields and call Handler once.
type Server struct {
	LifeEvents joinedup.LifeEventService
	Services   joinedup.ServiceDirectory
	Deliveries joinedup.DeliveryService

	Logger *slog.Logger

	// VerifyCallback checks the Standard Webhooks signature of a service's
	// outcome callback with that service's secret. Nil means VerifyWebhook.
	VerifyCallback func(secret string, h http.Header, body []byte, now time.Time) error

	// Metrics serves GET /metrics. Nil means the route returns 404.
	Metrics http.Handler

	// Ready returns nil when the store and the event bus are reachable.
	// Nil means there is nothing to check and the hub is always ready.
	Ready func(ctx context.Context) error

	// BaseURL is the hub's external URL without a trailing slash, such as
	// "https://joinedup.example.gov.uk". It prefixes Location headers.
	BaseURL string

	// APIToken is the token that machines send to the staff API as
	// "Authorization: Bearer <token>". It acts as a registrar of
	// TokenOrganisation and can also register connected services. Empty
	// accepts no token, so only signed-in staff can use the staff API.
	APIToken          string
	TokenOrganisation joinedup.OrgID

	// Policies decide every read and write of personal data.
	Policies *policy.Policies
	// Sessions and Passwords sign staff and residents in. OIDC, when not
	// nil, adds sign-in with the council's identity provider.
	Sessions  *auth.Sessions
	Passwords *auth.Passwords
	OIDC      *auth.OIDC
	// Audit receives an entry for every access to personal data, every
	// break-glass grant and every sign-in. Nil records nothing.
	Audit *audit.Log
	// AuditAPI serves the audit log's checkpoint and proofs, mounted at
	// /api/v1/audit/. Nil means those routes return 404.
	AuditAPI http.Handler
	// Records holds relationships, break-glass grants and audit history.
	Records Records
	// Consents withdraws consent for a service on a life event.
	Consents ConsentWithdrawer
	// Persons is the person index. Nil means its routes return 404.
	Persons PersonIndex

	// TrustedProxies are the addresses of proxies in front of the hub. A
	// request whose connection comes from one of them is counted, by the
	// sign-in and tracking limits, as from the client that its
	// X-Forwarded-For header names. Empty trusts no header.
	TrustedProxies []netip.Prefix

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	trackOnce sync.Once
	tracking  *auth.Throttle // see trackThrottle

	// policyErrors holds the id of each policy whose failure to evaluate
	// decide has logged, so that each is logged once.
	policyErrors sync.Map

	mux *http.ServeMux // the routes, for formPage
}

// VerifyWebhook checks a callback's Standard Webhooks signature with
// package webhook, allowing 5 minutes of clock difference either way.
func VerifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		return err
	}
	return signer.Verify(h, body, now)
}

// Route kinds. API routes are described in api/openapi.json, and page
// routes serve HTML and are not.
const (
	apiRoute  = true
	pageRoute = false
)

type route struct {
	pattern string
	api     bool
	handler http.Handler
}

// routes is the route table: every path the hub serves, in one place.
// Staff routes pass through requireStaff and residents' routes through
// requireSignIn, where authentication is decided. Each handler then checks
// the data it reads or writes against the policies.
func (s *Server) routes() []route {
	staff := s.requireStaff
	signedIn := s.requireSignIn
	public := s.withOptionalSignIn
	h := func(f http.HandlerFunc) http.Handler { return f }

	return []route{
		// Operations.
		{"GET /healthz", apiRoute, h(s.healthz)},
		{"GET /readyz", apiRoute, h(s.readyz)},
		{"GET /metrics", apiRoute, h(s.metrics)},
		{"GET /api/openapi.json", apiRoute, h(s.openAPI)},

		// Life events.
		{"POST /api/v1/births", apiRoute, staff(s.createBirth)},
		{"GET /api/v1/life-events", apiRoute, staff(s.listLifeEvents)},
		{"GET /api/v1/life-events/{id}", apiRoute, staff(s.getLifeEvent)},
		{"GET /api/v1/life-events/by-reference/{reference}", apiRoute, staff(s.getLifeEventByReference)},

		// Connected services.
		{"GET /api/v1/services", apiRoute, staff(s.listServices)},
		{"POST /api/v1/services", apiRoute, staff(s.createService)},
		{"GET /api/v1/services/{id}", apiRoute, staff(s.getService)},
		{"PUT /api/v1/services/{id}", apiRoute, staff(s.updateService)},
		{"DELETE /api/v1/services/{id}", apiRoute, staff(s.retireService)},
		{"GET /api/v1/services/{id}/notices", apiRoute, staff(s.listNotices)},

		// Deliveries. A service's outcome callback is authenticated by its
		// webhook signature, not as staff.
		{"POST /api/v1/deliveries/{id}/outcome", apiRoute, h(s.reportOutcome)},
		{"GET /api/v1/deliveries", apiRoute, staff(s.listDeliveries)},
		{"POST /api/v1/deliveries/{id}/replay", apiRoute, staff(s.replayDelivery)},

		// Consent and the resident's record.
		{"GET /api/v1/residents/{id}/history", apiRoute, signedIn(s.getHistory)},
		{"POST /api/v1/life-events/{id}/consent/{service}/withdraw", apiRoute, signedIn(s.withdrawConsent)},

		// The audit log's public checkpoint and proofs.
		{"GET " + audit.PathCheckpoint, apiRoute, h(s.auditAPI)},
		{"GET " + audit.PathInclusion, apiRoute, h(s.auditAPI)},
		{"GET " + audit.PathConsistency, apiRoute, h(s.auditAPI)},

		// Signing in and out.
		{"GET " + pathSignIn, pageRoute, public(s.signInForm)},
		{"POST " + pathSignIn, pageRoute, h(s.signIn)},
		{"GET " + pathSignInOIDC, pageRoute, h(s.signInOIDC)},
		{"GET " + pathOIDCCallback, pageRoute, h(s.oidcCallback)},
		{"POST /sign-out", pageRoute, h(s.signOut)},

		// Pages for residents.
		{"GET " + pathMyRecord, pageRoute, signedIn(s.myRecord)},
		{"GET /residents/{id}", pageRoute, signedIn(s.residentPage)},
		{"GET /residents/{id}/consent", pageRoute, signedIn(s.confirmWithdrawalForm)},
		{"POST /residents/{id}/consent", pageRoute, signedIn(s.withdrawConsentForm)},

		// Pages for social workers and data protection officers.
		{"GET /residents", pageRoute, staff(s.searchResidents)},
		{"GET /services/{id}/notices", pageRoute, staff(s.noticesPage)},
		{"POST /residents/{id}/break-glass", pageRoute, staff(s.breakGlass)},
		{"GET /dpo/break-glass", pageRoute, staff(s.breakGlassReviews)},
		{"POST /dpo/break-glass/{id}/review", pageRoute, staff(s.reviewBreakGlass)},

		// The person index: matching and the review of possible matches.
		{"POST /api/v1/persons/match", apiRoute, staff(s.matchPerson)},
		{"GET /api/v1/persons/reviews", apiRoute, staff(s.listPersonReviews)},
		{"POST /api/v1/persons/reviews/{id}", apiRoute, staff(s.decidePersonReview)},
		{"GET /operator/persons/reviews", pageRoute, staff(s.personReviewsPage)},
		{"POST /operator/persons/reviews/{id}", pageRoute, staff(s.decidePersonReviewForm)},

		// Pages for the public: the start page and tracking by reference.
		{"GET /{$}", pageRoute, public(s.startPage)},
		{"GET /track", pageRoute, public(s.trackForm)},
		{"GET /track/{reference}", pageRoute, public(s.trackPage)},
		{"GET /static/", pageRoute, s.staticHandler()},

		// Pages for registrars and operators.
		{"GET /births/new", pageRoute, staff(s.birthForm)},
		{"POST /births/new", pageRoute, staff(s.submitBirth)},
		{"GET /births/{id}", pageRoute, staff(s.birthConfirmation)},
		{"GET /operator/life-events", pageRoute, staff(s.lifeEventsPage)},
		{"GET /operator/life-events/{id}", pageRoute, staff(s.lifeEventPage)},
		{"GET /operator/life-events/{id}/consent", pageRoute, staff(s.confirmStaffWithdrawal)},
		{"POST /operator/life-events/{id}/consent", pageRoute, staff(s.withdrawConsentForStaff)},
		{"GET /operator/deliveries", pageRoute, staff(s.deliveriesPage)},
		{"POST /operator/deliveries/{id}/replay", pageRoute, staff(s.replayDeliveryForm)},
	}
}

// Handler returns the hub's HTTP handler. Every request gets a request id,
// an access log line, security headers and panic recovery, and a
// cross-origin request that changes state is rejected.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.VerifyCallback == nil {
		s.VerifyCallback = VerifyWebhook
	}

	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	s.mux = mux

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	// Behind a proxy that rewrites Host, forms posted from the hub's
	// external address would otherwise look cross-origin.
	if s.BaseURL != "" {
		if err := csrf.AddTrustedOrigin(s.BaseURL); err != nil {
			s.Logger.Warn("base URL is not a valid origin, so it is not trusted for form posts", "base_url", s.BaseURL, "error", err)
		}
	}

	return s.withRequestID(s.withAccessLog(s.withRecovery(withSecurityHeaders(csrf.Handler(s.withUnmatched(mux))))))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readinessTimeout bounds the readiness check so that a hung store or bus
// fails the probe instead of hanging it.
const readinessTimeout = 2 * time.Second

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			// fail logs the cause once, with the request id.
			s.fail(w, r, &joinedup.Error{Code: joinedup.EUNAVAILABLE, Message: "The store or the event bus is not reachable.", Err: err})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.Metrics == nil {
		s.fail(w, r, joinedup.Errorf(joinedup.ENOTFOUND, "Metrics are not enabled on this hub."))
		return
	}
	s.Metrics.ServeHTTP(w, r)
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(api.OpenAPI)
}

func (s *Server) auditAPI(w http.ResponseWriter, r *http.Request) {
	if s.AuditAPI == nil {
		s.fail(w, r, joinedup.Errorf(joinedup.ENOTFOUND, "The audit log is not enabled on this hub."))
		return
	}
	s.AuditAPI.ServeHTTP(w, r)
}

// crossOriginDenied writes the 403 for a request that the cross-origin
// protection rejected before any route ran. It reads the session as a
// public page does, so that the page still shows who is signed in.
func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.withOptionalSignIn(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, joinedup.Errorf(joinedup.EFORBIDDEN, "Cross-origin requests that change data are not allowed."))
	}).ServeHTTP(w, r)
}
