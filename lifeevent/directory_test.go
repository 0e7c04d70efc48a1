package lifeevent

import (
	"strings"
	"testing"

	"github.com/joinedup/joinedup"
)

// TestPlainText checks that a service's text takes letters, digits,
// punctuation and spaces, and rejects each kind of character that shows
// nothing of its own or could make one name read like another.
func TestPlainText(t *testing.T) {
	for _, s := range []string{"Child Benefit", "Riverside Primary School: pupil planning", "Siân’s clinic", "Ysgol Gymraeg (Cymraeg)", "Caf´e ^ `quoted`"} {
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

// TestValidateLawfulBasis checks that a lawful basis, which the
// registrar reads to the informant, takes the same characters as a
// service's purpose.
func TestValidateLawfulBasis(t *testing.T) {
	service := func(basis string) *joinedup.Service {
		return &joinedup.Service{
			ID: "health-visiting", Organisation: "council", Name: "Health visiting", Purpose: "To plan the first visit",
			EventTypes: []string{joinedup.EventBirthRegistered}, Fields: []string{"child.dateOfBirth"},
			Endpoint:    joinedup.Endpoint{Kind: joinedup.EndpointWebhook, URL: "https://services.example/events"},
			LawfulBasis: basis,
		}
	}
	for _, basis := range []string{"", "Children Act 1989, section 17", "Deddf Plant a Llesiant (Cymru) 2014 – adran 6"} {
		if err := Validate(service(basis)); err != nil {
			t.Errorf("Validate with the basis %q: %v, want no error", basis, err)
		}
	}
	for _, basis := range []string{
		"Children Act 1989 \u202eetisnetni\u202c section 17", "Act\u0007 1996", "Act\u200b 1996", "\U0001F600 Act", "Act \U0001F3FB", "Act 1\u20e3", " Act 1996",
		strings.Repeat("é", 301),
	} {
		err := Validate(service(basis))
		if fields := joinedup.ErrorFields(err); len(fields) != 1 || fields[0].Field != "/lawfulBasis" {
			t.Errorf("Validate with the basis %.30q: fields %v, want one naming /lawfulBasis", basis, fields)
		}
	}
}
