package connector

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/joinedup/joinedup"
)

// Full CloudEvents types of the events the hub sends.
const (
	TypeBirthRegistered  = joinedup.EventTypePrefix + joinedup.EventBirthRegistered
	TypeActionDue        = joinedup.EventTypePrefix + joinedup.EventActionDue
	TypeConsentWithdrawn = joinedup.EventTypePrefix + joinedup.EventConsentWithdrawn
)

// ContentType is the media type of a CloudEvents structured JSON event.
const ContentType = "application/cloudevents+json"

// Event is a CloudEvents 1.0 event in the structured JSON format, with the
// hub's two extension attributes. ID equals the webhook-id of the message
// and stays the same when the hub retries a notice.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"` // the life event's reference number
	Time            time.Time       `json:"time,omitzero"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`

	// Event is the id of the life event on the hub.
	Event joinedup.EventID `json:"joinedupevent,omitempty"`
	// Delivery is the id of this service's delivery of the life event; a
	// callback outcome names it.
	Delivery joinedup.DeliveryID `json:"joinedupdelivery,omitempty"`
}

// ActionDue is the data of an action.due event.
type ActionDue = joinedup.ActionDue

// ConsentWithdrawn is the data of a consent.withdrawn event.
type ConsentWithdrawn = joinedup.WithdrawalNotice

// ShortType returns the event type without the hub's prefix, such as
// "birth.registered".
func (e *Event) ShortType() string {
	return strings.TrimPrefix(e.Type, joinedup.EventTypePrefix)
}

// Birth decodes the data of a birth.registered event. The hub sends only
// the fields the service declared, so any field may be absent.
func (e *Event) Birth() (joinedup.BirthRegistration, error) {
	var r joinedup.BirthRegistration
	if err := e.decode(TypeBirthRegistered, &r); err != nil {
		return joinedup.BirthRegistration{}, err
	}
	return r, nil
}

// ActionDue decodes the data of an action.due event.
func (e *Event) ActionDue() (ActionDue, error) {
	var a ActionDue
	if err := e.decode(TypeActionDue, &a); err != nil {
		return ActionDue{}, err
	}
	return a, nil
}

// ConsentWithdrawn decodes the data of a consent.withdrawn event.
func (e *Event) ConsentWithdrawn() (ConsentWithdrawn, error) {
	var w ConsentWithdrawn
	if err := e.decode(TypeConsentWithdrawn, &w); err != nil {
		return ConsentWithdrawn{}, err
	}
	return w, nil
}

func (e *Event) decode(eventType string, v any) error {
	if e.Type != eventType {
		return joinedup.Errorf(joinedup.EINVALID, "Event %s has type %q, not %q.", e.ID, e.Type, eventType)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return &joinedup.Error{
			Code:    joinedup.EINVALID,
			Message: fmt.Sprintf("The data of event %s is not a valid %s payload.", e.ID, e.ShortType()),
			Err:     err,
		}
	}
	return nil
}

// parseEvent decodes a structured CloudEvents JSON body and checks the
// attributes that CloudEvents 1.0 requires and that the hub always sets.
func parseEvent(body []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, &joinedup.Error{Code: joinedup.EINVALID, Message: "The body is not a CloudEvents JSON event.", Err: err}
	}

	var fields []joinedup.FieldError
	if e.SpecVersion != "1.0" {
		fields = append(fields, joinedup.FieldError{Field: "/specversion", Message: `specversion must be "1.0"`})
	}
	if e.ID == "" {
		fields = append(fields, joinedup.FieldError{Field: "/id", Message: "id is missing"})
	}
	if e.Source == "" {
		fields = append(fields, joinedup.FieldError{Field: "/source", Message: "source is missing"})
	}
	if e.Type == "" {
		fields = append(fields, joinedup.FieldError{Field: "/type", Message: "type is missing"})
	}
	if e.DataContentType != "" && e.DataContentType != "application/json" {
		fields = append(fields, joinedup.FieldError{Field: "/datacontenttype", Message: `datacontenttype must be "application/json"`})
	}
	if len(fields) > 0 {
		return nil, joinedup.Invalid("The CloudEvents event is invalid.", fields...)
	}
	return &e, nil
}
