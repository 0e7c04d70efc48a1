package lifeevent

import (
	"strings"
	"testing"
)

// TestPlainText checks that a service's text takes letters, digits,
// punctuation and spaces, and rejects each kind of character that shows
// nothing of its own or could make one name read like another.
func TestPlainText(t *testing.T) {
	for _, s := range []string{"Child Benefit", "Riverside Primary School: pupil planning", "Siân’s clinic", "Ysgol Gymraeg (Cymraeg)"} {
		if !plainText(s) {
			t.Errorf("plainText(%q) = false, want true", s)
		}
	}
	for _, s := range []string{
		"Child Benefit\u0007", "Child Benefit\u200b", "Bin \u202ecollections", "Child Benefit \U0001F476",
		"Child Benefit\ufe0f", "Child Benefit\ufe00", "Child\u3164Benefit", "Child\u115fBenefit", "Half\uffa0width",
		"Private\ue000Use", "Unassigned\u0378x", "Line\u2028Sep",
	} {
		if plainText(s) {
			t.Errorf("plainText(%q) = true, want false", s)
		}
	}
}

// TestCheckSubject checks that a NATS endpoint may not use the hub's own
// subjects, nor the subjects that carry replies to requests.
func TestCheckSubject(t *testing.T) {
	for _, s := range []string{"council.housing.births", "gp_practice-1", "joinedupx.births", "a." + strings.Repeat("b", maxSubject-2)} {
		if msg := checkSubject(s); msg != "" {
			t.Errorf("checkSubject(%.30q) = %q, want no problem", s, msg)
		}
	}
	for _, s := range []string{
		"", "council.*", "council.>", "council..births", "joinedup", "joinedup.deliveries.gp",
		"joinedup.FRESHB.deliveries.svc-a", "JoinedUp.births", "_INBOX.abc", "a." + strings.Repeat("b", maxSubject-1),
	} {
		if msg := checkSubject(s); msg == "" {
			t.Errorf("checkSubject(%.30q) found no problem, want one", s)
		}
	}
}
