package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// residentRecord is the content of a resident's record. For the resident
// and each child they are a parent of, it lists what was shared with whom
// and on what basis, what each service did, and who accessed the record.
type residentRecord struct {
	Resident string         `json:"resident"`
	Username string         `json:"username"`
	Events   []recordEvent  `json:"events"`
	Accesses []recordAccess `json:"accesses"`
	// NextBefore is the before parameter that reads older accesses, or 0
	// when there are none. OlderURL is the query of the page's link to
	// them, which keeps the page's limit.
	NextBefore uint64 `json:"nextBefore,omitempty"`
	OlderURL   string `json:"-"`
	Grant      *Grant `json:"breakGlass,omitempty"`
	Own        bool   `json:"-"` // the viewer is the resident or their parent
	// Withdrawal is the banner about a consent just withdrawn, or nil.
	Withdrawal *withdrawalBanner `json:"-"`
	// AlreadyOpen is true when the viewer sent the break-glass form for
	// a record they could already open, so no grant was issued.
	AlreadyOpen bool                          `json:"-"`
	Names       map[joinedup.ServiceID]string `json:"-"`
	Removed     map[joinedup.ServiceID]bool   `json:"-"` // services retired since
}

// recordEvent is one life event on a resident's record.
type recordEvent struct {
	ID         joinedup.EventID `json:"id"`
	Reference  string           `json:"reference"`
	Type       string           `json:"type"`
	Child      string           `json:"child,omitempty"`
	Registered time.Time        `json:"registeredAt"`
	Purpose    string           `json:"purpose"`
	Basis      string           `json:"basis"`
	// Consent is the informant's consent to a birth, as it applies to the
	// resident.
	Consent *recordConsent `json:"consent,omitempty"`
	Shares  []recordShare  `json:"services"`
}

// recordShare is one service a life event was offered to: the consent
// decision, the fields it receives and whose details they are, what it
// did and, after a withdrawal, whether it confirmed the withdrawal notice.
type recordShare struct {
	Service  joinedup.ServiceID `json:"service"`
	Name     string             `json:"name"`
	Decision string             `json:"decision"`
	// Fields are the fields the delivery sends: those the service declares
	// within those its consent decision recorded.
	Fields []string `json:"fields"`
	// SentAbout lists each person the service receives details of, with
	// the fields about them.
	SentAbout []sentPerson `json:"sentAbout"`
	// ResidentFields are the fields about the resident whose record it is.
	// It is empty when the resident's identity matches no parent, which
	// the event's consent shows by having no resident.
	ResidentFields []string               `json:"residentFields"`
	State          joinedup.DeliveryState `json:"state,omitempty"`
	// Reached is set when an attempt may have reached the service, as
	// Delivery.Reached is.
	Reached bool   `json:"reached,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// NotSent is set when consent was withdrawn before any attempt may
	// have reached the service, so SentAbout and ResidentFields are empty.
	// An attempt in flight at the withdrawal can still reach the service
	// and clear it.
	NotSent bool `json:"notSent,omitempty"`
	// Withdrawal is the state of the withdrawal notice, "confirmed" or
	// "unconfirmed" while it is on its way. It is "unreached" when the
	// attempts to send it ran out, and "failed" when the service reported
	// that it could not act on it. It is "unsent" when the service was
	// removed before the notice could be sent.
	Withdrawal string `json:"withdrawal,omitempty"`
	// WithdrawalOutcome is the summary of what the service reported it did
	// on the withdrawal notice, or empty when it has reported nothing.
	WithdrawalOutcome string `json:"withdrawalOutcome,omitempty"`
	// Removed is set when the service has been removed from the hub.
	Removed bool `json:"removed,omitempty"`
	// MayWithdraw is set when the resident may withdraw the consent: it is
	// in force and covers the resident's own details.
	MayWithdraw bool `json:"mayWithdraw"`
}

// recordAccess is one audit entry about the record, in the form the
// record page shows it.
type recordAccess struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role,omitempty"`
	Action string    `json:"action"`
	// Operation is what an access did, such as read or search, when
	// the entry's detail records it.
	Operation string `json:"operation,omitempty"`
	// ActionInWords is the action and operation as a resident reads
	// them, such as "Record viewed".
	ActionInWords string `json:"actionInWords"`
	// Attempt is the number of a disclosure's attempt, from 1, and
	// Generation the number of replays by staff before it. Both are 0 for
	// other entries and for disclosures recorded without them.
	Attempt    int `json:"attempt,omitempty"`
	Generation int `json:"generation,omitempty"`
	// Service is the id of the service that the entry is about, such as
	// the service told or the one whose consent was withdrawn, and
	// ServiceName its name.
	Service     joinedup.ServiceID `json:"service,omitempty"`
	ServiceName string             `json:"serviceName,omitempty"`
	Subject     string             `json:"subject"`
	Purpose     string             `json:"purpose,omitempty"`
	// Reasons are as the audit log stores them: for an access, the ids
	// of the policies that allowed it.
	Reasons []string `json:"reasons"`
	// ReasonsInWords holds the reasons in words: each policy id becomes the
	// sentence in its @reason annotation, where it has one.
	ReasonsInWords []string `json:"reasonsInWords"`
}

// openRecord decides whether the signed-in account may read the record of
// resident id and records the read in one audit entry about the resident,
// which names the life events shown. A denied read is ENOTFOUND, as is an
// id that is not a resident's. A query parameter given more than once is
// EINVALID and, when params is not nil, so is one not in params, as for
// the API's lists.
func (s *Server) openRecord(r *http.Request, id string, params []string) (*residentRecord, error) {
	ctx := r.Context()
	viewer := principalOf(r)
	resident, err := s.Records.FindAccount(ctx, id)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND || (err == nil && resident.Role != policy.RoleResident) {
		return nil, errHidden("resident record")
	} else if err != nil {
		return nil, err
	}

	purpose := purposeOf(viewer.Role)
	d, grant, err := s.decide(ctx, viewer, policy.ActionRead, policy.Resource{Kind: policy.KindRecord, ID: id, Subject: id}, purpose)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		s.Logger.InfoContext(ctx, "access denied", "account_id", viewer.ID, "kind", policy.KindRecord, "request_id", requestID(ctx))
		return nil, errHidden("resident record")
	}
	if grant != nil {
		purpose = policy.PurposeSafeguarding
	}
	// The query is checked only now, so that its faults do not tell a
	// caller without access that the resident exists.
	check := onceEach
	if params != nil {
		check = func(q url.Values) error { return onlyParams(q, params...) }
	}
	if err := check(r.URL.Query()); err != nil {
		return nil, err
	}
	page, err := historyQuery(r.URL.Query())
	if err != nil {
		return nil, err
	}

	rec, err := s.buildRecord(ctx, resident)
	if err != nil {
		return nil, err
	}
	rec.Grant = grant
	rec.Own = viewer.Role == policy.RoleResident

	events := make([]joinedup.EventID, len(rec.Events))
	for i, ev := range rec.Events {
		events[i] = ev.ID
	}
	var accesses []access
	for part := range chunks(events, maxEventsPerEntry) {
		accesses = append(accesses, access{
			account: viewer, action: audit.ActionAccess, subject: id, purpose: purpose, reasons: d.Reasons,
			detail: grantDetail(map[string]any{"resource": "Record:" + id, "operation": "read", "route": r.Pattern, "events": part}, grant),
		})
	}
	if err := s.record(ctx, accesses...); err != nil {
		return nil, err
	}

	if rec.Accesses, rec.NextBefore, err = s.history(ctx, id, page, rec.Own); err != nil {
		return nil, err
	}
	return rec, nil
}

// maxEventsPerEntry is how many life event ids one audit entry of a record
// read names. 1,000 ids take about 33 KB, within the audit log's 64 KiB
// limit on an entry's detail. A record with more events is recorded in one
// entry for each 1,000.
const maxEventsPerEntry = 1000

// chunks yields ids in consecutive parts of at most size ids. It yields
// one empty part when ids is empty, so that a record with no events is
// still recorded.
func chunks(ids []joinedup.EventID, size int) iter.Seq[[]joinedup.EventID] {
	return func(yield func([]joinedup.EventID) bool) {
		if len(ids) == 0 {
			yield([]joinedup.EventID{})
			return
		}
		for part := range slices.Chunk(ids, size) {
			if !yield(part) {
				return
			}
		}
	}
}

// buildRecord collects the life events of the resident's children with
// their consent and deliveries.
func (s *Server) buildRecord(ctx context.Context, resident *auth.Account) (*residentRecord, error) {
	rec := &residentRecord{Resident: resident.ID, Username: resident.Username, Events: []recordEvent{}}
	ids, err := s.Records.ChildEvents(ctx, resident.ID)
	if err != nil {
		return nil, fmt.Errorf("list children's events: %w", err)
	}
	// The record names services removed since, because it is the
	// resident's account of which services received their data.
	services, err := s.Services.ListAllServices(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	byID := map[joinedup.ServiceID]*joinedup.Service{}
	rec.Names = map[joinedup.ServiceID]string{}
	rec.Removed = map[joinedup.ServiceID]bool{}
	for _, svc := range services {
		byID[svc.ID] = svc
		rec.Names[svc.ID] = svc.Name
		rec.Removed[svc.ID] = svc.Retired()
	}

	residentIdentity, err := s.identityOf(ctx, resident.ID)
	if err != nil {
		return nil, err
	}
	events, err := s.LifeEvents.FindLifeEvents(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("find children's life events: %w", err)
	}
	found := make(map[joinedup.EventID]*joinedup.LifeEvent, len(events))
	for _, ev := range events {
		found[ev.ID] = ev
	}
	// A child's event that cannot be found fails the record rather than
	// leaving the child out.
	for _, id := range ids {
		ev, ok := found[id]
		if !ok {
			return nil, fmt.Errorf("find life event %s: %w", id, joinedup.Errorf(joinedup.ENOTFOUND, "There is no life event with that id."))
		}
		recEvent, err := recordEventOf(ev, byID, residentIdentity)
		if err != nil {
			return nil, err
		}
		rec.Events = append(rec.Events, recEvent)
	}
	return rec, nil
}

// recordEventOf returns ev as the record of the resident with the identity
// shows it.
func recordEventOf(ev *joinedup.LifeEvent, services map[joinedup.ServiceID]*joinedup.Service, resident identity) (recordEvent, error) {
	out := recordEvent{
		ID: ev.ID, Reference: ev.Reference, Type: ev.Type, Registered: ev.RegisteredAt,
		Purpose: ev.Consent.Purpose, Basis: ev.Consent.Basis,
	}
	var birth joinedup.BirthRegistration
	if ev.Type == joinedup.EventBirthRegistered {
		if err := json.Unmarshal(ev.Payload, &birth); err != nil {
			return out, fmt.Errorf("decode life event %s: %w", ev.ID, err)
		}
	}
	parent := resident.parentIn(birth)
	if ev.Type == joinedup.EventBirthRegistered {
		out.Child = birth.Child.Name.Full()
		consent := consentOf(ev, birth, parent)
		out.Consent = &consent
	}
	for _, c := range ev.Consent.Decisions {
		share := recordShare{Service: c.Service, Name: string(c.Service), Decision: c.Decision,
			Fields: []string{}, SentAbout: []sentPerson{}, ResidentFields: []string{}}
		if svc, ok := services[c.Service]; ok {
			share.Name = svc.Name
			share.Removed = svc.Retired()
			if c.Decision == joinedup.ConsentGiven || c.Decision == joinedup.ConsentNotRequired || c.Decision == joinedup.ConsentWithdrawn {
				// The fields and people that the delivery sends, as
				// delivery.Event chooses them.
				share.Fields = declaredOrder(joinedup.WithinFields(svc.Fields, c.Fields), svc.Fields)
				sent, err := sentAbout(ev, birth, share.Fields, c.Decision, parent)
				if err != nil {
					return out, err
				}
				share.SentAbout = sent
				for _, p := range sent {
					if p.Resident {
						share.ResidentFields = append(share.ResidentFields, p.Fields...)
					}
				}
			}
		}
		for _, d := range ev.Deliveries {
			if d.Service != c.Service {
				continue
			}
			switch d.Kind {
			case joinedup.EventActionDue:
			case joinedup.EventConsentWithdrawn:
				if d.Outcome != nil {
					share.WithdrawalOutcome = d.Outcome.Summary
				}
			default: // the life event itself
				share.State, share.Reached = d.State, d.Reached
				if d.Outcome != nil {
					share.Outcome = d.Outcome.Summary
				}
				share.NotSent = neverReached(d)
			}
		}
		share.Withdrawal = withdrawalState(ev.Deliveries, c.Service)
		if share.NotSent {
			share.SentAbout, share.ResidentFields = []sentPerson{}, []string{}
		}
		share.MayWithdraw = c.Decision == joinedup.ConsentGiven && parent >= 0 && joinedup.Covers(ev.Consent.OnBehalf, parent)
		out.Shares = append(out.Shares, share)
	}
	return out, nil
}

// withdrawalState returns the state of the withdrawal notice for service
// among the deliveries of one life event, in the values of
// recordShare.Withdrawal. It returns "" when no notice was queued and
// none waits for an attempt under way to end.
func withdrawalState(deliveries []*joinedup.Delivery, service joinedup.ServiceID) string {
	state := ""
	for _, d := range deliveries {
		if d.Service != service {
			continue
		}
		switch d.Kind {
		case joinedup.EventActionDue:
		case joinedup.EventConsentWithdrawn:
			// A service confirms a withdrawal by reporting that it acted.
			switch {
			case d.State == joinedup.StateActed:
				state = "confirmed"
			case d.State == joinedup.StateDeadLettered && d.LastError == joinedup.RetiredLastError:
				state = "unsent"
			case d.State == joinedup.StateDeadLettered:
				state = "unreached"
			case d.State == joinedup.StateFailed:
				state = "failed"
			default:
				state = "unconfirmed"
			}
		default: // the life event itself
			// An attempt under way at the withdrawal may have reached
			// the service, which is told once the attempt ends.
			if d.State == joinedup.StateWithdrawn && d.Reached && state == "" {
				state = "unconfirmed"
			}
		}
	}
	return state
}

// withdrawalBanner is the content of the notification banner that a page
// shows after a consent was withdrawn. One banner can cover the consents
// of several life events for the same service.
type withdrawalBanner struct {
	Name    string // the service's name
	Removed bool   // the service has been removed from the hub
	// Sent is true when a notice of the withdrawal was queued for the
	// service, which had been sent the life event, and Confirmed when the
	// service has confirmed every such notice. Unreached is true when the
	// hub stopped trying to send a notice because every attempt failed,
	// and Failed when the service reported that it could not act on one.
	Sent, Confirmed, Unreached, Failed bool
}

// newWithdrawalBanner returns the banner of a withdrawal for the service,
// to which no notice was sent until add records one.
func newWithdrawalBanner(name string, removed bool) *withdrawalBanner {
	return &withdrawalBanner{Name: name, Removed: removed, Confirmed: true}
}

// add records in the banner the withdrawal state of one life event, as
// withdrawalState returns it.
func (b *withdrawalBanner) add(state string) {
	if state == "" {
		return
	}
	b.Sent = true
	b.Confirmed = b.Confirmed && state == "confirmed"
	b.Unreached = b.Unreached || state == "unreached"
	b.Failed = b.Failed || state == "failed"
}

// residentPage shows a resident's record. A social worker with no access
// who may use break glass gets the 404 page with the break-glass form.
func (s *Server) residentPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rec, err := s.openRecord(r, id, nil)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND && s.mayBreakGlass(r, id) {
		s.render(w, r, http.StatusNotFound, "break-glass.html", page{
			Title: "You have no access to this record", Data: breakGlassView{Resident: id, MaxHours: int(policy.MaxBreakGlassDuration / time.Hour)},
		})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The banner of a withdrawal shows only when the record shows the
	// consent withdrawn, and states whether a notice went to the service
	// and whether the service has confirmed it.
	if svc := joinedup.ServiceID(r.URL.Query().Get("withdrawn")); svc != "" {
		banner := newWithdrawalBanner(cmp.Or(rec.Names[svc], string(svc)), rec.Removed[svc])
		for _, ev := range rec.Events {
			for _, share := range ev.Shares {
				if share.Service == svc && share.Decision == joinedup.ConsentWithdrawn {
					rec.Withdrawal = banner
					banner.add(share.Withdrawal)
				}
			}
		}
	}
	rec.AlreadyOpen = r.URL.Query().Get("access") == "already-open"
	if rec.NextBefore != 0 {
		older := url.Values{"before": {strconv.FormatUint(rec.NextBefore, 10)}}
		if limit := r.URL.Query().Get("limit"); limit != "" {
			older.Set("limit", limit)
		}
		rec.OlderURL = "?" + older.Encode()
	}
	title := "Record of " + rec.Username
	if rec.Own {
		title = "Your record"
	}
	s.render(w, r, http.StatusOK, "resident.html", page{Title: title, Data: rec})
}

// getHistory serves a resident's record as JSON.
func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	rec, err := s.openRecord(r, r.PathValue("id"), []string{"before", "limit"})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rec)
}

// decideWithdrawal evaluates whether the policies let account change the
// consent of ev, and returns the decision and the purpose it was made
// for. It records nothing.
func (s *Server) decideWithdrawal(ctx context.Context, account *auth.Account, ev *joinedup.LifeEvent) (policy.Decision, string, error) {
	res, err := s.eventResource(ctx, ev)
	if err != nil {
		return policy.Decision{}, "", err
	}
	// A resident, and a registrar acting when the informant asks, change a
	// consent under the consent purpose. Other staff act under their own.
	purpose := purposeOf(account.Role)
	if account.Role == policy.RoleResident || account.Role == policy.RoleRegistrar {
		purpose = policy.PurposeConsent
	}
	d, _, err := s.decide(ctx, account, policy.ActionWrite, res, purpose)
	return d, purpose, err
}

// withdraw withdraws the consent given for sharing event with service when
// the policies let the signed-in account change that event's consent. A
// resident whom they do not gets ENOTFOUND, and staff the error of
// withdrawalDenied.
func (s *Server) withdraw(r *http.Request, eventID joinedup.EventID, service joinedup.ServiceID) error {
	ctx := r.Context()
	account := principalOf(r)
	ev, err := s.LifeEvents.FindLifeEvent(ctx, eventID)
	if err != nil {
		return err
	}
	d, purpose, err := s.decideWithdrawal(ctx, account, ev)
	if err != nil {
		return err
	}
	if !d.Allowed {
		// A resident who may not change the consent may not read it
		// either. Staff who may read it get a message that says who may
		// change it.
		if account.Role == policy.RoleResident {
			return errHidden("life event")
		}
		return s.withdrawalDenied(r, ev)
	}
	if err := s.checkConsentInForce(ctx, ev, service); err != nil {
		return err
	}
	if err := s.checkMayWithdraw(ctx, account, ev, service); err != nil {
		return err
	}
	if err := s.record(ctx, access{
		account: account, action: audit.ActionAccess, subject: string(ev.ID), purpose: purpose, reasons: d.Reasons,
		detail: map[string]any{"resource": "LifeEvent:" + string(ev.ID), "operation": "withdraw-consent", "service": service, "route": r.Pattern},
	}); err != nil {
		return err
	}
	err = s.Consents.WithdrawConsent(ctx, ev.ID, service, account.ID)
	if joinedup.ErrorCode(err) == joinedup.ECONFLICT {
		// Another withdrawal changed the decision after checkWithdrawable.
		return withPageTitle(err, "Consent is no longer in force")
	}
	return err
}

// checkConsentInForce returns ENOTFOUND when ev records no consent
// decision for service, and otherwise the error of checkWithdrawable.
func (s *Server) checkConsentInForce(ctx context.Context, ev *joinedup.LifeEvent, service joinedup.ServiceID) error {
	at := slices.IndexFunc(ev.Consent.Decisions, func(c joinedup.ConsentDecision) bool { return c.Service == service })
	if at < 0 {
		return joinedup.Errorf(joinedup.ENOTFOUND, "There is no consent for service %s on this life event.", quoteInput(string(service)))
	}
	return s.checkWithdrawable(ctx, ev.Consent.Decisions[at])
}

// checkWithdrawable returns ECONFLICT, naming the service and with a page
// title giving the reason, unless the decision is consent in force.
func (s *Server) checkWithdrawable(ctx context.Context, decision joinedup.ConsentDecision) error {
	name := s.serviceName(ctx, decision.Service)
	switch decision.Decision {
	case joinedup.ConsentGiven:
		return nil
	case joinedup.ConsentWithdrawn:
		return withPageTitle(joinedup.Errorf(joinedup.ECONFLICT, "Consent for %s is already withdrawn, so nothing more is shared with it.", name),
			"Consent is already withdrawn")
	case joinedup.ConsentRefused:
		return withPageTitle(joinedup.Errorf(joinedup.ECONFLICT, "Consent for %s was refused, so nothing is shared with it.", name),
			"Consent was refused, so there is nothing to withdraw")
	}
	return withPageTitle(joinedup.Errorf(joinedup.ECONFLICT, "%s is told under a lawful basis, not consent, so there is no consent to withdraw.", name),
		"There is no consent to withdraw")
}

// serviceName returns the name of a service, retired or not, or its id
// when it cannot be found.
func (s *Server) serviceName(ctx context.Context, id joinedup.ServiceID) string {
	svc, err := s.Services.FindService(ctx, id)
	if err != nil {
		return string(id)
	}
	return svc.Name
}

// ownConsent returns the life event and the service that a withdrawal
// form names in values, when the signed-in account is the resident named
// in the path and the event is on that resident's record. Anything else
// is ENOTFOUND, as for a record the account may not read. A form that
// names no event or service, or more than one, is EINVALID, whose page
// sends the resident back to their record to choose again.
func (s *Server) ownConsent(r *http.Request, values url.Values) (*joinedup.LifeEvent, joinedup.ServiceID, error) {
	viewer := principalOf(r)
	if viewer.Role != policy.RoleResident || viewer.ID != r.PathValue("id") {
		return nil, "", errHidden("resident record")
	}
	for _, name := range []string{"event", "service"} {
		if n := len(values[name]); n != 1 || values.Get(name) == "" {
			return nil, "", withPageTitle(joinedup.Invalid(
				"The link or form you used does not say which consent to withdraw, so nothing was changed. "+
					"Go to your record and select Withdraw consent beside the service."),
				"We could not tell which consent to withdraw")
		}
	}
	ids, err := s.Records.ChildEvents(r.Context(), viewer.ID)
	if err != nil {
		return nil, "", fmt.Errorf("list children's events: %w", err)
	}
	eventID := joinedup.EventID(values.Get("event"))
	if !slices.Contains(ids, eventID) {
		return nil, "", errHidden("life event")
	}
	ev, err := s.LifeEvents.FindLifeEvent(r.Context(), eventID)
	if err != nil {
		return nil, "", err
	}
	return ev, joinedup.ServiceID(values.Get("service")), nil
}

// withdrawalView is the data of the confirmation page of a withdrawal.
type withdrawalView struct {
	Resident  string // the resident in the path, on the resident's page only
	Event     joinedup.EventID
	Reference string // the life event's reference number
	Service   joinedup.ServiceID
	Name      string // the service's name
	Child     string // the child's full name, or empty for another event
	GivenBy   string // the full name of the informant who gave the consent
	// Removed is set when the service has been removed from the hub, so
	// the withdrawal is recorded but no notice of it reaches the service.
	Removed bool
	// Received is set when the service has received the life event, or
	// may have in an attempt that failed, so a withdrawal notice will be
	// queued for it. Otherwise the withdrawal stops the delivery before
	// the service gets the details.
	Received bool
	// Outcome is the summary of what the service reported it did with the
	// life event, or empty when it has reported nothing.
	Outcome string
}

// newWithdrawalView returns the content of the confirmation page for
// withdrawing the consent for service on ev, including whether the
// withdrawal queues a notice for the service or stops the details from
// being sent.
func (s *Server) newWithdrawalView(ctx context.Context, ev *joinedup.LifeEvent, service joinedup.ServiceID) (withdrawalView, error) {
	view := withdrawalView{Event: ev.ID, Reference: ev.Reference, Service: service, Name: string(service), GivenBy: ev.Consent.GivenBy.Full()}
	if ev.Type == joinedup.EventBirthRegistered {
		var birth joinedup.BirthRegistration
		if err := json.Unmarshal(ev.Payload, &birth); err != nil {
			return view, fmt.Errorf("decode life event %s: %w", ev.ID, err)
		}
		view.Child = birth.Child.Name.Full()
	}
	if svc, err := s.Services.FindService(ctx, service); err == nil {
		view.Name, view.Removed = svc.Name, svc.Retired()
	}
	for _, d := range ev.Deliveries {
		if d.Service != service || d.Kind == joinedup.EventConsentWithdrawn || d.Kind == joinedup.EventActionDue {
			continue
		}
		// In these states, or after an attempt that may have reached the
		// service, a withdrawal queues a notice for the service. In the
		// others it stops the delivery.
		switch d.State {
		case joinedup.StateDelivered, joinedup.StateActed, joinedup.StateFailed:
			view.Received = true
		}
		if d.Reached {
			view.Received = true
		}
		if d.Outcome != nil {
			view.Outcome = d.Outcome.Summary
		}
	}
	return view, nil
}

// withdrawalTitle returns the title of the confirmation page of a
// withdrawal.
func withdrawalTitle(view withdrawalView) string {
	return "Are you sure you want to withdraw consent for " + view.Name + "?"
}

// confirmWithdrawalForm renders the page on which the resident confirms a
// withdrawal of consent, which withdrawConsentForm then makes. The record
// page offers no way to undo a withdrawal.
func (s *Server) confirmWithdrawalForm(w http.ResponseWriter, r *http.Request) {
	ev, service, err := s.ownConsent(r, r.URL.Query())
	if err == nil {
		err = s.checkConsentInForce(r.Context(), ev, service)
	}
	if err == nil {
		err = s.checkMayWithdraw(r.Context(), principalOf(r), ev, service)
	}
	var view withdrawalView
	if err == nil {
		view, err = s.newWithdrawalView(r.Context(), ev, service)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	view.Resident = r.PathValue("id")
	s.render(w, r, http.StatusOK, "withdraw-consent.html", page{Title: withdrawalTitle(view), Data: view})
}

// withdrawConsentForm withdraws consent from the resident's record page.
// The event must be on the record of the resident in the path, who must
// be the signed-in resident.
func (s *Server) withdrawConsentForm(w http.ResponseWriter, r *http.Request) {
	if !s.parsePostForm(w, r) {
		return
	}
	ev, service, err := s.ownConsent(r, r.PostForm)
	if err == nil {
		err = s.withdraw(r, ev.ID, service)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := url.Values{"withdrawn": {string(service)}}
	http.Redirect(w, r, "/residents/"+url.PathEscape(r.PathValue("id"))+"?"+q.Encode(), http.StatusSeeOther)
}

// withdrawConsent is the API form of withdrawConsentForm. It takes no
// body, because the hub records no reason for a withdrawal, so one sent
// is rejected before anything changes.
func (s *Server) withdrawConsent(w http.ResponseWriter, r *http.Request) {
	if err := checkNoBody(r); err != nil {
		s.fail(w, r, err)
		return
	}
	event, service := joinedup.EventID(r.PathValue("id")), joinedup.ServiceID(r.PathValue("service"))
	if err := s.withdraw(r, event, service); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"event": string(event), "service": string(service), "decision": joinedup.ConsentWithdrawn})
}
