package joinedup

import "time"

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
}

// Takes reports whether s takes events of the given type.
func (s *Service) Takes(eventType string) bool {
	return contains(s.EventTypes, eventType)
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
