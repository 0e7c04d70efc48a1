package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

type lifeEventsView struct {
	Rows   []lifeEventRow
	State  string
	States []joinedup.DeliveryState
	Pager  pager
}

type lifeEventRow struct {
	Event      *joinedup.LifeEvent
	Deliveries []deliveryRow
}

func (s *Server) lifeEventsPage(w http.ResponseWriter, r *http.Request) {
	if err := s.authorizeLifeEventList(r); err != nil {
		s.fail(w, r, err)
		return
	}
	filter, err := s.lifeEventQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, events, err := s.eventPage(r, filter)
	if err != nil {
		s.fail(w, r, err)
		return
	}

	v := lifeEventsView{State: string(filter.State), States: deliveryStates}
	for _, e := range events {
		rows, err := s.deliveryRows(r, e.Deliveries)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Rows = append(v.Rows, lifeEventRow{Event: e, Deliveries: rows})
	}
	v.Pager = newCursorPager(list, len(events), eventCursor, func(name, cursor string) string {
		return lifeEventsURL(filter, name, cursor)
	})

	s.render(w, r, http.StatusOK, "life-events.html", page{Title: "Life events", Nav: navLifeEvents, Data: v})
}

// lifeEventsURL returns the address of a page of the life events page,
// with the type, state and limit of f. The page is placed by the
// parameter name, offset, after or before, with value, or is the first
// page when name is "".
func lifeEventsURL(f joinedup.LifeEventFilter, name, value string) string {
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.State != "" {
		q.Set("state", string(f.State))
	}
	if name != "" {
		q.Set(name, value)
	}
	q.Set("limit", strconv.Itoa(f.Limit))
	return "/operator/life-events?" + q.Encode()
}

type lifeEventView struct {
	Event *joinedup.LifeEvent
	Birth *joinedup.BirthRegistration // nil for other event types
	Rows  []deliveryRow
	Names map[joinedup.ServiceID]string
	// RegisteredBy names who registered the event: the user name of the
	// account, a connected system for the API token, or the account's id
	// when the account is gone.
	RegisteredBy string
	// Replayed is the id of a delivery just replayed from this page.
	Replayed string
	// MayWithdraw is set when the policies let the signed-in account
	// withdraw the event's consents, so each consent in force has a
	// Withdraw consent link.
	MayWithdraw bool
	// Withdrawal is the banner about a consent just withdrawn, or nil.
	Withdrawal *withdrawalBanner
}

func (s *Server) lifeEventPage(w http.ResponseWriter, r *http.Request) {
	found, err := s.LifeEvents.FindLifeEvent(r.Context(), joinedup.EventID(r.PathValue("id")))
	var event *joinedup.LifeEvent
	if err == nil {
		event, err = s.readEvent(r, found)
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
	names, err := s.serviceNames(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}

	v := lifeEventView{Event: event, Rows: rows, Names: names, RegisteredBy: event.RegisteredBy, Replayed: s.replayedOn(w, r, rows)}
	if event.RegisteredBy == tokenAccountID {
		v.RegisteredBy = "a connected system, with the hub’s API token"
	} else if a, err := s.Records.FindAccount(r.Context(), event.RegisteredBy); err == nil {
		v.RegisteredBy = a.Username
	}
	for i := range v.Rows {
		v.Rows[i].EventReference = event.Reference
	}
	if v.MayWithdraw, v.Withdrawal, err = s.lifeEventWithdrawal(r, found, event); err != nil {
		s.fail(w, r, err)
		return
	}
	// An event shown as progress only has an empty payload.
	if event.Type == joinedup.EventBirthRegistered && string(event.Payload) != "{}" {
		var birth joinedup.BirthRegistration
		if err := json.Unmarshal(event.Payload, &birth); err != nil {
			s.fail(w, r, fmt.Errorf("decode birth payload of %s: %w", event.ID, err))
			return
		}
		v.Birth = &birth
	}
	s.render(w, r, http.StatusOK, "life-event.html", page{Title: "Life event " + event.Reference, Nav: navLifeEvents, Data: v})
}

type deliveriesView struct {
	// State is the state listed, or empty for every state, and Filter
	// the value of the state parameter that chose it.
	State  joinedup.DeliveryState
	Filter string
	States []joinedup.DeliveryState
	// Service is the service listed, or empty for every service, and
	// Services are the services whose deliveries the viewer may list.
	Service  joinedup.ServiceID
	Services []*joinedup.Service
	Rows     []deliveryRow
	Caption  string
	Pager    pager
	Replayed string
	// Back is the address of this page, to which a Replay button returns.
	Back string
}

func (s *Server) deliveriesPage(w http.ResponseWriter, r *http.Request) {
	if err := s.authorizeDeliveryList(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := onlyParams(r.URL.Query(), deliveriesPageParams...); err != nil {
		s.fail(w, r, err)
		return
	}
	// Without a state the page lists the dead-lettered deliveries, which
	// need an operator to send them again.
	q := r.URL.Query()
	if q.Get("state") == "" {
		q.Set("state", string(joinedup.StateDeadLettered))
	}
	filter, err := deliveryQuery(q)
	if err == nil {
		filter.Service, err = s.deliveryService(r, "Go back to the deliveries page and choose a service from its list.")
	}
	var services []*joinedup.Service
	if err == nil {
		services, err = s.deliveryServices(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	narrowDeliveries(principalOf(r), &filter)
	list, err := s.Deliveries.ListDeliveries(r.Context(), filter)
	// A replay takes the delivery out of a list of its old state. After
	// the last one on the last page, the operator sees the page that is
	// now last instead of an empty one.
	if err == nil && q.Get("replayed") != "" && list.Total > 0 && len(list.Items) == 0 {
		filter.After, filter.Before = nil, nil
		filter.Offset = (list.Total - 1) / filter.Limit * filter.Limit
		list, err = s.Deliveries.ListDeliveries(r.Context(), filter)
	}
	var deliveries []*joinedup.Delivery
	if err == nil {
		list, deliveries, err = s.fillDeliveries(r, filter, list, s.Deliveries.ListDeliveries, s.deliveryShown)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.deliveryRows(r, deliveries)
	if err == nil {
		err = s.addEventLinks(r, rows)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}

	// The title and caption name the service listed, such as "Deliveries
	// to Child Benefit: Failed".
	listed := "Deliveries"
	if i := slices.IndexFunc(services, func(svc *joinedup.Service) bool { return svc.ID == filter.Service }); i >= 0 {
		listed += " to " + services[i].Name
	}
	title := listed + ": " + stateLabel(filter.State)
	items := listed + " that are " + strings.ToLower(stateLabel(filter.State))
	if filter.State == "" {
		title, items = listed+": Any state", listed+" in any state"
	}
	v := deliveriesView{State: filter.State, Filter: q.Get("state"), States: deliveryStates,
		Service: filter.Service, Services: services, Rows: rows}
	// A Replay button returns to the page as it was asked for. On a page
	// after a cursor, the rows after a replayed one then move up into its
	// place.
	v.Back = deliveriesURL(q.Get("state"), filter.Service, filter.Limit, "", "")
	for _, name := range []string{"offset", "after", "before"} {
		if value := q.Get(name); value != "" {
			v.Back = deliveriesURL(q.Get("state"), filter.Service, filter.Limit, name, value)
		}
	}
	if replayed := q.Get("replayed"); deliveryIDPattern.MatchString(replayed) && s.takeReplayedFlash(w, r, replayed) {
		v.Replayed = replayed
	}
	v.Pager = newCursorPager(list, len(rows), deliveryCursor(deliveriesList), func(name, cursor string) string {
		return deliveriesURL(q.Get("state"), filter.Service, filter.Limit, name, cursor)
	})
	v.Caption = v.Pager.caption(items, "oldest first")
	s.render(w, r, http.StatusOK, "deliveries.html", page{Title: title, Nav: navDeliveries, Data: v})
}

// deliveriesURL returns the address of a page of the deliveries page.
// state is the value of its state parameter and service, when not empty,
// that of its service parameter. The page is placed by the parameter
// name, offset, after or before, with value, or is the first page when
// name is "".
func deliveriesURL(state string, service joinedup.ServiceID, limit int, name, value string) string {
	q := url.Values{}
	q.Set("state", state)
	if service != "" {
		q.Set("service", string(service))
	}
	if name != "" {
		q.Set(name, value)
	}
	q.Set("limit", strconv.Itoa(limit))
	return "/operator/deliveries?" + q.Encode()
}

// deliveryServices returns the services whose deliveries the signed-in
// account may list, removed ones included, in order of name, for the
// service filter of the deliveries page. It records nothing.
func (s *Server) deliveryServices(r *http.Request) ([]*joinedup.Service, error) {
	services, err := s.Services.ListAllServices(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	account := principalOf(r)
	purpose := purposeOf(account.Role)
	var listable []*joinedup.Service
	for _, svc := range services {
		res := policy.Resource{Kind: policy.KindDelivery, ID: "list", Service: svc.ID}
		d, _, err := s.decide(r.Context(), account, policy.ActionRead, res, purpose)
		if err != nil {
			return nil, err
		}
		if d.Allowed {
			listable = append(listable, svc)
		}
	}
	slices.SortFunc(listable, func(a, b *joinedup.Service) int { return strings.Compare(a.Name, b.Name) })
	return listable, nil
}

// replayDeliveryForm replays a delivery from the Replay button and
// redirects back to the list it came from, which then confirms the replay.
func (s *Server) replayDeliveryForm(w http.ResponseWriter, r *http.Request) {
	if !s.parsePostForm(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := s.authorizeReplay(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.replay(r); err != nil {
		s.fail(w, r, err)
		return
	}

	s.setReplayedFlash(w, r, id)
	if back, ok := replayBack(r.PostForm.Get("back"), id); ok {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	state := r.PostForm.Get("state")
	if !validState(state) && state != anyState {
		state = string(joinedup.StateDeadLettered)
	}
	q := url.Values{"state": {state}, "replayed": {id}}
	http.Redirect(w, r, "/operator/deliveries?"+q.Encode(), http.StatusSeeOther)
}

// replayBack returns back with the replayed delivery's id added to its
// query, and whether back is a page that a Replay button may return to.
// Those are a page of the deliveries list, with its query, and a life
// event's page. Any other value is not followed, so that the form cannot
// send a browser elsewhere.
func replayBack(back, id string) (string, bool) {
	if back == "" || safeNext(back) == "" {
		return "", false
	}
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Fragment != "" {
		return "", false
	}
	event, isEvent := strings.CutPrefix(u.Path, "/operator/life-events/")
	switch {
	case u.Path == "/operator/deliveries":
	case isEvent && event != "" && !strings.Contains(event, "/") && u.RawQuery == "":
	default:
		return "", false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", false
	}
	// Only the list's own parameters are kept, once each, so that the
	// page returned to does not refuse one that the form was given.
	params := url.Values{}
	for _, name := range deliveriesPageParams {
		if v := q[name]; len(v) > 0 && name != "replayed" {
			params.Set(name, v[0])
		}
	}
	params.Set("replayed", id)
	return u.Path + "?" + params.Encode(), true
}

// deliveriesPageParams are the query parameters of the deliveries page.
var deliveriesPageParams = []string{"state", "service", "offset", "after", "before", "limit", "replayed"}

// deliveryIDPattern matches the form of a delivery's id, so that a page
// confirms a replay only of a value that could name a delivery.
var deliveryIDPattern = regexp.MustCompile(`^dlv_[0-9a-hjkmnp-tv-z]{26}$`)

// replayedOn returns the replayed parameter of r when it names one of
// rows, the deliveries that a page shows, and the browser has just
// replayed it, and "" otherwise.
func (s *Server) replayedOn(w http.ResponseWriter, r *http.Request, rows []deliveryRow) string {
	id := r.URL.Query().Get("replayed")
	if id == "" || !slices.ContainsFunc(rows, func(row deliveryRow) bool { return string(row.ID) == id }) {
		return ""
	}
	if !s.takeReplayedFlash(w, r, id) {
		return ""
	}
	return id
}

// replayedCookie names the cookie that a Replay button's response sets to
// the delivery it replayed. The page the browser returns to confirms the
// replay only when its replayed parameter names the same delivery, so a
// link with that parameter alone cannot make a page claim a replay.
const replayedCookie = "joinedup_replayed"

// setReplayedFlash records in the browser that it replayed the delivery
// id, for the page it is sent to next.
func (s *Server) setReplayedFlash(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: replayedCookie, Value: id, Path: "/operator/", MaxAge: 60,
		Secure: s.secureCookies(r), HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// takeReplayedFlash reports whether the browser has just replayed the
// delivery id, and clears the record so that the confirmation shows once.
func (s *Server) takeReplayedFlash(w http.ResponseWriter, r *http.Request, id string) bool {
	c, err := r.Cookie(replayedCookie)
	if err != nil || c.Value != id {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: replayedCookie, Value: "", Path: "/operator/", MaxAge: -1,
		Secure: s.secureCookies(r), HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return true
}

// secureCookies reports whether cookies for r are to be sent over HTTPS
// only: when the hub's external URL is https, or r came over TLS.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.BaseURL, "https://")
}
