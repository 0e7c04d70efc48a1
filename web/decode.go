package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/api"
	"github.com/joinedup/joinedup/internal/strictjson"
)

// maxBodyBytes is the largest JSON request body accepted. A birth
// registration with two parents is about 2 KiB.
const maxBodyBytes = 64 << 10

// Request schemas, compiled once from the OpenAPI document so that the
// document and the checks cannot drift apart.
var (
	birthSchema   = mustCompileSchema("BirthRegistration")
	serviceSchema = mustCompileSchema("ServiceRegistration")
	outcomeSchema = mustCompileSchema("Outcome")

	personRecordSchema   = mustCompileSchema("PersonRecord")
	reviewDecisionSchema = mustCompileSchema("PersonReviewDecision")
)

const openAPIURL = "urn:joinedup:openapi.json"

// openAPIDocument is api/openapi.json as parsed for the schema compiler.
// schemaTitle reads it too.
var openAPIDocument = mustParseOpenAPI()

func mustParseOpenAPI() any {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI))
	if err != nil {
		panic("parse api/openapi.json: " + err.Error())
	}
	return doc
}

func mustCompileSchema(name string) *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(openAPIURL, openAPIDocument); err != nil {
		panic("load api/openapi.json: " + err.Error())
	}
	return c.MustCompile(openAPIURL + "#/components/schemas/" + name)
}

// checkJSONContentType returns EUNSUPPORTED unless r declares a JSON body.
func checkJSONContentType(r *http.Request) error {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return joinedup.Errorf(joinedup.EUNSUPPORTED, "Send the body as JSON with \"Content-Type: application/json\".")
	}
	// JSON is UTF-8 (RFC 8259), and the body is read as UTF-8 whatever the
	// header names, so another character set is a mistake.
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return joinedup.Errorf(joinedup.EUNSUPPORTED, "Send the body as UTF-8: the character set %q is not supported.", charset)
	}
	return nil
}

// readLimited reads the body of r, returning ETOOLARGE when it is longer
// than maxBodyBytes.
func readLimited(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, joinedup.Errorf(joinedup.ETOOLARGE, "The request body must be %d KiB or less.", maxBodyBytes>>10)
	}
	if err != nil {
		return nil, &joinedup.Error{Code: codeMalformed, Message: "The request body could not be read.", Err: err}
	}
	return body, nil
}

// checkNoBody returns an error when r sends a body to an endpoint that
// takes none, so that a caller does not think that what it sent was read
// or recorded. A JSON body is EINVALID and a body of any other type is
// EUNSUPPORTED. An empty body passes whatever its Content-Type.
func checkNoBody(r *http.Request) error {
	var first [1]byte
	n, err := io.ReadFull(r.Body, first[:])
	if n == 0 && errors.Is(err, io.EOF) {
		return nil
	}
	if n == 0 {
		return &joinedup.Error{Code: codeMalformed, Message: "The request body could not be read.", Err: err}
	}
	const unread = "This request takes no body, so nothing in the body was read or recorded, and nothing was changed. Send the request again without a body."
	if checkJSONContentType(r) != nil {
		return &joinedup.Error{Code: joinedup.EUNSUPPORTED, Message: unread}
	}
	return joinedup.Invalid(unread)
}

// decodeBody checks that r has a JSON body of at most maxBodyBytes and
// decodes it with decodeJSON.
func decodeBody(w http.ResponseWriter, r *http.Request, schema *jsonschema.Schema, v any) error {
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	body, err := readLimited(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, schema, v)
}

// decodeJSON checks body against schema and decodes it into v. Malformed
// JSON is codeMalformed with the byte offset of the fault. A body that
// breaks the schema is EINVALID with one field error per fault, each
// named by a JSON Pointer.
func decodeJSON(body []byte, schema *jsonschema.Schema, v any) error {
	doc, err := parseJSON(body)
	if err != nil {
		return err
	}
	if err := schema.Validate(doc); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return fmt.Errorf("validate request body: %w", err)
		}
		return joinedup.Invalid("The request body has invalid fields.", fieldErrors(verr)...)
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The schema admits only what the Go types accept, so this is a
		// value the types reject in a way the schema does not describe.
		return joinedup.Invalid("The request body has invalid fields.", joinedup.FieldError{Field: "", Message: err.Error()})
	}
	return nil
}

// parseJSON parses one JSON value, keeping numbers exact, and rejects
// anything after it. It also rejects what encoding/json would accept
// silently: bytes that are not UTF-8, which it would replace, and a name
// repeated in one object, of which it would keep the last.
func parseJSON(body []byte) (any, error) {
	if offset, found := strictjson.InvalidUTF8(body); found {
		return nil, joinedup.Errorf(codeMalformed, "The body is not valid UTF-8 at byte offset %d: send text encoded as UTF-8.", offset)
	}
	if _, found := strictjson.ByteOrderMark(body); found {
		return nil, joinedup.Errorf(codeMalformed, "The body starts with a byte order mark (U+FEFF), which JSON does not allow: send the JSON without it.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()

	var doc any
	if err := dec.Decode(&doc); err != nil {
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax) && strings.HasSuffix(syntax.Error(), "exceeded max depth"):
			// encoding/json stops at 10,000 levels, with a message of its own.
			return nil, joinedup.Errorf(codeMalformed, "The body's objects and lists are nested more than 10,000 levels deep, at byte offset %d: send the JSON that the API describes.", syntax.Offset)
		case errors.As(err, &syntax):
			return nil, joinedup.Errorf(codeMalformed, "The body is not valid JSON at byte offset %d: %s.", syntax.Offset, syntax.Error())
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, joinedup.Errorf(codeMalformed, "The body ends early, at byte offset %d: send one complete JSON object.", len(body))
		}
		return nil, joinedup.Errorf(codeMalformed, "The body is not valid JSON at byte offset %d.", dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, joinedup.Errorf(codeMalformed, "The body has more data after the JSON value, at byte offset %d.", dec.InputOffset())
	}
	if repeated, found := strictjson.FindRepeatedName(body); found {
		return nil, joinedup.Invalid("The request body has invalid fields.", joinedup.FieldError{
			Field:   repeated.Pointer,
			Message: fmt.Sprintf("The name %q appears more than once in this object: send it once", repeated.Name),
		})
	}
	return doc, nil
}

var britishEnglish = message.NewPrinter(language.BritishEnglish)

// fieldErrors flattens a schema validation error into one field error per
// fault, sorted by field. Like the domain's field errors, and as GOV.UK
// error messages are, each message ends without a full stop.
func fieldErrors(verr *jsonschema.ValidationError) []joinedup.FieldError {
	var out []joinedup.FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		for _, fe := range describeFault(e) {
			fe.Message = strings.TrimSuffix(fe.Message, ".")
			out = append(out, fe)
		}
	}
	walk(verr)

	slices.SortStableFunc(out, func(a, b joinedup.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return slices.Compact(out)
}

// describeFault turns one schema fault into field errors. Missing and
// unknown properties name the property itself rather than its parent.
func describeFault(e *jsonschema.ValidationError) []joinedup.FieldError {
	at := jsonPointer(e.InstanceLocation)

	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		var out []joinedup.FieldError
		for _, name := range k.Missing {
			out = append(out, joinedup.FieldError{Field: at + "/" + escapePointer(name), Message: "This field is required."})
		}
		return out
	case *kind.AdditionalProperties:
		var out []joinedup.FieldError
		for _, name := range k.Properties {
			out = append(out, joinedup.FieldError{Field: at + "/" + escapePointer(name), Message: "Unknown field: remove it or check its spelling."})
		}
		return out
	case *kind.Format:
		if k.Want == "date" {
			return []joinedup.FieldError{{Field: at, Message: "Enter a real date in the form YYYY-MM-DD."}}
		}
		return []joinedup.FieldError{{Field: at, Message: formatMessage(k.Want)}}
	case *kind.Enum:
		if len(k.Want) == 1 {
			return []joinedup.FieldError{{Field: at, Message: "The only value allowed is " + enumList(k.Want) + "."}}
		}
		return []joinedup.FieldError{{Field: at, Message: "Use one of " + enumList(k.Want) + "."}}
	case *kind.Type:
		// A number with a fraction where a whole number is expected is
		// reported as a number, which reads as no error at all.
		if k.Got == "number" && slices.Equal(k.Want, []string{"integer"}) {
			return []joinedup.FieldError{{Field: at, Message: "Enter a whole number, without a fraction."}}
		}
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = jsonTypeName(w)
		}
		return []joinedup.FieldError{{Field: at, Message: "Give " + strings.Join(want, " or ") + " here, not " + jsonTypeName(k.Got) + "."}}
	case *kind.MinLength:
		if k.Want == 1 {
			return []joinedup.FieldError{{Field: at, Message: "This field must not be empty."}}
		}
		return []joinedup.FieldError{{Field: at, Message: fmt.Sprintf("Enter at least %d characters.", k.Want)}}
	case *kind.MaxLength:
		if title := schemaTitle(e.SchemaURL); title != "" {
			return []joinedup.FieldError{{Field: at, Message: fmt.Sprintf("%s must be %d characters or fewer.", title, k.Want)}}
		}
		return []joinedup.FieldError{{Field: at, Message: fmt.Sprintf("Enter %d characters or fewer.", k.Want)}}
	case *kind.MinItems:
		return []joinedup.FieldError{{Field: at, Message: fmt.Sprintf("Give at least %s.", countItems(k.Want))}}
	case *kind.MaxItems:
		return []joinedup.FieldError{{Field: at, Message: fmt.Sprintf("Give %s or fewer.", countItems(k.Want))}}
	case *kind.Minimum:
		return []joinedup.FieldError{{Field: at, Message: "Enter a number of " + k.Want.RatString() + " or more."}}
	case *kind.Maximum:
		return []joinedup.FieldError{{Field: at, Message: "Enter a number of " + k.Want.RatString() + " or less."}}
	}
	return []joinedup.FieldError{{Field: at, Message: upperFirst(e.ErrorKind.LocalizedString(britishEnglish)) + "."}}
}

// schemaTitle returns the title of the schema at schemaURL, such as
// "Given names" for "urn:joinedup:openapi.json#/components/schemas/Name/properties/given",
// or "" when that schema has no title.
func schemaTitle(schemaURL string) string {
	pointer, ok := strings.CutPrefix(schemaURL, openAPIURL+"#")
	if !ok {
		return ""
	}
	node := openAPIDocument
	for token := range strings.SplitSeq(strings.TrimPrefix(pointer, "/"), "/") {
		token = pointerUnescaper.Replace(token)
		switch n := node.(type) {
		case map[string]any:
			node = n[token]
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(n) {
				return ""
			}
			node = n[i]
		default:
			return ""
		}
	}
	schema, _ := node.(map[string]any)
	title, _ := schema["title"].(string)
	return title
}

// pointerUnescaper reverses pointerEscaper, as RFC 6901 decodes a
// reference token: "~1" to "/", then "~0" to "~".
var pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")

// jsonTypeName names a JSON Schema type as a person would, with its
// article: "text" for string, "a whole number" for integer.
func jsonTypeName(t string) string {
	switch t {
	case "string":
		return "text"
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "boolean":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "null":
		return "null"
	}
	return t
}

func countItems(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}

// formatMessage returns the message for a value not in a JSON Schema format,
// with an example of the format.
func formatMessage(format string) string {
	switch format {
	case "uri":
		return "Enter a full URL, such as https://service.example.gov.uk/events."
	case "email":
		return "Enter an email address, such as name@example.gov.uk."
	case "date-time":
		return "Enter a date and time in the form 2026-12-05T09:30:00Z."
	}
	return "Enter a value in the " + format + " format."
}

// jsonPointer joins reference tokens into an RFC 6901 JSON Pointer.
func jsonPointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

func escapePointer(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

func enumList(values []any) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return strings.Join(quoted, ", ")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
