package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/store/storetest"
)

func get(t *testing.T, h http.Handler, target string, v any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if v != nil && rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("decode %s: %v\n%s", target, err, rec.Body)
		}
	}
	return rec
}

func TestHandlerServesVerifiableProofs(t *testing.T) {
	ctx := context.Background()
	k := newKey(t)
	l := openLog(t, storetest.SQLite(t), k, 0)
	h := audit.NewHandler(l)

	if rec := get(t, h, audit.PathCheckpoint, nil); rec.Code != http.StatusNotFound {
		t.Errorf("checkpoint of an empty log: status %d, want 404", rec.Code)
	}

	for i := 0; i < 3; i++ {
		if _, err := l.Append(ctx, entry(i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	var old audit.CheckpointResponse
	get(t, h, audit.PathCheckpoint, &old)
	for i := 3; i < 11; i++ {
		if _, err := l.Append(ctx, entry(i)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}

	var cpResp audit.CheckpointResponse
	rec := get(t, h, audit.PathCheckpoint, &cpResp)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("checkpoint: status %d, type %q; want 200 and application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
	cp, err := audit.ParseCheckpoint([]byte(cpResp.Note), k)
	if err != nil {
		t.Fatalf("parse served note: %v", err)
	}
	if cp.Size != 11 || cpResp.Size != 11 || string(cp.Hash) != string(cpResp.RootHash) {
		t.Errorf("served checkpoint size %d, note size %d; want 11, and the same root hash in both", cpResp.Size, cp.Size)
	}

	entries, err := l.Entries(ctx, 0, 11)
	if err != nil {
		t.Fatalf("entries: %v", err)
	}
	leafHash, err := audit.LeafHash(audit.LeafVersion, entries[6])
	if err != nil {
		t.Fatalf("leaf hash: %v", err)
	}
	var incl audit.InclusionResponse
	rec = get(t, h, audit.PathInclusion+"?index=6&size=11", &incl)
	if rec.Code != http.StatusOK {
		t.Fatalf("inclusion proof: status %d: %s", rec.Code, rec.Body)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, 6, 11, leafHash, incl.Hashes, cp.Hash); err != nil {
		t.Errorf("served inclusion proof does not verify: %v", err)
	}

	var cons audit.ConsistencyResponse
	rec = get(t, h, fmt.Sprintf("%s?old=%d&new=%d", audit.PathConsistency, old.Size, cp.Size), &cons)
	if rec.Code != http.StatusOK {
		t.Fatalf("consistency proof: status %d: %s", rec.Code, rec.Body)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cp.Size, cons.Hashes, old.RootHash, cp.Hash); err != nil {
		t.Errorf("served consistency proof does not verify: %v", err)
	}
}

func TestHandlerErrors(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, storetest.SQLite(t), newKey(t), 0)
	if _, err := l.Append(ctx, entry(0), entry(1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	h := audit.NewHandler(l)

	cases := []struct {
		name   string
		target string
		status int
		code   string
	}{
		{"missing index", audit.PathInclusion + "?size=2", http.StatusUnprocessableEntity, "invalid"},
		{"negative size", audit.PathInclusion + "?index=0&size=-1", http.StatusUnprocessableEntity, "invalid"},
		{"index at size", audit.PathInclusion + "?index=2&size=2", http.StatusUnprocessableEntity, "invalid"},
		{"size beyond log", audit.PathInclusion + "?index=0&size=3", http.StatusNotFound, "not_found"},
		{"old above new", audit.PathConsistency + "?old=2&new=1", http.StatusUnprocessableEntity, "invalid"},
		{"missing new", audit.PathConsistency + "?old=1", http.StatusUnprocessableEntity, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.target, nil)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			var body struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("decode problem: %v\n%s", err, rec.Body)
			}
			if body.Type != "urn:joinedup:problem:"+tc.code {
				t.Errorf("type = %q, want %q", body.Type, "urn:joinedup:problem:"+tc.code)
			}
			if body.Status != tc.status {
				t.Errorf("status in body = %d, want %d", body.Status, tc.status)
			}
			if body.Detail == "" {
				t.Errorf("detail is empty, want a message")
			}
		})
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, audit.PathCheckpoint, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST checkpoint: status %d, want 405", rec.Code)
	}
}
