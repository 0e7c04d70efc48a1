package joinedup

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DeliveryState is the state of one recipient of a life event.
type DeliveryState string

// Delivery states. A delivery starts pending, becomes delivered when the
// service accepts it and acted or failed when the service reports its
// outcome. Retrying means the last attempt failed and another is due;
// dead-lettered means the attempts ran out and an operator must replay it;
// withdrawn means consent was withdrawn before the service acted.
const (
	StatePending      DeliveryState = "pending"
	StateDelivered    DeliveryState = "delivered"
	StateActed        DeliveryState = "acted"
	StateFailed       DeliveryState = "failed"
	StateRetrying     DeliveryState = "retrying"
	StateDeadLettered DeliveryState = "dead-lettered"
	StateWithdrawn    DeliveryState = "withdrawn"
)

// Final reports whether no more work is planned for a delivery in state s.
// A dead-lettered delivery is final until an operator replays it.
func (s DeliveryState) Final() bool {
	switch s {
	case StateActed, StateFailed, StateDeadLettered, StateWithdrawn:
		return true
	}
	return false
}

// Delivery is one life event sent to one service.
type Delivery struct {
	ID      DeliveryID `json:"id"`
	EventID EventID    `json:"eventId"`
	Service ServiceID  `json:"service"`
	// Kind is the CloudEvents type sent, without EventTypePrefix: the life
	// event's own type, EventConsentWithdrawn or EventActionDue.
	Kind     string        `json:"kind"`
	State    DeliveryState `json:"state"`
	Attempts int           `json:"attempts"`
	// Reached is true when an attempt, in this generation or one before a
	// replay, may have reached the service: every attempt that connected
	// to it, whatever its result, and an attempt still under way.
	Reached     bool      `json:"reached"`
	LastError   string    `json:"lastError,omitempty"`
	NextAttempt time.Time `json:"nextAttemptAt,omitzero"`
	Outcome     *Outcome  `json:"outcome,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Outcome statuses a service may report.
const (
	OutcomeAccepted = "accepted" // received; the outcome follows by callback
	OutcomeActed    = "acted"    // the service did what its rules require
	OutcomeFailed   = "failed"   // the service could not act; Summary gives the reason
)

// Outcome is a service's report of what it did with a delivery, in its webhook
// response or later by a signed callback.
type Outcome struct {
	Status string `json:"status"`
	// Summary is one sentence for the informant and the operator, such as
	// "Child Benefit claim started".
	Summary string `json:"summary,omitempty"`
	// Reference is the service's own reference for what it did.
	Reference string `json:"reference,omitempty"`
	// Detail holds service-specific facts, such as a weekly rate.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Deferred lists actions the service requests the hub to trigger later.
	Deferred   []DeferredRequest `json:"deferred,omitempty"`
	ReportedAt time.Time         `json:"reportedAt,omitzero"`
}

// MissingSummary reports whether o lacks the summary that an outcome of
// acted or failed owes the informant, who reads it on the tracking page,
// or has one of spaces only.
func (o Outcome) MissingSummary() bool {
	return (o.Status == OutcomeActed || o.Status == OutcomeFailed) && strings.TrimSpace(o.Summary) == ""
}

// TextErrors returns a FieldError for each text field of o that
// FreeTextProblem rejects: the summary, the reference, and each deferred
// action's name and summary. The summary appears on the informant's and
// the operator's pages, and the API returns the others, so each follows
// the rule for text that staff type. Each error names its field by a JSON
// Pointer, such as "/deferred/0/summary", and none quotes the text.
func (o Outcome) TextErrors() []FieldError {
	var fields []FieldError
	check := func(field, label, text string) {
		if problem := FreeTextProblem(label, text); problem != "" {
			fields = append(fields, FieldError{Field: field, Message: problem})
		}
	}
	check("/summary", "The summary", o.Summary)
	check("/reference", "The reference", o.Reference)
	for i, d := range o.Deferred {
		at := "/deferred/" + strconv.Itoa(i)
		check(at+"/action", fmt.Sprintf("The action of deferred action %d", i+1), d.Action)
		check(at+"/summary", fmt.Sprintf("The summary of deferred action %d", i+1), d.Summary)
	}
	return fields
}

// DeferredRequest is a request to the hub to send the service an
// action.due event on a date, such as a school's nursery contact three
// years after a birth.
type DeferredRequest struct {
	Action  string `json:"action"`
	Due     Date   `json:"due"`
	Summary string `json:"summary,omitempty"`
}

// Action states.
const (
	ActionScheduled = "scheduled"
	ActionFired     = "fired"
	ActionCancelled = "cancelled"
)

// DeferredAction is a durable timer held by the hub for a service. On its
// due date the hub sends the service one action.due event; withdrawing the
// consent it rests on cancels it.
type DeferredAction struct {
	ID         ActionID   `json:"id"`
	DeliveryID DeliveryID `json:"deliveryId"`
	EventID    EventID    `json:"eventId"`
	Service    ServiceID  `json:"service"`
	Action     string     `json:"action"`
	Summary    string     `json:"summary,omitempty"`
	Due        Date       `json:"due"`
	State      string     `json:"state"`
	FiredAt    time.Time  `json:"firedAt,omitzero"`
}

// ActionDue is the data of an action.due event: a deferred action that a
// service asked for in an earlier outcome has reached its due date.
type ActionDue struct {
	Action         string     `json:"action"`
	Due            Date       `json:"due"`
	Summary        string     `json:"summary,omitempty"`
	DeliveryID     DeliveryID `json:"deliveryId"`
	EventReference string     `json:"eventReference"`
}

// WithdrawalNotice is the data of a consent.withdrawn event: the informant
// withdrew consent for delivery DeliveryID, so the service must undo what
// rested on it.
type WithdrawalNotice struct {
	DeliveryID     DeliveryID `json:"deliveryId"`
	EventReference string     `json:"eventReference"`
	WithdrawnAt    time.Time  `json:"withdrawnAt"`
}

// DeliveryCursor is a delivery's place in a list of deliveries, which is
// ordered by creation time and then id.
type DeliveryCursor = Cursor[DeliveryID]

// CursorOf returns the place of d in a list of deliveries.
func CursorOf(d *Delivery) DeliveryCursor {
	return DeliveryCursor{At: d.CreatedAt, ID: d.ID}
}
