package web

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
)

// formMediaType is the media type in which browsers send a form without
// file inputs, and the only one in which the hub's pages read forms.
const formMediaType = "application/x-www-form-urlencoded"

// formUnreadTitle is the title of the error page for a form that could
// not be read at all.
const formUnreadTitle = "The form could not be read"

// readForm reads the body of a form posted from one of the hub's pages,
// at most limit bytes, and returns its values. It reads the body only, so
// a query string in the URL adds no values.
//
// It returns EUNSUPPORTED for a body that is not sent as formMediaType in
// UTF-8, codeMalformed for a body that cannot be decoded or holds names
// or values that are not valid UTF-8, and ETOOLARGE, wrapping the
// *http.MaxBytesError, for a body over limit. The first two have an error
// page titled formUnreadTitle. It returns EINVALID, together with the
// values read, when the body and the URL's query together give a field
// more than once, as repeatedFields counts them. The names in multiple,
// such as a group of checkboxes, may repeat in the body.
func readForm(w http.ResponseWriter, r *http.Request, limit int64, multiple ...string) (url.Values, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != formMediaType {
		return nil, formUnread(joinedup.EUNSUPPORTED, nil,
			"The form was not sent as "+formMediaType+", the type in which web browsers send forms")
	}
	// The pages are UTF-8, so a browser sends their forms in UTF-8.
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return nil, formUnread(joinedup.EUNSUPPORTED, nil,
			fmt.Sprintf("The form was sent in the character set %q, but the hub reads forms only in UTF-8", charset))
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &joinedup.Error{Code: joinedup.ETOOLARGE, Message: fmt.Sprintf("The form must be %d KiB or less.", limit>>10), Err: err}
	}
	if err != nil {
		return nil, formUnread(codeMalformed, err, "The form could not be received in full")
	}

	// url.ParseQuery also rejects a body with more than 10,000 parameters
	// (Go 1.26, GODEBUG urlmaxqueryparams).
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, formUnread(codeMalformed, err, "The answers in the form could not be decoded")
	}
	// A value that is not UTF-8 would be shown again in a UTF-8 page, and
	// validation would report several errors on one field.
	for name, list := range values {
		if !utf8.ValidString(name) || !allValidUTF8(list) {
			return nil, formUnread(codeMalformed, nil, "The form contains text that is not valid UTF-8")
		}
	}
	if fields := repeatedFields(r.URL.Query(), values, multiple); len(fields) > 0 {
		return values, joinedup.Invalid("The form sent a field more than once, so nothing was changed. "+
			"Go back to the form and send it again.", fields...)
	}
	return values, nil
}

// repeatedFields returns a field error for each name that a form gives
// more than once, counting its values in the body and in the URL's query
// together. A handler reads the first value of a field, so it would
// otherwise ignore the others without saying so. A name in multiple may
// repeat in the body. Only the sign-in form reaches here with a query,
// its next, because checkNoQuery rejects every other query of a request
// that changes something.
func repeatedFields(query, body url.Values, multiple []string) []joinedup.FieldError {
	names := slices.Collect(maps.Keys(body))
	for name := range query {
		if _, ok := body[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)

	var fields []joinedup.FieldError
	for _, name := range names {
		inQuery, inBody := len(query[name]), len(body[name])
		switch {
		case slices.Contains(multiple, name) && inQuery == 0:
			continue
		case inQuery+inBody > 1:
			fields = append(fields, joinedup.FieldError{Field: "/" + name,
				Message: fmt.Sprintf("The field %q was sent %d times.", name, inQuery+inBody)})
		}
	}
	return fields
}

// formUnread returns an error of readForm with the code and the cause.
// Its message starts with fault, the sentence that describes the fault.
func formUnread(code string, cause error, fault string) error {
	return withPageTitle(&joinedup.Error{
		Code:    code,
		Message: fault + ", so nothing was changed. Go back to the form and send it again.",
		Err:     cause,
	}, formUnreadTitle)
}

func allValidUTF8(list []string) bool {
	for _, s := range list {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
