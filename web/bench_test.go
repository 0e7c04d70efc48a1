package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCreateBirth measures one registration through the JSON API on
// the in-memory fake hub: the session check, content checks, schema
// validation, decoding, the policy decision, the domain's validation, the
// audit entry appended to SQLite and the response.
func BenchmarkCreateBirth(b *testing.B) {
	env := newTestEnv(b)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/births", strings.NewReader(validBirth))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(env.session)
		rec := httptest.NewRecorder()
		env.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("status = %d, want 201", rec.Code)
		}
	}
}

// BenchmarkTrackPage measures rendering the tracking page of one
// registration with two deliveries.
func BenchmarkTrackPage(b *testing.B) {
	env := newTestEnv(b)
	req := httptest.NewRequest(http.MethodPost, "/api/v1/births", strings.NewReader(strings.Replace(validBirth, `["child-benefit"]`, `["child-benefit", "gp-practice"]`, 1)))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(env.session)
	env.handler.ServeHTTP(httptest.NewRecorder(), req)
	target := "/track/" + env.hub.events[0].Reference

	for b.Loop() {
		rec := httptest.NewRecorder()
		env.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status = %d, want 200", rec.Code)
		}
	}
}

// BenchmarkGetLifeEvent measures one read of a life event through the
// JSON API: the session check, the store lookups behind the policy
// decision, the decision itself and, in the audited case, the audit entry
// appended to SQLite before the response. The unaudited case shows what
// the append costs; the hub always audits.
func BenchmarkGetLifeEvent(b *testing.B) {
	for _, audited := range []bool{true, false} {
		name := "audited"
		if !audited {
			name = "unaudited"
		}
		b.Run(name, func(b *testing.B) {
			env := newTestEnv(b)
			req := httptest.NewRequest(http.MethodPost, "/api/v1/births", strings.NewReader(validBirth))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(env.session)
			env.handler.ServeHTTP(httptest.NewRecorder(), req)
			target := "/api/v1/life-events/" + string(env.hub.events[0].ID)
			if !audited {
				env.server.Audit = nil
			}

			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				req.AddCookie(env.session)
				rec := httptest.NewRecorder()
				env.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status = %d, want 200", rec.Code)
				}
			}
		})
	}
}
