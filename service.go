package joinedup

import (
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Service is a connected service: a back office that receives life events
// and requests through a connector, acts on them and reports outcomes.
type Service struct {
	ID           ServiceID `json:"id"`
	Organisation OrgID     `json:"organisation"`
	Name         string    `json:"name"`
	// EventTypes are the life event types the service takes, such as
	// "birth.registered".
	EventTypes []string `json:"eventTypes"`
	// Fields are the payload fields the service declared a purpose for, as
	// dotted paths into the payload ("child.dateOfBirth", "parents.name").
	// A path into an array applies to each element. The service receives
	// only these fields.
	Fields []string `json:"fields"`
	// Purpose is the reason the service needs the fields; it is shown to the
	// informant when consent is asked.
	Purpose string `json:"purpose"`
	// LawfulBasis, when set, names the law that requires the service to be
	// told of every event it takes, with or without the informant's
	// consent, such as a statutory duty to notify. It is recorded with
	// each disclosure in place of a consent decision.
	LawfulBasis string   `json:"lawfulBasis,omitempty"`
	Endpoint    Endpoint `json:"endpoint"`
	// Secret is the Standard Webhooks signing secret ("whsec_" and base64)
	// shared by the hub and the service. It signs deliveries to the service
	// and the service's callbacks to the hub. It is never shown after
	// registration.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// RetiredAt is when an operator removed the service, or zero for a
	// service in use. A retired service is kept, because consent
	// decisions, deliveries and the audit log name it, but it is no longer
	// offered and receives nothing more.
	RetiredAt time.Time `json:"retiredAt,omitzero"`
}

// ServiceNameKey returns name in the form in which two service names
// compare equal: in NFKC, case-folded and with each run of white space as
// one space. So "Child Benefit", " CHILD  BENEFIT" and the name with a
// fullwidth letter or a no-break space are the same name. No two
// services in use may share a key, because the birth form shows each
// service by its name.
func ServiceNameKey(name string) string {
	key := norm.NFKC.String(cases.Fold().String(norm.NFKC.String(name)))
	return strings.Join(strings.Fields(key), " ")
}

// Takes reports whether s takes events of the given type.
func (s *Service) Takes(eventType string) bool {
	return contains(s.EventTypes, eventType)
}

// Retired reports whether s has been removed.
func (s *Service) Retired() bool { return !s.RetiredAt.IsZero() }

// RetiredLastError is the last error of a delivery that was ended because
// its service was removed.
const RetiredLastError = "The service was removed."

// ServiceRemoved returns the ENOTFOUND error for a request that names the
// retired service s as if it were still in use.
func ServiceRemoved(s *Service) *Error {
	return Errorf(ENOTFOUND, "The service %q was removed on %s and is kept only for the records that name it.",
		s.ID, Today(s.RetiredAt))
}

// Endpoint kinds.
const (
	EndpointWebhook = "webhook" // HTTP POST signed with the Standard Webhooks scheme
	EndpointNATS    = "nats"    // NATS request on a subject, for services inside the cluster
)

// Endpoint is how a service receives deliveries.
type Endpoint struct {
	Kind    string `json:"kind"`
	URL     string `json:"url,omitempty"`
	Subject string `json:"subject,omitempty"`
}
