package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/joinedup/joinedup"
)

// Actions that the hub records. Other actions are allowed when they match
// the same form: lowercase words joined by dots or hyphens.
const (
	ActionDisclosure       = "disclosure"
	ActionAccess           = "access"
	ActionConsentGiven     = "consent.given"
	ActionConsentRefused   = "consent.refused"
	ActionConsentNotAsked  = "consent.not-asked"
	ActionConsentWithdrawn = "consent.withdrawn"
	ActionPolicyChanged    = "policy.changed"
	ActionBreakGlass       = "break-glass"
	// ActionBreakGlassReviewed records a data protection officer's review
	// of a break-glass grant.
	ActionBreakGlassReviewed = "break-glass.reviewed"
	// ActionLawfulBasis records a service told under a lawful basis
	// other than consent.
	ActionLawfulBasis = "lawful-basis"
)

// Limits on the fields of an entry, in characters for text and in bytes
// for the detail.
const (
	MaxFieldLength  = 200
	MaxReasons      = 50
	MaxReasonLength = 1000
	MaxDetailSize   = 64 << 10
)

// Entry is one event in the log. Append sets Seq and Time; every other
// field comes from the caller.
type Entry struct {
	// Seq is the entry's position in the log, counting from 0. It is also
	// the index of its leaf in the Merkle tree.
	Seq uint64 `json:"seq"`

	// Time is when the entry was appended, in UTC to the microsecond.
	Time time.Time `json:"time"`

	// Actor is who acted: a staff user id, a service id or "system".
	Actor string `json:"actor"`

	// Action is the kind of event, such as ActionAccess.
	Action string `json:"action"`

	// Subject is the person or record acted on, by id only, never by name.
	// It is empty for actions on no one, such as a policy change.
	Subject string `json:"subject,omitempty"`

	// Purpose is the purpose the actor stated or the consent covers.
	Purpose string `json:"purpose,omitempty"`

	// Reasons are the reasons of the policy decision that allowed the
	// action, such as the ids of the policies that matched.
	Reasons []string `json:"reasons,omitempty"`

	// Detail is a JSON object with whatever else the action needs, such as
	// the fields disclosed. Append stores it in canonical form.
	Detail json.RawMessage `json:"detail,omitempty"`
}

var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9]*([.-][a-z][a-z0-9]*)*$`)

// validate checks e as a caller passed it to Append and returns its detail
// in canonical form, or an EINVALID error naming every bad field of the
// entry at position i of the call.
func (e Entry) validate(i int) ([]byte, error) {
	var fields []joinedup.FieldError
	add := func(field, format string, args ...any) {
		fields = append(fields, joinedup.FieldError{
			Field:   fmt.Sprintf("/%d/%s", i, field),
			Message: fmt.Sprintf(format, args...),
		})
	}

	if e.Actor == "" {
		add("actor", "Actor is missing")
	}
	if e.Action == "" {
		add("action", "Action is missing")
	} else if !actionPattern.MatchString(e.Action) {
		add("action", "Action %q is invalid: use lowercase words joined by dots or hyphens, like consent.given", e.Action)
	}
	texts := []struct{ name, value string }{
		{"actor", e.Actor}, {"action", e.Action}, {"subject", e.Subject}, {"purpose", e.Purpose},
	}
	for _, f := range texts {
		if !utf8.ValidString(f.value) || hasControl(f.value) {
			add(f.name, "%s must be UTF-8 text without control characters", f.name)
		} else if utf8.RuneCountInString(f.value) > MaxFieldLength {
			add(f.name, "%s must be %d characters or fewer", f.name, MaxFieldLength)
		}
	}
	if len(e.Reasons) > MaxReasons {
		add("reasons", "There must be %d reasons or fewer", MaxReasons)
	}
	for j, r := range e.Reasons {
		if !utf8.ValidString(r) {
			add(fmt.Sprintf("reasons/%d", j), "Reason must be UTF-8 text")
		} else if utf8.RuneCountInString(r) > MaxReasonLength {
			add(fmt.Sprintf("reasons/%d", j), "Reason must be %d characters or fewer", MaxReasonLength)
		}
	}
	var detail []byte
	if len(e.Detail) > MaxDetailSize {
		add("detail", "Detail must be %d bytes or fewer", MaxDetailSize)
	} else if d, err := canonicalDetail(e.Detail); err != nil {
		add("detail", "Detail must be a JSON object: %v", err)
	} else {
		detail = d
	}

	if len(fields) > 0 {
		return nil, joinedup.Invalid("The audit entry is invalid.", fields...)
	}
	return detail, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// canonicalDetail returns detail as a JSON object with its keys sorted, no
// insignificant white space and numbers kept as written. Empty detail is
// the empty object.
func canonicalDetail(detail []byte) ([]byte, error) {
	if len(bytes.TrimSpace(detail)) == 0 {
		return []byte("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(detail))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the object")
	}
	if v == nil {
		return nil, fmt.Errorf("null is not an object")
	}
	return marshalCanonical(v)
}

// marshalCanonical encodes v as encoding/json does, except that <, > and &
// are written as they are rather than escaped, and with no trailing newline.
// Map keys come out sorted.
func marshalCanonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// LeafVersion is the leaf format version that Append writes.
const LeafVersion = 1

// leafV1 is version 1 of the leaf format. The field order here is the order
// of the keys in the encoded leaf, and changing anything in this struct
// changes every leaf hash, so a new format needs a new version.
type leafV1 struct {
	Version int             `json:"v"`
	Seq     uint64          `json:"seq"`
	Time    string          `json:"time"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Purpose string          `json:"purpose"`
	Reasons []string        `json:"reasons"`
	Detail  json.RawMessage `json:"detail"`
}

// timeFormat is RFC 3339 in UTC with exactly six fractional digits.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// EncodeLeaf returns the leaf of e in format version: the bytes that the
// Merkle tree hashes. The package documentation describes the format.
func EncodeLeaf(version int, e Entry) ([]byte, error) {
	if version != 1 {
		return nil, fmt.Errorf("unknown leaf format version %d", version)
	}
	detail, err := canonicalDetail(e.Detail)
	if err != nil {
		return nil, fmt.Errorf("encode detail of entry %d: %w", e.Seq, err)
	}
	return encodeLeafV1(e, detail)
}

// encodeLeafV1 returns the version 1 leaf of e with detail, which must be
// e.Detail in canonical form.
func encodeLeafV1(e Entry, detail []byte) ([]byte, error) {
	reasons := e.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return marshalCanonical(leafV1{
		Version: 1,
		Seq:     e.Seq,
		Time:    e.Time.UTC().Format(timeFormat),
		Actor:   e.Actor,
		Action:  e.Action,
		Subject: e.Subject,
		Purpose: e.Purpose,
		Reasons: reasons,
		Detail:  detail,
	})
}

// canonicalLeafHash returns the leaf hash of e in format version 1, the
// format Append writes. Append has put e's detail in canonical form, so it
// is hashed as it is.
func canonicalLeafHash(e Entry) ([]byte, error) {
	leaf, err := encodeLeafV1(e, e.Detail)
	if err != nil {
		return nil, err
	}
	return rfc6962.DefaultHasher.HashLeaf(leaf), nil
}

// LeafHash returns the RFC 6962 leaf hash of e in format version:
// SHA-256 over a zero byte followed by the leaf.
func LeafHash(version int, e Entry) ([]byte, error) {
	leaf, err := EncodeLeaf(version, e)
	if err != nil {
		return nil, err
	}
	return rfc6962.DefaultHasher.HashLeaf(leaf), nil
}
