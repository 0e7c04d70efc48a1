package joinedup

import (
	"context"
	"time"
)

// LifeEventService registers life events and reports their progress.
type LifeEventService interface {
	// RegisterBirth validates r, records the event, the consent and one
	// delivery per consented service in one transaction, and returns the
	// event and the informant's consent receipt. It then records the
	// consent decisions and by's access in the audit log, in one append.
	// Bad input returns an EINVALID *Error naming each field and records
	// nothing.
	RegisterBirth(ctx context.Context, r BirthRegistration, by Registrar) (*LifeEvent, *ConsentReceipt, error)

	// FindLifeEvent returns the event with its deliveries, or ENOTFOUND.
	FindLifeEvent(ctx context.Context, id EventID) (*LifeEvent, error)

	// FindLifeEvents returns the events with the given ids, each as
	// FindLifeEvent returns it, in the order of ids. It reads them
	// together rather than with one query per event. An id with no event
	// is left out and an id given twice is returned once, so the result
	// can be shorter than ids.
	FindLifeEvents(ctx context.Context, ids []EventID) ([]*LifeEvent, error)

	// FindLifeEventByReference returns the event with the given reference
	// number, or ENOTFOUND.
	FindLifeEventByReference(ctx context.Context, reference string) (*LifeEvent, error)

	// ListLifeEvents returns the page of events that f selects, newest
	// first, with the total that match and the page's offset. A filter
	// that sets more than one of Offset, After and Before is EINVALID.
	ListLifeEvents(ctx context.Context, f LifeEventFilter) (LifeEventPage, error)

	// ReceiptFor returns the consent receipt of a stored event, as
	// RegisterBirth returned it, with each service's current name and
	// purpose.
	ReceiptFor(ctx context.Context, ev *LifeEvent) (*ConsentReceipt, error)
}

// Registrar is the account that registers a life event, with what the
// access policies decided when they let it.
type Registrar struct {
	// Account is the account's id, stored as the event's RegisteredBy.
	// The audit log names "registrar" when it is empty.
	Account string
	// Purpose is the purpose of the access, and Reasons are the reasons
	// the access policies gave for allowing it.
	Purpose string
	Reasons []string
	// Route is the HTTP route that received the registration, or empty.
	Route string
}

// LifeEventFilter selects a page of life events. A zero field matches
// everything. Events are newest first, in order of registration time and
// then id, so that events registered in the same microsecond are in
// reverse order of id.
//
// Offset skips that many matches before the page. After instead starts
// the page just past the event it names, and Before ends it just before,
// in the list's order. With a cursor, an event that joins or leaves the
// list meanwhile moves no other event from one page to another, as it
// does with offsets. A birth registered meanwhile joins the list, and a
// delivery replayed out of the State listed takes its event out. At most
// one of Offset, After and Before is set.
//
// Services, Organisation and Worker narrow the list to the events that
// an account of one role may read under the default access policies, so
// that its pages are full and its total counts only those. The caller
// still checks each event it shows against the policies.
type LifeEventFilter struct {
	Type  string
	State DeliveryState // events with at least one delivery in this state
	// Services, when not nil, keeps only events with at least one
	// delivery to one of these services whose consent was not withdrawn,
	// as for a service officer. With State, that delivery must be in
	// State, so the list reveals nothing of other services' deliveries.
	Services []ServiceID
	// Organisation, when set, keeps only the events registered by an
	// account of that organisation or by one of OrganisationAccounts, as
	// for a registrar. OrganisationAccounts names those that register for
	// the organisation without a stored account, such as the hub's API
	// token.
	Organisation         OrgID
	OrganisationAccounts []string
	// Worker, when set, keeps only the births of the children of the
	// residents that this social worker is allocated to.
	Worker        string
	Offset        int
	After, Before *EventCursor
	Limit         int
}

// ServiceDirectory holds the connected services.
type ServiceDirectory interface {
	// CreateService validates and stores s. When s.Secret is empty a new
	// secret is generated and set on s, so the caller can show it once.
	CreateService(ctx context.Context, s *Service) error
	// UpdateService validates s and replaces the stored service with the
	// same id, or returns ENOTFOUND. When s.Secret is empty the stored
	// secret is kept. Every attempt from then on, including retries of
	// deliveries already queued, uses the new endpoint and secret, but
	// sends no field outside those its consent decision recorded.
	UpdateService(ctx context.Context, s *Service) error
	// RetireService removes the service from use. It dead-letters the
	// service's queued deliveries and cancels its scheduled actions, and
	// keeps its row for the records that name it. A missing or already
	// retired service is ENOTFOUND.
	RetireService(ctx context.Context, id ServiceID) (*RetiredService, error)
	// FindService returns the service, retired or not, or ENOTFOUND.
	FindService(ctx context.Context, id ServiceID) (*Service, error)
	// ListServices returns the services in use, leaving out retired ones.
	ListServices(ctx context.Context) ([]*Service, error)
	// ListAllServices returns every service, retired ones included.
	ListAllServices(ctx context.Context) ([]*Service, error)
}

// RetiredService is the result of removing a service from use.
type RetiredService struct {
	Service *Service `json:"service"`
	// DeadLettered counts the pending and retrying deliveries that were
	// ended because the service was removed.
	DeadLettered int `json:"deadLettered"`
	// ActionsCancelled counts the scheduled deferred actions cancelled.
	ActionsCancelled int `json:"actionsCancelled"`
}

// CallbackMessage names one signed callback by its Standard Webhooks
// webhook-id and webhook-timestamp (Unix seconds).
type CallbackMessage struct {
	ID        string
	Timestamp int64
}

// DeliveryService lets operators and services act on deliveries.
type DeliveryService interface {
	// ReportOutcome records an outcome that a service sent by callback
	// for one of its own deliveries, in the signed message msg. A delivery
	// of another service is ENOTFOUND. Reporting the same outcome twice
	// changes nothing, but the same message accepted before, with the same
	// id and timestamp, is EUNAUTHORIZED: only someone who captured it can
	// send it again, because the service signs each attempt afresh.
	ReportOutcome(ctx context.Context, service ServiceID, id DeliveryID, o Outcome, msg CallbackMessage) error

	// ReplayDelivery sends a dead-lettered or failed delivery again.
	ReplayDelivery(ctx context.Context, id DeliveryID) error

	// ListDeliveries returns one page of the deliveries that match f.
	ListDeliveries(ctx context.Context, f DeliveryFilter) (DeliveryPage, error)
}

// DeliveryFilter selects a page of deliveries. A zero State or Service
// matches every state or service. Deliveries are in order of creation,
// oldest first unless NewestFirst is set, and deliveries created in the
// same microsecond are in order of id.
//
// Offset skips that many matches before the page. After instead starts
// the page just past the delivery it names, and Before ends it just
// before, in the list's order. A delivery that leaves or joins the list
// between two requests then moves no other delivery from one page to
// another, as it does with offsets. At most one of Offset, After and
// Before is set.
type DeliveryFilter struct {
	State   DeliveryState
	Service ServiceID
	// Services, when not nil, keeps only the deliveries to these
	// services, as the list of a service officer does. An empty list
	// keeps none.
	Services      []ServiceID
	NewestFirst   bool
	Offset        int
	After, Before *DeliveryCursor
	Limit         int
}

// DeliveryPage is one page of a list of deliveries.
type DeliveryPage = Page[*Delivery]

// LifeEventPage is one page of a list of life events.
type LifeEventPage = Page[*LifeEvent]

// ConsentReceipt is the informant's record of what they agreed to, in the
// shape of the Kantara Consent Receipt: who, when, for what purpose, and
// which services may be told. It is returned as JSON and shown on a page.
type ConsentReceipt struct {
	Version      string           `json:"version"`
	ReceiptID    string           `json:"receiptId"`
	Reference    string           `json:"reference"`
	IssuedAt     time.Time        `json:"issuedAt"`
	Jurisdiction string           `json:"jurisdiction"`
	Controller   string           `json:"controller"`
	PolicyURL    string           `json:"policyUrl,omitempty"`
	Subject      string           `json:"subject"`
	GivenBy      Name             `json:"givenBy"`
	Capacity     string           `json:"capacity"`
	OnBehalfOf   []string         `json:"onBehalfOf"`
	Purpose      string           `json:"purpose"`
	LawfulBasis  string           `json:"lawfulBasis"`
	Services     []ReceiptService `json:"services"`
}

// ReceiptService is one service on a consent receipt, with the fields it
// will receive and the decision made for it.
type ReceiptService struct {
	Service      ServiceID `json:"service"`
	Name         string    `json:"name"`
	Organisation OrgID     `json:"organisation"`
	Purpose      string    `json:"purpose"`
	Fields       []string  `json:"fields"`
	Decision     string    `json:"decision"`
	LawfulBasis  string    `json:"lawfulBasis,omitempty"` // set when the decision is "not-required"
}
