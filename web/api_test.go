package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/webhook"
)

func TestCreateBirth(t *testing.T) {
	env := newTestEnv(t)

	rec := env.postJSON(t, "/api/v1/births", validBirth)

	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	var got birthRegistered
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if want := "http://hub.test/api/v1/life-events/" + string(got.Event.ID); rec.Header().Get("Location") != want {
		t.Errorf("Location = %q, want %q", rec.Header().Get("Location"), want)
	}
	if got.Receipt == nil || got.Receipt.Reference != got.Event.Reference {
		t.Errorf("receipt = %+v, want one for reference %s", got.Receipt, got.Event.Reference)
	}
	if len(got.Event.Deliveries) != 1 || got.Event.Deliveries[0].Service != "child-benefit" {
		t.Errorf("deliveries = %+v, want one to child-benefit", got.Event.Deliveries)
	}
}

func TestCreateBirthRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		fields      []string // pointers that must be named
		detail      string   // text the detail must contain
	}{
		{
			name: "form content type", contentType: "application/x-www-form-urlencoded", body: "a=b",
			status: http.StatusUnsupportedMediaType,
		},
		{
			name: "no content type", body: validBirth,
			status: http.StatusUnsupportedMediaType,
		},
		{
			name: "body over 64 KiB", body: `{"child": {"placeOfBirth": "` + strings.Repeat("x", 70<<10) + `"}}`,
			status: http.StatusRequestEntityTooLarge,
		},
		{
			name: "malformed JSON", body: `{"child": {"name": }}`,
			status: http.StatusBadRequest, detail: "byte offset 20",
		},
		{
			name: "truncated JSON", body: `{"child": {`,
			status: http.StatusBadRequest, detail: "byte offset 11",
		},
		{
			name: "nested too deeply", body: `{"child": ` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
			status: http.StatusBadRequest, detail: "nested more than 10,000 levels deep",
		},
		{
			name: "byte order mark", body: "\uFEFF" + validBirth,
			status: http.StatusBadRequest, detail: "byte order mark",
		},
		{
			name: "byte order mark after white space", body: " \r\n\uFEFF" + validBirth,
			status: http.StatusBadRequest, detail: "byte order mark",
		},
		{
			name: "two JSON values", body: validBirth + ` {}`,
			status: http.StatusBadRequest, detail: "more data after the JSON value",
		},
		{
			name: "unknown field", body: strings.Replace(validBirth, `"sex": "female"`, `"sex": "female", "nickname": "Ace"`, 1),
			status: http.StatusUnprocessableEntity, fields: []string{"/child/nickname"},
		},
		{
			name: "missing fields", body: strings.Replace(validBirth, `"sex": "female", `, ``, 1),
			status: http.StatusUnprocessableEntity, fields: []string{"/child/sex"},
		},
		{
			name: "impossible date", body: strings.Replace(validBirth, `"2026-11-20"`, `"2023-02-29"`, 1),
			status: http.StatusUnprocessableEntity, fields: []string{"/child/dateOfBirth"},
		},
		{
			name: "future date", body: strings.Replace(validBirth, `"2026-11-20"`, `"2026-12-25"`, 1),
			status: http.StatusUnprocessableEntity, fields: []string{"/child/dateOfBirth"},
		},
		{
			name: "wrong type", body: strings.Replace(validBirth, `"parent": 0`, `"parent": "first"`, 1),
			status: http.StatusUnprocessableEntity, fields: []string{"/informant/parent"},
		},
		{
			name: "unknown and wrong services", body: strings.Replace(validBirth, `["child-benefit"]`, `["child-benefit", "no-such-service", "refuse"]`, 1),
			status: http.StatusUnprocessableEntity, fields: []string{"/consent/services/1", "/consent/services/2"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			header := http.Header{}
			if tt.contentType != "" {
				header.Set("Content-Type", tt.contentType)
			} else if tt.status != http.StatusUnsupportedMediaType {
				header.Set("Content-Type", "application/json; charset=utf-8")
			}

			rec := env.do(t, http.MethodPost, "/api/v1/births", strings.NewReader(tt.body), header)

			p := decodeProblem(t, rec, tt.status)
			got := fieldsOf(p)
			for _, want := range tt.fields {
				if !slices.Contains(got, want) {
					t.Errorf("errors name %q, want them to include %q", got, want)
				}
			}
			if len(tt.fields) == 0 && len(got) > 0 {
				t.Errorf("errors = %q, want none", got)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.detail)
			}
			if len(env.hub.events) != 0 {
				t.Errorf("%d events recorded, want none", len(env.hub.events))
			}
		})
	}
}

func TestInternalErrorHidesCause(t *testing.T) {
	env := newTestEnv(t)
	env.hub.err = errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user hub")

	rec := env.do(t, http.MethodGet, "/api/v1/life-events", nil, nil)

	p := decodeProblem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "password") || strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Errorf("response shows the internal cause: %s", rec.Body)
	}
	if !strings.Contains(p.Detail, p.RequestID) {
		t.Errorf("detail = %q, want it to quote the request id %s", p.Detail, p.RequestID)
	}
	logged := env.logs.String()
	if n := strings.Count(logged, "password authentication failed"); n != 1 {
		t.Errorf("cause logged %d times, want once; log:\n%s", n, logged)
	}
	if !strings.Contains(logged, `"request_id":"`+p.RequestID+`"`) {
		t.Errorf("log lacks request_id %s; log:\n%s", p.RequestID, logged)
	}
}

func TestInternalErrorPageQuotesIDOnce(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)
	env.hub.err = errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user hub")

	rec := env.do(t, http.MethodGet, "/operator/life-events", nil, nil)

	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500; body %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if strings.Contains(body, "password") || strings.Contains(body, "10.0.0.7") {
		t.Errorf("page shows the internal cause:\n%s", body)
	}
	if !strings.Contains(body, "Something went wrong in joinedup.") {
		t.Errorf("page does not say that something went wrong:\n%s", body)
	}
	id := rec.Header().Get("X-Request-Id")
	if id == "" {
		t.Fatal("response has no X-Request-Id header")
	}
	if n := strings.Count(body, id); n != 1 {
		t.Errorf("page quotes the request id %s %d times, want once:\n%s", id, n, body)
	}
}

func TestAccessLogNamesRoute(t *testing.T) {
	env := newTestEnv(t)

	rec := env.do(t, http.MethodGet, "/track/JU-AAAA-BBBB", nil, nil)

	logged := env.logs.String()
	if !strings.Contains(logged, `"route":"GET /track/{reference}"`) {
		t.Errorf("access log lacks the route pattern; log:\n%s", logged)
	}
	if strings.Contains(logged, "JU-AAAA-BBBB") {
		t.Errorf("log shows the reference number typed; log:\n%s", logged)
	}
	if !strings.Contains(logged, `"request_id":"`+rec.Header().Get(requestIDHeader)+`"`) {
		t.Errorf("access log lacks the request id; log:\n%s", logged)
	}
}

func TestListLifeEvents(t *testing.T) {
	env := newTestEnv(t)
	for range 3 {
		if rec := env.postJSON(t, "/api/v1/births", validBirth); rec.Code != http.StatusCreated {
			t.Fatalf("register birth: status %d; body %s", rec.Code, rec.Body)
		}
	}
	env.hub.setState(env.hub.events[0].Deliveries[0].ID, joinedup.StateDeadLettered, "connection refused")

	tests := []struct {
		name      string
		query     string
		wantItems int
		wantTotal int
	}{
		{"all", "", 3, 3},
		{"one page", "?limit=2", 2, 3},
		{"second page", "?limit=2&offset=2", 1, 3},
		{"by state", "?state=dead-lettered", 1, 1},
		{"by type", "?type=death.registered", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, http.MethodGet, "/api/v1/life-events"+tt.query, nil, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			var got lifeEventList
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(got.Items) != tt.wantItems || got.Total != tt.wantTotal {
				t.Errorf("got %d items of %d, want %d of %d", len(got.Items), got.Total, tt.wantItems, tt.wantTotal)
			}
		})
	}
}

func TestListLifeEventsRejectsBadQuery(t *testing.T) {
	env := newTestEnv(t)

	rec := env.do(t, http.MethodGet, "/api/v1/life-events?state=lost&offset=-1&limit=1000", nil, nil)

	p := decodeProblem(t, rec, http.StatusUnprocessableEntity)
	if got, want := fieldsOf(p), []string{"/state", "/offset", "/limit"}; !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

// TestListsRejectUnknownParameters checks that a list given a query
// parameter it does not take says so instead of ignoring it.
func TestListsRejectUnknownParameters(t *testing.T) {
	env := newTestEnv(t)
	for target, want := range map[string][]string{
		"/api/v1/life-events?cursor=garbage&limt=5": {"/cursor", "/limt"},
		"/api/v1/services?include-retired=true":     {"/include-retired"},
	} {
		rec := env.do(t, http.MethodGet, target, nil, nil)
		p := decodeProblem(t, rec, http.StatusUnprocessableEntity)
		if got := fieldsOf(p); !slices.Equal(got, want) {
			t.Errorf("GET %s: fields = %q, want %q", target, got, want)
		}
	}

	// The notices of a service check access first, so a registrar learns
	// nothing from the query, and the service's officer gets 422.
	rec := env.do(t, http.MethodGet, "/api/v1/services/child-benefit/notices?before=later", nil, nil)
	decodeProblem(t, rec, http.StatusForbidden)
	env.signInAs(t, env.createAccount(t, "officer-chb", policy.RoleServiceOfficer, "child-benefit"))
	rec = env.do(t, http.MethodGet, "/api/v1/services/child-benefit/notices?before=later", nil, nil)
	if got := fieldsOf(decodeProblem(t, rec, http.StatusUnprocessableEntity)); !slices.Equal(got, []string{"/before"}) {
		t.Errorf("GET notices: fields = %q, want [/before]", got)
	}

	env.signInAs(t, env.operator)
	for target, want := range map[string][]string{
		"/api/v1/deliveries?state=pending&services=gp-practice": {"/services"},
	} {
		rec := env.do(t, http.MethodGet, target, nil, nil)
		if got := fieldsOf(decodeProblem(t, rec, http.StatusUnprocessableEntity)); !slices.Equal(got, want) {
			t.Errorf("GET %s: fields = %q, want %q", target, got, want)
		}
	}
}

// TestDeliveryPageConflictNamesSecond checks that a delivery list given
// more than one of offset, after and before names the second given, in
// that order, as the parameter in error.
func TestDeliveryPageConflictNamesSecond(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)
	valid := joinedup.DeliveryCursor{At: time.Unix(1_700_000_000, 0), ID: "dlv_x"}.Token(deliveriesList)
	cursor := url.QueryEscape(valid)

	for query, want := range map[string]string{
		"after=" + cursor + "&before=" + cursor:           "/before",
		"offset=1&after=" + cursor:                        "/after",
		"offset=1&before=" + cursor:                       "/before",
		"before=" + cursor + "&offset=1&after=" + cursor:  "/after",
		"state=any&before=" + cursor + "&after=" + cursor: "/before",
	} {
		p := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/deliveries?"+query, nil, nil), http.StatusUnprocessableEntity)
		if got := fieldsOf(p); !slices.Equal(got, []string{want}) {
			t.Errorf("GET /api/v1/deliveries?%s: fields = %q, want [%s]", query, got, want)
		}
	}

	var f joinedup.DeliveryFilter
	fields := readDeliveryPage(url.Values{"after": {valid}, "before": {valid}, "offset": {"0"}}, deliveriesList, 10, &f)
	if len(fields) != 1 || fields[0].Field != "/after" {
		t.Errorf("readDeliveryPage with offset, after and before: fields = %+v, want one on /after", fields)
	}
}

func TestGetLifeEvent(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	event := env.hub.events[0]

	typed := url.PathEscape(strings.ReplaceAll(strings.ToLower(event.Reference), "-", "\u2013"))
	for _, target := range []string{
		"/api/v1/life-events/" + string(event.ID),
		"/api/v1/life-events/by-reference/" + event.Reference,
		"/api/v1/life-events/by-reference/" + typed,
	} {
		rec := env.do(t, http.MethodGet, target, nil, nil)
		var got joinedup.LifeEvent
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, err %v", target, rec.Code, err)
		}
		if got.ID != event.ID {
			t.Errorf("GET %s: id = %s, want %s", target, got.ID, event.ID)
		}
	}

	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/life-events/evt_missing", nil, nil), http.StatusNotFound)
	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/life-events/by-reference/JU-0000-0000", nil, nil), http.StatusNotFound)
}

// schoolService is a service registration that passes every check.
const schoolService = `{"id": "school", "organisation": "leeds-council", "name": "Primary school planning",
  "eventTypes": ["birth.registered"], "fields": ["child.dateOfBirth"], "purpose": "To plan school places.",
  "endpoint": {"kind": "webhook", "url": "http://127.0.0.1:9/school"}}`

func TestServicesShowSecretOnce(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)
	body := schoolService

	rec := env.postJSON(t, "/api/v1/services", body)

	if rec.Code != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	var created joinedup.Service
	json.Unmarshal(rec.Body.Bytes(), &created)
	if !strings.HasPrefix(created.Secret, webhook.SecretPrefix) {
		t.Errorf("created secret = %q, want a generated %s… secret", created.Secret, webhook.SecretPrefix)
	}
	if rec.Header().Get("Location") != "http://hub.test/api/v1/services/school" {
		t.Errorf("Location = %q", rec.Header().Get("Location"))
	}

	for _, target := range []string{"/api/v1/services/school", "/api/v1/services"} {
		rec := env.do(t, http.MethodGet, target, nil, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", target, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "whsec_") || strings.Contains(rec.Body.String(), `"secret"`) {
			t.Errorf("GET %s shows a secret: %s", target, rec.Body)
		}
	}

	decodeProblem(t, env.postJSON(t, "/api/v1/services", body), http.StatusConflict)
	p := decodeProblem(t, env.postJSON(t, "/api/v1/services", `{"id": "x"}`), http.StatusUnprocessableEntity)
	if !slices.Contains(fieldsOf(p), "/endpoint") {
		t.Errorf("fields = %q, want /endpoint named as missing", fieldsOf(p))
	}
}

// serviceIDs returns the ids of the fake hub's services in order.
func (e *testEnv) serviceIDs() []joinedup.ServiceID {
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	ids := slices.Collect(maps.Keys(e.hub.services))
	slices.Sort(ids)
	return ids
}

// auditSize returns the number of entries in the env's audit log, which
// is 0 before the first entry.
func (e *testEnv) auditSize(t *testing.T) uint64 {
	t.Helper()
	cp, err := e.server.Audit.Checkpoint(context.Background())
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return 0
	} else if err != nil {
		t.Fatalf("audit checkpoint: %v", err)
	}
	return cp.Size
}

func TestCreateServiceNeedsOperator(t *testing.T) {
	env := newTestEnv(t)
	before := env.serviceIDs()
	auditBefore := env.auditSize(t)

	denied := map[string]*auth.Account{
		"registrar":               env.registrar,
		"social worker":           env.createAccount(t, "social-worker", policy.RoleSocialWorker),
		"service officer":         env.createAccount(t, "officer-child-benefit", policy.RoleServiceOfficer, "child-benefit"),
		"data protection officer": env.createAccount(t, "dpo", policy.RoleDataProtectionOfficer),
	}
	for name, account := range denied {
		t.Run(name, func(t *testing.T) {
			env.signInAs(t, account)
			p := decodeProblem(t, env.postJSON(t, "/api/v1/services", schoolService), http.StatusForbidden)
			if !strings.Contains(p.Detail, "operator") {
				t.Errorf("detail = %q, want it to name who may register services", p.Detail)
			}
			// The body is not checked for a caller who may not register.
			decodeProblem(t, env.postJSON(t, "/api/v1/services", `{"id": "x"}`), http.StatusForbidden)
		})
	}
	if got := env.serviceIDs(); !slices.Equal(got, before) {
		t.Errorf("services after the denied requests = %v, want %v", got, before)
	}
	if got := env.auditSize(t); got != auditBefore {
		t.Errorf("denied requests appended %d audit entries, want 0", got-auditBefore)
	}

	resident := env.createAccount(t, "resident-00", policy.RoleResident)
	env.signInAs(t, resident)
	decodeProblem(t, env.postJSON(t, "/api/v1/services", schoolService), http.StatusForbidden)
	if got := env.serviceIDs(); !slices.Equal(got, before) {
		t.Errorf("services after the resident's request = %v, want %v", got, before)
	}
}

func TestCreateServiceAsOperatorOrToken(t *testing.T) {
	env := newTestEnv(t)
	env.server.APIToken = "operator-token-for-tests"

	env.signInAs(t, env.operator)
	if rec := env.postJSON(t, "/api/v1/services", schoolService); rec.Code != http.StatusCreated {
		t.Fatalf("operator: status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	e := lastEntry(env.auditEntries(t), audit.ActionAccess)
	if e == nil || e.Actor != env.operator.ID || e.Purpose != policy.PurposeOperations {
		t.Fatalf("audit entry = %+v, want the operator's change for operations", e)
	}
	if !slices.Equal(e.Reasons, []string{"operator-service-directory"}) {
		t.Errorf("reasons = %q, want [operator-service-directory]", e.Reasons)
	}
	if !strings.Contains(string(e.Detail), `"ServiceDirectory:school"`) || !strings.Contains(string(e.Detail), `"register"`) {
		t.Errorf("detail = %s, want the registration of school named", e.Detail)
	}

	env.session = nil
	body := strings.Replace(schoolService, `"school"`, `"school-token"`, 1)
	rec := env.do(t, http.MethodPost, "/api/v1/services", strings.NewReader(body),
		http.Header{"Authorization": {"Bearer operator-token-for-tests"}, "Content-Type": {"application/json"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("API token: status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	e = lastEntry(env.auditEntries(t), audit.ActionAccess)
	if e == nil || e.Actor != tokenAccountID || e.Purpose != policy.PurposeOperations {
		t.Errorf("audit entry = %+v, want the token's change for operations", e)
	}

	want := []joinedup.ServiceID{"child-benefit", "gp-practice", "refuse", "school", "school-token"}
	if got := env.serviceIDs(); !slices.Equal(got, want) {
		t.Errorf("services = %v, want %v", got, want)
	}
}

func TestUpdateService(t *testing.T) {
	env := newTestEnv(t)
	env.signInAs(t, env.operator)
	if rec := env.postJSON(t, "/api/v1/services", schoolService); rec.Code != http.StatusCreated {
		t.Fatalf("register: status = %d, want 201; body %s", rec.Code, rec.Body)
	}
	secret := env.hub.services["school"].Secret
	moved := strings.Replace(schoolService, "http://127.0.0.1:9/school", "http://127.0.0.1:9/school-v2", 1)
	if moved == schoolService {
		t.Fatal("the test's registration has no endpoint URL to change")
	}
	put := func(target, body string) *httptest.ResponseRecorder {
		return env.do(t, http.MethodPut, target, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	}

	rec := put("/api/v1/services/school", moved)
	if rec.Code != http.StatusOK {
		t.Fatalf("change: status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "whsec_") {
		t.Errorf("the change's response shows the secret: %s", rec.Body)
	}
	stored := env.hub.services["school"]
	if stored.Endpoint.URL != "http://127.0.0.1:9/school-v2" || stored.Secret != secret {
		t.Errorf("stored endpoint %q and secret kept %v; want the new URL and the old secret", stored.Endpoint.URL, stored.Secret == secret)
	}
	e := lastEntry(env.auditEntries(t), audit.ActionAccess)
	if e == nil || !strings.Contains(string(e.Detail), `"change"`) {
		t.Errorf("audit entry = %+v, want the change recorded", e)
	}

	// A service read with GET can be sent back as it is.
	got := env.do(t, http.MethodGet, "/api/v1/services/school", nil, nil)
	if rec := put("/api/v1/services/school", got.Body.String()); rec.Code != http.StatusOK {
		t.Errorf("send back what GET returned: status %d, want 200; body %s", rec.Code, rec.Body)
	}
	if env.hub.services["school"].Secret != secret {
		t.Error("sending back what GET returned changed the secret")
	}

	p := decodeProblem(t, put("/api/v1/services/gp-practice", moved), http.StatusUnprocessableEntity)
	if !slices.Contains(fieldsOf(p), "/id") {
		t.Errorf("fields = %q, want /id named for an id that differs from the URL's", fieldsOf(p))
	}
	decodeProblem(t, put("/api/v1/services/missing", strings.Replace(moved, `"school"`, `"missing"`, 1)), http.StatusNotFound)
	decodeProblem(t, put("/api/v1/services/school", `{"id": "school"}`), http.StatusUnprocessableEntity)
	if got := env.hub.services["school"]; got.Endpoint.URL != "http://127.0.0.1:9/school-v2" {
		t.Errorf("a rejected change altered the service: endpoint %q", got.Endpoint.URL)
	}

	env.signInAs(t, env.registrar)
	decodeProblem(t, put("/api/v1/services/school", schoolService), http.StatusForbidden)
	if got := env.hub.services["school"]; got.Endpoint.URL != "http://127.0.0.1:9/school-v2" {
		t.Errorf("a registrar's change altered the service: endpoint %q", got.Endpoint.URL)
	}
}

// signedCallback returns the headers of an outcome callback from service,
// signed with secret at ts.
func signedCallback(t *testing.T, service, secret string, ts time.Time, body []byte) http.Header {
	t.Helper()
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatalf("new signer: %v", err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Joinedup-Service": {service}}
	signer.SetHeaders(h, "msg_"+service+ts.Format("150405"), ts, body)
	return h
}

func TestReportOutcome(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	delivery := env.hub.events[0].Deliveries[0]
	secret := env.hub.services["child-benefit"].Secret
	otherSecret := env.hub.services["gp-practice"].Secret
	target := "/api/v1/deliveries/" + string(delivery.ID) + "/outcome"
	body := []byte(`{"status": "acted", "summary": "Child Benefit claim started", "reference": "CHB-1"}`)

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		status int
	}{
		{"no service header", func() http.Header {
			h := signedCallback(t, "child-benefit", secret, testNow, body)
			h.Del("Joinedup-Service")
			return h
		}(), body, http.StatusUnauthorized},
		{"unknown service", signedCallback(t, "nobody", secret, testNow, body), body, http.StatusUnauthorized},
		{"signed with another service's secret", signedCallback(t, "child-benefit", otherSecret, testNow, body), body, http.StatusUnauthorized},
		{"stale signature", signedCallback(t, "child-benefit", secret, testNow.Add(-6*time.Minute), body), body, http.StatusUnauthorized},
		{"signature from the future", signedCallback(t, "child-benefit", secret, testNow.Add(6*time.Minute), body), body, http.StatusUnauthorized},
		{"body changed after signing", signedCallback(t, "child-benefit", secret, testNow, body), bytes.Replace(body, []byte("acted"), []byte("failed"), 1), http.StatusUnauthorized},
		{"another service's delivery", signedCallback(t, "gp-practice", otherSecret, testNow, body), body, http.StatusNotFound},
		{"invalid outcome", signedCallback(t, "child-benefit", secret, testNow, []byte(`{"status": "done"}`)), []byte(`{"status": "done"}`), http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, http.MethodPost, target, bytes.NewReader(tt.body), tt.header)
			decodeProblem(t, rec, tt.status)
			if delivery.Outcome != nil || delivery.State != joinedup.StatePending {
				t.Errorf("delivery changed to %s with outcome %+v, want no effect", delivery.State, delivery.Outcome)
			}
		})
	}

	t.Run("signed by the delivery's service", func(t *testing.T) {
		rec := env.do(t, http.MethodPost, target, bytes.NewReader(body), signedCallback(t, "child-benefit", secret, testNow.Add(-4*time.Minute), body))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status = %d, want 204; body %s", rec.Code, rec.Body)
		}
		if delivery.State != joinedup.StateActed || delivery.Outcome == nil || delivery.Outcome.Reference != "CHB-1" {
			t.Errorf("delivery = %s with outcome %+v, want acted with reference CHB-1", delivery.State, delivery.Outcome)
		}
	})
}

// TestDeliveriesPages pages through the API's list of deliveries and
// checks that every delivery is reached once, with the total on each
// page, and that invalid paging input gets 422 naming the parameter.
func TestDeliveriesPages(t *testing.T) {
	env := newTestEnv(t)
	env.registerBirths(t, 5)
	env.signInAs(t, env.operator)

	var seen []joinedup.DeliveryID
	for offset := 0; offset < 6; offset += 2 {
		rec := env.do(t, http.MethodGet, fmt.Sprintf("/api/v1/deliveries?state=pending&offset=%d&limit=2", offset), nil, nil)
		var list deliveryList
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("offset %d: status %d, err %v; body %s", offset, rec.Code, err, rec.Body)
		}
		if list.Total != 5 {
			t.Errorf("offset %d: total = %d, want 5", offset, list.Total)
		}
		if list.Offset != offset || list.Limit != 2 {
			t.Errorf("offset %d: offset %d and limit %d in the response, want %d and 2", offset, list.Offset, list.Limit, offset)
		}
		for _, d := range list.Items {
			seen = append(seen, d.ID)
		}
	}
	var want []joinedup.DeliveryID
	for _, e := range env.hub.events {
		want = append(want, e.Deliveries[0].ID)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("pages list %v, want %v", seen, want)
	}

	rec := env.do(t, http.MethodGet, "/api/v1/deliveries?state=pending&offset=-1&limit=0", nil, nil)
	p := decodeProblem(t, rec, http.StatusUnprocessableEntity)
	if got, want := fieldsOf(p), []string{"/offset", "/limit"}; !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
	rec = env.do(t, http.MethodGet, "/api/v1/deliveries?state=pending&offset=ten", nil, nil)
	p = decodeProblem(t, rec, http.StatusUnprocessableEntity)
	if got, want := fieldsOf(p), []string{"/offset"}; !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
}

func TestDeliveries(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", strings.Replace(validBirth, `["child-benefit"]`, `["child-benefit", "gp-practice"]`, 1))
	dead := env.hub.events[0].Deliveries[0]
	env.hub.setState(dead.ID, joinedup.StateDeadLettered, "HTTP 503 from service")
	acted := env.hub.events[0].Deliveries[1]
	env.hub.setState(acted.ID, joinedup.StateActed, "")

	env.signInAs(t, env.operator)
	rec := env.do(t, http.MethodGet, "/api/v1/deliveries?state=dead-lettered", nil, nil)
	var list deliveryList
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("list: status %d, err %v", rec.Code, err)
	}
	if len(list.Items) != 1 || list.Items[0].ID != dead.ID {
		t.Errorf("dead-lettered = %+v, want only %s", list.Items, dead.ID)
	}

	// Without a state, or with any, the list has every delivery, as the
	// deliveries page can show.
	for _, query := range []string{"", "?state=any"} {
		rec := env.do(t, http.MethodGet, "/api/v1/deliveries"+query, nil, nil)
		var all deliveryList
		if err := json.Unmarshal(rec.Body.Bytes(), &all); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("list %q: status %d, err %v; body %s", query, rec.Code, err, rec.Body)
		}
		if all.Total != 2 || len(all.Items) != 2 {
			t.Errorf("list %q: %d items of %d, want 2 of 2", query, len(all.Items), all.Total)
		}
	}
	p := decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/deliveries?state=lost", nil, nil), http.StatusUnprocessableEntity)
	if got := fieldsOf(p); !slices.Equal(got, []string{"/state"}) || p.Errors[0].In != joinedup.InQuery {
		t.Errorf("errors = %+v, want one on /state in the query", p.Errors)
	}

	if rec := env.do(t, http.MethodPost, "/api/v1/deliveries/"+string(dead.ID)+"/replay", nil, nil); rec.Code != http.StatusAccepted {
		t.Errorf("replay dead-lettered: status %d, want 202; body %s", rec.Code, rec.Body)
	}
	if !slices.Equal(env.hub.replayed, []joinedup.DeliveryID{dead.ID}) {
		t.Errorf("replayed = %v, want [%s]", env.hub.replayed, dead.ID)
	}
	decodeProblem(t, env.do(t, http.MethodPost, "/api/v1/deliveries/"+string(acted.ID)+"/replay", nil, nil), http.StatusConflict)
}

func TestRequireStaff(t *testing.T) {
	env := newTestEnv(t)
	env.server.APIToken = "operator-token-for-tests"
	env.session = nil

	staffRoutes := []struct{ method, target string }{
		{"POST", "/api/v1/births"},
		{"GET", "/api/v1/life-events"},
		{"GET", "/api/v1/life-events/evt_1"},
		{"GET", "/api/v1/life-events/by-reference/JU-0000-0000"},
		{"GET", "/api/v1/services"},
		{"POST", "/api/v1/services"},
		{"GET", "/api/v1/services/child-benefit"},
		{"GET", "/api/v1/deliveries?state=pending"},
		{"POST", "/api/v1/deliveries/dlv_1/replay"},
		{"GET", "/api/v1/residents/acc_1/history"},
		{"POST", "/api/v1/life-events/evt_1/consent/child-benefit/withdraw"},
	}
	for _, rt := range staffRoutes {
		for _, auth := range []string{"", "Bearer wrong-token", "Basic b3BlcmF0b3ItdG9rZW4tZm9yLXRlc3Rz", "Bearer operator-token-for-tests-and-more"} {
			rec := env.do(t, rt.method, rt.target, nil, http.Header{"Authorization": {auth}})
			p := decodeProblem(t, rec, http.StatusUnauthorized)
			if auth == "" && !strings.Contains(p.Detail, "Authorization header") {
				t.Errorf("%s %s without credentials: detail %q does not say to send a token in the Authorization header", rt.method, rt.target, p.Detail)
			}
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %q: no WWW-Authenticate header", rt.method, rt.target, auth)
			}
		}
	}

	rec := env.do(t, http.MethodGet, "/api/v1/services", nil, http.Header{"Authorization": {"Bearer operator-token-for-tests"}})
	if rec.Code != http.StatusOK {
		t.Errorf("with the token: status %d, want 200", rec.Code)
	}
	// The scheme name is case-insensitive.
	rec = env.do(t, http.MethodGet, "/api/v1/services", nil, http.Header{"Authorization": {"bearer operator-token-for-tests"}})
	if rec.Code != http.StatusOK {
		t.Errorf("with the token and the scheme in lower case: status %d, want 200", rec.Code)
	}
	for _, tc := range []struct {
		name   string
		values []string
		want   string
	}{
		{"another scheme", []string{"Basic b3BlcmF0b3ItdG9rZW4tZm9yLXRlc3Rz"}, "does not use the Bearer scheme"},
		{"two headers", []string{"Bearer operator-token-for-tests", "Bearer wrong-token"}, "has 2 Authorization headers"},
	} {
		rec := env.do(t, http.MethodGet, "/api/v1/services", nil, http.Header{"Authorization": tc.values})
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: body %s does not say %q", tc.name, rec.Body, tc.want)
		}
	}
	rec = env.do(t, http.MethodPost, "/api/v1/births", strings.NewReader(validBirth),
		http.Header{"Authorization": {"Bearer operator-token-for-tests"}, "Content-Type": {"application/json"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("register with the token: status %d; body %s", rec.Code, rec.Body)
	}
	if got := env.hub.events[0].RegisteredBy; got != tokenAccountID {
		t.Errorf("RegisteredBy = %q, want %q", got, tokenAccountID)
	}

	for _, target := range []string{"/births/new", "/operator/life-events", "/operator/deliveries", "/residents", "/dpo/break-glass"} {
		rec := env.do(t, http.MethodGet, target, nil, nil)
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/sign-in?next=") {
			t.Errorf("GET %s without a session: status %d to %q, want 303 to the sign-in page", target, rec.Code, loc)
		}
	}
	for _, target := range []string{"/healthz", "/readyz", "/api/openapi.json", "/track", "/", "/sign-in"} {
		if rec := env.do(t, http.MethodGet, target, nil, nil); rec.Code != http.StatusOK {
			t.Errorf("GET %s without a token: status %d, want 200", target, rec.Code)
		}
	}
}

func TestProbes(t *testing.T) {
	env := newTestEnv(t)
	if rec := env.do(t, http.MethodGet, "/healthz", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("healthz: status %d, want 200", rec.Code)
	}
	if rec := env.do(t, http.MethodGet, "/readyz", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("readyz with no check: status %d, want 200", rec.Code)
	}
	decodeProblem(t, env.do(t, http.MethodGet, "/metrics", nil, nil), http.StatusNotFound)

	env = newTestEnv(t)
	env.server.Ready = func(ctx context.Context) error { return errors.New("nats: no servers available") }
	env.server.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("joinedup_up 1\n")) })
	env.handler = env.server.Handler()
	p := decodeProblem(t, env.do(t, http.MethodGet, "/readyz", nil, nil), http.StatusServiceUnavailable)
	if strings.Contains(p.Detail, "nats") {
		t.Errorf("readyz detail shows the cause: %q", p.Detail)
	}
	if rec := env.do(t, http.MethodGet, "/metrics", nil, nil); rec.Body.String() != "joinedup_up 1\n" {
		t.Errorf("metrics body = %q, want the Metrics handler's", rec.Body)
	}
}

func TestUnmatchedRoutes(t *testing.T) {
	env := newTestEnv(t)

	rec := env.do(t, http.MethodDelete, "/api/v1/births", nil, nil)
	decodeProblem(t, rec, http.StatusMethodNotAllowed)
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow = %q, want POST", got)
	}

	decodeProblem(t, env.do(t, http.MethodGet, "/api/v1/nothing", nil, nil), http.StatusNotFound)

	rec = env.do(t, http.MethodGet, "/no-such-page", nil, nil)
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("page not found: status %d, type %q, want 404 HTML", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestCrossOriginPostRejected(t *testing.T) {
	env := newTestEnv(t)

	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"cross-site fetch metadata", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"foreign origin", http.Header{"Origin": {"https://attacker.test"}}, http.StatusForbidden},
		{"same origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther},
		{"the base URL behind a proxy", http.Header{"Origin": {"http://hub.test"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusSeeOther},
		{"no browser headers", http.Header{}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.signInAs(t, env.registrar)
			env.postJSON(t, "/api/v1/births", validBirth)
			env.signInAs(t, env.operator)
			d := env.hub.events[len(env.hub.events)-1].Deliveries[0]
			env.hub.setState(d.ID, joinedup.StateDeadLettered, "timeout")

			tt.header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := env.do(t, http.MethodPost, "/operator/deliveries/"+string(d.ID)+"/replay", strings.NewReader("state=dead-lettered"), tt.header)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			// The refusal page still shows that the operator is signed in.
			if rec.Code == http.StatusForbidden && !strings.Contains(rec.Body.String(), "Sign out") {
				t.Error("the cross-origin refusal page does not show the operator as signed in")
			}
		})
	}
}

// TestReplayFormUnreadableChangesNothing checks that a Replay button's
// form that cannot be read is refused before the delivery is replayed.
func TestReplayFormUnreadableChangesNothing(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	env.signInAs(t, env.operator)
	d := env.hub.events[0].Deliveries[0]
	env.hub.setState(d.ID, joinedup.StateDeadLettered, "timeout")

	header := http.Header{"Content-Type": {"text/plain"}, "Sec-Fetch-Site": {"same-origin"}}
	rec := env.do(t, http.MethodPost, "/operator/deliveries/"+string(d.ID)+"/replay", strings.NewReader("state=dead-lettered"), header)

	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("status = %d, want 415", rec.Code)
	}
	if len(env.hub.replayed) != 0 {
		t.Errorf("replayed = %v, want none", env.hub.replayed)
	}
}

// TestNoReplayAfterWithdrawal checks that the deliveries page offers no
// Replay button for a failed delivery whose consent was withdrawn since,
// and that a replay sent anyway changes nothing.
func TestNoReplayAfterWithdrawal(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	env.signInAs(t, env.operator)
	ev := env.hub.events[0]
	d := ev.Deliveries[0]
	env.hub.setState(d.ID, joinedup.StateFailed, "")
	form := `action="/operator/deliveries/` + string(d.ID) + `/replay"`
	if rec := env.do(t, http.MethodGet, "/operator/deliveries?state=failed", nil, nil); !strings.Contains(rec.Body.String(), form) {
		t.Fatalf("the failed delivery has no Replay button before the withdrawal")
	}
	env.hub.mu.Lock()
	for i := range ev.Consent.Decisions {
		if ev.Consent.Decisions[i].Service == d.Service {
			ev.Consent.Decisions[i].Decision = joinedup.ConsentWithdrawn
		}
	}
	env.hub.mu.Unlock()

	rec := env.do(t, http.MethodGet, "/operator/deliveries?state=failed", nil, nil)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), form) {
		t.Errorf("status %d; the page offers a Replay button after the withdrawal: %v", rec.Code, strings.Contains(rec.Body.String(), form))
	}
	if !strings.Contains(rec.Body.String(), "Consent withdrawn, so it cannot be sent again") {
		t.Errorf("the page does not say why the delivery cannot be replayed")
	}
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"}}
	rec = env.do(t, http.MethodPost, "/operator/deliveries/"+string(d.ID)+"/replay", strings.NewReader("state=failed"), header)
	if rec.Code != http.StatusConflict {
		t.Errorf("replay after the withdrawal: status %d, want 409", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), `href="/operator/deliveries">Go back to the page you came from</a>`) {
		t.Errorf("the refused replay's page does not link back to the deliveries:\n%s", rec.Body)
	}
	if len(env.hub.replayed) != 0 {
		t.Errorf("replayed = %v, want none", env.hub.replayed)
	}
}

// TestBodilessEndpointsRejectBody sends a body to the API's replay and
// service removal, which take none. Each is rejected before anything
// changes, so a caller does not think that a reason it sent was kept.
func TestBodilessEndpointsRejectBody(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	env.signInAs(t, env.operator)
	dead := env.hub.events[0].Deliveries[0]
	env.hub.setState(dead.ID, joinedup.StateDeadLettered, "timeout")

	for _, tt := range []struct{ name, method, target string }{
		{"replay", http.MethodPost, "/api/v1/deliveries/" + string(dead.ID) + "/replay"},
		{"service removal", http.MethodDelete, "/api/v1/services/" + string(testServices[0].ID)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, body := range []struct {
				contentType, text string
				status            int
			}{
				{"application/json", `{"reason":"Asked by the service"}`, http.StatusUnprocessableEntity},
				{"text/plain", "Asked by the service", http.StatusUnsupportedMediaType},
			} {
				header := http.Header{"Content-Type": {body.contentType}, "Sec-Fetch-Site": {"same-origin"}}

				p := decodeProblem(t, env.do(t, tt.method, tt.target, strings.NewReader(body.text), header), body.status)

				if !strings.Contains(p.Detail, "This request takes no body") {
					t.Errorf("%s body: detail %q does not say that the request takes no body", body.contentType, p.Detail)
				}
			}
		})
	}
	if len(env.hub.replayed) != 0 {
		t.Errorf("replayed = %v, want none", env.hub.replayed)
	}
	if svc, err := env.hub.FindService(context.Background(), testServices[0].ID); err != nil || svc.Retired() {
		t.Errorf("service after rejected removals = %+v, %v; want it in use", svc, err)
	}
}

// TestChangesRejectQuery sends requests that change something with a
// parameter in the web address, which no such request reads. Each must
// get 422 naming the parameter and change nothing. A page or resource
// that does not exist is still 404, and a read still takes its query.
func TestChangesRejectQuery(t *testing.T) {
	env := newTestEnv(t)
	env.postJSON(t, "/api/v1/births", validBirth)
	d := env.hub.events[0].Deliveries[0]
	env.hub.setState(d.ID, joinedup.StateDeadLettered, "timeout")

	rec := env.postJSON(t, "/api/v1/births?dryRun=true", validBirth)
	p := decodeProblem(t, rec, http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "/dryRun" || p.Errors[0].In != joinedup.InQuery || !strings.Contains(p.Errors[0].Message, `the parameter "dryRun"`) {
		t.Errorf("errors = %+v, want one naming the parameter dryRun in the query", p.Errors)
	}
	if n := len(env.hub.events); n != 1 {
		t.Errorf("births registered = %d, want still 1", n)
	}

	rec = env.do(t, http.MethodPost, "/api/v1/deliveries/"+string(d.ID)+"/replay?force=1&b=2", nil, nil)
	p = decodeProblem(t, rec, http.StatusUnprocessableEntity)
	if len(p.Errors) != 2 || p.Errors[0].Field != "/b" || p.Errors[1].Field != "/force" {
		t.Errorf("errors = %+v, want one on /b and one on /force", p.Errors)
	}
	if got := env.hub.delivery(d.ID).State; got != joinedup.StateDeadLettered {
		t.Errorf("delivery state = %q, want it still dead-lettered", got)
	}

	if rec := env.do(t, http.MethodPost, "/api/v1/no-such-thing?x=1", nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown path with a query: status %d, want 404", rec.Code)
	}
	env.signInAs(t, env.operator)
	if rec := env.do(t, http.MethodGet, "/api/v1/deliveries?state=dead-lettered", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("list with a query: status %d, want 200; body %s", rec.Code, rec.Body)
	}
}
