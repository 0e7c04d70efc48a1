package policy

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/joinedup/joinedup"
)

// Limits on break-glass grants.
const (
	MaxBreakGlassReason   = 500 // characters
	MaxBreakGlassDuration = 4 * time.Hour
)

// Grant is a break-glass grant, which lets Worker read the record of
// Resident, with whom they have no relationship, until ExpiresAt. Pass it
// in Request.BreakGlass. The policies check the worker, the resident and
// the expiry, and a decision that the grant allowed lists the break-glass
// policy in its reasons. A data protection officer reviews every grant
// afterwards.
type Grant struct {
	ID        string    `json:"id"`
	Worker    string    `json:"worker"`
	Resident  string    `json:"resident"`
	Reason    string    `json:"reason"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// GrantBreakGlass issues a grant to worker for the resident's record, for
// the given reason, lasting ttl from now. The policies decide who may
// obtain one: by default a social worker with no relationship to the
// resident, for safeguarding. A missing or long reason, one with control
// or invisible characters, or a ttl outside
// (0, MaxBreakGlassDuration] returns EINVALID; a refusal returns
// EFORBIDDEN with the decision. The caller stores the grant and queues it
// for review.
func (p *Policies) GrantBreakGlass(worker Principal, resident, reason string, now time.Time, ttl time.Duration) (*Grant, Decision, error) {
	// The limit counts the reason as stored, composed (NFC) and with each
	// line break as one character, as the limits of a birth registration
	// count text.
	reason = norm.NFC.String(strings.TrimSpace(strings.ReplaceAll(reason, "\r\n", "\n")))
	var fields []joinedup.FieldError
	if reason == "" {
		fields = append(fields, joinedup.FieldError{Field: "/reason", Message: "Enter the reason you need to see this record"})
	} else if utf8.RuneCountInString(reason) > MaxBreakGlassReason {
		fields = append(fields, joinedup.FieldError{Field: "/reason", Message: fmt.Sprintf("The reason must be %d characters or fewer", MaxBreakGlassReason)})
	} else if problem := joinedup.FreeTextProblem("The reason", reason); problem != "" {
		fields = append(fields, joinedup.FieldError{Field: "/reason", Message: problem})
	}
	if ttl <= 0 || ttl > MaxBreakGlassDuration {
		fields = append(fields, joinedup.FieldError{Field: "/duration", Message: fmt.Sprintf("Choose a duration from 1 to %d hours", MaxBreakGlassDuration/time.Hour)})
	}
	if resident == "" {
		fields = append(fields, joinedup.FieldError{Field: "/resident", Message: "Select the resident whose record you need"})
	}
	if len(fields) > 0 {
		return nil, Decision{}, joinedup.Invalid("The break-glass request has errors.", fields...)
	}

	d := p.Decide(Request{
		Principal:    worker,
		Action:       ActionBreakGlass,
		Resource:     Resource{Kind: KindRecord, ID: resident, Subject: resident},
		Purpose:      PurposeSafeguarding,
		Relationship: RelationshipNone,
		Now:          now,
	})
	if !d.Allowed {
		return nil, d, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not use break glass for this record.")
	}

	return &Grant{
		ID:        "bg_" + rand.Text(),
		Worker:    worker.ID,
		Resident:  resident,
		Reason:    reason,
		IssuedAt:  now.UTC(),
		ExpiresAt: now.Add(ttl).UTC(),
	}, d, nil
}
