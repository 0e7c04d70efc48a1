package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/joinedup/joinedup"
)

type contextKey int

const (
	requestIDKey contextKey = iota
)

// requestIDHeader carries the request id back to the caller, who can quote
// it when reporting a fault.
const requestIDHeader = "X-Request-Id"

// withRequestID gives each request a new random id. An id sent by the
// client is ignored, so that log lines cannot be forged or joined up
// across requests by a caller.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := rand.Text()
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// requestID returns the id that withRequestID gave the request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAccessLog logs one line per request at debug level. It logs the
// route pattern rather than the path, so that reference numbers typed by
// residents stay out of the log.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.Logger.DebugContext(r.Context(), "request served",
			"method", r.Method,
			"route", r.Pattern,
			"status", rec.status,
			"duration_ms", time.Since(start).Milliseconds(),
			"request_id", requestID(r.Context()))
	})
}

// withRecovery turns a panic in a handler into a logged internal error, so
// that one bad request does not take the process down.
func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, &joinedup.Error{Code: joinedup.EINTERNAL, Message: "Internal error.", Err: panicError{v}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type panicError struct{ value any }

func (p panicError) Error() string { return "panic in handler: " + toString(p.value) }

func toString(v any) string {
	switch v := v.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "non-error value"
}

// contentSecurityPolicy allows scripts, styles and images from the hub
// only, so an injected tag cannot load or run anything.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// withUnmatched replies to a request that matches no route with a problem
// or an error page instead of the mux's plain-text reply. The status is 405
// with an Allow header when the path exists for other methods, and 404
// otherwise.
func (s *Server) withUnmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			if err := checkNoQuery(r); err != nil {
				s.fail(w, r, err)
				return
			}
			mux.ServeHTTP(w, r)
			return
		}

		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			s.fail(w, r, joinedup.Errorf(codeMethodNotAllowed, "%s is not allowed on this path.", r.Method))
			return
		}
		s.fail(w, r, joinedup.Errorf(joinedup.ENOTFOUND, "There is no page or resource at this address."))
	})
}

// headerProbe captures the status and headers of the mux's own 404 or
// 405 reply and discards its body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }

// checkNoQuery returns EINVALID, naming each parameter, for a request that
// changes something and has a query string. No such route reads its query,
// so a parameter such as ?dryRun=true would otherwise be ignored while the
// request took effect. The sign-in form's next is the one exception:
// readForm reads it there, and rejects it when the body gives it too.
func checkNoQuery(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.URL.RawQuery == "" {
		return nil
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return joinedup.Invalid("The web address has a query string that cannot be read. This request takes no query parameters, so nothing was changed.",
			joinedup.FieldError{In: joinedup.InQuery, Field: "", Message: "Remove the query string, the part of the web address from the question mark."})
	}
	if r.URL.Path == pathSignIn {
		delete(query, "next")
	}
	if len(query) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(query))
	fields := make([]joinedup.FieldError, len(names))
	for i, name := range names {
		fields[i] = joinedup.FieldError{In: joinedup.InQuery, Field: "/" + name,
			Message: fmt.Sprintf("The web address gives the parameter %s, which this request does not take. Remove it from the web address.", quoteInput(name))}
	}
	if r.URL.Path == pathSignIn {
		return joinedup.Invalid("The sign-in request gave a parameter in its web address, so you have not been signed in. Go to the sign-in page and sign in again.", fields...)
	}
	return joinedup.Invalid("This request takes no parameters in its web address, so nothing was changed.", fields...)
}
