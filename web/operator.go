package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/joinedup/joinedup"
	"github.com/joinedup/joinedup/policy"
)

type lifeEventsView struct {
	Rows        []lifeEventRow
	State       string
	States      []joinedup.DeliveryState
	Total       int
	First, Last int
	PreviousURL string
	NextURL     string
	// PastEnd is set when the offset is at or past the end of the list,
	// so the page shows no event, and FirstURL is then the list's first
	// page.
	PastEnd  bool
	FirstURL string
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
	filter, err := lifeEventFilter(r.URL.Query())
	if account := principalOf(r); account.Role == policy.RoleServiceOfficer {
		// An officer may read only the events sent to their services, so
		// the list and its total count only those.
		filter.Services = append([]joinedup.ServiceID{}, account.Services...)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	events, total, err := s.LifeEvents.ListLifeEvents(r.Context(), filter)
	if err == nil {
		events, err = s.filterEvents(r, events)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}

	v := lifeEventsView{State: string(filter.State), States: deliveryStates, Total: total}
	for _, e := range events {
		rows, err := s.deliveryRows(r, e.Deliveries)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Rows = append(v.Rows, lifeEventRow{Event: e, Deliveries: rows})
	}
	// NOTE: pages are cut from every matching event before those the
	// account may not see are dropped, so a page can be empty while a
	// later one is not. An empty page offers no paging links, because
	// they mostly lead to more empty pages.
	if len(events) > 0 {
		v.First, v.Last = filter.Offset+1, filter.Offset+len(events)
		if filter.Offset > 0 {
			v.PreviousURL = lifeEventsURL(filter, max(filter.Offset-filter.Limit, 0))
		}
		if filter.Offset+len(events) < total {
			v.NextURL = lifeEventsURL(filter, filter.Offset+filter.Limit)
		}
	}
	if total > 0 && filter.Offset >= total {
		v.PastEnd, v.FirstURL = true, lifeEventsURL(filter, 0)
	}

	s.render(w, r, http.StatusOK, "life-events.html", page{Title: "Life events", Nav: navLifeEvents, Data: v})
}

func lifeEventsURL(f joinedup.LifeEventFilter, offset int) string {
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.State != "" {
		q.Set("state", string(f.State))
	}
	q.Set("offset", strconv.Itoa(offset))
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
}

func (s *Server) lifeEventPage(w http.ResponseWriter, r *http.Request) {
	event, err := s.LifeEvents.FindLifeEvent(r.Context(), joinedup.EventID(r.PathValue("id")))
	if err == nil {
		event, err = s.readEvent(r, event)
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

	v := lifeEventView{Event: event, Rows: rows, Names: names, RegisteredBy: event.RegisteredBy}
	if event.RegisteredBy == tokenAccountID {
		v.RegisteredBy = "a connected system, with the hub’s API token"
	} else if a, err := s.Records.FindAccount(r.Context(), event.RegisteredBy); err == nil {
		v.RegisteredBy = a.Username
	}
	for i := range v.Rows {
		v.Rows[i].EventReference = event.Reference
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
	State    joinedup.DeliveryState
	Filter   string
	States   []joinedup.DeliveryState
	Rows     []deliveryRow
	Replayed string
}

func (s *Server) deliveriesPage(w http.ResponseWriter, r *http.Request) {
	if err := s.authorizeDeliveryList(r); err != nil {
		s.fail(w, r, err)
		return
	}
	// Without a state the page lists the dead-lettered deliveries, which
	// need an operator to send them again.
	q := r.URL.Query()
	if q.Get("state") == "" {
		q.Set("state", string(joinedup.StateDeadLettered))
	}
	state, limit, err := deliveryQuery(q, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	deliveries, _, err := s.Deliveries.ListDeliveries(r.Context(), joinedup.DeliveryFilter{State: state, Limit: limit})
	if err == nil {
		deliveries, err = s.filterDeliveries(r, deliveries)
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

	title := "Deliveries: " + stateLabel(state)
	if state == "" {
		title = "Deliveries: Any state"
	}
	s.render(w, r, http.StatusOK, "deliveries.html", page{
		Title: title,
		Nav:   navDeliveries,
		Data:  deliveriesView{State: state, Filter: q.Get("state"), States: deliveryStates, Rows: rows, Replayed: q.Get("replayed")},
	})
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
	if err := s.Deliveries.ReplayDelivery(r.Context(), joinedup.DeliveryID(id)); err != nil {
		s.fail(w, r, err)
		return
	}

	state := r.PostForm.Get("state")
	if !validState(state) && state != anyState {
		state = string(joinedup.StateDeadLettered)
	}
	q := url.Values{"state": {state}, "replayed": {id}}
	http.Redirect(w, r, "/operator/deliveries?"+q.Encode(), http.StatusSeeOther)
}
