package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/webhook"
)

// fakeHub is an in-memory LifeEventService, ServiceDirectory and
// DeliveryService that keeps the contracts' rules: registrations are
// validated by the domain, consent names only services that take births,
// outcomes are accepted only from the delivery's own service, and only
// dead-lettered or failed deliveries can be replayed.
type fakeHub struct {
	mu       sync.Mutex
	now      time.Time
	services map[joinedup.ServiceID]*joinedup.Service
	events   []*joinedup.LifeEvent // oldest first
	receipts map[joinedup.EventID]*joinedup.ConsentReceipt
	replayed []joinedup.DeliveryID

	// err, when set, is returned by every method, to test failures.
	err error
	// link, when set, is called with each registration, as the hub links
	// the parents' resident accounts to the child.
	link func(event joinedup.EventID, r joinedup.BirthRegistration)
	// audit, when set, receives the registrar's access to each new event,
	// as the hub's life event service records it.
	audit *audit.Log
	// records, when set, holds the accounts and allocations that a list
	// of life events narrowed to an organisation or a social worker
	// reads. The hub's lock is taken before theirs.
	records *fakeRecords
}

func newFakeHub(now time.Time) *fakeHub {
	return &fakeHub{now: now, services: map[joinedup.ServiceID]*joinedup.Service{}, receipts: map[joinedup.EventID]*joinedup.ConsentReceipt{}}
}

func (h *fakeHub) RegisterBirth(ctx context.Context, r joinedup.BirthRegistration, by joinedup.Registrar) (*joinedup.LifeEvent, *joinedup.ConsentReceipt, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, nil, h.err
	}

	r, err := r.Check(joinedup.Today(h.now))
	fields := joinedup.ErrorFields(err)
	fields = append(fields, r.CheckConsentServices(h.services)...)
	if len(fields) > 0 {
		return nil, nil, joinedup.Invalid("The registration has errors.", fields...)
	}

	payload, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	event := &joinedup.LifeEvent{
		ID:        joinedup.EventID(joinedup.NewID("evt")),
		Reference: joinedup.NewReference(),
		Type:      joinedup.EventBirthRegistered,
		// Each event is a microsecond after the one before, so that the
		// list's order is the order of registration.
		RegisteredAt: h.now.Add(time.Duration(len(h.events)) * time.Microsecond),
		RegisteredBy: by.Account,
		Payload:      payload,
		Consent: joinedup.Consent{
			ID:         joinedup.ConsentID(joinedup.NewID("con")),
			GivenBy:    r.Informant.Name,
			Capacity:   r.Informant.Capacity,
			Purpose:    r.Consent.Purpose,
			Basis:      "consent",
			RecordedAt: h.now,
		},
	}
	receipt := &joinedup.ConsentReceipt{
		Version:      "KI-CR-v1.1.0",
		ReceiptID:    joinedup.NewID("rcp"),
		Reference:    event.Reference,
		IssuedAt:     h.now,
		Jurisdiction: "GB",
		Controller:   "Test Council",
		Subject:      "child",
		GivenBy:      r.Informant.Name,
		Capacity:     r.Informant.Capacity,
		OnBehalfOf:   []string{"/child"},
		Purpose:      r.Consent.Purpose,
		LawfulBasis:  "consent",
	}
	if r.Informant.Parent != nil {
		receipt.OnBehalfOf = append(receipt.OnBehalfOf, fmt.Sprintf("/parents/%d", *r.Informant.Parent))
	}
	event.Consent.OnBehalf = receipt.OnBehalfOf
	for _, svc := range h.sortedServices() {
		if !svc.Takes(joinedup.EventBirthRegistered) {
			continue
		}
		decision := joinedup.ConsentRefused
		if slices.Contains(r.Consent.Services, svc.ID) {
			decision = joinedup.ConsentGiven
			event.Deliveries = append(event.Deliveries, &joinedup.Delivery{
				ID:      joinedup.DeliveryID(joinedup.NewID("dlv")),
				EventID: event.ID,
				Service: svc.ID,
				State:   joinedup.StatePending,
				// Each delivery is a microsecond after the one before,
				// so that the list's order is the order of creation.
				CreatedAt: h.now.Add(time.Duration(h.deliveries()+len(event.Deliveries)) * time.Microsecond),
				UpdatedAt: h.now,
			})
		}
		event.Consent.Decisions = append(event.Consent.Decisions, joinedup.ConsentDecision{Service: svc.ID, Decision: decision, DecidedAt: h.now})
		receipt.Services = append(receipt.Services, joinedup.ReceiptService{
			Service: svc.ID, Name: svc.Name, Organisation: svc.Organisation, Purpose: svc.Purpose, Fields: svc.Fields, Decision: decision,
		})
	}
	if h.link != nil {
		h.link(event.ID, r)
	}
	if h.audit != nil && by.Account != "" {
		detail, _ := json.Marshal(map[string]any{"resource": "LifeEvent:" + string(event.ID), "operation": "register", "route": by.Route})
		if _, err := h.audit.Append(ctx, audit.Entry{Actor: by.Account, Action: audit.ActionAccess, Subject: string(event.ID),
			Purpose: by.Purpose, Reasons: by.Reasons, Detail: detail}); err != nil {
			return nil, nil, err
		}
	}
	h.events = append(h.events, event)
	h.receipts[event.ID] = receipt
	return event, receipt, nil
}

func (h *fakeHub) ReceiptFor(ctx context.Context, ev *joinedup.LifeEvent) (*joinedup.ConsentReceipt, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	receipt, ok := h.receipts[ev.ID]
	if !ok {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "No receipt for life event %q.", ev.ID)
	}
	return receipt, nil
}

func (h *fakeHub) FindLifeEvent(ctx context.Context, id joinedup.EventID) (*joinedup.LifeEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	for _, e := range h.events {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, joinedup.Errorf(joinedup.ENOTFOUND, "No life event %q.", id)
}

func (h *fakeHub) FindLifeEvents(ctx context.Context, ids []joinedup.EventID) ([]*joinedup.LifeEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	out := []*joinedup.LifeEvent{}
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue
		}
		if at := slices.IndexFunc(h.events, func(e *joinedup.LifeEvent) bool { return e.ID == id }); at >= 0 {
			out = append(out, h.events[at])
		}
	}
	return out, nil
}

func (h *fakeHub) FindLifeEventByReference(ctx context.Context, reference string) (*joinedup.LifeEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	for _, e := range h.events {
		if e.Reference == reference {
			return e, nil
		}
	}
	return nil, joinedup.Errorf(joinedup.ENOTFOUND, "No life event with reference %q.", reference)
}

func (h *fakeHub) ListLifeEvents(ctx context.Context, f joinedup.LifeEventFilter) (joinedup.LifeEventPage, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return joinedup.LifeEventPage{}, h.err
	}
	if (f.After != nil && f.Before != nil) || (f.Offset > 0 && (f.After != nil || f.Before != nil)) {
		return joinedup.LifeEventPage{}, joinedup.Errorf(joinedup.EINVALID, "A list of life events is paged by one of offset, after and before.")
	}
	var match []*joinedup.LifeEvent
	for _, e := range h.events {
		if f.Type != "" && e.Type != f.Type {
			continue
		}
		if f.State != "" && !slices.ContainsFunc(e.Deliveries, func(d *joinedup.Delivery) bool { return d.State == f.State }) {
			continue
		}
		if f.Services != nil && !slices.ContainsFunc(e.Deliveries, func(d *joinedup.Delivery) bool {
			return slices.Contains(f.Services, d.Service) && !e.Consent.Withdrawn(d.Service)
		}) {
			continue
		}
		if f.Organisation != "" && !h.registeredFor(ctx, e, f.Organisation, f.OrganisationAccounts) {
			continue
		}
		if f.Worker != "" && (h.records == nil || !h.records.allocatedChild(f.Worker, e.ID)) {
			continue
		}
		match = append(match, e)
	}
	// The store's order: newest first, by registration time and then id.
	slices.SortFunc(match, func(a, b *joinedup.LifeEvent) int {
		return -compareCursors(joinedup.EventCursorOf(a), joinedup.EventCursorOf(b))
	})
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	return fakePage(match, joinedup.EventCursorOf, true, f.Offset, f.After, f.Before, f.Limit), nil
}

// registeredFor reports whether e was registered by an account of the
// organisation org or by one of accounts. The caller holds h.mu.
func (h *fakeHub) registeredFor(ctx context.Context, e *joinedup.LifeEvent, org joinedup.OrgID, accounts []string) bool {
	if slices.Contains(accounts, e.RegisteredBy) {
		return true
	}
	if h.records == nil {
		return false
	}
	a, err := h.records.FindAccount(ctx, e.RegisteredBy)
	return err == nil && a.Organisation == org
}

func (h *fakeHub) CreateService(ctx context.Context, s *joinedup.Service) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	if _, ok := h.services[s.ID]; ok {
		return joinedup.Errorf(joinedup.ECONFLICT, "Service %q already exists.", s.ID)
	}
	if s.Secret == "" {
		s.Secret = webhook.NewSecret()
	}
	s.CreatedAt = h.now
	c := *s
	h.services[s.ID] = &c
	return nil
}

func (h *fakeHub) UpdateService(ctx context.Context, s *joinedup.Service) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	stored, ok := h.services[s.ID]
	if !ok {
		return joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %q.", s.ID)
	}
	if s.Secret == "" {
		s.Secret = stored.Secret
	}
	s.CreatedAt = stored.CreatedAt
	c := *s
	h.services[s.ID] = &c
	return nil
}

func (h *fakeHub) FindService(ctx context.Context, id joinedup.ServiceID) (*joinedup.Service, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	svc, ok := h.services[id]
	if !ok {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "No service %q.", id)
	}
	c := *svc
	return &c, nil
}

func (h *fakeHub) RetireService(ctx context.Context, id joinedup.ServiceID) (*joinedup.RetiredService, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	svc, ok := h.services[id]
	if !ok {
		return nil, joinedup.Errorf(joinedup.ENOTFOUND, "There is no service %q.", id)
	}
	if svc.Retired() {
		return nil, joinedup.ServiceRemoved(svc)
	}
	svc.RetiredAt = h.now
	c := *svc
	return &joinedup.RetiredService{Service: &c}, nil
}

func (h *fakeHub) ListServices(ctx context.Context) ([]*joinedup.Service, error) {
	all, err := h.ListAllServices(ctx)
	return slices.DeleteFunc(all, (*joinedup.Service).Retired), err
}

func (h *fakeHub) ListAllServices(ctx context.Context) ([]*joinedup.Service, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return nil, h.err
	}
	return h.sortedServices(), nil
}

func (h *fakeHub) sortedServices() []*joinedup.Service {
	var out []*joinedup.Service
	for _, svc := range h.services {
		c := *svc
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *joinedup.Service) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (h *fakeHub) delivery(id joinedup.DeliveryID) *joinedup.Delivery {
	for _, e := range h.events {
		for _, d := range e.Deliveries {
			if d.ID == id {
				return d
			}
		}
	}
	return nil
}

func (h *fakeHub) ReportOutcome(ctx context.Context, service joinedup.ServiceID, id joinedup.DeliveryID, o joinedup.Outcome, msg joinedup.CallbackMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	d := h.delivery(id)
	if d == nil || d.Service != service {
		return joinedup.Errorf(joinedup.ENOTFOUND, "No delivery %q for service %q.", id, service)
	}
	d.Outcome = &o
	switch o.Status {
	case joinedup.OutcomeActed:
		d.State = joinedup.StateActed
	case joinedup.OutcomeFailed:
		d.State = joinedup.StateFailed
	case joinedup.OutcomeAccepted:
		d.State = joinedup.StateDelivered
	}
	d.UpdatedAt = h.now
	return nil
}

func (h *fakeHub) ReplayDelivery(ctx context.Context, id joinedup.DeliveryID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return h.err
	}
	d := h.delivery(id)
	if d == nil {
		return joinedup.Errorf(joinedup.ENOTFOUND, "No delivery %q.", id)
	}
	if d.State != joinedup.StateDeadLettered && d.State != joinedup.StateFailed {
		return joinedup.Errorf(joinedup.ECONFLICT, "Delivery %q is %s; only dead-lettered or failed deliveries can be replayed.", id, d.State)
	}
	if d.Kind != joinedup.EventConsentWithdrawn {
		for _, e := range h.events {
			for _, c := range e.Consent.Decisions {
				if e.ID == d.EventID && c.Service == d.Service && c.Decision == joinedup.ConsentWithdrawn {
					return joinedup.Errorf(joinedup.ECONFLICT, "Delivery %q cannot be replayed, because consent to tell %q was withdrawn.", id, d.Service)
				}
			}
		}
	}
	d.State = joinedup.StatePending
	h.replayed = append(h.replayed, id)
	return nil
}

func (h *fakeHub) ListDeliveries(ctx context.Context, f joinedup.DeliveryFilter) (joinedup.DeliveryPage, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return joinedup.DeliveryPage{}, h.err
	}
	var matches []*joinedup.Delivery
	for _, e := range h.events {
		for _, d := range e.Deliveries {
			if (f.State == "" || d.State == f.State) && (f.Service == "" || d.Service == f.Service) &&
				(f.Services == nil || slices.Contains(f.Services, d.Service)) {
				matches = append(matches, d)
			}
		}
	}
	// The store's order: by creation time, then id.
	slices.SortFunc(matches, func(a, b *joinedup.Delivery) int { return compareCursors(joinedup.CursorOf(a), joinedup.CursorOf(b)) })
	if f.NewestFirst {
		slices.Reverse(matches)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return fakePage(matches, joinedup.CursorOf, f.NewestFirst, f.Offset, f.After, f.Before, f.Limit), nil
}

// compareCursors compares two cursors in the order of a list ordered by
// time and then id, oldest first.
func compareCursors[ID ~string](a, b joinedup.Cursor[ID]) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	return strings.Compare(string(a.ID), string(b.ID))
}

// fakePage cuts from matches, which are in the store's order, oldest or
// newestFirst, the page of at most limit items that starts at offset or
// after the cursor after, or ends before the cursor before, as the store
// does. cursorOf returns an item's cursor.
func fakePage[T any, ID ~string](matches []T, cursorOf func(T) joinedup.Cursor[ID], newestFirst bool, offset int, after, before *joinedup.Cursor[ID], limit int) joinedup.Page[T] {
	compare := compareCursors[ID]
	if newestFirst {
		compare = func(a, b joinedup.Cursor[ID]) int { return -compareCursors(a, b) }
	}
	page := joinedup.Page[T]{Total: len(matches), Offset: offset}
	switch {
	case after != nil:
		page.Offset = len(matches)
		for i, item := range matches {
			if compare(cursorOf(item), *after) > 0 {
				page.Offset = i
				break
			}
		}
	case before != nil:
		end := len(matches)
		for i, item := range matches {
			if compare(cursorOf(item), *before) >= 0 {
				end = i
				break
			}
		}
		page.Offset = max(end-limit, 0)
		page.Items = matches[page.Offset:end]
		return page
	}
	start := min(page.Offset, len(matches))
	page.Items = matches[start:min(start+limit, len(matches))]
	return page
}

// setState moves a delivery to state, as the delivery workers would.
func (h *fakeHub) setState(id joinedup.DeliveryID, state joinedup.DeliveryState, lastError string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.delivery(id)
	d.State, d.LastError = state, lastError
}

// setActed marks the delivery acted on, after an attempt that reached
// its service, with an outcome whose summary is given.
func (h *fakeHub) setActed(id joinedup.DeliveryID, summary string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.delivery(id)
	d.State, d.Reached = joinedup.StateActed, true
	d.Outcome = &joinedup.Outcome{Status: joinedup.OutcomeActed, Summary: summary}
}

// deliveries returns how many deliveries the hub holds. The caller holds
// h.mu.
func (h *fakeHub) deliveries() int {
	n := 0
	for _, e := range h.events {
		n += len(e.Deliveries)
	}
	return n
}
