package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCreateBirth measures one registration through the JSON API on
// the in-memory fake hub: content checks, schema validation, decoding,
// the domain's validation and the response.
func BenchmarkCreateBirth(b *testing.B) {
	env := newTestEnv(b)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/births", strings.NewReader(validBirth))
		req.Header.Set("Content-Type", "application/json")
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
