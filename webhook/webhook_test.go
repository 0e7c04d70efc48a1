package webhook_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joinedup/joinedup/webhook"
)

// Known-answer vector published with the Standard Webhooks reference
// libraries (github.com/standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorSigner(t *testing.T) *webhook.Signer {
	t.Helper()
	s, err := webhook.NewSigner(vectorSecret)
	if err != nil {
		t.Fatalf("NewSigner(vector secret): %v", err)
	}
	return s
}

func vectorHeaders() http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, vectorID)
	h.Set(webhook.HeaderTimestamp, strconv.Itoa(vectorTimestamp))
	h.Set(webhook.HeaderSignature, vectorSignature)
	return h
}

func TestSignKnownAnswer(t *testing.T) {
	s := vectorSigner(t)
	got := s.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}
}

func TestSignIgnoresSubseconds(t *testing.T) {
	s := vectorSigner(t)
	got := s.Sign(vectorID, time.Unix(vectorTimestamp, 999_000_000), []byte(vectorBody))
	if got != vectorSignature {
		t.Errorf("Sign with nanoseconds = %q, want %q", got, vectorSignature)
	}
}

func TestSignerAcceptsBareBase64(t *testing.T) {
	s, err := webhook.NewSigner(strings.TrimPrefix(vectorSecret, webhook.SecretPrefix))
	if err != nil {
		t.Fatalf("NewSigner(bare base64): %v", err)
	}
	got := s.Sign(vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}
}

func TestVerifyKnownAnswer(t *testing.T) {
	sent := time.Unix(vectorTimestamp, 0)
	tests := []struct {
		name   string
		modify func(h http.Header)
		body   string
		now    time.Time
		want   error
	}{
		{name: "valid", now: sent},
		{name: "valid 5 minutes later", now: sent.Add(webhook.Tolerance)},
		{name: "valid 5 minutes earlier", now: sent.Add(-webhook.Tolerance)},
		{name: "too old", now: sent.Add(webhook.Tolerance + time.Second), want: webhook.ErrTooOld},
		{name: "too new", now: sent.Add(-webhook.Tolerance - time.Second), want: webhook.ErrTooNew},
		{
			name: "missing id", now: sent, want: webhook.ErrMissingHeaders,
			modify: func(h http.Header) { h.Del(webhook.HeaderID) },
		},
		{
			name: "missing timestamp", now: sent, want: webhook.ErrMissingHeaders,
			modify: func(h http.Header) { h.Del(webhook.HeaderTimestamp) },
		},
		{
			name: "missing signature", now: sent, want: webhook.ErrMissingHeaders,
			modify: func(h http.Header) { h.Del(webhook.HeaderSignature) },
		},
		{
			name: "timestamp not a number", now: sent, want: webhook.ErrBadTimestamp,
			modify: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "2021-02-25T15:02:10Z") },
		},
		{
			name: "timestamp negative", now: sent, want: webhook.ErrBadTimestamp,
			modify: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "-1") },
		},
		{
			name: "timestamp changed", now: sent, want: webhook.ErrNoMatch,
			modify: func(h http.Header) { h.Set(webhook.HeaderTimestamp, strconv.Itoa(vectorTimestamp+1)) },
		},
		{
			name: "id changed", now: sent, want: webhook.ErrNoMatch,
			modify: func(h http.Header) { h.Set(webhook.HeaderID, vectorID+"x") },
		},
		{name: "body changed", now: sent, body: `{"test": 2432232315}`, want: webhook.ErrNoMatch},
		{name: "body reformatted", now: sent, body: `{"test":2432232314}`, want: webhook.ErrNoMatch},
		{
			name: "other signature", now: sent, want: webhook.ErrNoMatch,
			modify: func(h http.Header) {
				h.Set(webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
			},
		},
		{
			name: "right signature under another version", now: sent, want: webhook.ErrNoMatch,
			modify: func(h http.Header) {
				h.Set(webhook.HeaderSignature, strings.Replace(vectorSignature, "v1,", "v2,", 1))
			},
		},
		{
			name: "signature not base64", now: sent, want: webhook.ErrNoMatch,
			modify: func(h http.Header) { h.Set(webhook.HeaderSignature, "v1,!!!") },
		},
		{
			name: "several signatures with one valid", now: sent,
			modify: func(h http.Header) {
				h.Set(webhook.HeaderSignature, strings.Join([]string{
					"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
					"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
					"v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
					vectorSignature,
				}, " "))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := vectorHeaders()
			if tt.modify != nil {
				tt.modify(h)
			}
			body := vectorBody
			if tt.body != "" {
				body = tt.body
			}
			err := vectorSigner(t).Verify(h, []byte(body), tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRotatedSecrets(t *testing.T) {
	oldSigner := vectorSigner(t)
	newSigner, err := webhook.NewSigner(webhook.NewSecret())
	if err != nil {
		t.Fatalf("NewSigner(NewSecret()): %v", err)
	}
	now := time.Now()
	body := []byte(`{"specversion":"1.0"}`)

	h := http.Header{}
	newSigner.SetHeaders(h, "msg_rotate", now, body)
	h.Set(webhook.HeaderSignature, oldSigner.Sign("msg_rotate", now, body)+" "+newSigner.Sign("msg_rotate", now, body))

	if err := oldSigner.Verify(h, body, now); err != nil {
		t.Errorf("old secret: Verify = %v, want nil", err)
	}
	if err := newSigner.Verify(h, body, now); err != nil {
		t.Errorf("new secret: Verify = %v, want nil", err)
	}

	h.Set(webhook.HeaderSignature, oldSigner.Sign("msg_rotate", now, body))
	if err := newSigner.Verify(h, body, now); !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("new secret, old signature only: Verify = %v, want %v", err, webhook.ErrNoMatch)
	}
}

func TestVerifyChecksAtMostTenSignatures(t *testing.T) {
	s := vectorSigner(t)
	entries := make([]string, 0, 11)
	for range 10 {
		entries = append(entries, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
	}
	entries = append(entries, vectorSignature)
	h := vectorHeaders()
	h.Set(webhook.HeaderSignature, strings.Join(entries, " "))

	err := s.Verify(h, []byte(vectorBody), time.Unix(vectorTimestamp, 0))
	if !errors.Is(err, webhook.ErrNoMatch) {
		t.Errorf("Verify with the valid entry eleventh = %v, want %v", err, webhook.ErrNoMatch)
	}
}

func TestSetHeadersRoundTrip(t *testing.T) {
	s, err := webhook.NewSigner(webhook.NewSecret())
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	now := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	body := []byte(`{"name":"Siân O’Brien-Ng"}`)
	h := http.Header{}
	s.SetHeaders(h, "dlv_1", now, body)

	if got := h.Get(webhook.HeaderID); got != "dlv_1" {
		t.Errorf("webhook-id = %q, want %q", got, "dlv_1")
	}
	if got, want := h.Get(webhook.HeaderTimestamp), strconv.FormatInt(now.Unix(), 10); got != want {
		t.Errorf("webhook-timestamp = %q, want %q", got, want)
	}
	if err := s.Verify(h, body, now.Add(time.Minute)); err != nil {
		t.Errorf("Verify = %v, want nil", err)
	}
}

func TestNewSecret(t *testing.T) {
	a, b := webhook.NewSecret(), webhook.NewSecret()
	if a == b {
		t.Errorf("two NewSecret calls returned the same secret")
	}
	if !strings.HasPrefix(a, webhook.SecretPrefix) {
		t.Errorf("NewSecret = %q, want the prefix %q", a, webhook.SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, webhook.SecretPrefix))
	if err != nil {
		t.Fatalf("NewSecret is not base64: %v", err)
	}
	if len(key) != 32 {
		t.Errorf("NewSecret key is %d bytes, want 32", len(key))
	}
}

func TestNewSignerRejects(t *testing.T) {
	tests := []struct {
		name   string
		secret string
	}{
		{"empty", ""},
		{"prefix only", webhook.SecretPrefix},
		{"not base64", webhook.SecretPrefix + "not base64!"},
		{"23 bytes", webhook.SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 23))},
		{"65 bytes", webhook.SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 65))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhook.NewSigner(tt.secret); err == nil {
				t.Errorf("NewSigner(%q) = nil error, want an error", tt.secret)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	s, err := webhook.NewSigner(vectorSecret)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(strings.Repeat(`{"field":"value"},`, 100))
	now := time.Now()
	h := http.Header{}
	s.SetHeaders(h, "msg_bench", now, body)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := s.Verify(h, body, now); err != nil {
			b.Fatal(err)
		}
	}
}
