package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
)

// Error codes of the HTTP layer that have no domain equivalent.
const (
	codeMalformed        = "malformed"          // the body is not well-formed JSON, or a form that cannot be decoded
	codeMethodNotAllowed = "method_not_allowed" // the path exists but not with this method
)

// httpErrorStatus maps the HTTP layer's own error codes to their HTTP
// status and the title of their problem type. joinedup.HTTPStatus maps
// the domain's codes.
var httpErrorStatus = map[string]struct {
	status int
	title  string
}{
	codeMalformed:        {http.StatusBadRequest, "The request body is not valid JSON"},
	codeMethodNotAllowed: {http.StatusMethodNotAllowed, "Method not allowed"},
}

// pageTitles are the titles of error pages, in plain words, for the error
// codes whose problem titles are written for API callers, such as "The
// request has invalid fields". A code not listed, such as ENOTFOUND with
// "Not found", keeps its problem title.
var pageTitles = map[string]string{
	joinedup.EINVALID:     "There is a problem with the information sent",
	joinedup.ECONFLICT:    "The change could not be made",
	joinedup.EFORBIDDEN:   "You do not have permission to do this",
	joinedup.ETOOLARGE:    "What was sent is too large",
	joinedup.EUNSUPPORTED: "What was sent could not be read",
	joinedup.EUNAVAILABLE: "Sorry, the service is unavailable",
	joinedup.EINTERNAL:    "Sorry, there is a problem with the service",
	codeMalformed:         "What was sent could not be read",
}

// statusOf returns the HTTP status and problem title for an error code.
// An unknown code is treated as internal.
func statusOf(code string) (int, string) {
	if status, title, ok := joinedup.HTTPStatus(code); ok {
		return status, title
	}
	if e, ok := httpErrorStatus[code]; ok {
		return e.status, e.title
	}
	status, title, _ := joinedup.HTTPStatus(joinedup.EINTERNAL)
	return status, title
}

// fail writes err to the caller: as problem details under /api/ and for
// the operations routes, and as an HTML error page elsewhere. An internal
// error's cause is logged once here with the request id and never written
// to the response, which carries the request id instead.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := joinedup.ErrorCode(err)
	status, title := statusOf(code)
	id := requestID(r.Context())

	switch {
	case status >= 500:
		s.Logger.ErrorContext(r.Context(), "request failed", "error", err, "code", code, "status", status,
			"method", r.Method, "route", r.Pattern, "request_id", id)
	default:
		// The route pattern, not the path, is logged, because a path can hold
		// a reference number or a resident's id.
		s.Logger.WarnContext(r.Context(), "request rejected", "code", code, "status", status,
			"method", r.Method, "route", r.Pattern, "request_id", id)
	}

	detail := joinedup.ErrorMessage(err)
	if wantsPage(r) {
		if pageTitle, ok := pageTitles[code]; ok {
			title = pageTitle
		}
		fields := joinedup.ErrorFields(err)
		var titled *pageTitleError
		if errors.As(err, &titled) {
			title = titled.title
			if titled.detail != "" {
				detail, fields = titled.detail, titled.fields
			}
		}
		// error.html gives the request id on every page with a 5xx status.
		if code == joinedup.EINTERNAL {
			detail = "Something went wrong in joinedup."
		}
		s.renderError(w, r, status, title, detail, fields)
		return
	}

	if code == joinedup.EINTERNAL {
		detail = "Something went wrong in joinedup. Quote the request id " + id + " if you report it."
	}

	problem := joinedup.Problem{
		Type:      joinedup.ProblemTypePrefix + code,
		Title:     title,
		Status:    status,
		Detail:    detail,
		Instance:  r.URL.Path,
		RequestID: id,
		Errors:    joinedup.ErrorFields(err),
	}
	var duplicate *joinedup.DuplicateBirth
	if errors.As(err, &duplicate) {
		problem.ExistingReference = duplicate.Reference
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem)
}

// pageTitleError is an error whose error page has its own title, stating
// what happened in place of the generic title of the error's code, and
// may have its own text. An API problem keeps the title of its problem
// type and the error's message and fields.
type pageTitleError struct {
	err   error
	title string
	// detail and fields, when detail is set, replace the error's message
	// and fields on the page.
	detail string
	fields []joinedup.FieldError
}

// withPageTitle wraps err so that its error page has the title.
func withPageTitle(err error, title string) error {
	return &pageTitleError{err: err, title: title}
}

// withPageText wraps err so that its error page has the title, the detail
// and the fields, written for a member of the public.
func withPageText(err error, title, detail string, fields []joinedup.FieldError) error {
	return &pageTitleError{err: err, title: title, detail: detail, fields: fields}
}

func (e *pageTitleError) Error() string { return e.err.Error() }
func (e *pageTitleError) Unwrap() error { return e.err }

// maxEchoIDRunes is the maximum number of characters of an id or name from
// the request that an error message repeats. A service's id has at most
// 63, and a delivery's 30.
const maxEchoIDRunes = 64

// quoteInput returns input quoted as by %q, cut after maxEchoIDRunes
// characters with an ellipsis, so that an error page or problem does not
// repeat a long value from the request in full.
func quoteInput(input string) string {
	if utf8.RuneCountInString(input) <= maxEchoIDRunes {
		return strconv.Quote(input)
	}
	runes := []rune(input)
	return strconv.Quote(string(runes[:maxEchoIDRunes]) + "…")
}

// wantsPage reports whether r is for a page rather than the API or the
// operations routes.
func wantsPage(r *http.Request) bool {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		return false
	case r.URL.Path == "/healthz", r.URL.Path == "/readyz", r.URL.Path == "/metrics":
		return false
	}
	return true
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
