package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
)

type trackFormView struct {
	Reference inputField
}

// trackForm shows the reference number form or, when the form was sent,
// redirects to the tracking page for that reference. The form uses GET so
// that it works without JavaScript and the result can be bookmarked.
func (s *Server) trackForm(w http.ResponseWriter, r *http.Request) {
	_, sent := r.URL.Query()["reference"]
	reference := joinedup.NormalizeReference(r.URL.Query().Get("reference"))
	if !sent {
		s.renderTrackForm(w, r, http.StatusOK, "", "")
		return
	}
	if reference == "" {
		s.renderTrackForm(w, r, http.StatusUnprocessableEntity, "", "Enter the reference number, like JU-7K3M-9QXD")
		return
	}
	// A link that gives the reference twice would otherwise track the
	// first and ignore the second without saying so.
	if len(r.URL.Query()["reference"]) > 1 {
		s.renderTrackForm(w, r, http.StatusUnprocessableEntity, "", "Enter one reference number, like JU-7K3M-9QXD")
		return
	}
	if !joinedup.IsReference(reference) {
		s.renderTrackForm(w, r, http.StatusUnprocessableEntity, echoInput(r.URL.Query().Get("reference")), notAReference)
		return
	}
	http.Redirect(w, r, "/track/"+url.PathEscape(reference), http.StatusSeeOther)
}

// notAReference is the message for input that cannot be a reference
// number. It does not repeat the input, which can be any text.
const notAReference = "Enter a reference number like JU-7K3M-9QXD"

// maxEchoRunes is the maximum number of characters of input that the
// tracking form puts back in its field. A reference number has 12.
const maxEchoRunes = 40

// echoInput returns input for the tracking form's field, or "" when it
// has control characters, characters that show nothing such as
// direction overrides, or more than maxEchoRunes characters. The field
// never shows text other than what was entered, such as input with an
// invisible character taken out, which could read as a valid reference.
func echoInput(input string) string {
	if utf8.RuneCountInString(input) > maxEchoRunes {
		return ""
	}
	for _, r := range input {
		if !unicode.IsGraphic(r) || unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) {
			return ""
		}
	}
	return input
}

func (s *Server) renderTrackForm(w http.ResponseWriter, r *http.Request, status int, value, message string) {
	p := page{
		Title: "Track a registration",
		Nav:   navTrack,
		Data: trackFormView{Reference: inputField{
			ID: "reference", Label: "Reference number", Value: value, Error: message,
			Hint: "It’s on the confirmation the registrar gave you, for example JU-7K3M-9QXD.", Class: "govuk-input--width-10",
			Spellcheck: true, Autocomplete: "off",
		}},
	}
	if message != "" {
		p.Errors = []formError{{Field: "/reference", Href: "reference", Message: message}}
	}
	s.render(w, r, status, "track-form.html", p)
}

type trackView struct {
	Event *joinedup.LifeEvent
	// Rows are the services told, or being told, and NotTold those whose
	// delivery was withdrawn before any attempt may have reached them.
	Rows     []trackRow
	NotTold  []deliveryRow
	Complete bool
	// Unreached is true when a service could not be reached after every
	// attempt, and Unconfirmed when attempts that may have reached a
	// service ran out without a valid outcome. An operator may send the
	// event to such a service again.
	Unreached, Unconfirmed bool
	// NoneAsked is true when the registration was sent to no service,
	// because the informant is not a parent and so could consent for none.
	NoneAsked bool
}

// trackRow is one delivery that the tracking page lists among the
// services told.
type trackRow struct {
	deliveryRow
	// Withdrawn is set on the delivery of the life event itself when the
	// consent to tell its service was withdrawn. The row then stands for
	// the notice of the withdrawal too: Notice is the notice's state, as
	// withdrawalState returns it, and NoticeOutcome the summary of what
	// the service reported it did on the notice.
	Withdrawn     bool
	Notice        string
	NoticeOutcome string
}

// trackRows sorts the rows of the deliveries of ev into those of the
// services told and those not told, as trackView lists them. A service
// whose consent was withdrawn after it may have been told has one row,
// which shows the withdrawal and the state of its notice, as the
// resident's record does, in place of a separate row for the notice.
func trackRows(ev *joinedup.LifeEvent, rows []deliveryRow) (told []trackRow, notTold []deliveryRow) {
	for _, row := range rows {
		withdrawn := ev.Consent.Withdrawn(row.Service)
		switch {
		case neverReached(row.Delivery) && row.Kind == joinedup.EventActionDue:
			// A due action that the withdrawal cancelled before it was
			// sent says nothing about whether the service was told of
			// the life event, which its own row shows.
		case neverReached(row.Delivery):
			notTold = append(notTold, row)
		case withdrawn && row.Kind == joinedup.EventConsentWithdrawn:
			// The row of the life event shows the notice.
		case withdrawn && row.Kind != joinedup.EventActionDue:
			notice := withdrawalState(ev.Deliveries, row.Service)
			// A removed service will never confirm the withdrawal.
			if notice == "unconfirmed" && row.ServiceRemoved {
				notice = "removed"
			}
			told = append(told, trackRow{deliveryRow: row, Withdrawn: true,
				Notice: notice, NoticeOutcome: noticeOutcome(ev.Deliveries, row.Service)})
		default:
			told = append(told, trackRow{deliveryRow: row})
		}
	}
	return told, notTold
}

// noticeOutcome returns the summary of what service reported it did on
// the notice of the withdrawal of its consent, among deliveries, or ""
// when it has reported nothing.
func noticeOutcome(deliveries []*joinedup.Delivery, service joinedup.ServiceID) string {
	summary := ""
	for _, d := range deliveries {
		if d.Service == service && d.Kind == joinedup.EventConsentWithdrawn && d.Outcome != nil {
			summary = d.Outcome.Summary
		}
	}
	return summary
}

// deliveryRow is one delivery with the name of its service.
type deliveryRow struct {
	*joinedup.Delivery
	ServiceName string
	// ServiceRemoved is set when the service has been retired.
	ServiceRemoved bool
	// Replayable is set when the delivery can be sent again and the viewer
	// may do so, so that the page offers a Replay button only then.
	Replayable bool
	// ConsentWithdrawn is set when the viewer may replay deliveries but
	// not this one, because consent to tell its service was withdrawn.
	ConsentWithdrawn bool
	// EventReference is the reference number of the delivery's life
	// event, which staff pages link to, or empty when the page has not
	// read it.
	EventReference string
	// EventClosed is set when the viewer is a service officer who may no
	// longer open the delivery's life event because consent to tell their
	// service was withdrawn, so the page shows why in place of the link.
	EventClosed bool
}

// Withdrawal reports whether the delivery is the notice that tells a
// service of a withdrawal of consent, rather than the life event itself.
func (row deliveryRow) Withdrawal() bool {
	return row.Kind == joinedup.EventConsentWithdrawn
}

// trackThrottle slows a client address that looks up many reference
// numbers that do not exist. The tracking page shows what each service did,
// which can include amounts of benefit, so the reference number must not
// be open to guessing. The count is per client address, which behind a
// proxy listed in -trusted-proxies comes from X-Forwarded-For.
func (s *Server) trackThrottle() *auth.Throttle {
	s.trackOnce.Do(func() {
		s.tracking = &auth.Throttle{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour, MaxKeys: 100_000}
	})
	return s.tracking
}

func (s *Server) trackPage(w http.ResponseWriter, r *http.Request) {
	reference := joinedup.NormalizeReference(r.PathValue("reference"))
	// Input that cannot be a reference number is not looked up, so it
	// does not count towards the throttle.
	if !joinedup.IsReference(reference) {
		s.renderTrackForm(w, r, http.StatusNotFound, echoInput(r.PathValue("reference")), notAReference)
		return
	}
	client := auth.AddressKey(s.clientAddress(r))
	if wait := s.trackThrottle().Wait(client, s.Now()); wait > 0 {
		setRetryAfter(w, wait)
		s.renderTrackForm(w, r, http.StatusTooManyRequests, reference,
			"You have entered too many reference numbers that do not exist. Wait "+auth.WaitText(wait)+", then try again")
		return
	}
	event, err := s.LifeEvents.FindLifeEventByReference(r.Context(), reference)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		s.trackThrottle().Fail(client, s.Now())
		s.renderTrackForm(w, r, http.StatusNotFound, reference,
			"No registration has the reference number "+reference+". Check it and enter it again.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}

	rows, err := s.deliveryRows(r, event.Deliveries)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	told, notTold := trackRows(event, rows)
	// A removed service reports nothing more, so a delivery to it that
	// awaits an outcome counts as finished, and the page stops refreshing.
	complete := !slices.ContainsFunc(rows, func(row deliveryRow) bool { return !row.State.Final() && !row.ServiceRemoved })
	s.render(w, r, http.StatusOK, "track.html", page{
		Title: "Registration " + event.Reference,
		Nav:   navTrack,
		Data: trackView{Event: event, Rows: told, NotTold: notTold, Complete: complete,
			Unreached: slices.ContainsFunc(event.Deliveries, func(d *joinedup.Delivery) bool {
				return d.State == joinedup.StateDeadLettered && !d.Reached
			}),
			Unconfirmed: slices.ContainsFunc(event.Deliveries, func(d *joinedup.Delivery) bool {
				return d.State == joinedup.StateDeadLettered && d.Reached
			}),
			NoneAsked: len(event.Deliveries) == 0 && len(event.Consent.Decisions) > 0 &&
				!slices.ContainsFunc(event.Consent.Decisions, func(d joinedup.ConsentDecision) bool { return d.Decision != joinedup.ConsentNotAsked })},
	})
}

// neverReached reports whether d was withdrawn before any attempt may
// have reached its service. An attempt under way at the withdrawal
// counts as one that may have, as Delivery.Reached does.
func neverReached(d *joinedup.Delivery) bool {
	return d.State == joinedup.StateWithdrawn && !d.Reached && d.Outcome == nil
}

// deliveryRows pairs deliveries with their services' names, retired
// services included. A service the store does not have is shown by its
// id.
func (s *Server) deliveryRows(r *http.Request, deliveries []*joinedup.Delivery) ([]deliveryRow, error) {
	services, err := s.servicesByID(r.Context())
	if err != nil {
		return nil, err
	}
	mayReplay := s.mayReplay(r)
	var withdrawn map[consentKey]bool
	if mayReplay {
		if withdrawn, err = s.withdrawnConsents(r, deliveries); err != nil {
			return nil, err
		}
	}
	rows := make([]deliveryRow, len(deliveries))
	for i, d := range deliveries {
		row := deliveryRow{Delivery: d, ServiceName: string(d.Service)}
		if svc, ok := services[d.Service]; ok {
			row.ServiceName, row.ServiceRemoved = svc.Name, svc.Retired()
		}
		// A delivery to a retired service cannot be replayed, nor one to a
		// service whose consent was withdrawn, other than the notice of the
		// withdrawal.
		row.ConsentWithdrawn = d.Kind != joinedup.EventConsentWithdrawn && withdrawn[consentKey{d.EventID, d.Service}]
		row.Replayable = mayReplay && canReplay(d.State) && !row.ServiceRemoved && !row.ConsentWithdrawn
		rows[i] = row
	}
	return rows, nil
}

// addEventLinks sets the EventReference and EventClosed of each row,
// reading the rows' life events in one batch. A row whose event is not
// found keeps an empty reference.
func (s *Server) addEventLinks(r *http.Request, rows []deliveryRow) error {
	var ids []joinedup.EventID
	for _, row := range rows {
		if !slices.Contains(ids, row.EventID) {
			ids = append(ids, row.EventID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	events, err := s.LifeEvents.FindLifeEvents(r.Context(), ids)
	if err != nil {
		return fmt.Errorf("find life events of deliveries: %w", err)
	}
	references := make(map[joinedup.EventID]string, len(events))
	closed := map[joinedup.EventID]bool{}
	for _, ev := range events {
		references[ev.ID] = ev.Reference
		if closed[ev.ID], err = s.closedByWithdrawal(r, ev); err != nil {
			return err
		}
	}
	for i := range rows {
		rows[i].EventReference = references[rows[i].EventID]
		rows[i].EventClosed = closed[rows[i].EventID]
	}
	return nil
}

// consentKey names the consent decision of one life event for one service.
type consentKey struct {
	event   joinedup.EventID
	service joinedup.ServiceID
}

// withdrawnConsents returns the consent decisions that were withdrawn among
// those of the deliveries that could be replayed, read in one batch.
func (s *Server) withdrawnConsents(r *http.Request, deliveries []*joinedup.Delivery) (map[consentKey]bool, error) {
	var ids []joinedup.EventID
	for _, d := range deliveries {
		if canReplay(d.State) && d.Kind != joinedup.EventConsentWithdrawn {
			ids = append(ids, d.EventID)
		}
	}
	out := map[consentKey]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	events, err := s.LifeEvents.FindLifeEvents(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		for _, c := range ev.Consent.Decisions {
			if c.Decision == joinedup.ConsentWithdrawn {
				out[consentKey{ev.ID, c.Service}] = true
			}
		}
	}
	return out, nil
}

// mayReplay reports whether the signed-in account may replay deliveries,
// by the policy that authorizeReplay applies. Nothing is recorded in the
// audit log, because the result only decides whether a page shows Replay
// buttons.
func (s *Server) mayReplay(r *http.Request) bool {
	account := principalOf(r)
	if account == nil {
		return false
	}
	d, _, err := s.decide(r.Context(), account, policy.ActionWrite, policy.Resource{Kind: policy.KindDelivery, ID: "any"}, purposeOf(account.Role))
	return err == nil && d.Allowed
}

// serviceNames returns the name of every service, retired ones included.
func (s *Server) serviceNames(ctx context.Context) (map[joinedup.ServiceID]string, error) {
	services, err := s.servicesByID(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[joinedup.ServiceID]string, len(services))
	for id, svc := range services {
		names[id] = svc.Name
	}
	return names, nil
}

// servicesByID returns every service, retired ones included, by id.
func (s *Server) servicesByID(ctx context.Context) (map[joinedup.ServiceID]*joinedup.Service, error) {
	services, err := s.Services.ListAllServices(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	byID := make(map[joinedup.ServiceID]*joinedup.Service, len(services))
	for _, svc := range services {
		byID[svc.ID] = svc
	}
	return byID, nil
}
