package web

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/auth"
	"github.com/joinedup/joinedup/policy"
	"github.com/joinedup/joinedup/webhook"
)

// birthRegistered is the response to a registered birth.
type birthRegistered struct {
	Event   *joinedup.LifeEvent      `json:"event"`
	Receipt *joinedup.ConsentReceipt `json:"receipt"`
}

func (s *Server) createBirth(w http.ResponseWriter, r *http.Request) {
	d, err := s.authorizeBirthRegistration(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var reg joinedup.BirthRegistration
	if err := decodeBody(w, r, birthSchema, &reg); err != nil {
		s.fail(w, r, err)
		return
	}

	event, receipt, err := s.registerBirth(r, d, reg)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	w.Header().Set("Location", s.BaseURL+"/api/v1/life-events/"+url.PathEscape(string(event.ID)))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, birthRegistered{Event: event, Receipt: receipt})
}

// Page sizes of list endpoints.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// lifeEventList is one page of life events. Items holds only the events
// the caller may read, and Total counts every event that matches the
// filter, so that the offsets stay those of the whole list. Offset is the
// number of matches before the page, also for a page placed by a cursor.
// Next and Previous are the cursors of the pages after and before this
// one, for the after and before parameters, and are left out where the
// list ends.
type lifeEventList struct {
	Items    []*joinedup.LifeEvent `json:"items"`
	Total    int                   `json:"total"`
	Offset   int                   `json:"offset"`
	Limit    int                   `json:"limit"`
	Next     string                `json:"next,omitempty"`
	Previous string                `json:"previous,omitempty"`
}

func (s *Server) listLifeEvents(w http.ResponseWriter, r *http.Request) {
	if err := s.authorizeLifeEventList(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := onlyParams(r.URL.Query(), "type", "state", "offset", "after", "before", "limit"); err != nil {
		s.fail(w, r, err)
		return
	}
	filter, err := s.lifeEventQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	page, events, err := s.eventPage(r, filter)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if events == nil {
		events = []*joinedup.LifeEvent{}
	}
	list := lifeEventList{Items: events, Total: page.Total, Offset: page.Offset, Limit: filter.Limit}
	list.Previous, list.Next = pageCursors(page, eventCursor)
	writeJSON(w, http.StatusOK, list)
}

// onlyParams returns EINVALID naming each query parameter of q that is not
// one of known, so that a mistyped parameter gets an error instead of
// being ignored, and each known one that q gives more than once.
func onlyParams(q url.Values, known ...string) error {
	use := "It takes no query parameters."
	if len(known) > 0 {
		use = "Use " + strings.Join(known, ", ") + "."
	}
	var fields []joinedup.FieldError
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(known, name) {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + name,
				Message: fmt.Sprintf("This list takes no query parameter %s. %s", quoteInput(name), use)})
		}
	}
	if len(fields) > 0 {
		return joinedup.Invalid("The query has parameters this list does not take.", fields...)
	}
	return onceEach(q)
}

// onceEach returns EINVALID naming each query parameter that q gives more
// than once. A list reads one value of each parameter, so it would
// otherwise ignore the others without saying so. A resident may reach the
// error page by following a link, so the page has its own plain wording.
func onceEach(q url.Values) error {
	var fields, pageFields []joinedup.FieldError
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if n := len(q[name]); n > 1 {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + name,
				Message: fmt.Sprintf("Give the parameter %s once. The query gives it %d times.", quoteInput(name), n)})
			pageFields = append(pageFields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + name,
				Message: fmt.Sprintf("%s appears %d times in the link.", quoteInput(name), n)})
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return withPageText(joinedup.Invalid("The query gives a parameter more than once.", fields...),
		"There is a problem with the link you followed",
		"Part of the link appears more than once, so this page could not tell which one to use.",
		pageFields)
}

// lifeEventQuery reads the query of a list of life events, as
// lifeEventFilter does, and narrows it to the events that the signed-in
// account may read, as narrowLifeEvents does.
func (s *Server) lifeEventQuery(r *http.Request) (joinedup.LifeEventFilter, error) {
	f, err := lifeEventFilter(r.URL.Query())
	if err != nil {
		return f, err
	}
	s.narrowLifeEvents(principalOf(r), &f)
	return f, nil
}

// narrowLifeEvents narrows f to the events that account may read under
// the default access policies, so that a list's pages are full and its
// total counts only those. A service officer reads the events sent to
// their services, a registrar those registered for their organisation,
// and a social worker the births of the children of the residents
// allocated to them. filterEvents still decides on each
// event listed. An operator reads the progress of every event, so their
// list is not narrowed.
func (s *Server) narrowLifeEvents(account *auth.Account, f *joinedup.LifeEventFilter) {
	switch account.Role {
	case policy.RoleServiceOfficer:
		f.Services = append([]joinedup.ServiceID{}, account.Services...)
	case policy.RoleRegistrar:
		// eventResource gives an event registered with the API token the
		// token's organisation, and any other the organisation of the
		// account that registered it.
		f.Organisation = account.Organisation
		if s.TokenOrganisation != "" && s.TokenOrganisation == account.Organisation {
			f.OrganisationAccounts = []string{tokenAccountID}
		}
	case policy.RoleSocialWorker:
		f.Worker = account.ID
	}
}

// narrowDeliveries narrows f to the deliveries that account may read
// under the default access policies, so that a list's pages are full and
// its total counts only those. A service officer reads the deliveries to
// their services. filterDeliveries still decides on each delivery
// listed. An operator reads every delivery, so their list is not
// narrowed.
func narrowDeliveries(account *auth.Account, f *joinedup.DeliveryFilter) {
	if account.Role == policy.RoleServiceOfficer {
		f.Services = append([]joinedup.ServiceID{}, account.Services...)
	}
}

// lifeEventFilter reads the type and state query parameters, and the
// page's offset or cursor and its limit. Faults are named by a pointer to
// the parameter, such as "/limit".
func lifeEventFilter(q url.Values) (joinedup.LifeEventFilter, error) {
	f := joinedup.LifeEventFilter{Type: q.Get("type")}
	if err := onceEach(q); err != nil {
		return f, err
	}
	var fields []joinedup.FieldError

	if v := q.Get("state"); v != "" {
		if !validState(v) {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/state", Message: "Use one of the delivery states: " + stateList() + "."})
		}
		f.State = joinedup.DeliveryState(v)
	}
	fields = append(fields, readLifeEventPage(q, defaultPageSize, &f)...)

	if len(fields) > 0 {
		return f, joinedup.Invalid("The query has invalid parameters.", fields...)
	}
	return f, nil
}

// deliveryStates lists every delivery state in the order a delivery
// usually passes through them.
var deliveryStates = []joinedup.DeliveryState{
	joinedup.StatePending, joinedup.StateDelivered, joinedup.StateActed, joinedup.StateRetrying,
	joinedup.StateFailed, joinedup.StateDeadLettered, joinedup.StateWithdrawn,
}

func validState(v string) bool {
	return slices.Contains(deliveryStates, joinedup.DeliveryState(v))
}

func stateList() string {
	var b bytes.Buffer
	for i, st := range deliveryStates {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(st))
	}
	return b.String()
}

func (s *Server) getLifeEvent(w http.ResponseWriter, r *http.Request) {
	event, err := s.LifeEvents.FindLifeEvent(r.Context(), joinedup.EventID(r.PathValue("id")))
	if err == nil {
		event, err = s.readEvent(r, event)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, event)
}

func (s *Server) getLifeEventByReference(w http.ResponseWriter, r *http.Request) {
	// The reference is read as the tracking page reads it, so one copied
	// from a letter or typed in lower case finds the same event.
	event, err := s.LifeEvents.FindLifeEventByReference(r.Context(), joinedup.NormalizeReference(r.PathValue("reference")))
	if err == nil {
		event, err = s.readEvent(r, event)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, event)
}

type serviceList struct {
	Items []*joinedup.Service `json:"items"`
}

// listServices lists the services in use. With includeRetired=true it
// lists retired services too, each with its retiredAt.
func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r.URL.Query(), "includeRetired"); err != nil {
		s.fail(w, r, err)
		return
	}
	includeRetired, err := parseIncludeRetired(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}

	list := s.Services.ListServices
	if includeRetired {
		list = s.Services.ListAllServices
	}
	services, err := list(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}

	items := make([]*joinedup.Service, len(services))
	for i, svc := range services {
		items[i] = withoutSecret(svc)
	}
	writeJSON(w, http.StatusOK, serviceList{Items: items})
}

// parseIncludeRetired reads the optional includeRetired query parameter,
// which must be true or false.
func parseIncludeRetired(q url.Values) (bool, error) {
	switch v := q.Get("includeRetired"); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, joinedup.Invalid("The query has invalid parameters.", joinedup.FieldError{In: joinedup.InQuery,
			Field: "/includeRetired", Message: fmt.Sprintf("includeRetired must be true or false, not %q.", v)})
	}
}

// createService registers a connected service. The caller is authorised
// before the body is read, so a caller who may not register services
// learns nothing from the checks of the body.
func (s *Server) createService(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.readServiceChange(w, r, "register", "")
	if !ok {
		return
	}

	if err := s.Services.CreateService(r.Context(), &svc); err != nil {
		s.fail(w, r, err)
		return
	}

	// This response is the only one that shows the secret.
	w.Header().Set("Location", s.BaseURL+"/api/v1/services/"+url.PathEscape(string(svc.ID)))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, &svc)
}

// updateService replaces a connected service's registration, such as to
// move its endpoint or rotate its secret. The body is a whole
// registration; a body without a secret keeps the stored one. As for
// registration, the caller is authorised before the body is read.
func (s *Server) updateService(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.readServiceChange(w, r, "change", joinedup.ServiceID(r.PathValue("id")))
	if !ok {
		return
	}

	if err := s.Services.UpdateService(r.Context(), &svc); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withoutSecret(&svc))
}

// readServiceChange authorises a change to the service directory, reads
// the registration in the body and records the change in the audit log.
// When id is not empty the registration's id must equal it. It writes the
// error response itself and reports whether the caller may go on.
func (s *Server) readServiceChange(w http.ResponseWriter, r *http.Request, operation string, id joinedup.ServiceID) (joinedup.Service, bool) {
	var svc joinedup.Service
	reasons, err := s.authorizeServiceChange(r)
	if err == nil {
		err = decodeBody(w, r, serviceSchema, &svc)
	}
	if err == nil && id != "" && svc.ID != id {
		err = joinedup.Invalid("The service registration has errors.", joinedup.FieldError{Field: "/id",
			Message: "The id must be the one in the URL, " + strconv.Quote(string(id)) + ". A service's id cannot change."})
	}
	if err == nil {
		err = s.recordServiceChange(r, svc.ID, operation, reasons)
	}
	if err != nil {
		s.fail(w, r, err)
		return svc, false
	}
	return svc, true
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	svc, err := s.Services.FindService(r.Context(), joinedup.ServiceID(r.PathValue("id")))
	if err == nil && svc.Retired() {
		err = joinedup.ServiceRemoved(svc)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, withoutSecret(svc))
}

// retireService removes a connected service from use. The caller is
// authorised as for a change, and an unknown or already retired service
// gets 404 before anything is recorded. The removal is recorded in the
// audit log before the store makes it, as for other service changes.
func (s *Server) retireService(w http.ResponseWriter, r *http.Request) {
	// A body, such as a reason, would not be read, so one sent is
	// rejected before anything changes.
	if err := checkNoBody(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id := joinedup.ServiceID(r.PathValue("id"))
	reasons, err := s.authorizeServiceChange(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	svc, err := s.Services.FindService(r.Context(), id)
	if err == nil && svc.Retired() {
		err = joinedup.ServiceRemoved(svc)
	}
	if err == nil {
		err = s.recordServiceChange(r, id, "remove", reasons)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}

	retired, err := s.Services.RetireService(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	retired.Service = withoutSecret(retired.Service)
	writeJSON(w, http.StatusOK, retired)
}

// withoutSecret returns a copy of svc with its signing secret removed.
func withoutSecret(svc *joinedup.Service) *joinedup.Service {
	c := *svc
	c.Secret = ""
	return &c
}

// serviceHeader names the service that sends an outcome callback.
const serviceHeader = "joinedup-service"

// reportOutcome records an outcome that a service sends for one of its
// deliveries. The Standard Webhooks signature is checked with the named
// service's secret before the body is used. An unknown service and a bad
// or stale signature get the same 401, so a caller cannot learn which
// services exist.
func (s *Server) reportOutcome(w http.ResponseWriter, r *http.Request) {
	unauthorized := joinedup.Errorf(joinedup.EUNAUTHORIZED,
		"Sign the callback with the service's secret (Standard Webhooks, at most 5 minutes old) and name the service in the %s header.", serviceHeader)

	serviceID := joinedup.ServiceID(r.Header.Get(serviceHeader))
	if serviceID == "" {
		s.fail(w, r, unauthorized)
		return
	}

	body, err := readLimited(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	svc, err := s.Services.FindService(r.Context(), serviceID)
	switch joinedup.ErrorCode(err) {
	case "":
	case joinedup.ENOTFOUND:
		s.fail(w, r, unauthorized)
		return
	default:
		s.fail(w, r, err)
		return
	}
	if err := s.VerifyCallback(svc.Secret, r.Header, body, s.Now()); err != nil {
		s.Logger.WarnContext(r.Context(), "callback signature rejected",
			"service_id", serviceID, "error", err, "request_id", requestID(r.Context()))
		s.fail(w, r, unauthorized)
		return
	}

	if err := checkJSONContentType(r); err != nil {
		s.fail(w, r, err)
		return
	}
	var outcome joinedup.Outcome
	if err := decodeJSON(body, outcomeSchema, &outcome); err != nil {
		s.fail(w, r, err)
		return
	}

	// The signature was verified, so the timestamp is a number.
	timestamp, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
	msg := joinedup.CallbackMessage{ID: r.Header.Get(webhook.HeaderID), Timestamp: timestamp}
	if err := s.Deliveries.ReportOutcome(r.Context(), serviceID, joinedup.DeliveryID(r.PathValue("id")), outcome, msg); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deliveryList is one page of deliveries. Items holds only the
// deliveries the caller may read, and Total counts every delivery that
// matches the query, so that the offsets stay those of the whole list.
// Offset is the number of matches before the page, also for a page
// placed by a cursor. Next and Previous are the cursors of the pages
// after and before this one, for the after and before parameters, and
// are left out where the list ends.
type deliveryList struct {
	Items    []*joinedup.Delivery `json:"items"`
	Total    int                  `json:"total"`
	Offset   int                  `json:"offset"`
	Limit    int                  `json:"limit"`
	Next     string               `json:"next,omitempty"`
	Previous string               `json:"previous,omitempty"`
}

// newDeliveryList returns the response for page p of the list of
// deliveries named list, cut with limit, of which items are those the
// caller may read.
func newDeliveryList(p joinedup.DeliveryPage, list string, items []*joinedup.Delivery, limit int) deliveryList {
	if items == nil {
		items = []*joinedup.Delivery{}
	}
	l := deliveryList{Items: items, Total: p.Total, Offset: p.Offset, Limit: limit}
	l.Previous, l.Next = pageCursors(p, deliveryCursor(list))
	return l
}

// defaultDeliveryLimit is how many deliveries a list returns when the
// caller names no limit.
const defaultDeliveryLimit = 50

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	if err := s.authorizeDeliveryList(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := onlyParams(r.URL.Query(), "state", "service", "offset", "after", "before", "limit"); err != nil {
		s.fail(w, r, err)
		return
	}
	filter, err := deliveryQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if filter.Service, err = s.deliveryService(r, "GET /api/v1/services lists them."); err != nil {
		s.fail(w, r, err)
		return
	}
	narrowDeliveries(principalOf(r), &filter)

	page, err := s.Deliveries.ListDeliveries(r.Context(), filter)
	var deliveries []*joinedup.Delivery
	if err == nil {
		page, deliveries, err = s.fillDeliveries(r, filter, page, s.Deliveries.ListDeliveries, s.deliveryShown)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newDeliveryList(page, deliveriesList, deliveries, filter.Limit))
}

// anyState is the state filter of the deliveries page that lists
// deliveries in every state.
const anyState = "any"

// deliveryQuery reads the state and the offset or cursor, and limit, of
// a delivery list. The state is a delivery state, or anyState or no state
// at all, which it returns as the empty state that lists every state.
func deliveryQuery(q url.Values) (joinedup.DeliveryFilter, error) {
	if err := onceEach(q); err != nil {
		return joinedup.DeliveryFilter{}, err
	}
	var fields []joinedup.FieldError
	state := q.Get("state")
	switch {
	case state == anyState || state == "":
		state = ""
	case !validState(state):
		fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/state", Message: "Choose a delivery state: " + stateList() + ", or any for every state."})
	}
	f := joinedup.DeliveryFilter{State: joinedup.DeliveryState(state)}
	fields = append(fields, readDeliveryPage(q, deliveriesList, defaultDeliveryLimit, &f)...)

	if len(fields) > 0 {
		return joinedup.DeliveryFilter{}, joinedup.Invalid("The query has invalid parameters.", fields...)
	}
	return f, nil
}

func (s *Server) replayDelivery(w http.ResponseWriter, r *http.Request) {
	if err := checkNoBody(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.authorizeReplay(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.replay(r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// replay sends the delivery in the path again. For a delivery that does
// not exist it returns its own ENOTFOUND, because the store's message
// repeats the id from the path in full.
func (s *Server) replay(r *http.Request) error {
	id := joinedup.DeliveryID(r.PathValue("id"))
	err := s.Deliveries.ReplayDelivery(r.Context(), id)
	if joinedup.ErrorCode(err) == joinedup.ENOTFOUND {
		return joinedup.Errorf(joinedup.ENOTFOUND, "There is no delivery %s.", quoteInput(string(id)))
	}
	return err
}
