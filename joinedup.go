// Package joinedup holds the domain types of the joinedup hub and the
// contracts between its parts. It imports no adapter: the store, the event
// bus, the web layer and the connected services depend on it, never the
// other way round.
package joinedup

import (
	"encoding/json"
	"time"
)

// Identifier types. Each kind of id has its own type so that a service id
// cannot be passed where an event id is expected.
type (
	EventID    string // a life event, such as "evt_01J…"
	ServiceID  string // a connected service, such as "child-benefit"
	OrgID      string // an organisation, such as "hmrc"
	DeliveryID string // one life event sent to one service
	ConsentID  string // one consent record
	ActionID   string // one deferred action
)

// Event types of life events, used as the CloudEvents "type" attribute
// prefixed with EventTypePrefix.
const (
	EventBirthRegistered  = "birth.registered"
	EventConsentWithdrawn = "consent.withdrawn"
	EventActionDue        = "action.due"
)

// EventTypePrefix is the reverse-DNS prefix of every CloudEvents type that
// the hub sends.
const EventTypePrefix = "uk.gov.joinedup."

// Organisation is a body that runs connected services: a council, a police
// force, an NHS trust, a GP practice, a school, a government department.
type Organisation struct {
	ID   OrgID  `json:"id"`
	Name string `json:"name"`
}

// LifeEvent is one registration of a life event together with the consent
// given and the state of each recipient. It is complete when every
// recipient has reached a final state.
type LifeEvent struct {
	ID           EventID           `json:"id"`
	Reference    string            `json:"reference"`
	Type         string            `json:"type"`
	RegisteredAt time.Time         `json:"registeredAt"`
	RegisteredBy string            `json:"registeredBy,omitempty"`
	Payload      json.RawMessage   `json:"payload"`
	Consent      Consent           `json:"consent"`
	Deliveries   []*Delivery       `json:"deliveries"`
	Actions      []*DeferredAction `json:"actions,omitempty"`

	// DedupeKey identifies the same registration made twice; the store
	// accepts one event per key. It is never sent.
	DedupeKey string `json:"-"`
}

// Complete reports whether every recipient has reached a final state.
func (e *LifeEvent) Complete() bool {
	for _, d := range e.Deliveries {
		if !d.State.Final() {
			return false
		}
	}
	return true
}
