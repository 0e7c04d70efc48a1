package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/joinedup/joinedup"
)

// TestSchemaFaultsInPlainWords checks that a body that breaks the API's
// schema gets messages a person can act on, not the validator's own text.
func TestSchemaFaultsInPlainWords(t *testing.T) {
	tests := []struct {
		name, from, to string
		field, message string
	}{
		{"text for a number", `"parent": 0`, `"parent": "first"`, "/informant/parent", "Give a whole number here, not text"},
		{"number for text", `"sex": "female"`, `"sex": 5`, "/child/sex", "Give text here, not a number"},
		{"negative index", `"parent": 0`, `"parent": -1`, "/informant/parent", "Enter a number of 0 or more"},
		{"index past two parents", `"parent": 0`, `"parent": 2`, "/informant/parent", "Enter a number of 1 or less"},
		{"index too large to decode", `"parent": 0`, `"parent": 99999999999999999999`, "/informant/parent", "Enter a number of 1 or less"},
		{"index with a huge exponent", `"parent": 0`, `"parent": 1e400`, "/informant/parent", "Enter a number of 1 or less"},
		{"fraction for an index", `"parent": 0`, `"parent": 0.5`, "/informant/parent", "Enter a whole number, without a fraction"},
		{"purpose not allowed", `"services": ["child-benefit"]`, `"services": ["child-benefit"], "purpose": "marketing"`, "/consent/purpose", `The only value allowed is "tell-us-once"`},
		{"sex not allowed", `"sex": "female"`, `"sex": "unknown"`, "/child/sex", `Use one of "female", "male", "indeterminate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			body := strings.Replace(validBirth, tt.from, tt.to, 1)
			p := decodeProblem(t, env.postJSON(t, "/api/v1/births", body), http.StatusUnprocessableEntity)
			var got []string
			for _, e := range p.Errors {
				if e.Field == tt.field {
					got = append(got, e.Message)
				}
			}
			if len(got) != 1 || got[0] != tt.message {
				t.Errorf("messages for %s = %q, want [%q]", tt.field, got, tt.message)
			}
		})
	}
}

// TestSchemaLimitFaultsInPlainWords checks the messages for text and
// lists over a schema's maxLength and maxItems. A birth registration's
// limits are checked after Normalize instead, so these are other schemas.
func TestSchemaLimitFaultsInPlainWords(t *testing.T) {
	tests := []struct {
		name           string
		schema         *jsonschema.Schema
		body           string
		field, message string
	}{
		{"long service name with a title", serviceSchema, `{"name": "` + strings.Repeat("a", 101) + `"}`,
			"/name", "The service’s name must be 100 characters or fewer"},
		{"long town without a title", personRecordSchema, `{"id": "r1", "town": "` + strings.Repeat("a", 101) + `"}`,
			"/town", "Enter 100 characters or fewer"},
		{"too many address lines", personRecordSchema, `{"id": "r1", "addressLines": ["1", "2", "3", "4", "5", "6", "7"]}`,
			"/addressLines", "Give 6 items or fewer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			err := decodeJSON([]byte(tt.body), tt.schema, &v)

			var got []string
			for _, e := range joinedup.ErrorFields(err) {
				if e.Field == tt.field {
					got = append(got, e.Message)
				}
			}
			if len(got) != 1 || got[0] != tt.message {
				t.Errorf("messages for %s = %q, want [%q]; error %v", tt.field, got, tt.message, err)
			}
		})
	}
}

func TestSchemaTitle(t *testing.T) {
	tests := []struct{ url, want string }{
		{openAPIURL + "#/components/schemas/Name/properties/given", "Given names"},
		{openAPIURL + "#/components/schemas/Address/properties/lines/items", "Address line"},
		{openAPIURL + "#/components/schemas/Address/properties/lines", ""},
		{openAPIURL + "#/components/schemas/NoSuchSchema", ""},
		{"urn:elsewhere#/components/schemas/Name/properties/given", ""},
	}
	for _, tt := range tests {
		if got := schemaTitle(tt.url); got != tt.want {
			t.Errorf("schemaTitle(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
