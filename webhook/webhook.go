// Package webhook signs and verifies HTTP messages with the Standard
// Webhooks scheme (version 1.0.0 of the specification at
// https://www.standardwebhooks.com): an HMAC-SHA256 over
// "{webhook-id}.{webhook-timestamp}.{body}" with a shared secret, sent in the
// webhook-id, webhook-timestamp and webhook-signature headers.
//
// A secret is "whsec_" followed by the base64 encoding of 24 to 64 random
// bytes. The webhook-signature header holds one or more space-separated
// "v1,<base64 signature>" entries, so that a sender can sign with an old and
// a new secret while a receiver moves from one to the other.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks scheme.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a symmetric Standard Webhooks secret.
const SecretPrefix = "whsec_"

// Tolerance is how far the webhook-timestamp of a verified message may be
// from the receiver's clock, in either direction. Older messages are
// rejected so that a captured message cannot be replayed later.
const Tolerance = 5 * time.Minute

// Secret sizes in bytes, before base64, that the specification allows.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
	newSecretBytes = 32
)

// maxSignatures bounds the entries of one webhook-signature header that
// Verify checks, so a header with thousands of entries costs little.
const maxSignatures = 10

// Errors returned by Verify. Each is a distinct sentinel so that a receiver
// can log why it rejected a message, and each means "not authentic".
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrBadTimestamp   = errors.New("webhook: webhook-timestamp is not a Unix time in seconds")
	ErrTooOld         = errors.New("webhook: webhook-timestamp is more than 5 minutes in the past")
	ErrTooNew         = errors.New("webhook: webhook-timestamp is more than 5 minutes in the future")
	ErrNoMatch        = errors.New("webhook: no signature matches")
)

// Signer signs and verifies messages with one secret.
type Signer struct {
	key []byte
}

// NewSecret returns a new random secret of 32 bytes in the "whsec_" form.
func NewSecret() string {
	b := make([]byte, newSecretBytes)
	rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24.
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// NewSigner returns a Signer for secret, given as "whsec_" and base64. The
// bare base64 form without the prefix is accepted too, as the Standard
// Webhooks reference library for Go accepts it. The decoded key must be 24 to 64 bytes.
func NewSigner(secret string) (*Signer, error) {
	encoded := strings.TrimPrefix(secret, SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, errors.New("webhook: invalid secret: want \"whsec_\" followed by standard base64")
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("webhook: invalid secret: the key is %d bytes, want %d to %d", len(key), MinSecretBytes, MaxSecretBytes)
	}
	return &Signer{key: key}, nil
}

// Sign returns the signature of body sent with the given id at ts, as one
// "v1,<base64>" entry of a webhook-signature header. Only the whole seconds
// of ts are signed.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, strconv.FormatInt(ts.Unix(), 10), body))
}

// SetHeaders sets the webhook-id, webhook-timestamp and webhook-signature
// headers of h for body sent with the given id at ts.
func (s *Signer) SetHeaders(h http.Header, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, s.Sign(id, ts, body))
}

// Verify checks that h carries a v1 signature of body made with the
// Signer's secret and a timestamp within Tolerance of now. It returns nil
// or one of ErrMissingHeaders, ErrBadTimestamp, ErrTooOld, ErrTooNew and
// ErrNoMatch. Entries with another version, such as v1a, are skipped.
func (s *Signer) Verify(h http.Header, body []byte, now time.Time) error {
	id := h.Get(HeaderID)
	timestamp := h.Get(HeaderTimestamp)
	signatures := h.Get(HeaderSignature)
	if id == "" || timestamp == "" || signatures == "" {
		return ErrMissingHeaders
	}

	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || seconds < 0 {
		return ErrBadTimestamp
	}
	sent := time.Unix(seconds, 0)
	if now.Sub(sent) > Tolerance {
		return ErrTooOld
	}
	if sent.Sub(now) > Tolerance {
		return ErrTooNew
	}

	want := s.mac(id, timestamp, body)
	for i, entry := range strings.Fields(signatures) {
		if i == maxSignatures {
			break
		}
		version, encoded, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatch
}

func (s *Signer) mac(id, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
