package web

import (
	"net/http"
	"strings"
	"testing"
)

// TestSchemaFaultsInPlainWords checks that a body that breaks the API's
// schema gets messages a person can act on, not the validator's own text.
func TestSchemaFaultsInPlainWords(t *testing.T) {
	tests := []struct {
		name, from, to string
		field, message string
	}{
		{"text for a number", `"parent": 0`, `"parent": "first"`, "/informant/parent", "Give a whole number here, not text."},
		{"number for text", `"sex": "female"`, `"sex": 5`, "/child/sex", "Give text here, not a number."},
		{"negative index", `"parent": 0`, `"parent": -1`, "/informant/parent", "Enter a number of 0 or more."},
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
