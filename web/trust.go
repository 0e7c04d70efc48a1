package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/audit"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

// Records holds what the web layer needs, beyond the life events, to
// decide and record access: how people are related, break-glass grants
// and the audit entries about a resident.
type Records interface {
	// FindAccount returns an account, or ENOTFOUND.
	FindAccount(ctx context.Context, id string) (*auth.Account, error)
	// FindOrganisation returns an organisation, or ENOTFOUND.
	FindOrganisation(ctx context.Context, id joinedup.OrgID) (*joinedup.Organisation, error)

	// Relationship returns how principal is related to the resident
	// subject: self, the parent of the child of a birth event, or the
	// social worker allocated to the resident or to the child's parent.
	Relationship(ctx context.Context, principal policy.Principal, subject string) (policy.Relationship, error)

	// ChildEvents returns the birth events of the children of resident.
	ChildEvents(ctx context.Context, resident string) ([]joinedup.EventID, error)

	// Identity returns the National Insurance number and date of birth
	// recorded for a resident account, which link it to the births in
	// which a parent has both, or ENOTFOUND when none is recorded.
	Identity(ctx context.Context, resident string) (nino string, dateOfBirth joinedup.Date, err error)

	// SearchResidents returns resident accounts whose user name contains
	// query or whose National Insurance number is query.
	SearchResidents(ctx context.Context, query string, limit int) ([]*auth.Account, error)

	// History returns at most limit audit entries, newest first, about
	// the resident and about the birth events of their children. It
	// leaves out the resident's own accesses, the entries whose actor is
	// the resident and whose action is audit.ActionAccess, but keeps
	// their sign-ins and consent changes. When before is above 0 it
	// returns only entries whose Seq is below before.
	History(ctx context.Context, resident string, before uint64, limit int) ([]audit.Entry, error)

	// SaveGrant stores a break-glass grant.
	SaveGrant(ctx context.Context, g *Grant) error
	// ActiveGrant returns the latest grant of worker for resident that has
	// not expired at now, or ENOTFOUND.
	ActiveGrant(ctx context.Context, worker, resident string, now time.Time) (*Grant, error)
	// FindGrant returns a grant by id, or ENOTFOUND.
	FindGrant(ctx context.Context, id string) (*Grant, error)
	// ServiceDeliveries returns the page of the deliveries made to a
	// service that f selects, with f.Service set.
	ServiceDeliveries(ctx context.Context, f joinedup.DeliveryFilter) (joinedup.DeliveryPage, error)

	// ListGrants returns grants newest first.
	ListGrants(ctx context.Context, limit int) ([]*Grant, error)
	// HiddenGrants returns the grants for resident that hide their
	// accesses from the resident, newest first.
	HiddenGrants(ctx context.Context, resident string) ([]*Grant, error)
	// ReviewGrant signs a grant off. A grant already reviewed is ECONFLICT.
	ReviewGrant(ctx context.Context, id, reviewer, note string, at time.Time) error
}

// Grant is a stored break-glass grant with its review.
type Grant struct {
	policy.Grant
	// HiddenUntil is the date before which accesses under the grant are
	// hidden from the resident, or zero.
	HiddenUntil joinedup.Date `json:"hiddenUntil,omitzero"`
	ReviewedBy  string        `json:"reviewedBy,omitempty"`
	ReviewedAt  time.Time     `json:"reviewedAt,omitzero"`
	ReviewNote  string        `json:"reviewNote,omitempty"`
}

// ConsentWithdrawer withdraws consent for one service on one life event,
// stopping future sharing and telling the service. actor is recorded as
// who withdrew it.
type ConsentWithdrawer interface {
	WithdrawConsent(ctx context.Context, event joinedup.EventID, service joinedup.ServiceID, actor string) error
}

// tokenAccountID is the actor recorded for requests made with the API
// token.
const tokenAccountID = "api-token"

// purposeOf returns the purpose a role reads and writes personal data for
// in the pages and the API. The default policies accept only these.
func purposeOf(role policy.Role) string {
	switch role {
	case policy.RoleRegistrar:
		return policy.PurposeRegistration
	case policy.RoleSocialWorker:
		return policy.PurposeSocialCare
	case policy.RoleServiceOfficer:
		return policy.PurposeServiceDelivery
	case policy.RoleOperator:
		return policy.PurposeOperations
	case policy.RoleDataProtectionOfficer:
		return policy.PurposeAudit
	case policy.RoleResident:
		return policy.PurposeSubjectAccess
	}
	return ""
}

// errHidden returns the error of a denied read: the same ENOTFOUND that a
// missing record gets, so a denial does not reveal that the record exists.
func errHidden(what string) error {
	return joinedup.Errorf(joinedup.ENOTFOUND, "There is no %s with that id.", what)
}

// decide evaluates one request of the signed-in account against the
// policies and returns the decision. It adds the relationship from Records and, for a
// social worker holding an active break-glass grant for the subject, the
// grant and the safeguarding purpose.
// logPolicyErrors logs the first error of each policy that failed to
// evaluate in d. Such a policy counts as not applying, so a forbid
// policy with an error, such as a misspelt attribute, forbids nothing.
func (s *Server) logPolicyErrors(ctx context.Context, d policy.Decision) {
	for _, e := range d.Errors {
		if _, logged := s.policyErrors.LoadOrStore(e.Policy, true); !logged {
			s.Logger.ErrorContext(ctx, "access policy failed to evaluate and is left out of decisions: correct it in the policy files; later failures of the same policy are not logged",
				"policy", e.Policy, "error", e.Message)
		}
	}
}

func (s *Server) decide(ctx context.Context, account *auth.Account, action policy.Action, res policy.Resource, purpose string) (policy.Decision, *Grant, error) {
	req := policy.Request{
		Principal: account.Principal(),
		Action:    action,
		Resource:  res,
		Purpose:   purpose,
		Now:       s.Now(),
	}
	if res.Subject != "" && account.ID != tokenAccountID {
		rel, err := s.Records.Relationship(ctx, req.Principal, res.Subject)
		if err != nil {
			return policy.Decision{}, nil, fmt.Errorf("find relationship: %w", err)
		}
		req.Relationship = rel
	}
	d := s.Policies.Decide(req)
	s.logPolicyErrors(ctx, d)
	if d.Allowed || account.Role != policy.RoleSocialWorker || res.Subject == "" || action != policy.ActionRead {
		return d, nil, nil
	}

	grant, err := s.Records.ActiveGrant(ctx, account.ID, res.Subject, s.Now())
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return d, nil, nil
	} else if err != nil {
		return policy.Decision{}, nil, fmt.Errorf("find break-glass grant: %w", err)
	}
	req.BreakGlass = &grant.Grant
	req.Purpose = policy.PurposeSafeguarding
	withGrant := s.Policies.Decide(req)
	s.logPolicyErrors(ctx, withGrant)
	if withGrant.Allowed {
		return withGrant, grant, nil
	}
	return d, nil, nil
}

// access is one allowed read or write of personal data, for the audit log.
type access struct {
	account *auth.Account
	action  string // audit.ActionAccess or another audit action
	subject string
	purpose string
	reasons []string
	detail  map[string]any
}

// entry returns the audit entry of a.
func (a access) entry() audit.Entry {
	detail, _ := json.Marshal(a.detail)
	return audit.Entry{
		Actor:   a.account.ID,
		Action:  a.action,
		Subject: a.subject,
		Purpose: a.purpose,
		Reasons: a.reasons,
		Detail:  detail,
	}
}

// bySubject merges the accesses that list several resources of one
// subject, such as a child's deliveries on one page, into one access each,
// so that a page listed once shows once on the resident's record. The
// merged access names its resources, in order, as "resources" in its
// detail. An access alone keeps its detail as it is.
func bySubject(accesses []access) []access {
	var out []access
	index := map[string]int{}
	for _, a := range accesses {
		key := fmt.Sprint(a.account.ID, "\x1f", a.action, "\x1f", a.subject, "\x1f", a.purpose, "\x1f", a.reasons, "\x1f", a.detail["operation"], "\x1f", a.detail["route"])
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, a)
			continue
		}
		merged := out[i].detail
		if _, listed := merged["resources"]; !listed {
			first := merged
			merged = map[string]any{"resources": []any{first["resource"]}}
			for k, v := range first {
				if k != "resource" {
					merged[k] = v
				}
			}
		}
		merged["resources"] = append(merged["resources"].([]any), a.detail["resource"])
		out[i].detail = merged
	}
	return out
}

// record appends accesses to the audit log before the data is sent, so
// that nothing is shown unrecorded. A log that cannot be written fails the
// request.
func (s *Server) record(ctx context.Context, accesses ...access) error {
	if s.Audit == nil || len(accesses) == 0 {
		return nil
	}
	entries := make([]audit.Entry, len(accesses))
	for i, a := range accesses {
		entries[i] = a.entry()
	}
	if _, err := s.Audit.Append(ctx, entries...); err != nil {
		return &joinedup.Error{Code: joinedup.EUNAVAILABLE, Message: "The audit log cannot be written, so no personal data is shown. Try again later.", Err: err}
	}
	return nil
}

// grantDetail returns the audit detail of an access made under grant, or
// base unchanged when there is none. hiddenUntil keeps the access from the
// resident's view until that date.
func grantDetail(base map[string]any, grant *Grant) map[string]any {
	if grant == nil {
		return base
	}
	if base == nil {
		base = map[string]any{}
	}
	base["breakGlass"] = grant.ID
	if !grant.HiddenUntil.IsZero() {
		base["hiddenUntil"] = grant.HiddenUntil.String()
	}
	return base
}

// eventResource returns the policy resource of a life event. The event's
// subject is its child, whom the hub identifies by the event's id, and
// its organisation is that of the account that registered it.
func (s *Server) eventResource(ctx context.Context, ev *joinedup.LifeEvent) (policy.Resource, error) {
	res := policy.Resource{Kind: policy.KindLifeEvent, ID: string(ev.ID), Subject: string(ev.ID)}
	for _, d := range ev.Deliveries {
		// Notices and due actions go only to services that were sent the
		// event, so every delivery names a recipient. A service whose
		// consent was withdrawn is no longer one: the hub shares nothing
		// more with it, its officers included.
		if !slices.Contains(res.Recipients, d.Service) && !ev.Consent.Withdrawn(d.Service) {
			res.Recipients = append(res.Recipients, d.Service)
		}
	}
	switch ev.RegisteredBy {
	case "":
	case tokenAccountID:
		res.Organisation = s.TokenOrganisation
	default:
		registrar, err := s.Records.FindAccount(ctx, ev.RegisteredBy)
		if err == nil {
			res.Organisation = registrar.Organisation
		} else if joinedup.ErrorCode(err) != joinedup.ENOTFOUND {
			return res, fmt.Errorf("find registrar: %w", err)
		}
	}
	return res, nil
}

// authorizeEvent decides whether the signed-in account may do action to
// ev, and records the access when it may. A denied read is ENOTFOUND.
func (s *Server) authorizeEvent(r *http.Request, ev *joinedup.LifeEvent, action policy.Action, detail map[string]any) error {
	account := principalOf(r)
	res, err := s.eventResource(r.Context(), ev)
	if err != nil {
		return err
	}
	purpose := purposeOf(account.Role)
	d, grant, err := s.decide(r.Context(), account, action, res, purpose)
	if err != nil {
		return err
	}
	if !d.Allowed {
		s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", res.Kind, "action", action, "request_id", requestID(r.Context()))
		if err := s.withdrawnFromOfficer(r.Context(), account, ev); err != nil {
			return err
		}
		if action == policy.ActionRead {
			return errHidden("life event")
		}
		return joinedup.Errorf(joinedup.EFORBIDDEN, "You may not change this life event.")
	}
	if grant != nil {
		purpose = policy.PurposeSafeguarding
	}
	if detail == nil {
		detail = map[string]any{}
	}
	detail["resource"] = string(res.Kind) + ":" + res.ID
	detail["operation"] = string(action)
	detail["route"] = r.Pattern
	// A service officer reads an event as an officer of a service it was
	// sent to, which the resident's record then names.
	if account.Role == policy.RoleServiceOfficer {
		if i := slices.IndexFunc(account.Services, func(id joinedup.ServiceID) bool { return slices.Contains(res.Recipients, id) }); i >= 0 {
			detail["service"] = account.Services[i]
		}
	}
	return s.record(r.Context(), access{
		account: account, action: audit.ActionAccess, subject: res.Subject, purpose: purpose,
		reasons: d.Reasons, detail: grantDetail(detail, grant),
	})
}

// readEvent returns ev as the signed-in account may see it, and records
// the access. An account that may read the event gets it whole, reduced to
// its services' fields by viewFor. An account that may read only the
// event's deliveries, an operator, gets its progress, as filterEvents
// lists it. Any other account gets ENOTFOUND.
func (s *Server) readEvent(r *http.Request, ev *joinedup.LifeEvent) (*joinedup.LifeEvent, error) {
	denied := s.authorizeEvent(r, ev, policy.ActionRead, nil)
	if denied == nil {
		return s.viewFor(r.Context(), ev)
	} else if joinedup.ErrorCode(denied) != joinedup.ENOTFOUND {
		return nil, denied
	}

	account := principalOf(r)
	purpose := purposeOf(account.Role)
	d, _, err := s.decide(r.Context(), account, policy.ActionRead, policy.Resource{Kind: policy.KindDelivery, ID: string(ev.ID)}, purpose)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		return nil, denied
	}
	res, err := s.eventResource(r.Context(), ev)
	if err != nil {
		return nil, err
	}
	if err := s.record(r.Context(), access{
		account: account, action: audit.ActionAccess, subject: res.Subject, purpose: purpose, reasons: d.Reasons,
		detail: map[string]any{"resource": string(res.Kind) + ":" + res.ID, "operation": "read progress", "route": r.Pattern},
	}); err != nil {
		return nil, err
	}
	progress, err := s.progressOf(r, ev)
	if err != nil {
		return nil, err
	}
	return s.viewFor(r.Context(), progress)
}

// progressOf returns ev's progress as the signed-in account may see it,
// when it may read the event's deliveries but not the event: ev as
// statusOnly returns it, with only the deliveries that the policies let
// the account read. The default policies let an operator read every
// delivery, and a hub's own may let it read fewer, such as none of one
// service's.
func (s *Server) progressOf(r *http.Request, ev *joinedup.LifeEvent) (*joinedup.LifeEvent, error) {
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	progress := statusOnly(ev)
	progress.Deliveries = make([]*joinedup.Delivery, 0, len(ev.Deliveries))
	for _, d := range ev.Deliveries {
		decision, _, err := s.decide(r.Context(), account, policy.ActionRead, deliveryResource(d), purpose)
		if err != nil {
			return nil, err
		}
		if decision.Allowed {
			progress.Deliveries = append(progress.Deliveries, d)
		}
	}
	return progress, nil
}

// eventShown returns ev as the signed-in account may see it in a list or
// search result, with the access that showing it records, or a nil
// access when the account may not read it. An account that may read
// deliveries but not the event, an operator, gets the event's progress
// only, as statusOnly returns it.
func (s *Server) eventShown(r *http.Request, ev *joinedup.LifeEvent) (*joinedup.LifeEvent, *access, error) {
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	res, err := s.eventResource(r.Context(), ev)
	if err != nil {
		return nil, nil, err
	}
	d, grant, err := s.decide(r.Context(), account, policy.ActionRead, res, purpose)
	if err != nil {
		return nil, nil, err
	}
	operation := "list"
	if !d.Allowed {
		// Operators who may read deliveries see each event's progress,
		// without the registration or the informant's name.
		if d, _, err = s.decide(r.Context(), account, policy.ActionRead, policy.Resource{Kind: policy.KindDelivery, ID: string(ev.ID)}, purpose); err != nil {
			return nil, nil, err
		}
		if !d.Allowed {
			return nil, nil, nil
		}
		if ev, err = s.progressOf(r, ev); err != nil {
			return nil, nil, err
		}
		operation = "list progress"
	}
	p := purpose
	if grant != nil {
		p = policy.PurposeSafeguarding
	}
	if ev, err = s.viewFor(r.Context(), ev); err != nil {
		return nil, nil, err
	}
	return ev, &access{
		account: account, action: audit.ActionAccess, subject: res.Subject, purpose: p, reasons: d.Reasons,
		detail: grantDetail(map[string]any{"resource": string(res.Kind) + ":" + res.ID, "operation": operation, "route": r.Pattern}, grant),
	}, nil
}

// eventPage reads the page of life events that f places, filled as
// fillPage fills it with the events that the signed-in account may see,
// records one access for each event shown and returns them.
func (s *Server) eventPage(r *http.Request, f joinedup.LifeEventFilter) (joinedup.LifeEventPage, []*joinedup.LifeEvent, error) {
	ctx := r.Context()
	p, err := s.LifeEvents.ListLifeEvents(ctx, f)
	if err != nil {
		return p, nil, err
	}
	p, shown, accesses, err := fillPage(p, f.Limit, f.Before != nil,
		func(ev *joinedup.LifeEvent) (*joinedup.LifeEvent, *access, error) {
			shown, a, err := s.eventShown(r, ev)
			// An event listed for a delivery in the state asked for is
			// left out when the account may not read that delivery, so
			// that the list does not reveal its state.
			inState := func(d *joinedup.Delivery) bool { return d.State == f.State }
			if err == nil && a != nil && f.State != "" && !slices.ContainsFunc(shown.Deliveries, inState) {
				return nil, nil, nil
			}
			return shown, a, err
		},
		func(from *joinedup.LifeEvent, backward bool) (joinedup.LifeEventPage, error) {
			g := f
			g.Offset = 0
			g.After, g.Before = readFrom(joinedup.EventCursorOf(from), backward)
			return s.LifeEvents.ListLifeEvents(ctx, g)
		})
	if err != nil {
		return p, nil, err
	}
	return p, shown, s.record(ctx, accesses...)
}

// statusOnly returns a copy of ev without personal data: no registration
// and no name of the informant, but every delivery's state and outcome.
func statusOnly(ev *joinedup.LifeEvent) *joinedup.LifeEvent {
	c := *ev
	c.Payload = json.RawMessage(`{}`)
	c.Consent.GivenBy = joinedup.Name{}
	return &c
}

// decideRegistration decides whether the signed-in account may register
// births for organisation.
func (s *Server) decideRegistration(r *http.Request, organisation joinedup.OrgID) (policy.Decision, error) {
	account := principalOf(r)
	res := policy.Resource{Kind: policy.KindLifeEvent, ID: "new", Organisation: organisation}
	d, _, err := s.decide(r.Context(), account, policy.ActionWrite, res, purposeOf(account.Role))
	return d, err
}

// authorizeBirthRegistration decides whether the signed-in account may
// register births for its organisation, or the API token for
// TokenOrganisation, and returns the allowing decision. Anyone else gets
// EFORBIDDEN. The API and the form call it before they read the body, so
// that a caller who may not register gets 403 whatever they send.
func (s *Server) authorizeBirthRegistration(r *http.Request) (policy.Decision, error) {
	account := principalOf(r)
	d, err := s.decideRegistration(r, s.registeringOrganisation(account))
	if err != nil {
		return d, err
	}
	if !d.Allowed {
		s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", policy.KindLifeEvent, "action", policy.ActionWrite, "request_id", requestID(r.Context()))
		return d, joinedup.Errorf(joinedup.EFORBIDDEN, "You may not register births for this organisation.")
	}
	return d, nil
}

// registerBirth registers a birth for the signed-in account, which
// authorizeBirthRegistration allowed with decision d. The life event
// service records the account's access with the consent decisions.
func (s *Server) registerBirth(r *http.Request, d policy.Decision, reg joinedup.BirthRegistration) (*joinedup.LifeEvent, *joinedup.ConsentReceipt, error) {
	account := principalOf(r)
	event, receipt, err := s.LifeEvents.RegisterBirth(r.Context(), reg, joinedup.Registrar{
		Account: account.ID, Purpose: purposeOf(account.Role), Reasons: d.Reasons, Route: r.Pattern,
	})
	if err != nil {
		return nil, nil, err
	}
	s.setController(r.Context(), event.ID, s.registeringOrganisation(account), receipt)
	return event, receipt, nil
}

// registeringOrganisation returns the organisation that account registers
// births for: its own, or TokenOrganisation for the API token.
func (s *Server) registeringOrganisation(account *auth.Account) joinedup.OrgID {
	if account.ID == tokenAccountID {
		return s.TokenOrganisation
	}
	return account.Organisation
}

// nameController sets the data controller on receipt to the name of the
// organisation that registered event, such as a council. The receipt keeps
// the generic name that the life event service gave it when the
// organisation is unknown or cannot be read, because the birth is already
// registered by then.
func (s *Server) nameController(ctx context.Context, event *joinedup.LifeEvent, receipt *joinedup.ConsentReceipt) {
	res, err := s.eventResource(ctx, event)
	if err != nil {
		s.Logger.ErrorContext(ctx, "find the registering organisation failed", "event_id", event.ID, "error", err, "request_id", requestID(ctx))
		return
	}
	s.setController(ctx, event.ID, res.Organisation, receipt)
}

// setController sets the data controller on receipt, for event, to the
// name of the organisation with the id organisation, as nameController
// describes.
func (s *Server) setController(ctx context.Context, event joinedup.EventID, organisation joinedup.OrgID, receipt *joinedup.ConsentReceipt) {
	if organisation == "" {
		return
	}
	org, err := s.Records.FindOrganisation(ctx, organisation)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return
	}
	if err != nil {
		s.Logger.ErrorContext(ctx, "find the registering organisation failed", "event_id", event,
			"organisation", organisation, "error", err, "request_id", requestID(ctx))
		return
	}
	receipt.Controller = org.Name
}

// withdrawnFromOfficer returns EFORBIDDEN, saying why, when account is an
// officer of a service that was sent ev until its consent was withdrawn.
// That service was told of the event, so its officers may know that it
// exists, and a page that links to it says why it no longer opens.
func (s *Server) withdrawnFromOfficer(ctx context.Context, account *auth.Account, ev *joinedup.LifeEvent) error {
	service, found := withdrawnService(account, ev)
	if !found {
		return nil
	}
	name := string(service)
	if svc, err := s.Services.FindService(ctx, service); err == nil {
		name = svc.Name
	}
	return withPageTitle(joinedup.Errorf(joinedup.EFORBIDDEN,
		"Consent to tell %s about this life event was withdrawn, so its officers can no longer see it.", name),
		"Consent was withdrawn")
}

// withdrawnService returns the first of account's services whose consent
// to be told of ev was withdrawn, when account is a service officer.
func withdrawnService(account *auth.Account, ev *joinedup.LifeEvent) (joinedup.ServiceID, bool) {
	if account.Role != policy.RoleServiceOfficer {
		return "", false
	}
	i := slices.IndexFunc(account.Services, ev.Consent.Withdrawn)
	if i < 0 {
		return "", false
	}
	return account.Services[i], true
}

// closedByWithdrawal reports whether the signed-in account is a service
// officer who may not read ev because consent to tell their service was
// withdrawn, so that a request for ev gets 403 from withdrawnFromOfficer.
// It is false for an officer who may still read ev through another of
// their services. Nothing is recorded in the audit log, because the
// result only decides whether a page links to ev.
func (s *Server) closedByWithdrawal(r *http.Request, ev *joinedup.LifeEvent) (bool, error) {
	account := principalOf(r)
	if _, found := withdrawnService(account, ev); !found {
		return false, nil
	}
	res, err := s.eventResource(r.Context(), ev)
	if err != nil {
		return false, err
	}
	d, _, err := s.decide(r.Context(), account, policy.ActionRead, res, purposeOf(account.Role))
	if err != nil {
		return false, err
	}
	return !d.Allowed, nil
}

// deliveryResource returns the policy resource of a delivery. Its subject
// is the child of its life event.
func deliveryResource(d *joinedup.Delivery) policy.Resource {
	return policy.Resource{Kind: policy.KindDelivery, ID: string(d.ID), Subject: string(d.EventID), Service: d.Service}
}

// authorizeDeliveryList returns EFORBIDDEN unless the policies let the
// signed-in account read some deliveries: any delivery, as an operator
// may, or those of one of its services, as a service officer may. A
// caller who may read none gets 403 rather than a list that is always
// empty. The API token may read none, because it acts as a registrar.
func (s *Server) authorizeDeliveryList(r *http.Request) error {
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	candidates := []policy.Resource{{Kind: policy.KindDelivery, ID: "list"}}
	for _, service := range account.Services {
		candidates = append(candidates, policy.Resource{Kind: policy.KindDelivery, ID: "list", Service: service})
	}
	for _, res := range candidates {
		d, _, err := s.decide(r.Context(), account, policy.ActionRead, res, purpose)
		if err != nil {
			return err
		}
		if d.Allowed {
			return nil
		}
	}
	s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", policy.KindDelivery, "action", policy.ActionRead, "request_id", requestID(r.Context()))
	return joinedup.Errorf(joinedup.EFORBIDDEN, "You may not list deliveries: the hub's access policies do not allow it for your role.")
}

// deliveryService reads the optional service query parameter of a
// delivery list. A service that does not exist is EINVALID, with a
// message that ends with hint, which says where to find the services. A
// service whose deliveries the signed-in account may not read is
// EFORBIDDEN, so that the caller never gets a list that is always empty.
func (s *Server) deliveryService(r *http.Request, hint string) (joinedup.ServiceID, error) {
	id := joinedup.ServiceID(r.URL.Query().Get("service"))
	if id == "" {
		return "", nil
	}
	if _, err := s.Services.FindService(r.Context(), id); joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return "", joinedup.Invalid("The query has invalid parameters.", joinedup.FieldError{In: joinedup.InQuery, Field: "/service", Message: fmt.Sprintf("There is no service with id %s. %s", quoteInput(string(id)), hint)})
	} else if err != nil {
		return "", err
	}

	account := principalOf(r)
	res := policy.Resource{Kind: policy.KindDelivery, ID: "list", Service: id}
	d, _, err := s.decide(r.Context(), account, policy.ActionRead, res, purposeOf(account.Role))
	if err != nil {
		return "", err
	}
	if !d.Allowed {
		s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", policy.KindDelivery, "service", id, "request_id", requestID(r.Context()))
		return "", joinedup.Errorf(joinedup.EFORBIDDEN, "You may not read the deliveries of service %s: the hub's access policies do not allow it for your role.", quoteInput(string(id)))
	}
	return id, nil
}

// authorizeLifeEventList returns EFORBIDDEN unless the policies let the
// signed-in account read some life events. It asks about one event of
// each kind a role can be given. Registrars read their organisation's
// events, service officers those sent to their services, social workers
// those of an allocated resident, and operators each event's progress.
func (s *Server) authorizeLifeEventList(r *http.Request) error {
	account := principalOf(r)
	candidates := []policy.Request{
		{Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "list", Organisation: account.Organisation}},
		{Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "list", Subject: "list", Recipients: account.Services}},
		{Resource: policy.Resource{Kind: policy.KindLifeEvent, ID: "list", Subject: "list"}, Relationship: policy.RelationshipAllocatedWorker},
		{Resource: policy.Resource{Kind: policy.KindDelivery, ID: "list"}},
	}
	for _, req := range candidates {
		req.Principal = account.Principal()
		req.Action = policy.ActionRead
		req.Purpose = purposeOf(account.Role)
		req.Now = s.Now()
		if s.Policies.Decide(req).Allowed {
			return nil
		}
	}
	s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", policy.KindLifeEvent, "action", policy.ActionRead, "request_id", requestID(r.Context()))
	return joinedup.Errorf(joinedup.EFORBIDDEN, "You may not list life events. Registrars, service officers, social workers and operators can.")
}

// deliveryShown returns d with the access that showing it in a list
// records, or a nil access when the signed-in account may not read it.
func (s *Server) deliveryShown(r *http.Request, d *joinedup.Delivery) (*joinedup.Delivery, *access, error) {
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	res := deliveryResource(d)
	decision, _, err := s.decide(r.Context(), account, policy.ActionRead, res, purpose)
	if err != nil || !decision.Allowed {
		return nil, nil, err
	}
	return d, &access{
		account: account, action: audit.ActionAccess, subject: res.Subject, purpose: purpose, reasons: decision.Reasons,
		detail: map[string]any{"resource": "Delivery:" + res.ID, "operation": "list", "route": r.Pattern},
	}, nil
}

// fillDeliveries fills the page p of deliveries that f placed in list,
// as fillPage fills it with the deliveries that keep shows, records the
// accesses of the deliveries shown, one for each subject, and returns
// them.
func (s *Server) fillDeliveries(r *http.Request, f joinedup.DeliveryFilter, p joinedup.DeliveryPage,
	list func(context.Context, joinedup.DeliveryFilter) (joinedup.DeliveryPage, error),
	keep func(*http.Request, *joinedup.Delivery) (*joinedup.Delivery, *access, error)) (joinedup.DeliveryPage, []*joinedup.Delivery, error) {
	ctx := r.Context()
	p, shown, accesses, err := fillPage(p, f.Limit, f.Before != nil,
		func(d *joinedup.Delivery) (*joinedup.Delivery, *access, error) { return keep(r, d) },
		func(from *joinedup.Delivery, backward bool) (joinedup.DeliveryPage, error) {
			g := f
			g.Offset = 0
			g.After, g.Before = readFrom(joinedup.CursorOf(from), backward)
			return list(ctx, g)
		})
	if err != nil {
		return p, nil, err
	}
	return p, shown, s.record(ctx, bySubject(accesses)...)
}

// authorizeReplay decides whether the signed-in account may replay the
// delivery named in the path, and records the write when it may. The
// delivery's service is not known here, so only a policy that allows
// writing any delivery, such as the operators', lets it through.
func (s *Server) authorizeReplay(r *http.Request) error {
	account := principalOf(r)
	res := policy.Resource{Kind: policy.KindDelivery, ID: r.PathValue("id")}
	purpose := purposeOf(account.Role)
	d, _, err := s.decide(r.Context(), account, policy.ActionWrite, res, purpose)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return joinedup.Errorf(joinedup.EFORBIDDEN, "Only an operator can replay deliveries.")
	}
	return s.record(r.Context(), access{
		account: account, action: audit.ActionAccess, purpose: purpose, reasons: d.Reasons,
		detail: map[string]any{"resource": "Delivery:" + res.ID, "operation": "replay", "route": r.Pattern},
	})
}

// authorizeServiceChange decides whether the caller may register, change
// or remove connected services, and returns the ids of the policies that
// allowed it. The API token may, with no policy decision, because the
// holder of the token configures the hub. A signed-in account may when the
// policies let it write the service directory, which by default means an
// operator. Anyone else gets EFORBIDDEN.
func (s *Server) authorizeServiceChange(r *http.Request) ([]string, error) {
	account := principalOf(r)
	if account.ID == tokenAccountID {
		return nil, nil
	}
	res := policy.Resource{Kind: policy.KindServiceDirectory, ID: "all"}
	d, _, err := s.decide(r.Context(), account, policy.ActionWrite, res, purposeOf(account.Role))
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		s.Logger.InfoContext(r.Context(), "access denied", "account_id", account.ID, "kind", res.Kind, "action", policy.ActionWrite, "request_id", requestID(r.Context()))
		return nil, joinedup.Errorf(joinedup.EFORBIDDEN, "Only an operator or the hub's API token can register, change or remove connected services.")
	}
	return d.Reasons, nil
}

// recordServiceChange appends an allowed change to service id to the
// audit log, with the reasons that authorizeServiceChange returned. The
// API token's change is recorded for operations, not for the registration
// purpose of its registrar role.
func (s *Server) recordServiceChange(r *http.Request, id joinedup.ServiceID, operation string, reasons []string) error {
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	if account.ID == tokenAccountID {
		purpose = policy.PurposeOperations
	}
	return s.record(r.Context(), access{
		account: account, action: audit.ActionAccess, purpose: purpose, reasons: reasons,
		detail: map[string]any{"resource": string(policy.KindServiceDirectory) + ":" + string(id), "operation": operation, "route": r.Pattern},
	})
}
