package joinedup

import "time"

// Consent decisions.
const (
	ConsentGiven     = "given"
	ConsentRefused   = "refused"
	ConsentWithdrawn = "withdrawn"
	// ConsentNotRequired marks a service told under a lawful basis other
	// than consent; the decision's Basis names it and it cannot be
	// withdrawn.
	ConsentNotRequired = "not-required"
	// ConsentNotAsked marks a service told on consent when the informant
	// is not a parent and so cannot give it. The service is not told.
	ConsentNotAsked = "not-asked"
)

// Consent is the informant's decision about sharing one life event: who
// decided, for whom, for which purpose, and the decision for each service
// that takes events of that type.
type Consent struct {
	ID         ConsentID         `json:"id"`
	GivenBy    Name              `json:"givenBy"`
	Capacity   string            `json:"capacity"`
	OnBehalf   []string          `json:"onBehalfOf"`
	Purpose    string            `json:"purpose"`
	Basis      string            `json:"basis"`
	Decisions  []ConsentDecision `json:"decisions"`
	RecordedAt time.Time         `json:"recordedAt"`
}

// ConsentDecision is the decision for one recipient.
type ConsentDecision struct {
	Service  ServiceID `json:"service"`
	Decision string    `json:"decision"`
	Basis    string    `json:"basis,omitempty"` // the lawful basis, for ConsentNotRequired
	// Fields are the fields the service declared when the decision was
	// made. A delivery sends none outside them, even after the service
	// declares more. Empty for a refusal and for decisions recorded before
	// the hub kept them.
	Fields    []string  `json:"fields,omitempty"`
	DecidedAt time.Time `json:"decidedAt"`
}

// Given reports whether the consent covers sharing with service s now.
func (c Consent) Given(s ServiceID) bool {
	for _, d := range c.Decisions {
		if d.Service == s {
			return d.Decision == ConsentGiven || d.Decision == ConsentNotRequired
		}
	}
	return false
}

// Withdrawn reports whether the consent to share with service s was
// withdrawn.
func (c Consent) Withdrawn(s ServiceID) bool {
	for _, d := range c.Decisions {
		if d.Service == s {
			return d.Decision == ConsentWithdrawn
		}
	}
	return false
}
