package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

// The pages in this file let staff, such as a registrar at the register
// office, withdraw an informant's consent for one service when the
// informant asks. They start from the life event page and make the
// withdrawal through withdraw, as the API does.

// lifeEventPath returns the path of the life event page of id.
func lifeEventPath(id joinedup.EventID) string {
	return "/operator/life-events/" + url.PathEscape(string(id))
}

// staffConsent returns the life event in the path and the service that
// values name, when the policies let the signed-in account withdraw that
// event's consent. Any other account gets the error of withdrawalDenied.
// Values that name no service, or more than one, are EINVALID.
func (s *Server) staffConsent(r *http.Request, values url.Values) (*joinedup.LifeEvent, joinedup.ServiceID, error) {
	ev, err := s.LifeEvents.FindLifeEvent(r.Context(), joinedup.EventID(r.PathValue("id")))
	if err != nil {
		return nil, "", err
	}
	if err := s.authorizeStaffWithdrawal(r, ev); err != nil {
		return nil, "", err
	}
	if n := len(values["service"]); n != 1 || values.Get("service") == "" {
		return nil, "", withPageTitle(joinedup.Invalid(
			"The link or form you used does not say which service’s consent to withdraw, so nothing was changed. "+
				"Go back to the life event and select Withdraw consent beside the service."),
			"We could not tell which consent to withdraw")
	}
	return ev, joinedup.ServiceID(values.Get("service")), nil
}

// authorizeStaffWithdrawal returns nil when the policies let the signed-in
// account withdraw the consent of ev, and otherwise the error of
// withdrawalDenied. It records nothing.
func (s *Server) authorizeStaffWithdrawal(r *http.Request, ev *joinedup.LifeEvent) error {
	d, _, err := s.decideWithdrawal(r.Context(), principalOf(r), ev)
	if err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	return s.withdrawalDenied(r, ev)
}

// withdrawalDenied logs that the policies do not let the signed-in member
// of staff withdraw the consent of ev, and returns the error for the response.
// An account that may open the life event page of ev gets EFORBIDDEN,
// whose message says who may withdraw. The officer of a service whose
// consent was withdrawn gets the EFORBIDDEN that the life event page
// gives them, and any other account ENOTFOUND. It records nothing.
func (s *Server) withdrawalDenied(r *http.Request, ev *joinedup.LifeEvent) error {
	ctx := r.Context()
	account := principalOf(r)
	s.Logger.InfoContext(ctx, "access denied", "account_id", account.ID, "kind", policy.KindLifeEvent, "action", policy.ActionWrite,
		"operation", "withdraw-consent", "request_id", requestID(ctx))

	mayOpen, err := s.mayOpenLifeEvent(r, ev)
	if err != nil {
		return err
	}
	if !mayOpen {
		if err := s.withdrawnFromOfficer(ctx, account, ev); err != nil {
			return err
		}
		return errHidden("life event")
	}
	// The people named are those whom the default policies resident.cedar,
	// registrar.cedar and social-worker.cedar let withdraw consent.
	return withPageTitle(joinedup.Errorf(joinedup.EFORBIDDEN,
		"The access policies do not let you withdraw consent for life event %s. "+
			"With the default policies, the informant can withdraw their consent, "+
			"a registrar of the council that registered the birth can withdraw it when the informant asks, "+
			"and so can a social worker allocated to a parent whose record shows the event.", ev.Reference),
		"You cannot withdraw consent for this life event")
}

// mayOpenLifeEvent reports whether the policies let the signed-in account
// read ev, or only its progress, on the life event page. It records
// nothing.
func (s *Server) mayOpenLifeEvent(r *http.Request, ev *joinedup.LifeEvent) (bool, error) {
	ctx := r.Context()
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	res, err := s.eventResource(ctx, ev)
	if err != nil {
		return false, err
	}
	for _, resource := range []policy.Resource{res, {Kind: policy.KindDelivery, ID: string(ev.ID)}} {
		d, _, err := s.decide(ctx, account, policy.ActionRead, resource, purpose)
		if err != nil {
			return false, err
		}
		if d.Allowed {
			return true, nil
		}
	}
	return false, nil
}

// lifeEventWithdrawal returns whether the life event page of stored offers
// to withdraw its consents in force, and the banner of the withdrawal that
// the query names. The banner is nil unless visible, the copy of stored
// that the page shows, has that consent withdrawn.
func (s *Server) lifeEventWithdrawal(r *http.Request, stored, visible *joinedup.LifeEvent) (bool, *withdrawalBanner, error) {
	ctx := r.Context()
	mayWithdraw := false
	// The decision is made on the event as stored, because the copy shown
	// to a service officer lacks the deliveries to other services, which
	// the policies read.
	if slices.ContainsFunc(visible.Consent.Decisions, func(c joinedup.ConsentDecision) bool { return c.Decision == joinedup.ConsentGiven }) {
		d, _, err := s.decideWithdrawal(ctx, principalOf(r), stored)
		if err != nil {
			return false, nil, err
		}
		mayWithdraw = d.Allowed
	}

	svc := joinedup.ServiceID(r.URL.Query().Get("withdrawn"))
	if svc == "" || !visible.Consent.Withdrawn(svc) {
		return mayWithdraw, nil, nil
	}
	name, removed := string(svc), false
	if service, err := s.Services.FindService(ctx, svc); err == nil {
		name, removed = service.Name, service.Retired()
	}
	banner := newWithdrawalBanner(name, removed)
	banner.add(withdrawalState(visible.Deliveries, svc))
	return mayWithdraw, banner, nil
}

// confirmStaffWithdrawal renders the page on which staff confirm that they
// withdraw the consent for the service in the query, which
// withdrawConsentForStaff then does. The page shows the child's and the
// informant's names, so it records a read of the life event.
func (s *Server) confirmStaffWithdrawal(w http.ResponseWriter, r *http.Request) {
	err := checkNoBody(r)
	if err == nil {
		err = onceEach(r.URL.Query())
	}
	var ev *joinedup.LifeEvent
	var service joinedup.ServiceID
	if err == nil {
		ev, service, err = s.staffConsent(r, r.URL.Query())
	}
	if err == nil {
		err = s.checkConsentInForce(r.Context(), ev, service)
	}
	if err == nil {
		err = s.authorizeEvent(r, ev, policy.ActionRead, nil)
	}
	var view withdrawalView
	if err == nil {
		view, err = s.newWithdrawalView(r.Context(), ev, service)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "staff-withdraw-consent.html", page{Title: withdrawalTitle(view), Nav: navLifeEvents, Data: view})
}

// withdrawConsentForStaff withdraws the consent for the service that the
// form names, on the life event in the path, and redirects to the life
// event page, which then shows a banner about the withdrawal.
func (s *Server) withdrawConsentForStaff(w http.ResponseWriter, r *http.Request) {
	if !s.parsePostForm(w, r) {
		return
	}
	ev, service, err := s.staffConsent(r, r.PostForm)
	if err == nil {
		err = s.withdraw(r, ev.ID, service)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := url.Values{"withdrawn": {string(service)}}
	http.Redirect(w, r, lifeEventPath(ev.ID)+"?"+q.Encode(), http.StatusSeeOther)
}
