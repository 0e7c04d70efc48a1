// Package lifeevent takes in life events: it validates a registration,
// records it with the informant's consent and the plan of recipients in
// one transaction, and answers questions about its progress.
package lifeevent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/linkage"
	"github.com/joinedup/joinedup/store"
)

// Controller names the data controller on consent receipts. The hub's
// pages and API replace it with the name of the organisation that
// registered the event, when the hub has a record of that organisation.
const Controller = "joinedup hub operated by the council"

// Service implements joinedup.LifeEventService on the store.
type Service struct {
	// Audit, when set, receives an entry for each consent decision and
	// one for the registrar's access.
	Audit *audit.Log
	// Link, when set, runs inside each registration's transaction, so
	// that what it stores commits with the birth or not at all.
	Link func(ctx context.Context, tx *store.Tx, ev *joinedup.LifeEvent, r joinedup.BirthRegistration) error
	// Persons, when set, is the person index that Recognise adds the
	// people of each registration to.
	Persons *linkage.Persons

	arrived chan *joinedup.LifeEvent

	db     *store.DB
	wake   func()
	logger *slog.Logger
	now    func() time.Time
}

var _ joinedup.LifeEventService = (*Service)(nil)

// New returns a Service. wake is called after each registration so the
// delivery relay publishes at once; it may be nil.
func New(db *store.DB, wake func(), logger *slog.Logger) *Service {
	if wake == nil {
		wake = func() {}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, wake: wake, logger: logger, now: time.Now, arrived: make(chan *joinedup.LifeEvent, 256)}
}

// SetClock replaces the clock that decides what "today" is, for tests.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// RegisterBirth implements joinedup.LifeEventService.
func (s *Service) RegisterBirth(ctx context.Context, r joinedup.BirthRegistration, by joinedup.Registrar) (*joinedup.LifeEvent, *joinedup.ConsentReceipt, error) {
	r, err := r.Check(joinedup.Today(s.now()))
	fields := joinedup.ErrorFields(err)

	services, err := s.db.ListServices(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list services: %w", err)
	}
	recipients := map[joinedup.ServiceID]*joinedup.Service{}
	var takers []*joinedup.Service
	for _, svc := range services {
		recipients[svc.ID] = svc
		if svc.Takes(joinedup.EventBirthRegistered) {
			takers = append(takers, svc)
		}
	}
	fields = append(fields, r.CheckConsentServices(recipients)...)
	if len(fields) > 0 {
		return nil, nil, joinedup.Invalid("The registration has errors.", fields...)
	}

	payload, err := json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("encode registration: %w", err)
	}
	ev := &joinedup.LifeEvent{
		ID:           joinedup.EventID(joinedup.NewID("evt")),
		Type:         joinedup.EventBirthRegistered,
		RegisteredBy: by.Account,
		Payload:      payload,
		Consent: joinedup.Consent{
			ID:       joinedup.ConsentID(joinedup.NewID("con")),
			GivenBy:  r.Informant.Name,
			Capacity: r.Informant.Capacity,
			OnBehalf: onBehalfOf(r),
			Purpose:  r.Consent.Purpose,
			Basis:    basis(r),
		},
	}
	for _, svc := range takers {
		decision := joinedup.ConsentDecision{Service: svc.ID, Decision: joinedup.ConsentRefused}
		switch {
		case svc.LawfulBasis != "":
			decision.Decision, decision.Basis = joinedup.ConsentNotRequired, svc.LawfulBasis
		case r.Informant.Capacity == joinedup.InformantOther:
			decision.Decision = joinedup.ConsentNotAsked
		case slices.Contains(r.Consent.Services, svc.ID):
			decision.Decision = joinedup.ConsentGiven
		}
		if decision.Decision == joinedup.ConsentGiven || decision.Decision == joinedup.ConsentNotRequired {
			decision.Fields = slices.Clone(svc.Fields)
			ev.Deliveries = append(ev.Deliveries, &joinedup.Delivery{
				ID: joinedup.DeliveryID(joinedup.NewID("dlv")), Service: svc.ID, Kind: ev.Type,
			})
		}
		ev.Consent.Decisions = append(ev.Consent.Decisions, decision)
	}

	ev.DedupeKey = r.DedupeKey()

	var link []func(*store.Tx) error
	if s.Link != nil {
		link = append(link, func(tx *store.Tx) error { return s.Link(ctx, tx, ev, r) })
	}
	if s.Audit != nil {
		entries := registrationEntries(ev, by)
		link = append(link, func(tx *store.Tx) error { return tx.QueueAudit(ctx, entries...) })
	}
	// A reference number is 40 random bits; on the rare clash, draw again.
	for attempt := 0; ; attempt++ {
		ev.Reference = joinedup.NewReference()
		err = s.db.CreateLifeEvent(ctx, ev, link...)
		if joinedup.ErrorCode(err) != joinedup.ECONFLICT || attempt == 3 {
			break
		}
		if existing, ferr := s.db.FindReferenceByDedupeKey(ctx, ev.DedupeKey); ferr == nil {
			return nil, nil, &joinedup.Error{Code: joinedup.ECONFLICT,
				Message: fmt.Sprintf("This birth is already registered, with reference %s. A second registration would tell every service twice.", existing),
				Err:     &joinedup.DuplicateBirth{Reference: existing}}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("record birth: %w", err)
	}
	s.wake()
	s.logger.Info("birth registered", "event_id", ev.ID, "recipients", len(ev.Deliveries))
	if s.Audit != nil {
		if err := s.Audit.AppendQueued(ctx); err != nil {
			// The entries stay queued with the registration, and the log's
			// next commit appends them.
			s.logger.Error("append registration to audit log", "event_id", ev.ID, "error", err)
		}
	}
	select {
	case s.arrived <- ev:
	default: // Recognise's periodic sweep finds it.
	}
	return ev, Receipt(ev, takers), nil
}

// registrationEntries returns the audit entries of a registration: the
// informant's decision for each service and, when by names an account,
// that account's access to the new event. The registration's transaction
// queues them, so they are appended if and only if it commits.
func registrationEntries(ev *joinedup.LifeEvent, by joinedup.Registrar) []audit.Entry {
	actor := ev.RegisteredBy
	if actor == "" {
		actor = "registrar"
	}
	entries := make([]audit.Entry, 0, len(ev.Consent.Decisions)+1)
	for _, d := range ev.Consent.Decisions {
		action, basis, reason := audit.ActionConsentGiven, ev.Consent.Basis, audit.ReasonInformantChose
		switch d.Decision {
		case joinedup.ConsentRefused:
			action = audit.ActionConsentRefused
		case joinedup.ConsentNotAsked:
			action, reason = audit.ActionConsentNotAsked, audit.ReasonNotAParent
		case joinedup.ConsentNotRequired:
			action, basis, reason = audit.ActionLawfulBasis, d.Basis, audit.ReasonLawRequires
		}
		detail, _ := json.Marshal(map[string]any{"service": d.Service, "consent": ev.Consent.ID,
			"capacity": ev.Consent.Capacity, "onBehalfOf": ev.Consent.OnBehalf, "basis": basis})
		entries = append(entries, audit.Entry{Actor: actor, Action: action, Subject: string(ev.ID),
			Purpose: ev.Consent.Purpose, Reasons: []string{reason}, Detail: detail})
	}
	if by.Account != "" {
		detail, _ := json.Marshal(map[string]any{"resource": "LifeEvent:" + string(ev.ID), "operation": "register", "route": by.Route})
		entries = append(entries, audit.Entry{Actor: by.Account, Action: audit.ActionAccess, Subject: string(ev.ID),
			Purpose: by.Purpose, Reasons: by.Reasons, Detail: detail})
	}
	return entries
}

// onBehalfOf lists whose data the consent covers, as JSON Pointers into
// the registration: the child and the informant, when the informant is a
// parent. A parent cannot consent for the other parent, so the other
// parent is never listed. An informant who is not a parent covers no one.
func onBehalfOf(r joinedup.BirthRegistration) []string {
	if r.Informant.Capacity == joinedup.InformantOther {
		return []string{}
	}
	out := []string{"/child"}
	if r.Informant.Parent != nil {
		out = append(out, fmt.Sprintf("/parents/%d", *r.Informant.Parent))
	}
	return out
}

// basis states the lawful basis of the sharing.
func basis(r joinedup.BirthRegistration) string {
	if r.Informant.Capacity == joinedup.InformantOther {
		return "the law alone, because an informant who is not a parent cannot consent for the child"
	}
	return "consent of the informant, a parent with parental responsibility for the child"
}

// Receipt returns the consent receipt of a life event. services are the
// services that take events of its type.
func Receipt(ev *joinedup.LifeEvent, services []*joinedup.Service) *joinedup.ConsentReceipt {
	r := &joinedup.ConsentReceipt{
		Version:      "joinedup-consent-receipt/1",
		ReceiptID:    string(ev.Consent.ID),
		Reference:    ev.Reference,
		IssuedAt:     ev.Consent.RecordedAt,
		Jurisdiction: "GB",
		Controller:   Controller,
		Subject:      ev.Type,
		GivenBy:      ev.Consent.GivenBy,
		Capacity:     ev.Consent.Capacity,
		OnBehalfOf:   ev.Consent.OnBehalf,
		Purpose:      ev.Consent.Purpose,
		LawfulBasis:  ev.Consent.Basis,
	}
	decided := map[joinedup.ServiceID]joinedup.ConsentDecision{}
	for _, d := range ev.Consent.Decisions {
		decided[d.Service] = d
	}
	for _, s := range services {
		d, ok := decided[s.ID]
		if !ok {
			continue
		}
		r.Services = append(r.Services, joinedup.ReceiptService{
			Service: s.ID, Name: s.Name, Organisation: s.Organisation,
			Purpose: s.Purpose, Fields: s.Fields, Decision: d.Decision, LawfulBasis: d.Basis,
		})
	}
	return r
}

// FindLifeEvent implements joinedup.LifeEventService.
func (s *Service) FindLifeEvent(ctx context.Context, id joinedup.EventID) (*joinedup.LifeEvent, error) {
	return s.db.FindLifeEvent(ctx, id)
}

// FindLifeEvents implements joinedup.LifeEventService.
func (s *Service) FindLifeEvents(ctx context.Context, ids []joinedup.EventID) ([]*joinedup.LifeEvent, error) {
	return s.db.FindLifeEvents(ctx, ids)
}

// FindLifeEventByReference implements joinedup.LifeEventService.
func (s *Service) FindLifeEventByReference(ctx context.Context, reference string) (*joinedup.LifeEvent, error) {
	return s.db.FindLifeEventByReference(ctx, reference)
}

// ListLifeEvents implements joinedup.LifeEventService.
func (s *Service) ListLifeEvents(ctx context.Context, f joinedup.LifeEventFilter) (joinedup.LifeEventPage, error) {
	return s.db.ListLifeEvents(ctx, f)
}

// ReceiptFor implements joinedup.LifeEventService.
func (s *Service) ReceiptFor(ctx context.Context, ev *joinedup.LifeEvent) (*joinedup.ConsentReceipt, error) {
	// A receipt keeps naming a service removed since the registration.
	services, err := s.db.ListAllServices(ctx)
	if err != nil {
		return nil, err
	}
	return Receipt(ev, services), nil
}
