package connector

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/joinedup/joinedup"
)

// Problem is an RFC 9457 problem details document, the body of every error
// response between the hub and a service.
type Problem struct {
	Type   string                `json:"type,omitempty"`
	Title  string                `json:"title"`
	Status int                   `json:"status"`
	Detail string                `json:"detail,omitempty"`
	Errors []joinedup.FieldError `json:"errors,omitempty"`
}

func problem(status int, detail string) response {
	return problemResponse(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// problemFor returns the response for a processing error. The detail is
// the caller-safe message of a *joinedup.Error and never an internal cause.
func problemFor(err error) response {
	status := http.StatusInternalServerError
	switch joinedup.ErrorCode(err) {
	case joinedup.EINVALID:
		status = http.StatusBadRequest
	case joinedup.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
	}
	return problemResponse(Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: joinedup.ErrorMessage(err),
		Errors: joinedup.ErrorFields(err),
	})
}

func problemResponse(p Problem) response {
	body, _ := json.Marshal(p) // a Problem has only strings and ints
	return response{status: p.Status, body: body}
}

// errorFromProblem turns an error response from the hub into a
// *joinedup.Error with the code that matches its status.
func errorFromProblem(resp *http.Response) error {
	var p Problem
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(body, &p); err != nil || p.Title == "" {
		p.Title = http.StatusText(resp.StatusCode)
	}
	message := p.Detail
	if message == "" {
		message = p.Title
	}
	return &joinedup.Error{Code: codeForStatus(resp.StatusCode), Message: message, Fields: p.Errors}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return joinedup.EINVALID
	case http.StatusUnauthorized:
		return joinedup.EUNAUTHORIZED
	case http.StatusForbidden:
		return joinedup.EFORBIDDEN
	case http.StatusNotFound:
		return joinedup.ENOTFOUND
	case http.StatusConflict:
		return joinedup.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return joinedup.ETOOLARGE
	case http.StatusUnsupportedMediaType:
		return joinedup.EUNSUPPORTED
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return joinedup.EUNAVAILABLE
	}
	return joinedup.EINTERNAL
}

// isContentType reports whether the Content-Type header value v names the
// media type want, ignoring parameters such as charset.
func isContentType(v, want string) bool {
	mediaType, _, err := mime.ParseMediaType(v)
	return err == nil && mediaType == want
}
