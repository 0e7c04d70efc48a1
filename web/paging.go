package web

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
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

// maxFillReads bounds the reads that fillPage makes after the first, so
// that a policy that hides almost every item of a long list costs a
// request a bounded amount of work. A page then has fewer items than its
// limit, and its next or previous link goes on from where it stopped.
const maxFillReads = 10

// fillPage returns the items of the page p that keep shows, and the
// accesses that showing them records. keep returns an item as it is
// shown, or a nil access for an item the caller may not see. The store
// narrows a list to the items that the account may read under the default
// policies (narrowDeliveries, narrowLifeEvents), so keep drops items only
// where the policies in force let the account read less. The page is
// then filled by reading on in its direction with read, from the last
// item read, or with backward, the first: until limit items are shown,
// the list ends or maxFillReads further reads were made. The page
// returned holds every item read up to the last one shown, so that the
// cursors of its next and previous pages go on from there, and its
// Offset and Total are those of the store's list. A page whose last item
// shown is followed only by hidden items still has a next cursor, whose
// page shows none.
func fillPage[T, S any](p joinedup.Page[T], limit int, backward bool,
	keep func(T) (S, *access, error), read func(from T, backward bool) (joinedup.Page[T], error)) (joinedup.Page[T], []S, []access, error) {
	var shown []S
	var accesses []access
	// take checks items in the page's direction, and returns how many it
	// checked before limit items were shown.
	take := func(items []T) (int, error) {
		for n := range items {
			if len(shown) == limit {
				return n, nil
			}
			i := n
			if backward {
				i = len(items) - 1 - n
			}
			item, a, err := keep(items[i])
			if err != nil {
				return 0, err
			}
			if a != nil {
				shown, accesses = append(shown, item), append(accesses, *a)
			}
		}
		return len(items), nil
	}
	if _, err := take(p.Items); err != nil {
		return p, nil, nil, err
	}
	for range maxFillReads {
		if len(shown) == limit || len(p.Items) == 0 {
			break
		}
		from := p.Items[len(p.Items)-1]
		if backward {
			if p.Offset == 0 {
				break
			}
			from = p.Items[0]
		} else if p.Offset+len(p.Items) >= p.Total {
			break
		}
		q, err := read(from, backward)
		if err != nil {
			return p, nil, nil, err
		}
		n, err := take(q.Items)
		if err != nil {
			return p, nil, nil, err
		}
		p.Total = q.Total
		if backward {
			p.Items = append(slices.Clone(q.Items[len(q.Items)-n:]), p.Items...)
			p.Offset = q.Offset + len(q.Items) - n
		} else {
			p.Items = append(p.Items, q.Items[:n]...)
		}
		if len(q.Items) == 0 {
			break
		}
	}
	if backward {
		slices.Reverse(shown)
		slices.Reverse(accesses)
	}
	return p, shown, accesses, nil
}

// readFrom returns the After and Before of the filter of the page that
// fillPage reads next from the item at c.
func readFrom[ID ~string](c joinedup.Cursor[ID], backward bool) (after, before *joinedup.Cursor[ID]) {
	if backward {
		return nil, &c
	}
	return &c, nil
}

// newCursorPager returns the place of the page p, of which shown items
// are shown, for its caption and its Previous and Next links. cursor
// returns an item's cursor, and pageURL the URL of the page after or
// before a cursor, or of the first page when name is "". p is the page
// as fillPage returns it.
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
