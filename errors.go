package joinedup

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. Each maps to one HTTP status (HTTPStatus); the set is kept
// small so that callers can branch on the code rather than the text.
const (
	EINVALID      = "invalid"      // the input breaks a rule; Fields names the fields
	ENOTFOUND     = "not_found"    // no such thing, or the caller may not see it
	ECONFLICT     = "conflict"     // the change clashes with the current state
	EUNAUTHORIZED = "unauthorized" // the caller is not signed in or the signature is wrong
	EFORBIDDEN    = "forbidden"    // the caller may not make this change
	ETOOLARGE     = "too_large"    // the request body is over the limit
	EUNSUPPORTED  = "unsupported"  // the request has the wrong content type
	EUNAVAILABLE  = "unavailable"  // a dependency is down; the caller may retry
	EINTERNAL     = "internal"     // a fault in joinedup; the cause is logged, never shown
)

// httpStatuses maps each error code to its HTTP status and the title of
// its problem type (RFC 9457).
var httpStatuses = map[string]struct {
	status int
	title  string
}{
	EINVALID:      {http.StatusUnprocessableEntity, "The request has invalid fields"},
	ENOTFOUND:     {http.StatusNotFound, "Not found"},
	ECONFLICT:     {http.StatusConflict, "The change conflicts with the current state"},
	EUNAUTHORIZED: {http.StatusUnauthorized, "Authentication required"},
	EFORBIDDEN:    {http.StatusForbidden, "Forbidden"},
	ETOOLARGE:     {http.StatusRequestEntityTooLarge, "The request body is too large"},
	EUNSUPPORTED:  {http.StatusUnsupportedMediaType, "Unsupported media type"},
	EUNAVAILABLE:  {http.StatusServiceUnavailable, "Service unavailable"},
	EINTERNAL:     {http.StatusInternalServerError, "Internal error"},
}

// HTTPStatus returns the HTTP status and problem title of an error code,
// and false for a code that is not one of the codes above.
func HTTPStatus(code string) (status int, title string, ok bool) {
	e, ok := httpStatuses[code]
	return e.status, e.title, ok
}

// ProblemTypePrefix starts the URI of every problem type, and the error
// code completes it, as in "urn:joinedup:problem:invalid".
const ProblemTypePrefix = "urn:joinedup:problem:"

// Problem is an RFC 9457 problem details object, as the hub's API and the
// audit endpoints write it. RequestID and Errors are extension members.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Instance  string       `json:"instance"`
	RequestID string       `json:"requestId"`
	Errors    []FieldError `json:"errors,omitempty"`
	// ExistingReference is the reference number of the registration that
	// a rejected birth duplicates.
	ExistingReference string `json:"existingReference,omitempty"`
}

// Error is an application error. Message is safe to show to the caller;
// Err is the internal cause, kept for the log and never shown.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

// FieldError names one invalid field of an input. Field is a JSON Pointer
// (RFC 6901) into the submitted document, such as "/child/dateOfBirth".
// For a parameter in a request's URL, In is InQuery and Field points into
// the query's parameters as if they were an object, such as "/limit",
// or is "" for the query as a whole.
type FieldError struct {
	Field   string `json:"field"`
	In      string `json:"in,omitempty"`
	Message string `json:"message"`
}

// InQuery is the In of a FieldError about a parameter in a request's URL.
const InQuery = "query"

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or a generic message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the field errors of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Invalid returns an EINVALID error that lists field errors.
func Invalid(message string, fields ...FieldError) *Error {
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

// DuplicateBirth is the cause of the ECONFLICT error that rejects a birth
// already registered. Reference is the existing registration's reference
// number.
type DuplicateBirth struct {
	Reference string
}

func (d *DuplicateBirth) Error() string {
	return "birth already registered with reference " + d.Reference
}
