package web

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/joinedup/joinedup"
)

// pager is the place of one page in a paged list, for the page's caption
// and its Previous and Next links. First and Last are the 1-based
// positions of the page's first and last items, and 0 when the page has
// none.
type pager struct {
	Total       int
	First, Last int
	PreviousURL string
	NextURL     string
	// PastEnd is set when the page lies past the end of the list, so it
	// shows no item, and FirstURL is then the list's first page.
	PastEnd  bool
	FirstURL string
}

// caption returns the caption of a table that shows this page of a list
// of items, such as "Deliveries that are failed", in an order such as
// "oldest first".
func (p pager) caption(items, order string) string {
	switch {
	case p.First > 0:
		return fmt.Sprintf("%s, %s: showing %d to %d of %d", items, order, p.First, p.Last, p.Total)
	case p.PastEnd:
		return items + ": there are none on this page"
	case p.Total > 0:
		return items + ": there are none here that you may see"
	default:
		return items + ": there are none"
	}
}

// pagination is the data of the pagination template: the links of one
// page and, on a page past the end of the list, the size of the list.
type pagination struct {
	pager
	// Label names the pages for screen readers, such as "Pages of
	// deliveries".
	Label string
	// Size is the number of items in the list in words, such as "3
	// deliveries".
	Size string
}

// newPagination returns the data of the pagination template for p, in a
// list whose items are called singular and plural.
func newPagination(p pager, singular, plural string) pagination {
	return pagination{pager: p, Label: "Pages of " + plural, Size: countText(p.Total, singular, plural)}
}

// countText returns n followed by the singular or plural noun, such as
// "1 delivery" or "3 deliveries".
func countText(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}

// readPage reads the offset and limit query parameters of a paged list,
// with defaultLimit when q has no limit. It returns a field error, named
// by a pointer such as "/limit", for each invalid value.
func readPage(q url.Values, defaultLimit int) (offset, limit int, fields []joinedup.FieldError) {
	limit = defaultLimit
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/offset", Message: "Offset must be a whole number, 0 or more."})
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/limit", Message: "Limit must be a whole number from 1 to " + strconv.Itoa(maxPageSize) + "."})
		}
		limit = n
	}
	return offset, limit, fields
}

// listPlace is the place of a page in a list paged by cursor: its
// offset, or the cursor after or before which it lies, and its limit.
type listPlace[ID ~string] struct {
	Offset, Limit int
	After, Before *joinedup.Cursor[ID]
}

// Names of the lists paged by cursor. Each cursor carries the name of its
// list, so that another list rejects it. The deliveries page and GET
// /api/v1/deliveries show one list, and so do the life events page and
// GET /api/v1/life-events.
const (
	deliveriesList = "deliveries"
	lifeEventsList = "life-events"
)

// noticesList returns the name of the list of the notices of service id,
// on its notices page and in the API.
func noticesList(id joinedup.ServiceID) string { return "notices/" + string(id) }

// readListPlace reads the place of a page of the list named list, which
// is paged by cursor, with defaultLimit when q has no limit. It returns a
// field error for each invalid value, among them an empty cursor and a
// cursor of another list, and one for more than one of offset, after and
// before, which names the second of them given.
func readListPlace[ID ~string](q url.Values, list string, defaultLimit int) (listPlace[ID], []joinedup.FieldError) {
	var p listPlace[ID]
	var fields []joinedup.FieldError
	p.Offset, p.Limit, fields = readPage(q, defaultLimit)
	for _, name := range []string{"after", "before"} {
		if !q.Has(name) {
			continue
		}
		c, err := joinedup.ParseCursor[ID](list, q.Get(name))
		if err != nil {
			fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + name, Message: cursorMessage(name, q.Get(name), err)})
			continue
		}
		if name == "after" {
			p.After = &c
		} else {
			p.Before = &c
		}
	}
	// An empty parameter counts as given, so that ?after=&offset=5 is
	// rejected as a query with both.
	var placers []string
	for _, name := range []string{"offset", "after", "before"} {
		if q.Has(name) {
			placers = append(placers, name)
		}
	}
	if len(placers) > 1 {
		fields = append(fields, joinedup.FieldError{In: joinedup.InQuery, Field: "/" + placers[1],
			Message: "Give at most one of offset, after and before: each places the page on its own."})
	}
	return p, fields
}

// cursorMessage returns the message of the field error for value, the
// invalid value of the cursor parameter name, which ParseCursor rejected
// with err.
func cursorMessage(name, value string, err error) string {
	const next = " Use the next or previous cursor of a page of this list, or start again without it."
	switch {
	case value == "":
		return fmt.Sprintf("The %s cursor is empty.", name) + next
	case errors.Is(err, joinedup.ErrCursorOfOtherList):
		return fmt.Sprintf("The %s cursor was given by another list.", name) + next
	}
	return fmt.Sprintf("The %s cursor is not a valid cursor.", name) + next
}

// readDeliveryPage reads the place of a page of the list of deliveries
// named list into f, as readListPlace reads it.
func readDeliveryPage(q url.Values, list string, defaultLimit int, f *joinedup.DeliveryFilter) []joinedup.FieldError {
	p, fields := readListPlace[joinedup.DeliveryID](q, list, defaultLimit)
	f.Offset, f.Limit, f.After, f.Before = p.Offset, p.Limit, p.After, p.Before
	return fields
}

// readLifeEventPage reads the place of a page of the list of life events
// into f, as readListPlace reads it.
func readLifeEventPage(q url.Values, defaultLimit int, f *joinedup.LifeEventFilter) []joinedup.FieldError {
	p, fields := readListPlace[joinedup.EventID](q, lifeEventsList, defaultLimit)
	f.Offset, f.Limit, f.After, f.Before = p.Offset, p.Limit, p.After, p.Before
	return fields
}

// deliveryCursor returns a function that returns the cursor of a delivery
// in the list of deliveries named list, for pageCursors and
// newCursorPager.
func deliveryCursor(list string) func(*joinedup.Delivery) string {
	return func(d *joinedup.Delivery) string { return joinedup.CursorOf(d).Token(list) }
}

// eventCursor returns the cursor of a life event in the list of life
// events, for pageCursors and newCursorPager.
func eventCursor(ev *joinedup.LifeEvent) string {
	return joinedup.EventCursorOf(ev).Token(lifeEventsList)
}

// pageCursors returns the cursors of the pages next to p, which the
// filter's limit cut from its list, or "" where the list ends. cursor
// returns an item's cursor. They come from the page as the store returned
// it, before any item the caller may not see was dropped, so that no item
// is passed over.
func pageCursors[T any](p joinedup.Page[T], cursor func(T) string) (previous, next string) {
	if len(p.Items) == 0 {
		return "", ""
	}
	if p.Offset > 0 {
		previous = cursor(p.Items[0])
	}
	if p.Offset+len(p.Items) < p.Total {
		next = cursor(p.Items[len(p.Items)-1])
	}
	return previous, next
}

// newCursorPager returns the place of the page p, of which shown items
// are shown, for its caption and its Previous and Next links. cursor
// returns an item's cursor, and pageURL the URL of the page after or
// before a cursor, or of the first page when name is "".
//
// A list is narrowed in the store to the items the account may read under
// the default policies (narrowDeliveries, narrowLifeEvents), and then each
// item is checked against the policies in force.
// NOTE: a hub whose own policies let an account read less than the
// default ones can show that account a page with fewer rows than its
// limit, or none, while a later page has some.
func newCursorPager[T any](p joinedup.Page[T], shown int, cursor func(T) string, pageURL func(name, cursor string) string) pager {
	pg := pager{Total: p.Total}
	if shown > 0 {
		pg.First, pg.Last = p.Offset+1, p.Offset+shown
	}
	previous, next := pageCursors(p, cursor)
	if previous != "" {
		pg.PreviousURL = pageURL("before", previous)
	}
	if next != "" {
		pg.NextURL = pageURL("after", next)
	}
	if len(p.Items) == 0 && p.Total > 0 {
		pg.PastEnd, pg.FirstURL = true, pageURL("", "")
	}
	return pg
}
