package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/api"
	"github.com/joinedup/joinedup/auth"
)

// httpMethods are the operations an OpenAPI path item may hold.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("parse api/openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}

	routed := map[string]bool{}
	for _, rt := range (&Server{}).routes() {
		if !rt.api {
			continue
		}
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok {
			t.Errorf("API route %q has no method", rt.pattern)
			continue
		}
		operation := strings.ToLower(method) + " " + path
		routed[operation] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is not described in api/openapi.json", rt.pattern)
		}
	}

	for path, item := range doc.Paths {
		for key := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			if !routed[key+" "+path] {
				t.Errorf("api/openapi.json describes %s %s, which no route serves", strings.ToUpper(key), path)
			}
		}
	}
}

// responseSchema compiles a schema of the OpenAPI document, to check that
// responses match what it promises.
func responseSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	return mustCompileSchema(name)
}

func TestResponsesMatchOpenAPI(t *testing.T) {
	env := newTestEnv(t)
	created := env.postJSON(t, "/api/v1/births", validBirth)
	var registered birthRegistered
	json.Unmarshal(created.Body.Bytes(), &registered)

	tests := []struct {
		name   string
		method string
		target string
		body   string
		status int
		schema string
		// account sends the request, or the registrar when nil.
		account *auth.Account
	}{
		{"registered birth", http.MethodPost, "/api/v1/births", validBirth, http.StatusCreated, "BirthRegistered", nil},
		{"life event list", http.MethodGet, "/api/v1/life-events", "", http.StatusOK, "LifeEventList", nil},
		{"life event", http.MethodGet, "/api/v1/life-events/" + string(registered.Event.ID), "", http.StatusOK, "LifeEvent", nil},
		{"service list", http.MethodGet, "/api/v1/services", "", http.StatusOK, "ServiceList", nil},
		{"service", http.MethodGet, "/api/v1/services/child-benefit", "", http.StatusOK, "Service", nil},
		{"delivery list", http.MethodGet, "/api/v1/deliveries?state=pending", "", http.StatusOK, "DeliveryList", env.operator},
		{"invalid registration", http.MethodPost, "/api/v1/births", `{"child": {}}`, http.StatusUnprocessableEntity, "Problem", nil},
		{"health", http.MethodGet, "/healthz", "", http.StatusOK, "Status", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			account := env.registrar
			if tt.account != nil {
				account = tt.account
			}
			env.signInAs(t, account)
			header := http.Header{"Content-Type": {"application/json"}}
			rec := env.do(t, tt.method, tt.target, strings.NewReader(tt.body), header)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			doc, err := jsonschema.UnmarshalJSON(rec.Body)
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if err := responseSchema(t, tt.schema).Validate(doc); err != nil {
				t.Errorf("response does not match schema %s: %v", tt.schema, err)
			}
		})
	}

	// Removing a service needs an operator.
	env.signInAs(t, env.operator)
	removals := []struct {
		name   string
		method string
		target string
		status int
		schema string
	}{
		{"removed service", http.MethodDelete, "/api/v1/services/child-benefit", http.StatusOK, "RetiredService"},
		{"service list with removed", http.MethodGet, "/api/v1/services?includeRetired=true", http.StatusOK, "ServiceList"},
		{"removed service read", http.MethodGet, "/api/v1/services/child-benefit", http.StatusNotFound, "Problem"},
		{"invalid includeRetired", http.MethodGet, "/api/v1/services?includeRetired=yes", http.StatusUnprocessableEntity, "Problem"},
	}
	for _, tt := range removals {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, tt.method, tt.target, nil, nil)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			doc, err := jsonschema.UnmarshalJSON(rec.Body)
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if err := responseSchema(t, tt.schema).Validate(doc); err != nil {
				t.Errorf("response does not match schema %s: %v", tt.schema, err)
			}
		})
	}
}

func TestOpenAPININOExamplesValid(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Parent struct {
					Properties struct {
						NINO struct {
							Examples []string `json:"examples"`
						} `json:"nationalInsuranceNumber"`
					} `json:"properties"`
				} `json:"Parent"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("parse api/openapi.json: %v", err)
	}
	examples := doc.Components.Schemas.Parent.Properties.NINO.Examples
	if len(examples) == 0 {
		t.Fatal("api/openapi.json gives no example National Insurance number")
	}
	for _, example := range examples {
		if _, ok := joinedup.NormalizeNINO(example); !ok {
			t.Errorf("example National Insurance number %q is rejected by the validator", example)
		}
	}
}

// TestOpenAPIBirthLimitsMatchDomain checks that api/openapi.json states,
// in the description of each limited field of a birth registration, the
// limit that joinedup.BirthRegistration.Validate applies. The schema must
// not enforce the limit itself with maxLength or maxItems, which would
// count the text before Normalize and reject text that the hub accepts.
func TestOpenAPIBirthLimitsMatchDomain(t *testing.T) {
	tests := []struct {
		pointer string // a schema in api/openapi.json
		limit   string // the phrase its description must contain
	}{
		{"/components/schemas/Name/properties/given", fmt.Sprintf("at most %d characters once normalised", joinedup.MaxNameLength)},
		{"/components/schemas/Name/properties/family", fmt.Sprintf("at most %d characters once normalised", joinedup.MaxNameLength)},
		{"/components/schemas/Child/properties/placeOfBirth", fmt.Sprintf("at most %d characters once normalised", joinedup.MaxPlaceLength)},
		{"/components/schemas/Address/properties/lines", fmt.Sprintf("at most %d lines may remain", joinedup.MaxAddressLines)},
		{"/components/schemas/Address/properties/lines/items", fmt.Sprintf("at most %d characters once normalised", joinedup.MaxAddressLineLength)},
		{"/components/schemas/Address/properties/town", fmt.Sprintf("at most %d characters once normalised", joinedup.MaxTownLength)},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			var node any = openAPIDocument
			for token := range strings.SplitSeq(strings.TrimPrefix(tt.pointer, "/"), "/") {
				object, ok := node.(map[string]any)
				if !ok {
					t.Fatalf("api/openapi.json has no object above %q", token)
				}
				node = object[token]
			}
			schema, ok := node.(map[string]any)
			if !ok {
				t.Fatalf("api/openapi.json has no schema at %s", tt.pointer)
			}
			description, _ := schema["description"].(string)
			if !strings.Contains(strings.ToLower(description), tt.limit) {
				t.Errorf("description %q does not state %q, the limit the domain checks", description, tt.limit)
			}
			for _, keyword := range []string{"maxLength", "maxItems"} {
				if value, found := schema[keyword]; found {
					t.Errorf("schema sets %s %v, which counts the text before Normalize", keyword, value)
				}
			}
		})
	}
}
