package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// testNow is the fixed time of the tests: midday in London in winter.
var testNow = time.Date(2026, time.December, 4, 12, 0, 0, 0, time.UTC)

// testServices are the connected services every test starts with. The
// refuse service does not take births.
var testServices = []joinedup.Service{
	{
		ID: "child-benefit", Organisation: "hmrc", Name: "Child Benefit",
		EventTypes: []string{joinedup.EventBirthRegistered},
		Fields:     []string{"child.name", "child.dateOfBirth", "parents.name", "parents.nationalInsuranceNumber"},
		Purpose:    "To start a Child Benefit claim for the child.",
		Endpoint:   joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/child-benefit"},
	},
	{
		ID: "gp-practice", Organisation: "nhs-leeds", Name: "Family GP practice",
		EventTypes: []string{joinedup.EventBirthRegistered},
		Fields:     []string{"child.name", "child.dateOfBirth", "parents.address"},
		Purpose:    "To add the child to the practice’s patient list.",
		Endpoint:   joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/gp"},
	},
	{
		ID: "refuse", Organisation: "council", Name: "Refuse collection",
		EventTypes: []string{"address.changed"},
		Fields:     []string{"parents.address"},
		Purpose:    "To update collections.",
		Endpoint:   joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "http://127.0.0.1:9/refuse"},
	},
}

type testEnv struct {
	hub     *fakeHub
	server  *Server
	handler http.Handler
	logs    *bytes.Buffer

	records *fakeRecords
	// registrar and operator are signed-in staff accounts. Requests carry
	// session, the registrar's at first, unless they set a Cookie or an
	// Authorization header of their own.
	registrar, operator *auth.Account
	session             *http.Cookie
}

// newTestEnv returns a Server on a fake hub holding testServices, with
// sign-in, the default policies and an audit log, and a registrar signed
// in.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	hub := newFakeHub(testNow)
	for _, svc := range testServices {
		if err := hub.CreateService(context.Background(), &svc); err != nil {
			t.Fatalf("create service %s: %v", svc.ID, err)
		}
	}

	logs := &bytes.Buffer{}
	s := &Server{
		LifeEvents: hub,
		Services:   hub,
		Deliveries: hub,
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BaseURL:    "http://hub.test",
		Now:        func() time.Time { return testNow },
	}
	_, records := testTrust(t, s)
	records.hub = hub
	hub.link, hub.audit, hub.records = records.linkBirth, s.Audit, records
	env := &testEnv{hub: hub, server: s, handler: s.Handler(), logs: logs, records: records}
	env.registrar = env.createAccount(t, "registrar", policy.RoleRegistrar)
	env.operator = env.createAccount(t, "operator", policy.RoleOperator)
	env.signInAs(t, env.registrar)
	return env
}

// do sends a request to the handler and returns the recorded response.
func (e *testEnv) do(t *testing.T, method, target string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	for k, v := range header {
		req.Header[k] = v
	}
	if e.session != nil && req.Header.Get("Cookie") == "" && req.Header.Get("Authorization") == "" {
		req.AddCookie(e.session)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func (e *testEnv) postJSON(t *testing.T, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, http.MethodPost, target, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
}

// validBirth is a registration that passes every check on testNow.
const validBirth = `{
  "child": {"name": {"given": "Ada Grace", "family": "O’Brien-Lovelace"}, "sex": "female", "dateOfBirth": "2026-11-20", "placeOfBirth": "Leeds General Infirmary"},
  "parents": [
    {"role": "mother", "name": {"given": "Siân", "family": "O’Brien"}, "dateOfBirth": "1994-03-02", "nationalInsuranceNumber": "AB 12 34 56 C",
     "address": {"lines": ["1 Test Street"], "town": "Leeds", "postcode": "ls1 4ap"}}
  ],
  "informant": {"name": {"given": "Siân", "family": "O’Brien"}, "capacity": "mother", "parent": 0},
  "consent": {"services": ["child-benefit"]}
}`

// decodeProblem checks that rec is a problem details response with the
// given status, and returns it.
func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) joinedup.Problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", got)
	}
	var p joinedup.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem: %v; body %s", err, rec.Body)
	}
	if p.Status != status {
		t.Errorf("joinedup.Problem status = %d, want %d", p.Status, status)
	}
	if p.RequestID == "" || p.RequestID != rec.Header().Get(requestIDHeader) {
		t.Errorf("joinedup.Problem requestId = %q, want the %s header %q", p.RequestID, requestIDHeader, rec.Header().Get(requestIDHeader))
	}
	if p.Title == "" || p.Detail == "" || p.Instance == "" || !strings.HasPrefix(p.Type, joinedup.ProblemTypePrefix) {
		t.Errorf("joinedup.Problem has an empty member or a foreign type: %+v", p)
	}
	return p
}

// fieldsOf returns the field pointers of a problem's errors.
func fieldsOf(p joinedup.Problem) []string {
	var out []string
	for _, fe := range p.Errors {
		out = append(out, fe.Field)
	}
	return out
}

// registerBirths registers count copies of validBirth through the API,
// each with a delivery to child-benefit.
func (e *testEnv) registerBirths(t *testing.T, count int) {
	t.Helper()
	for range count {
		if rec := e.postJSON(t, "/api/v1/births", validBirth); rec.Code != http.StatusCreated {
			t.Fatalf("register birth: status %d; body %s", rec.Code, rec.Body)
		}
	}
}
